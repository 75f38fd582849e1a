//! Record and replay (issue 11, docs/recording.md): `glass run --record` then `glass replay`
//! gives the digest of a plain `glass run` of the same program (the oracle: a run that never
//! saw the recorder) and the same output, for the guest test programs, a busybox script,
//! console input and a served session where a python-9p client stops a process, writes its
//! memory and starts it; a changed root file is refused by name; an altered record is
//! reported as a divergence; truncated, corrupt and newer recordings give clear errors.

use glass_tests::{guest_root, repo_root, run_glass, symbol, ServedMachine};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glass-replay-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// The digest line glass printed last on stderr.
fn digest(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    err.lines()
        .rev()
        .find_map(|l| l.strip_prefix("glass: digest "))
        .unwrap_or_else(|| panic!("no digest line in {err}"))
        .to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `glass run --root ROOT [--record FILE] --digest -- ARGV`, stdin from `input`.
fn run_with(
    root: &Path,
    record: Option<&Path>,
    extra: &[&str],
    argv: &[&str],
    input: &[u8],
) -> Output {
    use std::io::Write;
    let mut c = Command::new(glass_tests::glass_bin());
    c.arg("run").arg("--root").arg(root).arg("--digest");
    if let Some(f) = record {
        c.arg("--record").arg(f);
    }
    c.args(extra).arg("--").args(argv);
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn glass run");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("write stdin");
    drop(stdin);
    child.wait_with_output().expect("glass run")
}

fn replay(file: &Path, extra: &[&str]) -> Output {
    let f = file.to_string_lossy().into_owned();
    let mut args = vec!["replay", f.as_str(), "--digest"];
    args.extend_from_slice(extra);
    run_glass(&args)
}

/// Record `argv`, check the recording changed nothing (the digest of a plain run), replay
/// it and check the replay matched with the same output and digest. Returns the recording.
fn round_trip(name: &str, argv: &[&str], input: &[u8]) -> PathBuf {
    let root = guest_root();
    let file = scratch(name).join("run.glrec");
    let plain = run_with(&root, None, &[], argv, input);
    let rec = run_with(&root, Some(&file), &[], argv, input);
    assert_eq!(
        digest(&plain),
        digest(&rec),
        "{name}: recording changed the run: {}",
        stderr(&rec)
    );
    assert_eq!(plain.stdout, rec.stdout, "{name}: output");
    let rep = replay(&file, &[]);
    let err = stderr(&rep);
    assert!(
        err.contains("glass: replay matched the recording"),
        "{name}: {err}"
    );
    assert_eq!(digest(&rep), digest(&rec), "{name}: replay digest: {err}");
    assert_eq!(rep.stdout, rec.stdout, "{name}: replay output");
    assert_eq!(rep.status.code(), rec.status.code(), "{name}: exit status");
    file
}

#[test]
fn replay_guest_programs_digests_equal_recorded() {
    for (name, argv) in [
        ("usertests", vec!["/bin/usertests"]),
        ("proctests", vec!["/bin/proctests"]),
        ("forktree", vec!["/bin/forktree"]),
        ("threads", vec!["/bin/threads"]),
        ("proctests-aarch64", vec!["/aarch64/bin/proctests"]),
        ("proctests-riscv64", vec!["/riscv64/bin/proctests"]),
    ] {
        let f = round_trip(name, &argv, b"");
        let text = std::fs::read_to_string(&f).expect("recording");
        assert!(
            text.lines()
                .next()
                .is_some_and(|h| h.contains("\"format\":\"glass-recording\"")),
            "{name}: header"
        );
    }
}

#[test]
fn replay_busybox_script_with_console_input_matches() {
    let script = "sort /data/words.txt | uniq -c | sort -rn | head -3; \
                  while read l; do echo \"got $l\"; done; seq 1 2000 | md5sum; echo done";
    let f = round_trip(
        "script",
        &["/bin/busybox", "sh", "-c", script],
        b"first line\nsecond line\n",
    );
    // The console chunks are in the recording (without /proc: as `read` records).
    let text = std::fs::read_to_string(&f).expect("recording");
    assert!(text.contains("\"k\":\"read\""), "{text}");
    assert!(text.contains("\"k\":\"end\""), "{text}");
}

#[test]
fn replay_sched_seed_and_cpus_are_kept() {
    round_trip(
        "chaos",
        &[
            "/bin/busybox",
            "sh",
            "-c",
            "echo a | cat & echo b | cat & wait; nproc",
        ],
        b"",
    );
    let root = guest_root();
    let file = scratch("chaos2").join("run.glrec");
    let argv = ["/bin/races"];
    let rec = run_with(
        &root,
        Some(&file),
        &["--sched-seed", "7", "--cpus", "4"],
        &argv,
        b"",
    );
    let rep = replay(&file, &[]);
    assert!(stderr(&rep).contains("replay matched"), "{}", stderr(&rep));
    assert_eq!(digest(&rep), digest(&rec));
}

/// A root of its own: busybox and one data file.
fn small_root(name: &str) -> PathBuf {
    let d = scratch(name).join("root");
    std::fs::create_dir_all(d.join("bin")).expect("mkdir");
    std::fs::create_dir_all(d.join("data")).expect("mkdir");
    std::fs::copy(guest_root().join("bin/busybox"), d.join("bin/busybox")).expect("busybox");
    std::fs::write(d.join("data/x.txt"), "one\ntwo\nthree\n").expect("x.txt");
    std::fs::write(d.join("data/unread.txt"), "never opened\n").expect("unread");
    d
}

#[test]
fn replay_changed_root_file_is_refused_by_name() {
    let root = small_root("rootcheck");
    let file = root.parent().expect("parent").join("run.glrec");
    let argv = ["/bin/busybox", "sh", "-c", "cat /data/x.txt | wc -l"];
    let rec = run_with(&root, Some(&file), &[], &argv, b"");
    assert!(rec.status.success(), "{}", stderr(&rec));
    let r = root.to_string_lossy().into_owned();
    // A file the run did not open may change.
    std::fs::write(root.join("data/unread.txt"), "changed\n").expect("write");
    let ok = replay(&file, &["--root", &r]);
    assert!(stderr(&ok).contains("replay matched"), "{}", stderr(&ok));
    // One the run read may not.
    std::fs::write(root.join("data/x.txt"), "one\ntwo\nthree\nfour\n").expect("write");
    let bad = replay(&file, &["--root", &r]);
    let err = stderr(&bad);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(
        err.contains("refused") && err.contains("/data/x.txt"),
        "{err}"
    );
    assert!(bad.stdout.is_empty(), "nothing ran");
}

#[test]
fn replay_record_root_replays_without_the_root() {
    let root = small_root("embed");
    let file = root.parent().expect("parent").join("run.glrec");
    let argv = ["/bin/busybox", "sh", "-c", "cat /data/x.txt | wc -l"];
    let rec = run_with(&root, Some(&file), &["--record-root"], &argv, b"");
    assert_eq!(String::from_utf8_lossy(&rec.stdout).trim(), "3");
    std::fs::remove_dir_all(&root).expect("remove the root");
    let rep = replay(&file, &[]);
    assert!(stderr(&rep).contains("replay matched"), "{}", stderr(&rep));
    assert_eq!(rep.stdout, rec.stdout);
    assert_eq!(digest(&rep), digest(&rec));
}

/// Rewrite the recording's lines with `f` into a new file.
fn altered(file: &Path, name: &str, f: impl Fn(Vec<String>) -> Vec<String>) -> PathBuf {
    let text = std::fs::read_to_string(file).expect("recording");
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let out = file.with_file_name(name);
    let mut s = f(lines).join("\n");
    s.push('\n');
    std::fs::write(&out, s).expect("write altered");
    out
}

#[test]
fn replay_altered_record_reports_first_divergence() {
    let root = guest_root();
    let file = scratch("alter").join("run.glrec");
    let script = "while read l; do echo \"got $l\"; done; seq 1 3000 | md5sum";
    let argv = ["/bin/busybox", "sh", "-c", script];
    let rec = run_with(&root, Some(&file), &[], &argv, b"abc\n");
    assert!(rec.status.success(), "{}", stderr(&rec));
    // busybox's `read` takes the console a byte at a time: the chunk "c" (63) of "abc\n"
    // becomes "d" (64).
    let bad = altered(&file, "altered.glrec", |lines| {
        lines
            .into_iter()
            .map(|l| l.replace("\"data\":\"63\"", "\"data\":\"64\""))
            .collect()
    });
    assert!(
        std::fs::read(&bad).expect("read") != std::fs::read(&file).expect("read"),
        "the record was altered"
    );
    let rep = replay(&bad, &[]);
    let err = stderr(&rep);
    assert_eq!(rep.status.code(), Some(3), "{err}");
    assert!(err.contains("replay diverged at"), "{err}");
    assert!(err.contains("pid 1"), "{err}");
    assert!(err.contains("system call "), "{err}");
    assert!(err.contains("digest differs"), "{err}");
}

#[test]
fn replay_bad_recordings_give_clear_errors() {
    let root = guest_root();
    let dir = scratch("bad");
    let file = dir.join("run.glrec");
    let argv = [
        "/bin/busybox",
        "sh",
        "-c",
        "seq 1 20000 | sort -r | head -2",
    ];
    let rec = run_with(&root, Some(&file), &[], &argv, b"");
    assert!(rec.status.success());
    let lines = std::fs::read_to_string(&file)
        .expect("recording")
        .lines()
        .count();
    assert!(lines > 4, "a recording with checkpoints: {lines} lines");

    // Cut short mid-record: replays up to the last complete record and says so.
    let bytes = std::fs::read(&file).expect("read");
    let cut = dir.join("cut.glrec");
    let mut end = bytes.len() * 2 / 3;
    while bytes[end - 1] == b'\n' {
        end -= 1;
    }
    std::fs::write(&cut, &bytes[..end]).expect("write");
    let rep = replay(&cut, &[]);
    let err = stderr(&rep);
    assert_eq!(rep.status.code(), Some(0), "{err}");
    assert!(err.contains("the recording was cut short"), "{err}");

    // A corrupt record in the middle: an error naming the line, nothing run.
    let corrupt = altered(&file, "corrupt.glrec", |mut l| {
        l[2] = "{\"k\":\"check\",\"step\":".into();
        l
    });
    let rep = replay(&corrupt, &[]);
    let err = stderr(&rep);
    assert_eq!(rep.status.code(), Some(2), "{err}");
    assert!(err.contains("record 3 is corrupt"), "{err}");
    assert!(rep.stdout.is_empty());

    // A newer version.
    let newer = altered(&file, "newer.glrec", |mut l| {
        l[0] = l[0].replace("\"version\":1", "\"version\":99");
        l
    });
    let rep = replay(&newer, &[]);
    let err = stderr(&rep);
    assert_eq!(rep.status.code(), Some(2), "{err}");
    assert!(
        err.contains("version 99") && err.contains("newer glass"),
        "{err}"
    );

    // Not a recording at all, and an empty file.
    for (name, content) in [
        ("junk.glrec", &b"\x7fELF\x02\x01"[..]),
        ("empty.glrec", b""),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, content).expect("write");
        let rep = replay(&p, &[]);
        let err = stderr(&rep);
        assert_eq!(rep.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains("is not a Glass recording"), "{name}: {err}");
    }
}

