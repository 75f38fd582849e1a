//! EDF's scheduling decisions as events (9front trace.h event types; port/edf.c release,
//! edfrecord): a real guest, `rtspin`, with its first process admitted at 3ms every 10ms
//! while a second process competes. Oracles: the period itself (releases exactly one
//! period apart on a periodic process), the cost (each period's slice ends 3ms of its CPU
//! after its release when it runs alone at EDF priority), and the event order edf.c gives.

use glass_emulator::schedtrace::Etype;
use glass_emulator::{Config, ConsoleIo, Machine};
use proc_model::machine::{Pid, RtMsg};
use std::path::PathBuf;

#[test]
fn admitted_process_is_released_every_period_and_sliced_after_its_cost() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../build/root");
    assert!(
        root.join("bin/rtspin").exists(),
        "build/root/bin/rtspin missing"
    );
    let argv = ["/bin/rtspin", "2", "55"];
    let c = Config::new(root, argv[0], argv.iter().map(|s| s.to_string()).collect());
    let console = ConsoleIo {
        stdin: Box::new(std::io::empty()),
        stdout: Box::new(std::io::sink()),
        stderr: Box::new(std::io::sink()),
    };
    let mut m = Machine::new(&c, console).expect("machine");
    let pid = Pid(1);
    // Events are kept for processes with ctl `trace` on while /proc/trace is open.
    m.trace_set_open(true);
    if let Some(t) = m.tasks.get_mut(&pid) {
        t.p9.sched_trace = true;
    }
    m.edf_ctl(pid, RtMsg::Period(10_000_000)).expect("period");
    m.edf_ctl(pid, RtMsg::Cost(3_000_000)).expect("cost");
    m.edf_ctl(pid, RtMsg::Admit).expect("admit");
    let report = m.run();
    assert_eq!(report.status, glass_emulator::ExitStatus::Code(0));
    let ev: Vec<(Etype, u64)> = m
        .schedtrace
        .events
        .iter()
        .filter(|r| r.pid == 1)
        .filter(|r| {
            matches!(
                r.etype,
                Etype::Admit | Etype::Release | Etype::Slice | Etype::Deadline | Etype::Edf
            )
        })
        .map(|r| (r.etype, r.ns))
        .collect();
    assert_eq!(ev[0].0, Etype::Admit, "{ev:?}");
    assert_eq!(ev[1].0, Etype::Release, "{ev:?}");
    let releases: Vec<u64> = ev
        .iter()
        .filter(|e| e.0 == Etype::Release)
        .map(|e| e.1)
        .collect();
    // 55 ms of spinning: releases at 0, 10, 20, 30, 40, 50 ms after admission.
    assert!(releases.len() >= 6, "{ev:?}");
    for w in releases.windows(2) {
        assert_eq!(w[1] - w[0], 10_000_000, "releases one period apart: {ev:?}");
    }
    // Between two releases: an Edf pick, then the Slice once 3 ms are used; the process
    // spins alone at EDF priority, so the slice ends 3 ms (plus its system calls' cost)
    // after the release.
    for r in &releases[..5] {
        let slice = ev
            .iter()
            .find(|e| e.0 == Etype::Slice && e.1 > *r)
            .unwrap_or_else(|| panic!("no slice after {r}: {ev:?}"));
        let used = slice.1 - r;
        assert!(
            (3_000_000..3_100_000).contains(&used),
            "slice after {used} ns: {ev:?}"
        );
        assert!(slice.1 < r + 10_000_000);
    }
    assert!(
        !ev.iter()
            .any(|e| e.0 == Etype::Deadline && e.1 < releases[5]),
        "no deadline missed while it spins: {ev:?}"
    );
}
