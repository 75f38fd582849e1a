//! bash's own test suite (the `tests/` directory of Debian's bash 5.2.15-2 source, fetched and
//! laid out by tools/scripts/bash-tests.sh in a cache outside the checkout) with Debian's
//! bash-static: each `run-NAME` driver runs its `NAME.tests` with `$THIS_SH` and diffs the
//! output against `NAME.right`, so a driver that exits 0 is a test that passed. Every driver
//! runs under an oracle and under glass: the amd64 bash-static natively and under glass, the
//! arm64 one under qemu-aarch64 and under glass. Every test that passes under the oracle must
//! pass under glass; the per-test table is printed (`--nocapture` shows it on success).
//!
//! The native and qemu runs each get a fresh copy of the tests directory and their own
//! `TMPDIR`, and find the root's busybox applets and bash's helpers (recho, zecho, printenv,
//! xcase) through `PATH`, as the guest does; the qemu run's `$THIS_SH` is a host script that
//! starts the arm64 bash-static under qemu-aarch64 (qemu-user cannot follow an exec into an
//! arm64 program by itself without binfmt_misc), and its helpers are the host's amd64 ones.
//! Under glass the root is the cache's `root/` and the working directory `/tests`.

use glass_tests::{glass_bin, repo_root, show, status_code};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A driver that takes longer than this is killed and counted as failed. The slowest kept
/// driver (run-jobs) takes about 65 s natively, most of it in `sleep`.
const TIMEOUT: Duration = Duration::from_secs(300);

/// Drivers not run, and why. `run-all` runs all the others and `run-minimal` is for a
/// shell built with --enable-minimal-config (both are excluded by bash's own `make tests`).
const SKIP: &[(&str, &str)] = &[
    ("run-all", "runs every other driver"),
    (
        "run-minimal",
        "only for a bash built with --enable-minimal-config",
    ),
    (
        "run-ifs-posix",
        "very long: 40 s natively (6,856 field-splitting cases), minutes under emulation",
    ),
    (
        "run-read",
        "fails natively with bash-static, and its read timeouts take over 300 s under qemu",
    ),
];

/// Drivers run at once by each arch's test (two arches run side by side), unless
/// `GLASS_BASH_SUITE_JOBS` says otherwise.
const JOBS: usize = 2;

/// The cache made by tools/scripts/bash-tests.sh (which fetches the source the first time).
fn cache() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new("bash")
            .arg(repo_root().join("tools/scripts/bash-tests.sh"))
            .stdin(Stdio::null())
            .output()
            .expect("run tools/scripts/bash-tests.sh");
        assert!(
            out.status.success(),
            "tools/scripts/bash-tests.sh failed:\n{}",
            show(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let dir = PathBuf::from(text.lines().last().unwrap_or_default().trim());
        assert!(
            dir.join("root/tests/run-arith").exists(),
            "bash-tests.sh printed {dir:?}, which has no root/tests/run-arith"
        );
        dir
    })
}

/// The drivers to run, sorted.
fn drivers() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(cache().join("root/tests"))
        .expect("read the bash tests directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("run-") && !SKIP.iter().any(|(s, _)| s == n))
        .collect();
    v.sort();
    v
}

/// What one run of a driver gave.
struct Run {
    /// Everything it printed (the diff, when the test failed), stdout then stderr.
    output: Vec<u8>,
    exit: i32,
    timed_out: bool,
    took: Duration,
}

impl Run {
    /// Exit status 0 and no diff hunk in the output: a driver with several tests exits with
    /// its last diff's status only, and busybox's diff prints unified hunks.
    fn passed(&self) -> bool {
        !self.timed_out
            && self.exit == 0
            && !self
                .output
                .split(|&b| b == b'\n')
                .any(|l| l.starts_with(b"@@ ") || l.starts_with(b"+++ "))
    }
}

/// Run a command with stdin empty; kill it after `TIMEOUT`.
fn run(mut cmd: Command) -> Run {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as _));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as _));
    let mut timed_out = false;
    let status = loop {
        match child.try_wait().expect("wait for child") {
            Some(s) => break s,
            None if start.elapsed() > TIMEOUT => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().expect("wait for killed child");
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let mut output = out.join().unwrap_or_default();
    output.extend(err.join().unwrap_or_default());
    Run {
        output,
        exit: status_code(status),
        timed_out,
        took: start.elapsed(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Arch {
    X86_64,
    Aarch64,
}

/// A host scratch directory for this test process.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("glass-bash-suite-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("create the scratch directory");
        // The qemu oracle's $THIS_SH.
        let root = cache().join("root");
        let wrapper = d.join("bash-static-qemu");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec {} {} \"$@\"\n",
                glass_tests::qemu_aarch64().display(),
                root.join("aarch64/bin/bash-static").display()
            ),
        )
        .expect("write the qemu wrapper");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
            .expect("make the qemu wrapper executable");
        d
    })
}

