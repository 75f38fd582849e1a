//! Debian's static programs (bash-static, zsh-static, sash, gpgv-static, e2fsck-static,
//! dar-static, put in the default root by tools/scripts/debian-programs.sh) run natively and
//! under glass: each `tests/scripts/debian/NAME.*` is copied into the guest root as
//! `scripts/debian/NAME.*` and run with the guest root as the working directory on the host
//! and `/` under glass. The amd64 build runs natively (the oracle) and under glass; the arm64
//! build runs under qemu-aarch64 (the oracle) and under glass. Stdout, stderr and the exit
//! status must be byte-identical to the oracle's, and the oracle's exit status must be the
//! one the case pins, so a script that breaks on the host is noticed too.
//!
//! Shell scripts (bash, zsh, sash) are run by the program itself. e2fsck, gpgv and dar are
//! driven by a busybox sh script that calls `$QEMU $BIN/PROGRAM`: natively and under glass
//! `BIN` names the arch's directory in the root (relative, so the same path on both sides)
//! and `QEMU` is `qemu-aarch64` for the arm64 oracle, whose busybox is the host's amd64 one
//! (qemu-user cannot follow an exec into another arm64 program without binfmt_misc). The
//! native runs find the root's busybox applets through `PATH`, as the guest does.
//!
//! Their inputs (ext2/ext4 images made with mke2fs and damaged with debugfs, a key and
//! signatures made with gpg) are made by `tests/scripts/debian/make-inputs.sh` on the host,
//! into `tmp/debian-inputs` of the guest root, once per test process.

use glass_tests::{both_outputs, first_difference, glass_bin, guest_root, repo_root, show};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A run that takes longer than this is killed and reported (a hang must not stall the suite).
/// Generous: qemu-user oracles of the recursive scripts took over 120 s on a loaded 2-core host.
const TIMEOUT: Duration = Duration::from_secs(300);

/// What one run gave.
#[derive(Debug)]
struct Run {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit: i32,
    timed_out: bool,
}