#[test]
fn replay_until_syscall_stops_there() {
    let root = guest_root();
    let file = scratch("until").join("run.glrec");
    let argv = ["/bin/busybox", "sh", "-c", "echo one; echo two; echo three"];
    run_with(&root, Some(&file), &[], &argv, b"");
    let all = replay(&file, &[]);
    assert_eq!(String::from_utf8_lossy(&all.stdout), "one\ntwo\nthree\n");
    // Trace the replay to find the second write, then stop right after it.
    let trace = file.with_file_name("trace.jsonl");
    let t = trace.to_string_lossy().into_owned();
    replay(&file, &["--trace", &t]);
    let calls: Vec<serde_json::Value> = std::fs::read_to_string(&trace)
        .expect("trace")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let second_write = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c["sys"] == "write")
        .nth(1)
        .map(|(i, _)| i + 1)
        .expect("two writes");
    let rep = replay(&file, &["--until", &format!("syscall:{second_write}")]);
    let err = stderr(&rep);
    assert!(err.contains("as --until asked"), "{err}");
    assert_eq!(String::from_utf8_lossy(&rep.stdout), "one\ntwo\n", "{err}");
    let bad = replay(&file, &["--until", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("bad moment"), "{}", stderr(&bad));
}

/// The python-9p interop client, or None (skipped) when its venv is missing outside CI.
fn python9p(args: &[&str]) -> Option<(String, bool)> {
    let py = repo_root().join("build/venv/python-9p/bin/python");
    if !py.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} missing in CI",
            py.display()
        );
        eprintln!("skipping: {} missing", py.display());
        return None;
    }
    let o = Command::new(py)
        .arg(repo_root().join("tests/interop/python9p_client.py"))
        .args(args)
        .env(
            "NINEP_UNAME",
            std::env::var("USER").unwrap_or_else(|_| "glass".into()),
        )
        .output()
        .expect("run python-9p client");
    Some((
        String::from_utf8_lossy(&o.stdout).into_owned(),
        o.status.success(),
    ))
}

