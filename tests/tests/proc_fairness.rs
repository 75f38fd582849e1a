//! /proc's fair share of the machine (README "Serving /proc", emulator/src/share.rs) under
//! load: 64 clients reading a running guest's `status` in a loop, from before its first
//! instruction to its exit, change nothing the guest can observe (its output, its digest and
//! its system-call trace are those of the same run with no reader), and none of them starves
//! (every client gets replies all along the run, at a rate near the others'). A read of
//! `status` may stop the running engine in the middle of a quantum, at a block
//! boundary, and resume it there: a racy guest whose result depends on exactly where each
//! quantum ends gets the same result with readers as alone.

use glass_tests::ServedMachine;
use proc_model::ninep::fs::OREAD;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// A busybox shell loop that forks now and then: CPU work, system calls, several processes.
const SCRIPT: &str = "i=0; while [ $i -lt 4000 ]; do i=$((i+1)); \
                      if [ $((i % 500)) = 0 ]; then /bin/true; echo $i; fi; done";

/// What one reader saw.
struct Reader {
    replies: u64,
    longest_wait: Duration,
}

/// What one run produced: stdout, digest, trace file, and the readers' statistics.
struct Run {
    stdout: String,
    digest: String,
    trace: Vec<u8>,
    readers: Vec<Reader>,
}

/// Run `cmd` (with glass options `opts` before it) with `readers` clients reading `file` of
/// process 1 in a loop; `check` judges each reply.
fn run(
    readers: usize,
    name: &str,
    opts: &[&str],
    cmd: &[&str],
    file: &'static str,
    check: fn(&[u8]),
) -> Run {
    let trace = std::env::temp_dir().join(format!(
        "glass-fairness-{}-{name}.trace",
        std::process::id()
    ));
    let trace_arg = trace.display().to_string();
    // --hang: the first process waits stopped until `start`, so every reader is reading
    // before the guest's first instruction. One connection more than the readers: the
    // client that starts it.
    let conns = (readers + 1).to_string();
    let mut args = vec![
        "--max-conns",
        &conns,
        "--hang",
        "--digest",
        "--trace",
        &trace_arg,
    ];
    args.extend_from_slice(opts);
    args.push("--");
    args.extend_from_slice(cmd);
    let mut m = ServedMachine::start(&args);
    let go = Arc::new(Barrier::new(readers + 1));
    let mut threads = Vec::new();
    for _ in 0..readers {
        let mut c = m.client();
        let (fid, _) = c.open_path(file, OREAD).expect("open the file");
        let go = go.clone();
        threads.push(std::thread::spawn(move || {
            go.wait();
            let mut r = Reader {
                replies: 0,
                longest_wait: Duration::ZERO,
            };
            let mut last = Instant::now();
            // Until the machine is gone (the read fails or the connection closes).
            while let Ok(b) = c.read(fid, 0, 4096) {
                check(&b);
                let now = Instant::now();
                r.replies += 1;
                r.longest_wait = r.longest_wait.max(now - last);
                last = now;
            }
            r
        }));
    }
    let mut ctl = m.client();
    go.wait();
    // `--hang` also set the hang flag, which its forked children would inherit (they
    // would stop at their exec): clear it, then start.
    ctl.write_file("/1/ctl", 0, b"nohang").expect("nohang");
    ctl.write_file("/1/ctl", 0, b"start").expect("start");
    drop(ctl);
    let code = m.wait_exit(120);
    assert_eq!(code, Some(0), "glass: {}", m.stderr());
    let readers = threads
        .into_iter()
        .map(|t| t.join().expect("reader"))
        .collect();
    let err = m.stderr();
    let digest = err
        .lines()
        .filter_map(|l| l.strip_prefix("glass: digest "))
        .next_back()
        .unwrap_or_else(|| panic!("no digest line: {err}"))
        .to_string();
    let out = Run {
        stdout: m.stdout(),
        digest,
        trace: std::fs::read(&trace).expect("trace file"),
        readers,
    };
    let _ = std::fs::remove_file(&trace);
    out
}

/// proc(3) status of the shell: the name (busybox, the image) padded to 27 columns.
fn busybox_status(b: &[u8]) {
    assert!(
        String::from_utf8_lossy(b).starts_with("busybox "),
        "status of pid 1: {}",
        String::from_utf8_lossy(b)
    );
}

/// proc(3) status of the races program.
fn races_status(b: &[u8]) {
    assert!(
        String::from_utf8_lossy(b).starts_with("races "),
        "status of pid 1: {}",
        String::from_utf8_lossy(b)
    );
}

