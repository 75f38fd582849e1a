//! The process test program (guest-images/src/proctests.c: fork, exec, wait, pipes, signals)
//! natively and under glass, on every arch glass runs: the same lines, every test OK.

use glass_tests::{guest_image, guest_root, run_glass};

#[test]
fn proctests_native_and_glass_match_all_ok() {
    let native_bin = guest_image("x86_64", "proctests");
    assert!(
        native_bin.exists(),
        "{} missing: run tools/scripts/setup.sh",
        native_bin.display()
    );
    let native = glass_tests::oracle(&native_bin)
        .output()
        .expect("native proctests");
    let native_out = String::from_utf8_lossy(&native.stdout).into_owned();
    assert!(
        native.status.success(),
        "the native run itself fails:\n{native_out}"
    );
    assert!(
        native_out.lines().filter(|l| l.ends_with(": OK")).count() >= 20,
        "{native_out}"
    );
    let root = guest_root().display().to_string();
    for prog in [
        "/bin/proctests",
        "/aarch64/bin/proctests",
        "/riscv64/bin/proctests",
    ] {
        let o = run_glass(&["run", "--root", &root, "--", prog]);
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            native_out,
            "{prog}: stderr {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.status.success(), "{prog}");
    }
}
