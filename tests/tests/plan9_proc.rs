//! /proc of real running guests against 9front's devproc, for the behaviours an audit found
//! different (issue 13): each test drives `glass run --serve` through proc-model's 9P client
//! and checks what docs/plan9-proc-9p.md (the section cited at each test) says 9front does,
//! written out by hand from the reference, not from Glass's output.

use glass_tests::ServedMachine;
use proc_model::ninep::client::{Client, ClientError};
use std::time::{Duration, Instant};

/// The `n`th whitespace field of `pid`'s status (2 = state, 3 = user ms, 10/11 = priorities).
fn status_field(c: &mut Client, pid: u32, n: usize) -> Option<String> {
    let b = c.read_file(&format!("/{pid}/status")).ok()?;
    String::from_utf8_lossy(&b)
        .split_whitespace()
        .nth(n)
        .map(str::to_string)
}

/// Poll until `pid`'s state is `want` (panics after 30 s).
fn wait_state(c: &mut Client, pid: u32, want: &str) {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let s = status_field(c, pid, 2);
        if s.as_deref() == Some(want) {
            return;
        }
        assert!(Instant::now() < end, "{pid} never became {want}: {s:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn remote(r: Result<impl std::fmt::Debug, ClientError>) -> String {
    match r {
        Err(ClientError::Remote(e)) => e,
        other => panic!("expected an Rerror, got {other:?}"),
    }
}

/// §2.2 stop: a second debugger is refused `device or object already in use` before the stop
/// is recorded (procstopwait checks pdbg first), so the target keeps running.
#[test]
fn stop_refused_in_use_does_not_stop_target() {
    let m = ServedMachine::start(&["--", "/bin/sh", "-c", "while :; do :; done"]);
    let addr = m.addr.clone();
    let user = glass_emulator::machine::host_user();
    let waiter = std::thread::spawn(move || {
        let mut c = Client::connect(&addr, &user).expect("connect");
        let _ = c.write_file("/1/ctl", 0, b"waitstop");
    });
    let mut c = m.client();
    // Give the other client's waitstop time to be parked.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        remote(c.write_file("/1/ctl", 0, b"stop")),
        "device or object already in use"
    );
    let before = status_field(&mut c, 1, 3).expect("user ms");
    std::thread::sleep(Duration::from_millis(300));
    assert_ne!(status_field(&mut c, 1, 2).as_deref(), Some("Stopped"));
    let after = status_field(&mut c, 1, 3).expect("user ms");
    assert_ne!(before, after, "the target kept running");
    drop(m);
    let _ = waiter.join();
}

/// §1.4 notepg (9front postnotepg → procinterrupt): a member blocked in a system call is
/// woken by the note; `interrupt` becomes SIGINT (README note table), which ends the shell.
#[test]
fn notepg_wakes_member_blocked_in_read() {
    let mut m = ServedMachine::start_piped(&["--", "/bin/sh", "-c", "read x"]);
    let mut c = m.client();
    // busybox's `read` polls its input first.
    wait_state(&mut c, 1, "Poll");
    c.write_file("/1/notepg", 0, b"interrupt").expect("notepg");
    assert_eq!(m.wait_exit(30), Some(128 + 2), "sh died of SIGINT");
}

/// §2.2 interrupt (9front CMinterrupt → procinterrupt): a blocked read is aborted. Seen
/// through /proc alone: under startsyscall, the read's exit stop comes at once, and the
/// `syscall` file shows it returned -EINTR.
#[test]
fn ctl_interrupt_aborts_blocked_read() {
    let m = ServedMachine::start_piped(&["--hang", "--", "/bin/cat"]);
    let mut c = m.client();
    c.write_file("/1/ctl", 0, b"nohang").expect("nohang");
    // Step system calls until cat enters the call that reads fd 0 (busybox cat tries
    // sendfile(1, 0, …) first).
    let mut found = false;
    for _ in 0..200 {
        c.write_file("/1/ctl", 0, b"startsyscall")
            .expect("startsyscall");
        let t = String::from_utf8_lossy(&c.read_file("/1/syscall").expect("syscall")).into_owned();
        let f: Vec<&str> = t.split_whitespace().collect();
        let reads_stdin = match f.get(2) {
            Some(&"Read") => f.get(4) == Some(&"0x0"),
            Some(&"Sendfile") => f.get(5) == Some(&"0x0"),
            _ => false,
        };
        if reads_stdin {
            found = true;
            break;
        }
    }
    assert!(found, "cat never read fd 0");
    let addr = m.addr.clone();
    let user = glass_emulator::machine::host_user();
    let stepper = std::thread::spawn(move || {
        let mut c = Client::connect(&addr, &user).expect("connect");
        c.write_file("/1/ctl", 0, b"startsyscall")
    });
    wait_state(&mut c, 1, "Pread");
    c.write_file("/1/ctl", 0, b"interrupt").expect("interrupt");
    stepper
        .join()
        .expect("thread")
        .expect("startsyscall returns");
    let t = String::from_utf8_lossy(&c.read_file("/1/syscall").expect("syscall")).into_owned();
    assert!(t.starts_with(" = -4 errno=4 "), "{t:?}");
}

