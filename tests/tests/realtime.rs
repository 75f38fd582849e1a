//! Real-time (EDF) scheduling through /proc/N/ctl (docs/plan9-proc-9p.md §2.1 field
//! counts, §2.2 "Real-time (EDF)"; 9front port/devproc.c parsetime and procctlreq,
//! port/edf.c edfadmit and testschedulability), on the real guest `rtspin`: three busy
//! processes, one admitted with a period and a cost.
//!
//! Oracles: EDF's guarantee itself (an admitted process gets cost/period of the CPU while
//! others compete for the rest), 9front's error strings (the reference), and a second
//! identical run (determinism: the same numbers).

use glass_tests::ServedMachine;
use proc_model::ninep::client::{Client, ClientError};

fn ctl_err(c: &mut Client, pid: u32, msg: &str) -> String {
    match c.write_file(&format!("/{pid}/ctl"), 0, msg.as_bytes()) {
        Err(ClientError::Remote(e)) => e,
        other => panic!("ctl {msg:?}: expected an error, got {other:?}"),
    }
}

fn ctl(c: &mut Client, pid: u32, msg: &str) {
    c.write_file(&format!("/{pid}/ctl"), 0, msg.as_bytes())
        .unwrap_or_else(|e| panic!("ctl {msg:?}: {e}"));
}

/// status fields 11 and 12 (base and current priority) and the state.
fn status(c: &mut Client, pid: u32) -> (String, String, String) {
    let st = c.read_file(&format!("/{pid}/status")).expect("status");
    let st = String::from_utf8_lossy(&st).into_owned();
    let f: Vec<&str> = st.split_whitespace().collect();
    (f[2].to_string(), f[10].to_string(), f[11].to_string())
}

/// `rtspin 3 MS` with pid 1 admitted as `period`/`cost` while it is hung before its
/// first instruction (so at a fixed virtual time); each process's CPU time in µs, by pid.
fn run_admitted(period: &str, cost: &str, ms: u32) -> Vec<(u32, u64)> {
    run_admitted_with(period, cost, ms, &[])
}

fn run_admitted_with(period: &str, cost: &str, ms: u32, extra: &[&str]) -> Vec<(u32, u64)> {
    let ms = ms.to_string();
    let mut m = ServedMachine::start(&["--hang", "--", "/bin/rtspin", "3", &ms]);
    let mut c = m.client();
    ctl(&mut c, 1, &format!("period {period}"));
    ctl(&mut c, 1, &format!("cost {cost}"));
    for msg in extra {
        ctl(&mut c, 1, msg);
    }
    ctl(&mut c, 1, "admit");
    // 9front shows an admitted process at PriEdf (21).
    let (_, _, pri) = status(&mut c, 1);
    assert_eq!(pri, "21");
    ctl(&mut c, 1, "start");
    assert_eq!(m.wait_exit(120), Some(0), "{}", m.stderr());
    let mut got: Vec<(u32, u64)> = m
        .stdout()
        .lines()
        .map(|l| {
            let (p, us) = l.split_once(' ').expect("pid cpu");
            (p.parse().expect("pid"), us.parse().expect("µs"))
        })
        .collect();
    got.sort();
    eprintln!("rtspin 3 {ms}, pid 1 admitted {period}/{cost}: {got:?}");
    assert_eq!(got.len(), 3, "{}", m.stdout());
    got
}

#[test]
fn admitted_process_gets_cost_over_period_deterministically() {
    let got = run_admitted("10ms", "3ms", 300);
    let total: u64 = got.iter().map(|(_, us)| us).sum();
    let share = got[0].1 as f64 / total as f64;
    // cost/period = 0.3 of the CPU; the two others share the rest.
    assert!(
        (share - 0.3).abs() < 0.02,
        "admitted share {share:.3}: {got:?}"
    );
    for (_, us) in &got[1..] {
        let s = *us as f64 / total as f64;
        assert!((s - 0.35).abs() < 0.03, "best-effort share {s:.3}: {got:?}");
    }
    // The same run again gives the same numbers, to the microsecond.
    assert_eq!(run_admitted("10ms", "3ms", 300), got);
}

