//! The machine's time axis (issue 11, "A time axis for people who watch"): Plan 9's
//! `/proc/trace` read through 9P clients (proc-model's and python-9p) while busybox sh runs
//! a pipeline, checked against 9front's record layout (docs/plan9-proc-9p.md §1.4 trace,
//! 9front `sys/include/trace.h`, `port/devproc.c`); and `glass run --timeline`, a Chrome
//! trace-event JSON file checked against the fields the Trace Event Format gives each phase,
//! against the run's own `--trace` system call log, and against its replay, byte for byte.

use glass_tests::{guest_root, repo_root, run_glass, ServedMachine};
use proc_model::ninep::client::Client;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// trace.h event numbers.
const SRUN: u32 = 3;
const SREADY: u32 = 4;
const SSLEEP: u32 = 5;
const SYIELD: u32 = 6;
const SDEAD: u32 = 10;

/// One `Traceevent {ulong pid; ulong etype; vlong time}` (16 bytes, little-endian).
#[derive(Debug, Clone, Copy)]
struct Ev {
    pid: u32,
    etype: u32,
    reason: u32,
    ns: u64,
}

fn parse(b: &[u8]) -> Vec<Ev> {
    assert_eq!(b.len() % 16, 0, "whole 16-byte records: {} bytes", b.len());
    b.chunks(16)
        .map(|r| {
            let et = u32::from_le_bytes(r[4..8].try_into().expect("etype"));
            Ev {
                pid: u32::from_le_bytes(r[0..4].try_into().expect("pid")),
                etype: et & 0xffff,
                reason: et >> 16,
                ns: u64::from_le_bytes(r[8..16].try_into().expect("time")),
            }
        })
        .collect()
}

/// The pids /proc lists now.
fn pids(c: &mut Client) -> BTreeSet<u32> {
    c.ls("/")
        .expect("ls /")
        .iter()
        .filter_map(|s| s.name.parse().ok())
        .collect()
}

/// A pipeline whose two sides (pids 2 and 3) live on, passing lines through a pipe; the
/// writer waits for a `sleep` child between lines, so the reader finds the pipe empty.
fn start_pipeline() -> ServedMachine {
    ServedMachine::start(&[
        "--",
        "/bin/sh",
        "-c",
        "while :; do echo x; sleep 0.001; done | while read l; do :; done",
    ])
}