/// §1.4 note: the NNOTE limit of 5 holds for a process blocked in a system call (its notes
/// stay queued until it returns to user mode), and a `sys: …` text arrives as written. The
/// shell ignores SIGUSR1 (what these notes become), so nothing wakes it.
#[test]
fn note_limit_holds_while_blocked_and_text_kept() {
    let m = ServedMachine::start_piped(&["--", "/bin/sh", "-c", "trap '' USR1; read x"]);
    let mut c = m.client();
    wait_state(&mut c, 1, "Poll");
    for i in 0..5 {
        c.write_file("/1/note", 0, format!("sys: odd {i}").as_bytes())
            .expect("note posted");
    }
    let e = remote(c.write_file("/1/note", 0, b"sixth"));
    assert_eq!(e, "note not posted");
    let n = c.read_once("/1/note", 0, 128).expect("note");
    assert_eq!(n, b"sys: odd 0\0");
}

/// §1.4 note: a note to a Broken process fails with `note not posted` (postnote).
#[test]
fn note_to_broken_process_not_posted() {
    let m = ServedMachine::start(&["--keep", "--", "/bin/nullderef", "child"]);
    let mut c = m.client();
    wait_state(&mut c, 2, "Broken");
    assert_eq!(
        remote(c.write_file("/2/note", 0, b"hangup")),
        "note not posted"
    );
}

/// §1.4 wait: a read while the target waits in its own wait4 conflicts (`device or object
/// already in use`: the target's await holds qwaitr).
#[test]
fn wait_read_while_target_in_wait4_in_use() {
    // Not a lone `cat`: busybox sh would exec it in place of itself.
    let m = ServedMachine::start_piped(&["--", "/bin/sh", "-c", "cat; echo done"]);
    let mut c = m.client();
    wait_state(&mut c, 1, "Await");
    assert_eq!(
        remote(c.read_once("/1/wait", 0, 256)),
        "device or object already in use"
    );
}

/// §1.4 wait order, on a shell that has reaped two children and then blocks in read.
#[test]
fn wait_records_newest_first() {
    let m = ServedMachine::start_piped(&["--", "/bin/sh", "-c", "/bin/true; /bin/true; read x"]);
    let mut c = m.client();
    wait_state(&mut c, 1, "Poll");
    let first = c.read_once("/1/wait", 0, 256).expect("first record");
    let second = c.read_once("/1/wait", 0, 256).expect("second record");
    let pid = |b: &[u8]| -> u32 {
        String::from_utf8_lossy(b)
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .expect("pid")
    };
    assert!(
        pid(&first) > pid(&second),
        "newest first: {:?} then {:?}",
        String::from_utf8_lossy(&first),
        String::from_utf8_lossy(&second)
    );
}