/// The oracle run of `driver`: natively (amd64) or under qemu-aarch64 (arm64), in a fresh
/// copy of the tests directory. Both oracles of one driver take turns: some tests write
/// fixed names in /tmp.
fn oracle(driver: &str, arch: Arch) -> Run {
    static TURNS: OnceLock<Mutex<HashMap<String, Arc<Mutex<()>>>>> = OnceLock::new();
    let turn = TURNS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(driver.to_string())
        .or_default()
        .clone();
    let _turn = turn.lock().unwrap_or_else(|e| e.into_inner());
    let root = cache().join("root");
    let tag = match arch {
        Arch::X86_64 => "native",
        Arch::Aarch64 => "qemu",
    };
    let work = scratch().join(format!("{tag}-{driver}"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("tmp")).expect("create a scratch tmp");
    let cp = Command::new("cp")
        .arg("-a")
        .arg(root.join("tests"))
        .arg(work.join("tests"))
        .status()
        .expect("run cp");
    assert!(cp.success(), "copying the tests directory failed");
    let (mut cmd, this_sh) = match arch {
        Arch::X86_64 => {
            let sh = root.join("bin/bash-static");
            (glass_tests::oracle(&sh), sh)
        }
        Arch::Aarch64 => {
            let mut c = glass_tests::oracle(glass_tests::qemu_aarch64());
            c.arg(root.join("aarch64/bin/bash-static"));
            (c, scratch().join("bash-static-qemu"))
        }
    };
    let tmp = work.join("tmp");
    cmd.arg(format!("./{driver}"))
        .current_dir(work.join("tests"))
        .env_clear()
        .env("PATH", root.join("bin"))
        .env("HOME", "/")
        .env("TERM", "dumb")
        .env("THIS_SH", this_sh)
        .env("TMPDIR", &tmp)
        .env("BASH_TSTOUT", tmp.join("bashtst"));
    let r = run(cmd);
    let _ = std::fs::remove_dir_all(&work);
    r
}

/// `driver` under glass, with the arch's bash-static, busybox and helpers.
fn under_glass(driver: &str, arch: Arch) -> Run {
    let root = cache().join("root").display().to_string();
    let bin = match arch {
        Arch::X86_64 => "/bin",
        Arch::Aarch64 => "/aarch64/bin",
    };
    let mut cmd = Command::new(glass_bin());
    cmd.args(["run", "--root", &root, "--cwd", "/tests"]);
    for e in [
        format!("PATH={bin}"),
        "HOME=/".to_string(),
        "TERM=dumb".to_string(),
        format!("THIS_SH={bin}/bash-static"),
        "TMPDIR=/tmp".to_string(),
        "BASH_TSTOUT=/tmp/bashtst".to_string(),
    ] {
        cmd.arg(format!("--env={e}"));
    }
    cmd.args(["--", &format!("{bin}/bash-static"), &format!("./{driver}")]);
    run(cmd)
}

/// One driver's results.
struct Row {
    driver: String,
    oracle: Run,
    glass: Run,
}

/// Run every driver under the oracle and glass, `jobs` at a time; check and print the table.
fn suite(arch: Arch) {
    let jobs = std::env::var("GLASS_BASH_SUITE_JOBS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(JOBS)
        .max(1);
    let queue = Arc::new(Mutex::new(drivers()));
    let rows = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..jobs)
        .map(|_| {
            let queue = queue.clone();
            let rows = rows.clone();
            std::thread::spawn(move || loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let Some(driver) = next else { break };
                let oracle = oracle(&driver, arch);
                let glass = under_glass(&driver, arch);
                rows.lock().unwrap_or_else(|e| e.into_inner()).push(Row {
                    driver,
                    oracle,
                    glass,
                });
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a suite worker panicked");
    }
    let mut rows = std::mem::take(&mut *rows.lock().unwrap_or_else(|e| e.into_inner()));
    rows.sort_by(|a, b| a.driver.cmp(&b.driver));
    let (arch_name, side) = match arch {
        Arch::X86_64 => ("x86_64", "native"),
        Arch::Aarch64 => ("arm64", "qemu"),
    };
    let verdict = |r: &Run| match (r.passed(), r.timed_out) {
        (true, _) => "pass",
        (false, true) => "TIMEOUT",
        (false, false) => "fail",
    };
    let mut table = format!(
        "bash test suite, {arch_name}: {:<18} {:>8} {:>8}   {:>8} {:>8}\n",
        "driver", side, "secs", "glass", "secs"
    );
    let mut regressions = Vec::new();
    for r in &rows {
        let mark = if r.oracle.passed() && !r.glass.passed() {
            regressions.push(r);
            "  <-- passes under the oracle only"
        } else {
            ""
        };
        table.push_str(&format!(
            "bash test suite, {arch_name}: {:<18} {:>8} {:>8.1}   {:>8} {:>8.1}{mark}\n",
            r.driver,
            verdict(&r.oracle),
            r.oracle.took.as_secs_f64(),
            verdict(&r.glass),
            r.glass.took.as_secs_f64()
        ));
    }
    let oracle_passed = rows.iter().filter(|r| r.oracle.passed()).count();
    let both = rows
        .iter()
        .filter(|r| r.oracle.passed() && r.glass.passed())
        .count();
    let glass_only = rows
        .iter()
        .filter(|r| !r.oracle.passed() && r.glass.passed())
        .count();
    table.push_str(&format!(
        "bash test suite, {arch_name}: {} drivers run, {} skipped ({}); {oracle_passed} pass \
         under {side}, {both} of those under glass too; {glass_only} pass under glass only\n",
        rows.len(),
        SKIP.len(),
        SKIP.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    ));
    println!("{table}");
    let details: Vec<String> = regressions
        .iter()
        .map(|r| {
            format!(
                "--- {} under glass (exit {}{}):\n{}",
                r.driver,
                r.glass.exit,
                if r.glass.timed_out { ", timed out" } else { "" },
                show(&r.glass.output[..r.glass.output.len().min(1500)])
            )
        })
        .collect();
    assert!(
        oracle_passed >= 50,
        "only {oracle_passed} drivers pass under {side}: the oracle itself looks broken\n{table}"
    );
    assert!(
        regressions.is_empty(),
        "{} drivers pass under {side} but not under glass:\n{table}\n{}",
        regressions.len(),
        details.join("\n")
    );
}

#[test]
fn bash_suite_x86_64_passes_every_test_native_passes() {
    suite(Arch::X86_64);
}

#[test]
fn bash_suite_arm64_passes_every_test_qemu_passes() {
    suite(Arch::Aarch64);
}