#[test]
fn replay_served_session_with_console_input_and_mem_write_matches() {
    use std::io::Write;
    let file = scratch("served").join("run.glrec");
    let f = file.to_string_lossy().into_owned();
    // The shell reads a console line, then becomes `target`, which spins until a /proc
    // client writes its `stop_now`.
    let mut m = ServedMachine::start_piped(&[
        "--record",
        &f,
        "--digest",
        "--",
        "/bin/busybox",
        "sh",
        "-c",
        "read l; echo \"got $l\"; exec /bin/target",
    ]);
    let (stop_now, _) = symbol("x86_64", "target", "stop_now");
    let (marker, _) = symbol("x86_64", "target", "marker");
    let mut stdin = m.stdin.take().expect("piped stdin");
    stdin
        .write_all(b"hello from the console\n")
        .expect("console input");
    drop(stdin);
    // Wait until pid 1 is target.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let Some((st, _)) = python9p(&[&m.addr, "read", "/1/status"]) else {
            return;
        };
        if st.starts_with("target") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "target never ran: {st}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let ok = |args: &[&str]| {
        let (out, ok) = python9p(args).expect("client");
        assert!(ok, "{args:?}: {out}");
    };
    ok(&[&m.addr, "write", "/1/ctl", "stop"]);
    ok(&[&m.addr, "write", "/1/mem", "REPLAYED", &marker.to_string()]);
    ok(&[&m.addr, "write", "/1/mem", "1", &stop_now.to_string()]);
    ok(&[&m.addr, "write", "/1/ctl", "start"]);
    assert_eq!(m.wait_exit(60), Some(0), "{}", m.stderr());
    let out = m.stdout();
    assert!(
        out.starts_with("got hello from the console\nREPLAYED"),
        "{out}"
    );
    assert!(out.contains("(stop_now=49)"), "{out}");
    let rec_digest = m
        .stderr()
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("glass: digest ").map(str::to_string))
        .expect("digest line");
    let text = std::fs::read_to_string(&file).expect("recording");
    for kind in [
        "\"k\":\"in\"",
        "\"k\":\"ctl\"",
        "\"k\":\"mem\"",
        "\"served\":true",
    ] {
        assert!(text.contains(kind), "{kind} in {text}");
    }
    // Replayed with no client and no input: the same output and digest.
    let rep = replay(&file, &[]);
    let err = stderr(&rep);
    assert!(err.contains("replay matched"), "{err}");
    assert_eq!(String::from_utf8_lossy(&rep.stdout), out);
    assert_eq!(digest(&rep), rec_digest);
}