/// §1.4 syscall (9front sysrfork): a child forked while its parent is traced by
/// startsyscall inherits the trace and stops at its first system call; its args read empty
/// until it execs (§1.4 args).
#[test]
fn startsyscall_child_inherits_trace_args_empty_before_exec() {
    let m = ServedMachine::start(&["--hang", "--", "/bin/sh", "-c", "/bin/true; /bin/true"]);
    let mut c = m.client();
    c.write_file("/1/ctl", 0, b"nohang").expect("nohang");
    let addr = m.addr.clone();
    let user = glass_emulator::machine::host_user();
    // The parent may block (vfork) while the child is stopped: step it on its own client.
    std::thread::spawn(move || {
        let mut c = Client::connect(&addr, &user).expect("connect");
        for _ in 0..400 {
            if c.write_file("/1/ctl", 0, b"startsyscall").is_err() {
                break;
            }
        }
    });
    let end = Instant::now() + Duration::from_secs(60);
    while status_field(&mut c, 2, 2).is_none() {
        assert!(Instant::now() < end, "no child appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_state(&mut c, 2, "Stopped");
    let t = String::from_utf8_lossy(&c.read_file("/2/syscall").expect("syscall")).into_owned();
    assert!(
        t.starts_with("2 "),
        "the child stopped at a system call entry: {t:?}"
    );
    assert_eq!(c.read_file("/2/args").expect("args"), b"");
}

/// §1.4 mem: a write into Text turns the segment into a private Data copy (txt2data), which
/// `segment` lists as `Data` without `R`.
#[test]
fn mem_write_into_text_segment_becomes_data() {
    let m = ServedMachine::start(&["--hang", "--", "/bin/target"]);
    let mut c = m.client();
    let seg = String::from_utf8(c.read_file("/1/segment").expect("segment")).expect("text");
    let text = seg
        .lines()
        .find(|l| l.starts_with("Text "))
        .expect("a Text line")
        .to_string();
    assert_eq!(&text[7..8], "R", "{text:?}");
    let f: Vec<&str> = text.split_whitespace().collect();
    let base = u64::from_str_radix(f[f.len() - 3], 16).expect("base");
    let top = f[f.len() - 2].to_string();
    let byte = c.read_once("/1/mem", base, 1).expect("read text");
    c.write_file("/1/mem", base, &byte).expect("write text");
    let seg = String::from_utf8(c.read_file("/1/segment").expect("segment")).expect("text");
    let data = seg
        .lines()
        .find(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 4 && f[f.len() - 3] == format!("{base:x}") && f[f.len() - 2] == top
        })
        .unwrap_or_else(|| panic!("the copy: {seg}"));
    assert!(data.starts_with("Data   "), "{data:?}");
    assert_eq!(&data[7..8], " ", "no R on the private copy: {data:?}");
}

/// §2.2 pri: the scheduler runs the highest runnable priority; a spinner lowered below
/// PriNormal gets no CPU while another spinner stays runnable.
#[test]
fn pri_lower_process_starves_behind_normal() {
    let m = ServedMachine::start(&[
        "--",
        "/bin/sh",
        "-c",
        "while :; do :; done & while :; do :; done",
    ]);
    let mut c = m.client();
    let end = Instant::now() + Duration::from_secs(30);
    while status_field(&mut c, 2, 2).is_none() {
        assert!(Instant::now() < end, "no background spinner");
        std::thread::sleep(Duration::from_millis(20));
    }
    c.write_file("/2/ctl", 0, b"pri 3").expect("pri");
    assert_eq!(status_field(&mut c, 2, 10).as_deref(), Some("3"));
    assert_eq!(status_field(&mut c, 2, 11).as_deref(), Some("3"));
    let t0 = status_field(&mut c, 2, 3).expect("user ms");
    let o0 = status_field(&mut c, 1, 3).expect("user ms");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(status_field(&mut c, 2, 3).expect("user ms"), t0, "starved");
    assert_ne!(
        status_field(&mut c, 1, 3).expect("user ms"),
        o0,
        "pid 1 ran"
    );
}

/// §1.4 profile, §2.2 profile: `profile is off` until ctl `profile`; then 4-byte counters,
/// one per 8 bytes of the text segment, fed by the pc sampled at each preemption, and the
/// text segment carries `P` in `segment`.
#[test]
fn profile_counts_samples_of_a_spinning_guest() {
    let m = ServedMachine::start(&["--", "/bin/sh", "-c", "while :; do :; done"]);
    let mut c = m.client();
    assert_eq!(remote(c.read_once("/1/profile", 0, 64)), "profile is off");
    c.write_file("/1/ctl", 0, b"profile").expect("profile");
    std::thread::sleep(Duration::from_millis(500));
    let seg = String::from_utf8(c.read_file("/1/segment").expect("segment")).expect("text");
    let text = seg
        .lines()
        .find(|l| l.starts_with("Text   RP "))
        .unwrap_or_else(|| panic!("profiled text: {seg}"));
    let f: Vec<&str> = text.split_whitespace().collect();
    let base = u64::from_str_radix(f[2], 16).expect("base");
    let top = u64::from_str_radix(f[3], 16).expect("top");
    let prof = c.read_file("/1/profile").expect("profile");
    assert_eq!(prof.len() as u64, (top - base) / 8 * 4);
    let counts: Vec<u32> = prof
        .chunks(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let regs = c.read_file("/1/regs").expect("regs");
    let pc = u64::from_le_bytes(regs[144..152].try_into().expect("pc"));
    let status = String::from_utf8_lossy(&c.read_file("/1/status").expect("status")).into_owned();
    assert!(
        counts.iter().any(|&n| n > 0),
        "some samples landed in text: {seg} pc {pc:#x} {status}"
    );
}
