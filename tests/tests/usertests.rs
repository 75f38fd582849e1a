//! The single-process system call tests (guest-images/src/usertests.c) natively and under
//! glass: the native x86_64 run (with `--root-prefix build/root`) must pass by itself, and the
//! run under glass (guest paths as they are) must print the same lines and exit 0.

use glass_tests::{guest_env, guest_image, guest_root, run_glass};
use std::process::Stdio;

/// Arguments after `--` that the usertests `argv` test checks for (spaces, an empty string).
const EXTRA_ARGS: &[&str] = &["--", "alpha", "with space", ""];

/// Line-by-line differences, numbered, for a readable failure.
fn line_diff(native: &str, glass: &str) -> String {
    let n: Vec<&str> = native.lines().collect();
    let g: Vec<&str> = glass.lines().collect();
    let mut out = String::new();
    for i in 0..n.len().max(g.len()) {
        let a = n.get(i).copied();
        let b = g.get(i).copied();
        if a != b {
            out.push_str(&format!(
                "line {}: native {:?}, glass {:?}\n",
                i + 1,
                a.unwrap_or("<none>"),
                b.unwrap_or("<none>")
            ));
        }
    }
    out
}

#[test]
fn usertests_native_passes_and_glass_matches() {
    let root = guest_root();
    let native_bin = guest_image("x86_64", "usertests");
    assert!(
        native_bin.exists(),
        "{} missing: run tools/scripts/setup.sh (or guest-images/build.sh)",
        native_bin.display()
    );
    assert!(
        root.join("bin/usertests").exists() && root.join("data/usertests.txt").exists(),
        "{} is not populated: run tools/scripts/setup.sh (or guest-images/populate-root.sh \
         build/root)",
        root.display()
    );
    let root_s = root.display().to_string();

    let native = glass_tests::oracle(&native_bin)
        .arg("--root-prefix")
        .arg(&root)
        .args(EXTRA_ARGS)
        .env_clear()
        .envs(guest_env())
        .stdin(Stdio::null())
        .output()
        .expect("spawn native usertests");
    let native_out = String::from_utf8_lossy(&native.stdout).into_owned();
    let failed: Vec<&str> = native_out
        .lines()
        .filter(|l| !l.ends_with(": OK") && l.starts_with("test "))
        .collect();
    assert!(
        native.status.success() && failed.is_empty(),
        "the native run itself fails (exit {:?}):\n{}\nstderr:\n{}",
        native.status.code(),
        failed.join("\n"),
        String::from_utf8_lossy(&native.stderr)
    );
    let n_ok = native_out.lines().filter(|l| l.ends_with(": OK")).count();
    assert!(n_ok >= 30, "only {n_ok} tests ran natively:\n{native_out}");
    assert_eq!(
        native_out.lines().last(),
        Some(format!("{n_ok} passed, 0 failed").as_str()),
        "no summary line:\n{native_out}"
    );

    let mut args = vec!["run", "--root", root_s.as_str(), "--", "/bin/usertests"];
    args.extend_from_slice(EXTRA_ARGS);
    let glass = run_glass(&args);
    let glass_out = String::from_utf8_lossy(&glass.stdout).into_owned();
    let diff = line_diff(&native_out, &glass_out);
    assert!(
        diff.is_empty(),
        "glass output differs from the native run:\n{diff}\nglass stderr:\n{}",
        String::from_utf8_lossy(&glass.stderr)
    );
    assert_eq!(
        glass.status.code(),
        Some(0),
        "glass exit status; stderr:\n{}",
        String::from_utf8_lossy(&glass.stderr)
    );
}

#[test]
fn hello_and_exit42_native_and_glass() {
    let root = guest_root().display().to_string();
    for (name, want_out, want_code) in [("hello", "hello from glass\n", 0), ("exit42", "", 42)] {
        let bin = guest_image("x86_64", name);
        assert!(
            bin.exists(),
            "{} missing: run tools/scripts/setup.sh (or guest-images/build.sh)",
            bin.display()
        );
        let native = glass_tests::oracle(&bin)
            .stdin(Stdio::null())
            .output()
            .expect("spawn native guest");
        assert_eq!(
            String::from_utf8_lossy(&native.stdout),
            want_out,
            "{name} native"
        );
        assert_eq!(native.status.code(), Some(want_code), "{name} native");
        let prog = format!("/bin/{name}");
        let g = run_glass(&["run", "--root", &root, "--", &prog]);
        assert_eq!(
            String::from_utf8_lossy(&g.stdout),
            want_out,
            "{name} under glass; stderr:\n{}",
            String::from_utf8_lossy(&g.stderr)
        );
        assert_eq!(g.status.code(), Some(want_code), "{name} under glass");
    }
}
