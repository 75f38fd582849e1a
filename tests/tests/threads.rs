//! Threads in the deterministic machine: POSIX threads through glibc on every arch compared
//! with the same program run natively (x86_64) and under qemu-user (aarch64, riscv64), the
//! race suite under `glass explore`, the same digest run after run, deadlocks among threads,
//! and each thread as its own /proc/N directory.

use glass_tests::{guest_image, guest_root, oracle, run_glass, show, ServedMachine};

const ARCHES: [&str; 3] = ["x86_64", "aarch64", "riscv64"];

/// The guest path of a guest image in the default root.
fn guest_path(arch: &str, name: &str) -> String {
    if arch == "x86_64" {
        format!("/bin/{name}")
    } else {
        format!("/{arch}/bin/{name}")
    }
}

/// Tests qemu-user can run: it has no robust futex lists (set_robust_list answers ENOSYS,
/// so a dead owner's robust mutex hangs) and, without binfmt_misc, cannot exec a guest
/// binary from a guest.
const QEMU_TESTS: &[&str] = &[
    "mutex_counter",
    "condvar",
    "barrier",
    "tls",
    "detached",
    "cancel",
    "signals",
    "fork_in_thread",
    "main_exits_first",
];

#[test]
fn threads_each_arch_match_native_and_qemu_user() {
    // The program prints only from main after joining, so its output is the same on
    // every arch: the native x86_64 run is the oracle of all three.
    let native = oracle(guest_image("x86_64", "threads"))
        .output()
        .expect("native threads");
    let expected = String::from_utf8_lossy(&native.stdout).to_string();
    assert!(
        native.status.success() && expected.contains("12 passed, 0 failed"),
        "native run failed:\n{expected}"
    );
    for arch in ARCHES {
        let g = run_glass(&[
            "run",
            "--root",
            guest_root().to_str().expect("utf-8 root"),
            "--",
            &guest_path(arch, "threads"),
        ]);
        assert_eq!(
            show(&g.stdout),
            expected,
            "{arch} under glass differs from native (stderr: {})",
            show(&g.stderr)
        );
        assert!(g.status.success(), "{arch}: {}", show(&g.stderr));
        if arch != "x86_64" {
            let q = oracle(format!("qemu-{arch}"))
                .arg(guest_image(arch, "threads"))
                .args(QEMU_TESTS)
                .output()
                .expect("qemu-user (tools/scripts/setup.sh installs it)");
            let want: String = expected
                .lines()
                .filter(|l| {
                    QEMU_TESTS
                        .iter()
                        .any(|t| l.starts_with(&format!("test {t}:")))
                })
                .map(|l| format!("{l}\n"))
                .collect();
            let got: String = show(&q.stdout)
                .lines()
                .filter(|l| l.starts_with("test "))
                .map(|l| format!("{l}\n"))
                .collect();
            assert_eq!(got, want, "qemu-{arch} oracle");
        }
    }
}

/// `glass explore` over 32 seeds: (outcomes, exit code).
fn explore(arch: &str, what: &str) -> (usize, Option<i32>, String) {
    let o = run_glass(&[
        "explore",
        "--root",
        guest_root().to_str().expect("utf-8 root"),
        "--seeds",
        "32",
        "-j",
        "2",
        "--",
        &guest_path(arch, "races"),
        what,
    ]);
    let out = show(&o.stdout);
    let n = out
        .lines()
        .next()
        .and_then(|l| l.split(", ").nth(1))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (n, o.status.code(), out)
}

#[test]
fn races_explore_finds_each_bug_and_fixed_twins_have_one_outcome() {
    for arch in ARCHES {
        for bug in ["counter", "order", "atomicity", "lostwakeup"] {
            let (n, code, out) = explore(arch, bug);
            assert!(
                n >= 2 && code == Some(1),
                "{arch} {bug}: expected at least two outcomes:\n{out}"
            );
            let (n, code, out) = explore(arch, &format!("{bug}-fixed"));
            assert!(
                n == 1 && code == Some(0),
                "{arch} {bug}-fixed: expected one outcome:\n{out}"
            );
        }
    }
}