fn wait_for_pids(c: &mut Client, want: &[u32]) {
    let end = Instant::now() + Duration::from_secs(30);
    while !want.iter().all(|p| pids(c).contains(p)) {
        assert!(Instant::now() < end, "pids {want:?} never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every event of one pid follows from the one before it, as a scheduler can produce it.
fn check_sequence(pid: u32, evs: &[Ev]) {
    for w in evs.windows(2) {
        let ok = match w[0].etype {
            SRUN => [SSLEEP, SREADY, SYIELD, SDEAD].contains(&w[1].etype),
            SREADY => [SRUN, SDEAD].contains(&w[1].etype),
            SSLEEP => [SREADY, SDEAD].contains(&w[1].etype),
            SYIELD => [SRUN, SREADY, SDEAD].contains(&w[1].etype),
            _ => false,
        };
        assert!(ok, "pid {pid}: {:?} then {:?}", w[0], w[1]);
    }
}

/// proc(3) trace through proc-model's 9P client: records parse, carry only the pids whose
/// ctl `trace` is on, times never go back, each process runs between its sleeps and sleeps
/// in the state /proc status shows, and `trace 0` stops them; a read with nothing to read
/// returns at once, empty; a new open starts with the traced process's state.
#[test]
fn proc_trace_of_a_pipeline_follows_the_scheduler() {
    let m = start_pipeline();
    let mut c = m.client();
    wait_for_pids(&mut c, &[1, 2, 3]);
    let (fid, _) = c.open_path("/trace", 0).expect("open trace");
    for p in [2, 3] {
        c.write_file(&format!("/{p}/ctl"), 0, b"trace 1")
            .expect("ctl trace 1");
    }
    // `trace` alone toggles (devproc.c CMtrace): pid 1 on, then off again, then on.
    for _ in 0..3 {
        c.write_file("/1/ctl", 0, b"trace").expect("ctl trace");
    }
    let mut evs = Vec::new();
    let end = Instant::now() + Duration::from_secs(20);
    while evs.len() < 2000 && Instant::now() < end {
        let b = c.read(fid, 0, 16 * 256).expect("read trace");
        assert!(b.len() <= 16 * 256);
        evs.extend(parse(&b));
    }
    assert!(evs.len() >= 2000, "only {} events", evs.len());
    let listed = pids(&mut c);
    for w in evs.windows(2) {
        assert!(w[0].ns <= w[1].ns, "time went back: {:?} {:?}", w[0], w[1]);
    }
    let mut by_pid: BTreeMap<u32, Vec<Ev>> = BTreeMap::new();
    for e in &evs {
        assert!(
            [2, 3, 1].contains(&e.pid) && listed.contains(&e.pid),
            "a traced pid of the machine: {e:?}"
        );
        assert!(
            [SRUN, SREADY, SSLEEP, SYIELD, SDEAD].contains(&e.etype),
            "{e:?}"
        );
        if e.etype != SSLEEP {
            assert_eq!(e.reason, 0, "only a Sleep carries a reason: {e:?}");
        }
        by_pid.entry(e.pid).or_default().push(*e);
    }
    // Both sides run, and each sleeps in the state /proc status shows for it: the writer
    // waiting for its `sleep` child (Await, code 3), the reader on the empty pipe (Pread,
    // code 1, or Poll, code 6, as busybox's `read` polls first).
    for (p, whys) in [(2, &[3][..]), (3, &[1, 6][..])] {
        let mine = by_pid.get(&p).unwrap_or_else(|| panic!("no events of {p}"));
        check_sequence(p, mine);
        for t in [SRUN, SREADY, SSLEEP] {
            assert!(mine.iter().any(|e| e.etype == t), "pid {p} has type {t}");
        }
        for e in mine.iter().filter(|e| e.etype == SSLEEP) {
            assert!(
                whys.contains(&e.reason),
                "pid {p} sleeps in {whys:?}: {e:?}"
            );
        }
    }
    // Turn tracing off, drain, and nothing more comes.
    for p in [1, 2, 3] {
        c.write_file(&format!("/{p}/ctl"), 0, b"trace 0")
            .expect("ctl trace 0");
    }
    while !c.read(fid, 0, 16 * 256).expect("drain").is_empty() {}
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    assert!(c.read(fid, 0, 16 * 256).expect("read").is_empty());
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "an empty read returns"
    );
    // Closed, then opened again with pid 2 traced: the first record is pid 2's state then.
    c.clunk(fid).expect("clunk trace");
    c.write_file("/2/ctl", 0, b"trace 1").expect("ctl trace 1");
    let last = evs.last().expect("events").ns;
    let (fid, _) = c.open_path("/trace", 0).expect("open trace again");
    let first = parse(&c.read(fid, 0, 16).expect("read"));
    assert_eq!(first.len(), 1);
    let e = first[0];
    assert!(e.pid == 2 && e.ns >= last, "{e:?}");
    assert!(
        e.etype == SREADY && e.reason == 0 || e.etype == SSLEEP && e.reason == 3,
        "pid 2 is runnable or waits for its child: {e:?}"
    );
}

/// The same file read by python-9p (plan9port's codec): whole records of traced pids.
#[test]
fn proc_trace_read_by_python9p() {
    let py = repo_root().join("build/venv/python-9p/bin/python");
    if !py.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "python-9p venv missing in CI"
        );
        eprintln!("skipping: {} missing", py.display());
        return;
    }
    let m = start_pipeline();
    let mut c = m.client();
    wait_for_pids(&mut c, &[1, 2, 3]);
    c.write_file("/2/ctl", 0, b"trace 1").expect("ctl trace 1");
    let o = std::process::Command::new(py)
        .arg(repo_root().join("tests/interop/python9p_client.py"))
        .args([&m.addr, "trace", "/trace", "200"])
        .env(
            "NINEP_UNAME",
            std::env::var("USER").unwrap_or_else(|_| "glass".into()),
        )
        .output()
        .expect("python-9p client");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let evs = parse(&o.stdout);
    assert!(evs.len() >= 200, "{} records", evs.len());
    assert!(evs.iter().all(|e| e.pid == 2), "only pid 2 is traced");
    assert!(evs.windows(2).all(|w| w[0].ns <= w[1].ns));
    check_sequence(2, &evs);
}

