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
