//! Calls and start-up details of issues 12 and 15, each checked against the host: the note
//! about an unimplemented call names it (Linux's number from the host's uapi header) and
//! `--quiet-syscalls` silences it; pselect6 (bash `read -t`, `bash -i`) against native
//! bash-static; the console buffers like a redirected native stdout (write counts under
//! strace); a `#!` script as the first program and a `#!` loop (ELOOP) against the host
//! kernel; privileged x86_64 instructions fault as on Linux, and aarch64 (EL0) and riscv64
//! (U-mode) ones are SIGILL as under qemu-user (guest-images/src/privinsn.c).

use glass_tests::{guest_env, guest_image, guest_root, oracle, run_glass, show};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root_arg() -> String {
    guest_root().display().to_string()
}

/// A scratch guest root that is removed again.
struct TempRoot(PathBuf);

impl TempRoot {
    fn new(tag: &str) -> TempRoot {
        let dir = std::env::temp_dir().join(format!("glass-calls-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).expect("temporary root");
        TempRoot(dir)
    }

    /// Write an executable file at `rel` (relative to the root).
    fn script(&self, rel: &str, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.0.join(rel);
        std::fs::write(&p, text).expect("write script");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        p
    }

    fn copy(&self, from: &Path, rel: &str) {
        std::fs::copy(from, self.0.join(rel)).expect("copy into the root");
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The number the host's uapi header gives x86_64 call `name`, if the header is there.
fn host_nr(name: &str) -> Option<u64> {
    let h = std::fs::read_to_string("/usr/include/x86_64-linux-gnu/asm/unistd_64.h").ok()?;
    let want = format!("__NR_{name}");
    h.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next() == Some("#define") && w.next() == Some(want.as_str()))
            .then(|| w.next()?.parse().ok())
            .flatten()
    })
}

#[test]
fn calls_unimplemented_note_names_the_call_and_quiet_silences_it() {
    // busybox sync calls sync(2), which glass does not implement.
    let nr = host_nr("sync").unwrap_or(162);
    let o = run_glass(&["run", "--root", &root_arg(), "--", "/bin/busybox", "sync"]);
    let err = show(&o.stderr);
    assert!(
        err.contains(&format!("unimplemented system call sync (#{nr})")),
        "{err}"
    );
    let o = run_glass(&[
        "run",
        "--root",
        &root_arg(),
        "--quiet-syscalls",
        "--",
        "/bin/busybox",
        "sync",
    ]);
    assert!(o.status.success(), "{}", show(&o.stderr));
    assert!(
        !show(&o.stderr).contains("unimplemented"),
        "{}",
        show(&o.stderr)
    );
}

/// `bash-static ARGS` with stdin `input` natively (the guest's environment) and under glass:
/// (stdout, exit code) of each.
fn bash_both(args: &[&str], input: &[u8]) -> ((String, Option<i32>), (String, Option<i32>)) {
    let run = |mut c: Command| {
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        if let Some(mut i) = child.stdin.take() {
            i.write_all(input).expect("stdin");
        }
        let o = child.wait_with_output().expect("wait");
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            o.status.code(),
        )
    };
    let mut native = oracle(guest_root().join("bin/bash-static"));
    native.args(args).env_clear().envs(guest_env());
    let mut glass = Command::new(glass_tests::glass_bin());
    glass
        .args(["run", "--root", &root_arg(), "--", "/bin/bash-static"])
        .args(args);
    (run(native), run(glass))
}

#[test]
fn calls_pselect6_read_timeout_matches_native_bash() {
    // The writer sleeps past the read's timeout: read -t gives up (status > 128) with
    // nothing read, natively and under glass's virtual clock alike.
    let script = r#"(sleep 2; echo late) | { read -t 1 x; echo "status=$? x=$x"; }"#;
    let (native, glass) = bash_both(&["-c", script], b"");
    assert_eq!(native.0, "status=142 x=\n");
    assert_eq!(glass, native);
}

#[test]
fn calls_interactive_bash_reads_commands_like_native() {
    // bash -i on a non-terminal stdin: it ran to its first prompt and exited (pselect6
    // was ENOSYS); now it reads and runs the commands.
    let (native, glass) = bash_both(&["-i"], b"echo hi\nexit 3\n");
    assert_eq!(native, ("hi\n".to_string(), Some(3)));
    assert_eq!(glass, native);
}