#[test]
fn replay_demo_recording_is_small() {
    // The demo's workload, recorded without its root: under 64 KiB (issue 11).
    let workload = "sort /data/words.txt | uniq -c | sort -rn | head -5\n\
                    seq 1 60000 | sed 's/$/ glass/' | sort -r | head -3\n\
                    sha256sum /data/words.txt\n/bin/usertests | tail -1\n/bin/proctests | tail -1\n\
                    /aarch64/bin/proctests | tail -1\n/riscv64/bin/proctests | tail -1\ndate -u\n";
    let file = scratch("demo").join("demo.glrec");
    let rec = run_with(
        &guest_root(),
        Some(&file),
        &[],
        &["/bin/busybox", "sh", "-c", workload],
        b"",
    );
    assert!(rec.status.success(), "{}", stderr(&rec));
    let size = std::fs::metadata(&file).expect("recording").len();
    assert!(size < 64 * 1024, "demo recording is {size} bytes");
    let text = std::fs::read_to_string(&file).expect("recording");
    let checks = text
        .lines()
        .filter(|l| l.contains("\"k\":\"check\""))
        .count();
    assert!(checks >= 5, "{checks} checkpoints");
}

/// The python-9p client's raw stdout (a `mem` read is binary).
fn python9p_raw(args: &[&str]) -> Vec<u8> {
    let py = repo_root().join("build/venv/python-9p/bin/python");
    Command::new(py)
        .arg(repo_root().join("tests/interop/python9p_client.py"))
        .args(args)
        .env(
            "NINEP_UNAME",
            std::env::var("USER").unwrap_or_else(|_| "glass".into()),
        )
        .output()
        .expect("run python-9p client")
        .stdout
}

