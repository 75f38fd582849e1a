//! A 4,000-level directory tree (guest-images/src/deepdir.c): made and entered a level at a
//! time, the kernel's getcwd at the bottom (past a page it is ENAMETOOLONG, in any buffer),
//! stat of `.`, a file made, read and stat-ed there and through `../../d/d/f`, and the whole
//! tree removed from the bottom up. What the guest prints must be what the same binary prints
//! natively (x86_64) and under qemu-user (aarch64). Path lookup used to walk every path from
//! `/`, which made this cubic in the depth (issue 14); no timing is asserted here, the
//! `glass bench` row "deep dirs" measures it.

use glass_tests::{guest_image, run_glass};

fn check(arch: &str, guest: &str, depth: &str) {
    let image = guest_image(arch, "deepdir");
    assert!(
        image.exists(),
        "{} missing: run tools/scripts/setup.sh (or guest-images/build.sh)",
        image.display()
    );
    // /dev/shm natively (memory, like the guest's whole file system); the guest makes it.
    let mut c = if arch == "x86_64" {
        glass_tests::oracle(&image)
    } else {
        let mut c = glass_tests::oracle(format!("qemu-{arch}"));
        c.arg(&image);
        c
    };
    let want = c
        .args([depth, "/dev/shm"])
        .output()
        .expect("oracle run (qemu-user comes from tools/scripts/setup.sh)");
    let want = String::from_utf8_lossy(&want.stdout).into_owned();
    assert!(
        want.ends_with("removed\n"),
        "{arch}: the oracle did not finish: {want}"
    );
    let got = run_glass(&["run", "--", guest, depth, "/dev/shm"]);
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        want,
        "{arch}: glass and the oracle differ (stderr: {})",
        String::from_utf8_lossy(&got.stderr)
    );
    assert!(got.status.success(), "{arch}: glass exit {:?}", got.status);
}

#[test]
fn deep_tree_of_4000_levels_matches_native() {
    check("x86_64", "/bin/deepdir", "4000");
}

#[test]
fn shallow_tree_getcwd_fits_and_matches_native() {
    // Below a page the cwd is returned, and too small a buffer is ERANGE.
    check("x86_64", "/bin/deepdir", "100");
}

#[test]
fn deep_tree_aarch64_matches_qemu_user() {
    check("aarch64", "/aarch64/bin/deepdir", "2100");
}