#[test]
fn a_second_period_and_cost_pair_holds_too() {
    // 2ms every 4ms: half the CPU.
    let got = run_admitted("4ms", "2ms", 200);
    let total: u64 = got.iter().map(|(_, us)| us).sum();
    let share = got[0].1 as f64 / total as f64;
    assert!(
        (share - 0.5).abs() < 0.02,
        "admitted share {share:.3}: {got:?}"
    );
}

/// With `extra`, a process past its budget runs on at PriExtra (19), above every normal
/// process (10), as 9front's edfready does: the others only get the CPU it leaves.
#[test]
fn extra_time_runs_on_above_normal_processes() {
    let got = run_admitted_with("10ms", "3ms", 100, &["extra"]);
    let total: u64 = got.iter().map(|(_, us)| us).sum();
    let share = got[0].1 as f64 / total as f64;
    assert!(
        share > 0.95,
        "admitted share with extra {share:.3}: {got:?}"
    );
}

/// `sporadic` (9front's Sporadic flag: a release comes when the process is ready again, at
/// least a period after the last one) changes nothing for a process that never sleeps: it is
/// always ready, so it is released every period and EDF still guarantees cost/period.
#[test]
fn sporadic_process_that_never_sleeps_keeps_cost_over_period() {
    let got = run_admitted_with("10ms", "3ms", 200, &["sporadic"]);
    let total: u64 = got.iter().map(|(_, us)| us).sum();
    let share = got[0].1 as f64 / total as f64;
    assert!(
        (share - 0.3).abs() < 0.02,
        "sporadic admitted share {share:.3}: {got:?}"
    );
}

#[test]
fn parse_and_admission_errors_as_9front() {
    let m = ServedMachine::start(&["--hang", "--", "/bin/rtspin", "3", "1000"]);
    let mut c = m.client();
    // parsetime's errors.
    assert_eq!(ctl_err(&mut c, 1, "period 1.x"), "ill-formed number");
    assert_eq!(
        ctl_err(&mut c, 1, "period 1.0000000001"),
        "too many digits after decimal point"
    );
    assert_eq!(ctl_err(&mut c, 1, "cost 3min"), "unrecognized unit");
    assert_eq!(
        ctl_err(&mut c, 1, "period"),
        "wrong #args in control message \"period\""
    );
    // edfadmit's.
    assert_eq!(ctl_err(&mut c, 1, "admit"), "edf params");
    ctl(&mut c, 1, "cost 3ms");
    assert_eq!(ctl_err(&mut c, 1, "admit"), "T not set");
    ctl(&mut c, 1, "period 10ms");
    ctl(&mut c, 1, "deadline 20ms");
    assert_eq!(ctl_err(&mut c, 1, "admit"), "D > T");
    ctl(&mut c, 1, "deadline 2ms");
    assert_eq!(ctl_err(&mut c, 1, "admit"), "C > D");
    ctl(&mut c, 1, "deadline 0");
    ctl(&mut c, 1, "cost 0");
    assert_eq!(ctl_err(&mut c, 1, "admit"), "C not set");
    ctl(&mut c, 1, "cost 6ms");
    ctl(&mut c, 1, "admit");
    assert_eq!(ctl_err(&mut c, 1, "admit"), "task state");
    assert_eq!(status(&mut c, 1).2, "21");
    // Let the children be born: run pid 1 until it has forked both.
    ctl(&mut c, 1, "start");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while c.walk("/3").is_err() {
        assert!(std::time::Instant::now() < deadline, "no child 3");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // A second process asking 6ms every 10ms would need 1.2 of the CPU: refused.
    ctl(&mut c, 2, "period 10ms");
    ctl(&mut c, 2, "cost 6ms");
    assert_eq!(ctl_err(&mut c, 2, "admit"), "not schedulable");
    // 4ms fits exactly (utilization 1).
    ctl(&mut c, 2, "cost 4ms");
    ctl(&mut c, 2, "admit");
    // expel leaves real-time: the priority is the normal one again.
    ctl(&mut c, 2, "expel");
    assert_eq!(status(&mut c, 2).2, "10");
}
