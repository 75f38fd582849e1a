//! Go programs built by Debian's Go toolchain (CGO_ENABLED=0, guest-images/go/) run under
//! glass on amd64, arm64 and riscv64 and print what they print natively (amd64) and under
//! qemu-user (arm64, riscv64): the Go runtime's threads, futexes, signals (async
//! preemption on the alternate signal stack), epoll timers and, on riscv64, rdtime.

use glass_tests::{guest_root, oracle, repo_root, run_glass, show};

const ARCHES: [(&str, &str); 3] = [
    ("x86_64", "/bin"),
    ("aarch64", "/aarch64/bin"),
    ("riscv64", "/riscv64/bin"),
];

/// The program's stdout natively (x86_64) or under qemu-user, with `env` set.
fn oracle_stdout(arch: &str, dir: &str, name: &str, env: &[(&str, &str)]) -> String {
    let host = repo_root()
        .join("build/root")
        .join(dir.trim_start_matches('/'))
        .join(format!("go-{name}"));
    assert!(
        host.exists(),
        "{} missing: run tools/scripts/setup.sh (guest-images/build-go.sh)",
        host.display()
    );
    let mut c = if arch == "x86_64" {
        oracle(&host)
    } else {
        let mut c = oracle(format!("qemu-{arch}"));
        c.arg(&host);
        c
    };
    let o = c.envs(env.iter().copied()).output().expect("oracle run");
    assert!(
        o.status.success(),
        "{arch} oracle of {name}: {}",
        show(&o.stderr)
    );
    show(&o.stdout)
}

fn glass_stdout(dir: &str, name: &str, extra: &[&str]) -> (String, String, bool) {
    let root = guest_root();
    let prog = format!("{dir}/go-{name}");
    let mut args = vec!["run", "--root", root.to_str().expect("utf-8 root")];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", &prog]);
    let o = run_glass(&args);
    (show(&o.stdout), show(&o.stderr), o.status.success())
}

#[test]
fn go_hello_goroutines_channels_sleep_match_oracle_on_each_arch() {
    for (arch, dir) in ARCHES {
        let want = oracle_stdout(arch, dir, "hello", &[]);
        let (got, err, ok) = glass_stdout(dir, "hello", &[]);
        assert!(ok, "{arch}: {err}");
        assert_eq!(got, want, "{arch}: {err}");
    }
}

#[test]
fn go_fanout_gomaxprocs_4_matches_oracle_on_each_arch() {
    for (arch, dir) in ARCHES {
        let want = oracle_stdout(arch, dir, "fanout", &[("GOMAXPROCS", "4")]);
        // The guest sees four CPUs, so the Go runtime picks GOMAXPROCS=4 by itself.
        let (got, err, ok) = glass_stdout(dir, "fanout", &["--cpus", "4"]);
        assert!(ok && got.contains("workers 4"), "{arch}: {got}{err}");
        assert_eq!(got, want, "{arch}: {err}");
    }
}