/// A timeline track: (pid, tid).
type Track = (u64, u64);
/// A slice on a track: start and end in virtual ns, and its name.
type Slice = (u64, u64, String);

/// A scratch file path for one test.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("glass-timeline-{}-{name}", std::process::id()))
}

/// Virtual ns from a trace-event `ts`/`dur` in µs (written with three decimals).
fn ns(v: &serde_json::Value) -> u64 {
    let us = v.as_f64().unwrap_or_else(|| panic!("a number: {v}"));
    assert!(us >= 0.0, "{v}");
    (us * 1000.0).round() as u64
}

/// `glass run --timeline` of a busybox pipeline: valid trace-event JSON (every event has
/// the fields its phase needs), slices nest on every track, every flow start has one
/// finish bound inside a slice, the syscall slices are the calls `--trace` logs, each pid
/// is named after the program it exec'd, and a replay of the recording writes the same
/// bytes.
#[test]
fn timeline_of_a_pipeline_is_valid_and_replays_identically() {
    let root = guest_root();
    let root = root.to_str().expect("root path");
    let (tl, tl2, rec, trace) = (
        scratch("run.json"),
        scratch("replay.json"),
        scratch("run.rec"),
        scratch("trace.jsonl"),
    );
    let s = |p: &PathBuf| p.to_str().expect("path").to_string();
    let o = run_glass(&[
        "run",
        "--root",
        root,
        "--timeline",
        &s(&tl),
        "--trace",
        &s(&trace),
        "--record",
        &s(&rec),
        "--",
        "/bin/sh",
        "-c",
        "echo hello | tr a-z A-Z | wc -c",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "6");
    let o = run_glass(&["replay", &s(&rec), "--root", root, "--timeline", &s(&tl2)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&tl).expect("timeline");
    assert!(
        bytes == std::fs::read(&tl2).expect("replay timeline"),
        "run and replay timelines differ"
    );

    let doc: serde_json::Value = serde_json::from_slice(&bytes).expect("timeline is JSON");
    let evs = doc["traceEvents"].as_array().expect("traceEvents array");
    let mut slices: BTreeMap<Track, Vec<Slice>> = BTreeMap::new();
    let mut instants: BTreeMap<(u64, u64), Vec<(u64, String)>> = BTreeMap::new();
    let mut starts: BTreeMap<u64, &serde_json::Value> = BTreeMap::new();
    let mut finishes: BTreeMap<u64, &serde_json::Value> = BTreeMap::new();
    let mut names: BTreeMap<u64, String> = BTreeMap::new();
    for e in evs {
        let ph = e["ph"].as_str().unwrap_or_else(|| panic!("ph: {e}"));
        let pid = e["pid"].as_u64().unwrap_or_else(|| panic!("pid: {e}"));
        let tid = e["tid"].as_u64().unwrap_or_else(|| panic!("tid: {e}"));
        let name = e["name"].as_str().unwrap_or_else(|| panic!("name: {e}"));
        if ph == "M" {
            assert!(["process_name", "thread_name"].contains(&name), "{e}");
            let n = e["args"]["name"].as_str().unwrap_or_else(|| panic!("{e}"));
            if name == "process_name" {
                names.insert(pid, n.to_string());
            }
            continue;
        }
        assert!(e["cat"].is_string(), "cat: {e}");
        let ts = ns(&e["ts"]);
        match ph {
            "X" => slices.entry((pid, tid)).or_default().push((
                ts,
                ts + ns(&e["dur"]),
                name.to_string(),
            )),
            "i" => {
                assert!(
                    ["t", "p", "g"].contains(&e["s"].as_str().unwrap_or("")),
                    "{e}"
                );
                instants
                    .entry((pid, tid))
                    .or_default()
                    .push((ts, name.to_string()));
            }
            "s" => assert!(starts.insert(e["id"].as_u64().expect("id"), e).is_none()),
            "f" => {
                assert_eq!(e["bp"], "e", "{e}");
                assert!(finishes.insert(e["id"].as_u64().expect("id"), e).is_none());
            }
            _ => panic!("unexpected phase: {e}"),
        }
    }
    // Slices nest on every track.
    for (track, v) in &mut slices {
        v.sort_by_key(|&(s, e, _)| (s, std::cmp::Reverse(e)));
        let mut stack: Vec<(u64, u64)> = Vec::new();
        for &(s, e, ref n) in v.iter() {
            while stack.last().is_some_and(|&(_, te)| te <= s) {
                stack.pop();
            }
            if let Some(&(ts, te)) = stack.last() {
                assert!(
                    s >= ts && e <= te,
                    "{track:?}: {n} [{s},{e}] overlaps [{ts},{te}]"
                );
            }
            stack.push((s, e));
        }
    }
    // The slice of `track` that holds `ts`, innermost first.
    let holder = |track: (u64, u64), ts: u64| -> Option<String> {
        slices
            .get(&track)?
            .iter()
            .filter(|(s, e, _)| *s <= ts && ts <= *e)
            .min_by_key(|(s, e, _)| e - s)
            .map(|x| x.2.clone())
    };
    // Every flow start has its finish, later, and both sit in a slice (or, for a new
    // process, at its fork instant).
    assert_eq!(
        starts.keys().collect::<Vec<_>>(),
        finishes.keys().collect::<Vec<_>>()
    );
    let track = |e: &serde_json::Value| {
        (
            e["pid"].as_u64().unwrap_or(0),
            e["tid"].as_u64().unwrap_or(0),
        )
    };
    let (mut forks, mut pipes) = (0, 0);
    for (id, s) in &starts {
        let f = finishes[id];
        assert_eq!(s["name"], f["name"]);
        assert!(ns(&s["ts"]) <= ns(&f["ts"]), "{s} {f}");
        let from = holder(track(s), ns(&s["ts"])).unwrap_or_else(|| panic!("no slice at {s}"));
        match s["name"].as_str() {
            Some("fork") => {
                forks += 1;
                assert!(
                    ["clone", "fork", "vfork", "clone3"].contains(&from.as_str()),
                    "{from}"
                );
                let born = &instants[&track(f)];
                assert!(
                    born.iter().any(|(t, n)| n == "fork" && *t == ns(&f["ts"])),
                    "{f}"
                );
            }
            Some("pipe") => {
                pipes += 1;
                assert!(["write", "writev"].contains(&from.as_str()), "{from} {s}");
                let to =
                    holder(track(f), ns(&f["ts"])).unwrap_or_else(|| panic!("no slice at {f}"));
                assert!(["read", "readv"].contains(&to.as_str()), "{to} {f}");
            }
            other => panic!("flow {other:?}"),
        }
    }
    // sh and the three sides of the pipeline; each child forked once; `echo` is a builtin
    // of the first child, which writes into the pipe tr reads, and tr writes into wc's.
    assert_eq!(names.len(), 4, "{names:?}");
    assert_eq!(forks, 3);
    assert_eq!(pipes, 2, "echo → tr, tr → wc");
    let progs: BTreeSet<&str> = names.values().map(String::as_str).collect();
    assert_eq!(progs, BTreeSet::from(["sh", "tr", "wc"]));
    for pid in names.keys() {
        assert!(
            instants[&(*pid, *pid)].iter().any(|(_, n)| n == "exit"),
            "{pid} exits"
        );
    }
    // The syscall slices are the calls the --trace log has, per pid.
    let mut logged: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for l in std::fs::read_to_string(&trace).expect("trace").lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("trace line");
        logged
            .entry(v["pid"].as_u64().expect("pid"))
            .or_default()
            .push(v["sys"].as_str().expect("sys").to_string());
    }
    let mut drawn: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for e in evs.iter().filter(|e| e["cat"] == "syscall") {
        drawn
            .entry(e["pid"].as_u64().expect("pid"))
            .or_default()
            .push(e["name"].as_str().expect("name").to_string());
    }
    assert_eq!(drawn, logged);
    for f in [tl, tl2, rec, trace] {
        let _ = std::fs::remove_file(f);
    }
}