#[test]
fn four_threads_same_seed_same_digest_in_100_runs_under_load() {
    let root = guest_root();
    let root = root.to_str().expect("utf-8 root");
    let run = || {
        std::process::Command::new(glass_tests::glass_bin())
            .args([
                "run",
                "--root",
                root,
                "--sched-seed",
                "5",
                "--digest",
                "--",
                "/bin/races",
                "counter",
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn glass")
    };
    let mut digests = std::collections::BTreeMap::new();
    // Four machines at a time on the test host's cores: the host is loaded, the guest's
    // interleaving must not notice.
    for _ in 0..25 {
        let kids: Vec<_> = (0..4).map(|_| run()).collect();
        for k in kids {
            let o = k.wait_with_output().expect("glass run");
            let err = show(&o.stderr);
            let d = err
                .lines()
                .find_map(|l| l.strip_prefix("glass: digest "))
                .unwrap_or("none")
                .to_string();
            *digests.entry((d, show(&o.stdout))).or_insert(0) += 1;
        }
    }
    assert_eq!(digests.len(), 1, "different runs: {digests:?}");
}

#[test]
fn deadlock_among_threads_names_each_thread_and_its_futex() {
    for arch in ARCHES {
        let o = run_glass(&[
            "run",
            "--root",
            guest_root().to_str().expect("utf-8 root"),
            "--",
            &guest_path(arch, "races"),
            "abba",
        ]);
        let err = show(&o.stderr);
        assert_ne!(o.status.code(), Some(0), "{arch}: {err}");
        let waits: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("(races): waiting on futex 0x"))
            .collect();
        assert!(
            err.contains("glass: deadlock") && waits.len() == 2,
            "{arch}: expected two threads named with their futexes:\n{err}"
        );
        let addr = |l: &str| l.rsplit(' ').next().map(str::to_string);
        assert_ne!(addr(waits[0]), addr(waits[1]), "{arch}: {err}");
    }
}

#[test]
fn each_thread_is_a_proc_directory_sharing_memory_with_its_own_registers() {
    let mut m = ServedMachine::start(&["--", "/bin/threads", "--spin", "2"]);
    let mut c = m.client();
    // Wait until the two threads exist: three directories.
    let mut pids = Vec::new();
    for _ in 0..200 {
        pids = c
            .ls("/")
            .expect("ls /proc")
            .into_iter()
            .filter_map(|e| e.name.parse::<u32>().ok())
            .collect();
        if pids.len() >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(pids.len(), 3, "{pids:?}");
    let read = |c: &mut proc_model::ninep::client::Client, p: String| {
        c.read_file(&p).unwrap_or_else(|e| panic!("{p}: {e:?}"))
    };
    // Every thread shows the same segments (one address space) and the same note group.
    let seg0 = read(&mut c, format!("/{}/segment", pids[0]));
    for p in &pids[1..] {
        assert_eq!(
            read(&mut c, format!("/{p}/segment")),
            seg0,
            "segment of {p}"
        );
        assert_eq!(
            read(&mut c, format!("/{p}/noteid")),
            read(&mut c, format!("/{}/noteid", pids[0]))
        );
    }
    // Stopping one thread leaves the others running; each has its own registers.
    let t = pids[1];
    c.write_file(&format!("/{t}/ctl"), 0, b"stop")
        .expect("stop one thread");
    let st = show(&read(&mut c, format!("/{t}/status")));
    assert!(st.contains("Stopped"), "thread {t}: {st}");
    let other = show(&read(&mut c, format!("/{}/status", pids[2])));
    assert!(!other.contains("Stopped"), "thread {}: {other}", pids[2]);
    let r1 = read(&mut c, format!("/{}/regs", pids[1]));
    let r2 = read(&mut c, format!("/{}/regs", pids[2]));
    // The amd64 Ureg (docs/plan9-proc-9p.md §1.6): two threads run on two stacks.
    let layout = proc_model::ureg::layout(proc_model::machine::Arch::X86_64);
    let sp = layout.field("sp").expect("amd64 Ureg has sp");
    assert_eq!(r1.len(), layout.size);
    let (sp1, sp2) = (layout.get(&r1, sp), layout.get(&r2, sp));
    assert!(
        sp1.is_some() && sp1 != sp2,
        "threads share a stack pointer: {sp1:x?} {sp2:x?}"
    );
    c.write_file(&format!("/{t}/ctl"), 0, b"start")
        .expect("start");
    c.write_file(&format!("/{}/ctl", pids[0]), 0, b"kill")
        .expect("kill");
    m.wait_exit(20);
}