#[test]
fn replay_seek_through_proc_time_reads_memory_of_each_moment() {
    use std::io::{BufRead, BufReader};
    // Record `target` (it counts in `ticks` until a client sets `stop_now`).
    let file = scratch("travel").join("run.glrec");
    let f = file.to_string_lossy().into_owned();
    let mut m = ServedMachine::start(&["--record", &f, "--", "/bin/target"]);
    let (stop_now, _) = symbol("x86_64", "target", "stop_now");
    let (ticks, _) = symbol("x86_64", "target", "ticks");
    // Let it count for at least 300 ms of virtual time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let far = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .any(|v| v["k"] == "check" && v["t"].as_u64().is_some_and(|t| t > 300_000_000));
        if far {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "target never got far");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    for args in [
        vec!["write", "/1/ctl", "stop"],
        vec!["write", "/1/mem", "1", &stop_now.to_string()],
        vec!["write", "/1/ctl", "start"],
    ] {
        let mut a = vec![m.addr.as_str()];
        a.extend(args.iter().copied());
        let Some((out, ok)) = python9p(&a) else {
            return;
        };
        assert!(ok, "{a:?}: {out}");
    }
    assert_eq!(m.wait_exit(60), Some(0), "{}", m.stderr());

    // Replay to 100 ms with /proc served, then move through /proc/time.
    let mut child = Command::new(glass_tests::glass_bin())
        .args(["replay", &f, "--until", "100ms", "--serve", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("glass replay --serve");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    err.read_line(&mut line).expect("serving line");
    let addr = line
        .strip_prefix("glass: serving /proc on ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no serving line: {line:?}"))
        .to_string();
    let read_ticks = || {
        let b = python9p_raw(&[&addr, "read", "/1/mem", &ticks.to_string(), "8"]);
        u64::from_le_bytes(
            b.get(..8)
                .and_then(|s| s.try_into().ok())
                .unwrap_or_else(|| panic!("mem read: {b:?}")),
        )
    };
    let time = || String::from_utf8_lossy(&python9p_raw(&[&addr, "read", "/time"])).into_owned();
    let seek = |when: &str| {
        let (out, ok) =
            python9p(&[&addr, "write", "/time", &format!("seek {when}")]).expect("client");
        assert!(ok, "seek {when}: {out}");
    };
    let (ls, _) = python9p(&[&addr, "ls", "/"]).expect("client");
    assert!(ls.lines().any(|l| l.starts_with("time\t")), "{ls}");
    let t1 = time();
    assert!(t1.starts_with("1000"), "at 100 ms: {t1}");
    let at100 = read_ticks();
    seek("300ms");
    let t2 = time();
    assert!(t2.starts_with("3000"), "at 300 ms: {t2}");
    let at300 = read_ticks();
    assert!(at300 > at100, "ticks {at100} at 100 ms, {at300} at 300 ms");
    // Back: the memory of that moment again, exactly.
    seek("100ms");
    assert_eq!(time(), t1);
    assert_eq!(read_ticks(), at100);
    seek("300ms");
    assert_eq!(read_ticks(), at300);
    let (bad, ok) = python9p(&[&addr, "write", "/time", "jump 5ms"]).expect("client");
    assert!(!ok && bad.contains("unknown control message"), "{bad}");
    let _ = child.kill();
    let _ = child.wait();
}
