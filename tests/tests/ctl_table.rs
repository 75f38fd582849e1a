//! The ctl conformance table (proc_model::ctlcases, written from docs/plan9-proc-9p.md §2.1,
//! §2.2, §5.9) against real machines: every ctl message is written over 9P, by the machine's
//! owner, to a real guest process that is live (a busybox shell spinning), Stopped (`--hang`)
//! or Broken (a child that dereferenced NULL), one fresh `glass run --serve --keep` per
//! message, and what the client sees — the answer or the exact error string, then the state
//! in `status` — must be what the table says. The same table is run against proc-model's
//! fake machine, so the fake cannot drift from Glass.

use glass_tests::ServedMachine;
use proc_model::ctlcases::{self, After, Expect};
use proc_model::ctlstate::CtlState;
use proc_model::ninep::client::{Client, ClientError};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a write the table expects to answer may take: `startstop` runs the Stopped
/// workload's loop to its fault. A write expected to block is given `WAITS_FOR` to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(60);
const WAITS_FOR: Duration = Duration::from_millis(1500);

/// The Stopped workload: stopped before its first instruction (`--hang`, whose flag the
/// setup then clears with `nohang`, or the exec below would stop it again, §2.2 hang); once
/// resumed it spins for a while (so `start` leaves it live), and then execs a program that
/// faults (so `startstop` returns at a trap note; `startsyscall` stops at its first system
/// call).
const STOPPED_SH: &str = "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec /bin/nullderef";

/// A machine with a process in `state`, and that process's pid.
fn machine_in(state: CtlState) -> (ServedMachine, u32) {
    let (m, pid) = match state {
        CtlState::Live => (
            ServedMachine::start(&["--keep", "--", "/bin/sh", "-c", "while :; do :; done"]),
            1,
        ),
        CtlState::Stopped => (
            ServedMachine::start(&["--keep", "--hang", "--", "/bin/sh", "-c", STOPPED_SH]),
            1,
        ),
        CtlState::Broken => (
            ServedMachine::start(&["--keep", "--", "/bin/nullderef", "child"]),
            2,
        ),
    };
    if state == CtlState::Stopped {
        m.client()
            .write_file(&format!("/{pid}/ctl"), 0, b"nohang")
            .expect("nohang");
    }
    (m, pid)
}

/// The state field of `pid`'s status, or None once its directory is gone.
fn state_of(c: &mut Client, pid: u32) -> Option<String> {
    match c.read_file(&format!("/{pid}/status")) {
        Ok(b) => Some(
            String::from_utf8_lossy(&b)
                .split_whitespace()
                .nth(2)
                .unwrap_or("")
                .to_string(),
        ),
        Err(ClientError::Remote(e)) if e == "file does not exist" || e == "process exited" => None,
        Err(e) => panic!("status of {pid}: {e}"),
    }
}

fn class(state: Option<&str>) -> After {
    match state {
        None => After::Exited,
        Some("Stopped") => After::Stopped,
        Some("Broken") => After::Broken,
        Some(_) => After::Live,
    }
}

/// Wait until `pid` is in the class `want` (the Broken child takes a moment to fault).
fn settle(c: &mut Client, pid: u32, want: After) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = state_of(c, pid);
        if class(s.as_deref()) == want {
            return;
        }
        assert!(Instant::now() < deadline, "pid {pid} never {want:?}: {s:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Write `msg` to a fresh machine's process in `state`; what the client saw, and a line
/// describing it.
fn run_case(state: CtlState, msg: &'static str) -> (Expect, String) {
    let want = ctlcases::expected(state, msg);
    let (m, pid) = machine_in(state);
    let mut c = m.client();
    let before = match state {
        CtlState::Live => After::Live,
        CtlState::Stopped => After::Stopped,
        CtlState::Broken => After::Broken,
    };
    settle(&mut c, pid, before);
    // The write runs on its own connection and thread, so one that blocks can be abandoned.
    let (tx, rx) = mpsc::channel();
    let addr = m.addr.clone();
    std::thread::spawn(move || {
        let r = Client::connect(&addr, &glass_emulator::machine::host_user())
            .map_err(|e| e.to_string())
            .and_then(|mut w| {
                w.write_file(&format!("/{pid}/ctl"), 0, msg.as_bytes())
                    .map_err(|e| match e {
                        ClientError::Remote(s) => s,
                        e => format!("client error: {e}"),
                    })
            });
        let _ = tx.send(r);
    });
    let limit = if want == Expect::Waits {
        WAITS_FOR
    } else {
        ANSWER_WITHIN
    };
    let answer = rx.recv_timeout(limit).ok();
    let after = state_of(&mut c, pid);
    let seen = match &answer {
        None => Expect::Waits,
        Some(Ok(n)) => {
            assert_eq!(*n as usize, msg.len(), "{state:?} {msg:?}: count");
            Expect::Ok(class(after.as_deref()))
        }
        Some(Err(e)) => {
            assert_eq!(
                class(after.as_deref()),
                before,
                "{state:?} {msg:?}: an error changes nothing"
            );
            match want {
                Expect::Err(w) if w == e => want,
                _ => Expect::Err("(another error)"),
            }
        }
    };
    let line = format!("{state:?} {msg:?}: answer {answer:?}, then {after:?}");
    // Dropping the machine kills it, which also ends a write still blocked.
    drop(c);
    drop(m);
    (seen, line)
}

/// Every message of the conformance table in each state, on real machines.
#[test]
fn ctl_table_every_message_every_state_real_machine_matches_reference() {
    let mut failures = Vec::new();
    for &state in &ctlcases::STATES {
        for &msg in ctlcases::MESSAGES {
            let (seen, line) = run_case(state, msg);
            let want = ctlcases::expected(state, msg);
            if seen != want {
                failures.push(format!("{line}: want {want:?}, saw {seen:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// `nointerrupt` with a note queued is `notes pending` (§2.2): a `startstop` leaves the
/// fault's note queued and undelivered.
#[test]
fn ctl_nointerrupt_with_note_queued_notes_pending() {
    let (m, pid) = machine_in(CtlState::Stopped);
    let mut c = m.client();
    c.write_file(&format!("/{pid}/ctl"), 0, b"startstop")
        .expect("startstop");
    match c.write_file(&format!("/{pid}/ctl"), 0, b"nointerrupt") {
        Err(ClientError::Remote(e)) => assert_eq!(e, "notes pending"),
        other => panic!("nointerrupt with a note queued: {other:?}"),
    }
    let note = c.read_once(&format!("/{pid}/note"), 0, 128).expect("note");
    assert_eq!(note, b"sys: trap: fault read addr=0x0\0");
    c.write_file(&format!("/{pid}/ctl"), 0, b"nointerrupt")
        .expect("no note queued any more");
}

/// `pri` and `fixedpri` set the base and current priority that status shows, clamped to
/// 0…Npriq-1 as 9front procpriority does (§2.2 pri; the test client is eve, so raising
/// above PriNormal is allowed).
#[test]
fn ctl_pri_sets_status_base_and_current_priority() {
    let (m, pid) = machine_in(CtlState::Live);
    let mut c = m.client();
    for (msg, want) in [("pri 20", "19"), ("fixedpri 3", "3"), ("pri -4", "0")] {
        c.write_file(&format!("/{pid}/ctl"), 0, msg.as_bytes())
            .expect(msg);
        let status = c.read_file(&format!("/{pid}/status")).expect("status");
        let f: Vec<String> = String::from_utf8_lossy(&status)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert_eq!(f[f.len() - 2..], [want, want], "{msg}: {f:?}");
    }
}