/// Run a command with stdin empty, collecting stdout and stderr; kill it after `TIMEOUT`.
fn run(mut cmd: Command) -> Run {
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
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        match child.try_wait().expect("wait for child") {
            Some(s) => break s,
            None if start.elapsed() > TIMEOUT => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().expect("wait for killed child");
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    Run {
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        exit: glass_tests::status_code(status),
        timed_out,
    }
}

fn scripts_dir() -> PathBuf {
    repo_root().join("tests").join("scripts").join("debian")
}

/// Copy `tests/scripts/debian/*` into `<root>/scripts/debian/` and make the inputs in
/// `<root>/tmp/debian-inputs`, once per test process. Each file is written under a temporary
/// name and renamed into place, so a parallel test never sees half of one.
fn prepare() -> &'static Path {
    static DONE: OnceLock<PathBuf> = OnceLock::new();
    DONE.get_or_init(|| {
        let root = guest_root();
        for arch in ["bin", "aarch64/bin"] {
            for p in [
                "bash-static",
                "zsh-static",
                "sash",
                "gpgv-static",
                "e2fsck.static",
                "dar_static",
                "busybox",
            ] {
                assert!(
                    root.join(arch).join(p).exists(),
                    "{}/{arch}/{p} is missing: run tools/scripts/setup.sh (or \
                     tools/scripts/debian-programs.sh) first",
                    root.display()
                );
            }
        }
        let dest = root.join("scripts").join("debian");
        std::fs::create_dir_all(&dest).expect("create the guest root's scripts/debian/");
        for e in std::fs::read_dir(scripts_dir()).expect("read tests/scripts/debian") {
            let e = e.expect("a directory entry");
            let name = e.file_name().into_string().expect("a UTF-8 script name");
            let src = std::fs::read(e.path()).expect("read a script");
            let to = dest.join(&name);
            if std::fs::read(&to).is_ok_and(|old| old == src) {
                continue;
            }
            let tmp = dest.join(format!(".{name}.{}.tmp", std::process::id()));
            std::fs::write(&tmp, &src).expect("write a script copy");
            std::fs::rename(&tmp, &to).expect("rename a script copy into place");
        }
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&tmp).expect("create the guest root's tmp/");
        let inputs = tmp.join("debian-inputs");
        let fresh = tmp.join(format!("debian-inputs.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&fresh);
        let out = Command::new("bash")
            .arg(scripts_dir().join("make-inputs.sh"))
            .arg(&fresh)
            .stdin(Stdio::null())
            .output()
            .expect("run make-inputs.sh");
        assert!(
            out.status.success(),
            "make-inputs.sh failed (it needs mke2fs, debugfs and gpg on the host):\n{}",
            show(&out.stderr)
        );
        let _ = std::fs::remove_dir_all(&inputs);
        std::fs::rename(&fresh, &inputs).expect("move the inputs into place");
        root
    })
}

/// How a case's script is run.
#[derive(Clone, Copy)]
enum How {
    /// `PROGRAM ARGS… scripts/debian/FILE`: the program reads the script itself.
    Program(&'static str, &'static [&'static str]),
    /// `busybox sh scripts/debian/FILE` with `ARCH`, `BIN` and `QEMU` saying which program.
    Driver,
}

/// Which build of the program runs, and so which oracle.
#[derive(Clone, Copy, PartialEq)]
enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The arch's program directory in the root, relative to it.
    fn bin(self) -> &'static str {
        match self {
            Arch::X86_64 => "bin",
            Arch::Aarch64 => "aarch64/bin",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }
}

/// The environment of a run: the guest's default one, with `PATH` naming `path`, and for a
/// driver the variables saying which program it calls.
fn env(how: How, arch: Arch, path: &str, qemu: &str) -> Vec<(String, String)> {
    let mut v = vec![
        ("PATH".to_string(), path.to_string()),
        ("HOME".to_string(), "/".to_string()),
        ("TERM".to_string(), "dumb".to_string()),
    ];
    if let How::Driver = how {
        v.push(("ARCH".to_string(), arch.name().to_string()));
        v.push(("BIN".to_string(), arch.bin().to_string()));
        v.push(("QEMU".to_string(), qemu.to_string()));
    }
    v
}

/// One lock per script file, held by whichever oracle run of it is under way.
type Turns = Mutex<HashMap<&'static str, Arc<Mutex<()>>>>;

/// The oracle run: the amd64 program natively, or the arm64 one under qemu-aarch64. Both
/// oracle runs of one script share the host's scratch directory, so they take turns.
fn oracle(file: &'static str, how: How, arch: Arch) -> Run {
    static TURNS: OnceLock<Turns> = OnceLock::new();
    let turn = TURNS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(file)
        .or_default()
        .clone();
    let _turn = turn.lock().unwrap_or_else(|e| e.into_inner());
    let root = prepare();
    let host_bin = root.join("bin").display().to_string();
    let script = format!("scripts/debian/{file}");
    let qemu = if arch == Arch::Aarch64 {
        glass_tests::qemu_aarch64().display().to_string()
    } else {
        String::new()
    };
    let mut cmd = match how {
        How::Program(p, args) => {
            let program = root.join(arch.bin()).join(p);
            let mut c = if arch == Arch::Aarch64 {
                let mut c = glass_tests::oracle(glass_tests::qemu_aarch64());
                c.arg(program);
                c
            } else {
                glass_tests::oracle(program)
            };
            c.args(args).arg(&script);
            c
        }
        How::Driver => {
            let mut c = glass_tests::oracle(root.join("bin").join("busybox"));
            c.args(["sh", &script]);
            c
        }
    };
    cmd.current_dir(root)
        .env_clear()
        .envs(env(how, arch, &host_bin, &qemu));
    run(cmd)
}

/// The same under glass, with the arch's own busybox and programs.
fn under_glass(file: &str, how: How, arch: Arch) -> Run {
    let root = prepare().display().to_string();
    let script = format!("scripts/debian/{file}");
    let mut cmd = Command::new(glass_bin());
    cmd.args(["run", "--root", &root]);
    let path = format!("/{}", arch.bin());
    for (k, v) in env(how, arch, &path, "") {
        cmd.arg(format!("--env={k}={v}"));
    }
    cmd.arg("--");
    match how {
        How::Program(p, args) => {
            cmd.arg(format!("/{}/{p}", arch.bin())).args(args);
        }
        How::Driver => {
            cmd.arg(format!("/{}/busybox", arch.bin())).arg("sh");
        }
    }
    cmd.arg(&script);
    run(cmd)
}

/// Run `file` under the oracle and under glass; panic with a readable report on any
/// difference. `want_exit` pins the oracle's exit status.
fn check(file: &'static str, how: How, arch: Arch, want_exit: i32) {
    let want = oracle(file, how, arch);
    let side = match arch {
        Arch::X86_64 => "native",
        Arch::Aarch64 => "qemu-aarch64",
    };
    assert!(
        !want.timed_out && want.exit == want_exit,
        "[{file}] the {side} run exited {}{}, the case expects {want_exit}\n--- stdout:\n{}\n\
         --- stderr:\n{}",
        want.exit,
        if want.timed_out { " (timed out)" } else { "" },
        show(&want.stdout),
        show(&want.stderr)
    );
    let got = under_glass(file, how, arch);
    let mut problems = Vec::new();
    if got.timed_out {
        problems.push(format!("glass timed out after {TIMEOUT:?}"));
    }
    if let Some(d) = first_difference(&want.stdout, &got.stdout) {
        problems.push(format!("stdout: {d}"));
    }
    if let Some(d) = first_difference(&want.stderr, &got.stderr) {
        problems.push(format!("stderr: {d}"));
    }
    if got.exit != want.exit {
        problems.push(format!(
            "exit status: {side} {}, glass {}",
            want.exit, got.exit
        ));
    }
    assert!(
        problems.is_empty(),
        "[{file}, {} under glass] differs from {side} (the first two outputs below are \
         {side}'s):\n{}\n{}",
        arch.name(),
        problems.join("\n"),
        both_outputs(&want.stdout, &got.stdout, &want.stderr, &got.stderr)
    );
}

const BASH: How = How::Program("bash-static", &[]);
/// `-f`: no startup files, so the host's /etc/zshenv cannot change the native run.
const ZSH: How = How::Program("zsh-static", &["-f"]);
const SASH: How = How::Program("sash", &["-f"]);

/// `name => (file, how, oracle exit status);` becomes `x86_64::name` and `aarch64::name`.
macro_rules! cases {
    ($($(#[$attr:meta])* $name:ident => ($file:expr, $how:expr, $exit:expr);)+) => {
        /// Every script file with a case, for the check that none is forgotten.
        const FILES: &[&str] = &[$($file),+];

        /// Each case with the amd64 program, natively and under glass.
        mod x86_64 {
            use super::*;
            $(
                $(#[$attr])*
                #[test]
                fn $name() {
                    check($file, $how, Arch::X86_64, $exit);
                }
            )+
        }

        /// Each case with the arm64 program, under qemu-aarch64 and under glass.
        mod aarch64 {
            use super::*;
            $(
                $(#[$attr])*
                #[test]
                fn $name() {
                    check($file, $how, Arch::Aarch64, $exit);
                }
            )+
        }
    };
}

cases! {
    bash_language_scripts_match => ("bash_language.sh", BASH, 0);
    bash_jobs_and_traps_match => ("bash_jobs.sh", BASH, 2);
    bash_process_substitution_matches => ("bash_procsubst.sh", BASH, 0);
    bash_read_timeout_matches => ("bash_read_timeout.sh", BASH, 0);
    zsh_language_scripts_match => ("zsh_language.zsh", ZSH, 0);
    zsh_jobs_and_traps_match => ("zsh_jobs.zsh", ZSH, 2);
    zsh_process_substitution_matches => ("zsh_procsubst.zsh", ZSH, 0);
    sash_builtins_match => ("sash_builtins.sash", SASH, 0);
    e2fsck_checks_and_repairs_images_match => ("e2fsck.sh", How::Driver, 0);
    gpgv_verifies_signatures_match => ("gpgv.sh", How::Driver, 0);
    dar_archive_round_trip_matches => ("dar.sh", How::Driver, 0);
}

#[test]
fn debian_scripts_every_file_has_a_case_and_a_comment() {
    let mut files: Vec<String> = std::fs::read_dir(scripts_dir())
        .expect("read tests/scripts/debian")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "make-inputs.sh")
        .collect();
    files.sort();
    let mut cases: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    cases.sort();
    assert_eq!(
        files, cases,
        "tests/scripts/debian and the cases here must match"
    );
    for f in &files {
        let text = std::fs::read_to_string(scripts_dir().join(f)).expect("read a script");
        assert!(
            text.starts_with("# ") && text.lines().next().is_some_and(|l| l.len() > 10),
            "{f}: the first line must be a `# ` comment saying what the script exercises"
        );
    }
}
