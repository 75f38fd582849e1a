//! Growing and shrinking memory the ways allocators do (guest-images/src/memgrow.c): an mremap
//! buffer grown a page at a time, shrunk and regrown, cut by a hole and a read-only page and
//! moved; the heap grown a page at a time with sbrk, shrunk and regrown. Glass keeps a
//! growing segment in host memory that grows in place (emulator/src/cpu/hostmem.rs); the
//! contents at every step, and the zeros of regrown pages, must be what the same binary sees
//! natively (x86_64) and under qemu-user (aarch64, riscv64).

use glass_tests::{guest_image, run_glass};

fn oracle_output(arch: &str, pages: &str) -> std::process::Output {
    let image = guest_image(arch, "memgrow");
    assert!(
        image.exists(),
        "{} missing: run tools/scripts/setup.sh (or guest-images/build.sh)",
        image.display()
    );
    let mut c = if arch == "x86_64" {
        glass_tests::oracle(&image)
    } else {
        let mut c = glass_tests::oracle(format!("qemu-{arch}"));
        c.arg(&image);
        c
    };
    c.arg(pages)
        .output()
        .expect("oracle run (qemu-user comes from tools/scripts/setup.sh)")
}

fn check_arch(arch: &str, guest: &str) {
    // Enough pages that the heap and the buffer pass the engine's 64-page flush threshold
    // (tools/unicorn/0008) and many growths of the same segment.
    let pages = "1500";
    let want = oracle_output(arch, pages);
    assert!(
        want.status.success(),
        "{arch}: the oracle failed: {}",
        String::from_utf8_lossy(&want.stdout)
    );
    let got = run_glass(&["run", "--", guest, pages]);
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&want.stdout),
        "{arch}: glass and the oracle differ (stderr: {})",
        String::from_utf8_lossy(&got.stderr)
    );
    assert!(got.status.success(), "{arch}: glass exit {:?}", got.status);
    assert_eq!(
        String::from_utf8_lossy(&want.stdout).lines().count(),
        5,
        "{arch}: the oracle printed every phase"
    );
}

#[test]
fn memgrow_x86_64_contents_match_native() {
    check_arch("x86_64", "/bin/memgrow");
}

#[test]
fn memgrow_aarch64_contents_match_qemu_user() {
    check_arch("aarch64", "/aarch64/bin/memgrow");
}

#[test]
fn memgrow_riscv64_contents_match_qemu_user() {
    check_arch("riscv64", "/riscv64/bin/memgrow");
}