#[test]
fn fairness_64_status_readers_change_nothing_and_none_starves() {
    let shell = ["/bin/busybox", "sh", "-c", SCRIPT];
    let alone = run(0, "alone", &[], &shell, "/1/status", busybox_status);
    let loaded = run(64, "loaded", &[], &shell, "/1/status", busybox_status);
    // The oracle for the output: the script's own arithmetic.
    let expected: String = (1..=8).map(|k| format!("{}\n", k * 500)).collect();
    assert_eq!(alone.stdout, expected);
    assert_eq!(loaded.stdout, alone.stdout, "output with 64 readers");
    assert_eq!(loaded.digest, alone.digest, "digest with 64 readers");
    assert!(!alone.trace.is_empty());
    assert!(
        loaded.trace == alone.trace,
        "system-call trace differs with 64 readers"
    );
    // No reader starved: each got replies, and at least a quarter of the median reader's.
    let mut counts: Vec<u64> = loaded.readers.iter().map(|r| r.replies).collect();
    counts.sort_unstable();
    let median = counts[counts.len() / 2];
    let worst = loaded
        .readers
        .iter()
        .map(|r| r.longest_wait)
        .max()
        .unwrap_or_default();
    eprintln!(
        "64 readers: replies per reader {}..{} (median {median}), longest wait {worst:?}",
        counts[0],
        counts[counts.len() - 1]
    );
    assert_eq!(counts.len(), 64);
    assert!(
        counts[0] >= 5 && counts[0] * 4 >= median,
        "reply counts per reader (sorted): {counts:?}"
    );
    // FIFO: a reader waits for the 63 requests ahead of it, not for the whole run.
    assert!(
        worst < Duration::from_secs(2),
        "a reader waited {worst:?} for one reply"
    );
}

#[test]
fn fairness_status_readers_stopping_quanta_keep_racy_result() {
    // Eight threads incrementing a shared counter without a lock: how many updates are lost
    // depends on exactly which block each quantum ends at. Two readers leave /proc credit
    // to spare, so their reads stop the engine in the middle of quanta (over a hundred times
    // in this run, counted while writing this test); 64 would use up the credit and be
    // served between quanta.
    let opts = ["--quantum", "20011"];
    let cmd = ["/bin/races", "counter"];
    let alone = run(0, "races-alone", &opts, &cmd, "/1/status", races_status);
    let loaded = run(2, "races-loaded", &opts, &cmd, "/1/status", races_status);
    assert!(
        alone.stdout.starts_with("counter: "),
        "races: {}",
        alone.stdout
    );
    assert_eq!(loaded.stdout, alone.stdout, "racy result with readers");
    assert_eq!(loaded.digest, alone.digest, "digest with readers");
    assert!(loaded.trace == alone.trace, "trace differs with readers");
    assert!(loaded.readers.iter().all(|r| r.replies > 0));
}

/// The third field of a status text: the state.
fn state(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .split_whitespace()
        .nth(2)
        .unwrap_or("")
        .to_string()
}

#[test]
fn idle_status_answers_follow_every_change() {
    // While every process is stopped or blocked, a second read of `status` is answered
    // without the machine thread; a change (ctl `start`, console input) must end that.
    let mut m = ServedMachine::start_piped(&["--hang", "--", "/bin/busybox", "cat"]);
    let mut c = m.client();
    let (fid, _) = c.open_path("/1/status", OREAD).expect("open status");
    for _ in 0..3 {
        let b = c.read(fid, 0, 4096).expect("status");
        assert_eq!(state(&b), "Stopped", "{}", String::from_utf8_lossy(&b));
    }
    c.write_file("/1/ctl", 0, b"nohang").expect("nohang");
    c.write_file("/1/ctl", 0, b"start").expect("start");
    // cat now waits for console input: blocked, never Stopped again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let b = c.read(fid, 0, 4096).expect("status");
        if state(&b) == "Pread" {
            break;
        }
        assert!(Instant::now() < deadline, "cat never blocked in its read");
        std::thread::sleep(Duration::from_millis(10));
    }
    for _ in 0..3 {
        let b = c.read(fid, 0, 4096).expect("status");
        assert_eq!(state(&b), "Pread");
    }
    // ctl stop of a process blocked in a read waits until the read completes, as Plan 9's
    // procstopwait does (docs/plan9-proc-9p.md, stop): ask on a second connection, then give
    // cat its line.
    let mut c2 = m.client();
    let stopper = std::thread::spawn(move || c2.write_file("/1/ctl", 0, b"stop"));
    std::thread::sleep(Duration::from_millis(200));
    let b = c.read(fid, 0, 4096).expect("status");
    assert_eq!(state(&b), "Pread", "stopped inside its read");
    let mut input = m.stdin.take().expect("stdin");
    {
        use std::io::Write;
        input.write_all(b"line\n").expect("write stdin");
        input.flush().expect("flush stdin");
    }
    stopper.join().expect("stopper").expect("stop");
    let b = c.read(fid, 0, 4096).expect("status");
    assert_eq!(state(&b), "Stopped", "after ctl stop");
    c.write_file("/1/ctl", 0, b"start").expect("start again");
    let b = c.read(fid, 0, 4096).expect("status");
    assert_ne!(state(&b), "Stopped", "after ctl start");
    // The end of the console input: cat copies the line and exits.
    drop(input);
    assert_eq!(m.wait_exit(30), Some(0), "{}", m.stderr());
    assert_eq!(m.stdout(), "line\n");
}
