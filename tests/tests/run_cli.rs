//! `glass run`'s own exit status for a program that cannot start follows the shell's
//! convention, checked against the host's `sh -c` on the same kinds of path: 127 when the
//! program does not exist, 126 when it exists but is not a program.

use glass_tests::{guest_root, oracle, run_glass, show};

fn glass_status(program: &str) -> (Option<i32>, String) {
    let root = guest_root();
    let o = run_glass(&[
        "run",
        "--root",
        root.to_str().expect("utf-8 root"),
        "--",
        program,
    ]);
    (o.status.code(), show(&o.stderr))
}

fn sh_status(program: &str) -> Option<i32> {
    oracle("sh")
        .args(["-c", program])
        .output()
        .expect("sh")
        .status
        .code()
}

#[test]
fn run_missing_program_is_127_like_the_shell() {
    let host_missing = "/no/such/program";
    assert_eq!(sh_status(host_missing), Some(127));
    for p in ["/bin/no-such-program", "no-such-program"] {
        let (code, err) = glass_status(p);
        assert_eq!(code, Some(127), "{p}: {err}");
        assert!(err.starts_with("glass: "), "{err}");
    }
}

#[test]
fn run_data_file_is_126_like_the_shell() {
    let data = guest_root().join("data/words.txt");
    let data = data.to_str().expect("utf-8 path");
    // Not executable on the host: the shell answers 126 for it.
    assert_eq!(sh_status(data), Some(126));
    let (code, err) = glass_status("/data/words.txt");
    assert_eq!(code, Some(126), "{err}");
}

/// A guest root of its own: the x86_64 busybox as /bin/busybox and an empty /tmp.
fn scratch_root(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("glass-run-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("bin")).expect("mkdir bin");
    std::fs::create_dir_all(d.join("tmp")).expect("mkdir tmp");
    std::fs::copy(guest_root().join("bin/busybox"), d.join("bin/busybox")).expect("copy busybox");
    d
}

#[test]
fn run_non_utf8_argv_and_env_reach_the_guest_as_bytes() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let root = guest_root();
    let arg = OsStr::from_bytes(b"a\xffb\xc3(");
    let env = OsStr::from_bytes(b"X=\xfe\xff z");
    let script = r#"printf '%s|%s' "$1" "$X" | od -An -tx1"#;
    let native = oracle(root.join("bin/busybox"))
        .args(["sh", "-c", script, "sh"])
        .arg(arg)
        .env_clear()
        .env(OsStr::new("X"), OsStr::from_bytes(b"\xfe\xff z"))
        .output()
        .expect("native busybox");
    let glass = std::process::Command::new(glass_tests::glass_bin())
        .arg("run")
        .arg("--root")
        .arg(&root)
        .arg("--env")
        .arg(env)
        .args(["--", "/bin/busybox", "sh", "-c", script, "sh"])
        .arg(arg)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("glass");
    assert!(native.status.success(), "{}", show(&native.stderr));
    assert_eq!(
        show(&glass.stdout),
        show(&native.stdout),
        "{}",
        show(&glass.stderr)
    );
    assert!(
        show(&native.stdout).contains("61 ff 62 c3 28 7c fe ff 20 7a"),
        "{}",
        show(&native.stdout)
    );
}

#[test]
fn run_epoch_sets_the_clock_start() {
    let root = guest_root();
    let root = root.to_str().expect("utf-8 root");
    let date = |epoch: Option<&str>| {
        let mut args = vec!["run", "--root", root];
        if let Some(e) = epoch {
            args.extend(["--epoch", e]);
        }
        args.extend(["--", "/bin/busybox", "date", "-u", "+%s"]);
        let o = run_glass(&args);
        assert!(o.status.success(), "{}", show(&o.stderr));
        show(&o.stdout).trim().parse::<u64>().expect("seconds")
    };
    // The oracle for the RFC 3339 form: the host's date(1).
    let host = oracle("date")
        .args(["-u", "-d", "2026-03-01T12:00:00Z", "+%s"])
        .output()
        .expect("date");
    let want: u64 = show(&host.stdout).trim().parse().expect("seconds");
    // The clock advances only with guest work: well under a second by then.
    assert_eq!(date(Some("2026-03-01T12:00:00Z")), want);
    assert_eq!(date(Some(&want.to_string())), want);
    assert_eq!(date(None), 1_735_689_600, "the default start moved");
    let bad = run_glass(&["run", "--epoch", "yesterday", "--", "/bin/true"]);
    assert!(!bad.status.success());
}

#[test]
fn run_root_tmp_files_are_listed_and_keep_host_times_on_request() {
    let root = scratch_root("tmp");
    std::fs::write(root.join("tmp/from-root"), b"x").expect("write");
    // An old modification time set natively, to read back through --root-times host.
    let set = oracle("touch")
        .args(["-d", "2019-05-06 07:08:09 UTC"])
        .arg(root.join("tmp/from-root"))
        .status()
        .expect("touch");
    assert!(set.success());
    let native_ls = oracle("ls").arg(root.join("tmp")).output().expect("ls");
    let native_stat = oracle(root.join("bin/busybox"))
        .args(["stat", "-c", "%Y"])
        .arg(root.join("tmp/from-root"))
        .output()
        .expect("stat");
    let r = root.to_str().expect("utf-8 root");
    let glass_ls = run_glass(&["run", "--root", r, "--", "/bin/busybox", "ls", "/tmp"]);
    assert_eq!(show(&glass_ls.stdout), show(&native_ls.stdout));
    let host_times = run_glass(&[
        "run",
        "--root",
        r,
        "--root-times",
        "host",
        "--",
        "/bin/busybox",
        "stat",
        "-c",
        "%Y",
        "/tmp/from-root",
    ]);
    assert_eq!(show(&host_times.stdout), show(&native_stat.stdout));
    let fixed = run_glass(&[
        "run",
        "--root",
        r,
        "--",
        "/bin/busybox",
        "stat",
        "-c",
        "%Y",
        "/tmp/from-root",
    ]);
    assert_eq!(show(&fixed.stdout).trim(), "1735689600");
    let _ = std::fs::remove_dir_all(&root);
}