/// Write calls in a trace file (one JSON line per call).
fn trace_writes(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .expect("trace")
        .lines()
        .filter(|l| l.contains(r#""sys":"write""#))
        .count()
}

#[test]
fn calls_console_output_is_block_buffered_like_native_redirected_stdout() {
    // glibc line-buffers a stream on a terminal. The console is not one (README): with a
    // pty device number in fstat, busybox seq wrote each line separately (20000 writes).
    let n = "20000";
    let strace_out =
        std::env::temp_dir().join(format!("glass-calls-strace-{}", std::process::id()));
    let native = oracle("strace")
        .args(["-f", "-e", "trace=write", "-o"])
        .arg(&strace_out)
        .arg(guest_root().join("bin/busybox"))
        .args(["seq", "1", n])
        .output();
    let Ok(native) = native else {
        panic!("strace is needed for this oracle (Debian: apt-get install strace)");
    };
    let native_writes = std::fs::read_to_string(&strace_out)
        .expect("strace output")
        .lines()
        .filter(|l| l.contains("write("))
        .count();
    let _ = std::fs::remove_file(&strace_out);
    let trace = std::env::temp_dir().join(format!("glass-calls-trace-{}", std::process::id()));
    let glass = run_glass(&[
        "run",
        "--root",
        &root_arg(),
        "--trace",
        trace.to_str().expect("utf-8 path"),
        "--",
        "/bin/busybox",
        "seq",
        "1",
        n,
    ]);
    let glass_writes = trace_writes(&trace);
    let _ = std::fs::remove_file(&trace);
    assert_eq!(glass.stdout, native.stdout);
    assert!(native_writes < 100, "native wrote {native_writes} times");
    assert_eq!(glass_writes, native_writes);
}

#[test]
fn calls_shebang_script_as_first_program_runs_through_its_interpreter() {
    let root = TempRoot::new("shebang");
    root.copy(&guest_root().join("bin/busybox"), "bin/busybox");
    // An interpreter with an argument, as binfmt_script passes it: interp, arg, script path,
    // then the caller's arguments.
    let text = "#!/bin/busybox sh\necho \"$0|$#|$1|$2\"\nexit 7\n";
    let host_script = root.script("s.sh", text);
    let native = oracle(guest_root().join("bin/busybox"))
        .arg("sh")
        .arg(&host_script)
        .args(["a", "b c"])
        .output()
        .expect("native sh");
    let root_s = root.0.display().to_string();
    let glass = run_glass(&["run", "--root", &root_s, "--", "/s.sh", "a", "b c"]);
    let want = format!("{}|2|a|b c\n", host_script.display());
    assert_eq!(show(&native.stdout), want);
    assert_eq!(
        show(&glass.stdout),
        "/s.sh|2|a|b c\n",
        "{}",
        show(&glass.stderr)
    );
    assert_eq!(glass.status.code(), native.status.code());
    assert_eq!(glass.status.code(), Some(7));
}

#[test]
fn calls_shebang_loop_is_eloop_like_the_host_kernel() {
    let root = TempRoot::new("loop");
    root.copy(&guest_root().join("bin/busybox"), "bin/busybox");
    let host_a = root.0.join("a.sh");
    let host_b = root.0.join("b.sh");
    // The host's pair names host paths, the guest's pair guest paths; both loop.
    root.script("a.sh", &format!("#!{}\n", host_b.display()));
    root.script("b.sh", &format!("#!{}\n", host_a.display()));
    let native = oracle(guest_root().join("bin/busybox"))
        .args(["sh", "-c"])
        .arg(format!("{}; echo status=$?", host_a.display()))
        .output()
        .expect("native sh");
    let native_err = show(&native.stderr);
    assert!(
        native_err.contains("Too many levels of symbolic links"),
        "{native_err}"
    );
    root.script("a.sh", "#!/b.sh\n");
    root.script("b.sh", "#!/a.sh\n");
    let root_s = root.0.display().to_string();
    let glass = run_glass(&[
        "run",
        "--root",
        &root_s,
        "--",
        "/bin/busybox",
        "sh",
        "-c",
        "/a.sh; echo status=$?",
    ]);
    assert_eq!(show(&glass.stdout), show(&native.stdout));
    assert_eq!(
        show(&glass.stderr).replace("/a.sh", "A"),
        native_err.replace(&host_a.display().to_string(), "A")
    );
    // The loop as the first program: glass run reports the same error, status 126.
    let first = run_glass(&["run", "--root", &root_s, "--", "/a.sh"]);
    assert_eq!(first.status.code(), Some(126));
    assert!(
        show(&first.stderr).contains("Too many levels of symbolic links"),
        "{}",
        show(&first.stderr)
    );
}

#[test]
fn calls_privileged_x86_64_instructions_fault_like_native() {
    let image = guest_image("x86_64", "privinsn");
    assert!(
        image.exists(),
        "{} missing: run guest-images/build.sh",
        image.display()
    );
    let native = oracle(&image).output().expect("native privinsn");
    let native_out = show(&native.stdout);
    // Linux: every one is a general protection fault, SIGSEGV with SI_KERNEL and no address.
    assert_eq!(native_out.lines().count(), 10, "{native_out}");
    assert!(
        native_out
            .lines()
            .all(|l| l.ends_with(": SIGSEGV code=128 addr=0")),
        "{native_out}"
    );
    let root = TempRoot::new("privinsn");
    root.copy(&image, "bin/privinsn");
    let root_s = root.0.display().to_string();
    let glass = run_glass(&["run", "--root", &root_s, "--", "/bin/privinsn"]);
    assert_eq!(show(&glass.stdout), native_out, "{}", show(&glass.stderr));
    assert!(glass.status.success());
}

/// aarch64 runs at EL0 and riscv64 in U-mode, as under Linux: a system register, CSR or
/// instruction user space may not use is SIGILL, ILL_ILLOPC at the instruction
/// (arch/arm64/kernel/traps.c do_el0_undef, arch/riscv/kernel/traps.c
/// do_trap_insn_illegal), and what Linux lets user space do still runs (aarch64 CTR_EL0,
/// DCZID_EL0, DC ZVA, cache maintenance by address, the virtual counter and its frequency, a
/// `wfi` Linux skips; riscv64 rdtime, fence.i, the FP CSR). The oracle is the same program
/// under qemu-user, which reports an aarch64 undefined instruction as ILL_ILLOPN (2) where
/// Linux says ILL_ILLOPC (1): that one field is mapped before comparing.
#[test]
fn calls_privileged_aarch64_riscv64_instructions_sigill_like_qemu_user() {
    for arch in ["aarch64", "riscv64"] {
        let image = guest_image(arch, "privinsn");
        assert!(
            image.exists(),
            "{} missing: run guest-images/build.sh",
            image.display()
        );
        let qemu = oracle(format!("qemu-{arch}"))
            .arg(&image)
            .output()
            .expect("qemu-user privinsn (tools/scripts/setup.sh installs it)");
        assert!(qemu.status.success(), "{arch}: qemu-user {:?}", qemu.status);
        let mut expected = show(&qemu.stdout);
        if arch == "aarch64" {
            expected = expected.replace("SIGILL code=2 ", "SIGILL code=1 ");
        }
        // The oracle itself says what the test is about: some instructions refused, some run,
        // and every check of what a permitted one did passed.
        let (refused, ran) = expected.lines().fold((0, 0), |(r, n), l| {
            (
                r + usize::from(l.ends_with(": SIGILL code=1 addr=insn")),
                n + usize::from(l.ends_with(": ran")),
            )
        });
        assert_eq!(
            refused + ran,
            expected.lines().count(),
            "{arch}: {expected}"
        );
        assert!(refused >= 6 && ran >= 3, "{arch}: {expected}");
        let root = TempRoot::new(&format!("privinsn-{arch}"));
        root.copy(&image, "bin/privinsn");
        let root_s = root.0.display().to_string();
        let glass = run_glass(&["run", "--root", &root_s, "--", "/bin/privinsn"]);
        assert_eq!(
            show(&glass.stdout),
            expected,
            "{arch}: {}",
            show(&glass.stderr)
        );
        assert!(glass.status.success(), "{arch}: {}", show(&glass.stderr));
    }
}
