//! aarch64 and riscv64 guests, and machines that mix architectures: the same programs built
//! from the same source for each arch give the output of the native x86_64 run; Debian's
//! arm64 busybox gives the output of the native amd64 busybox; one machine pipes an x86_64
//! shell, an aarch64 program and a riscv64 program together.

use glass_tests::{guest_image, guest_root, run_glass, status_code, ServedMachine};
use std::time::{Duration, Instant};

fn root() -> String {
    let r = guest_root();
    assert!(
        r.join("aarch64/bin/busybox").exists(),
        "{} missing: run tools/scripts/setup.sh",
        r.display()
    );
    r.display().to_string()
}

/// Where the default root keeps guest image `name` of `arch`: /bin for x86_64, /ARCH/bin else.
fn guest_path(arch: &str, name: &str) -> String {
    if arch == "x86_64" {
        format!("/bin/{name}")
    } else {
        format!("/{arch}/bin/{name}")
    }
}

/// Guest image `name` of `arch` run with `arg` natively (x86_64) or under qemu-user.
fn oracle_run(arch: &str, name: &str, arg: &str) -> std::process::Output {
    let image = guest_image(arch, name);
    if arch == "x86_64" {
        glass_tests::oracle(&image).arg(arg).output()
    } else {
        glass_tests::oracle(format!("qemu-{arch}"))
            .arg(&image)
            .arg(arg)
            .output()
    }
    .expect("oracle run (qemu-user comes from tools/scripts/setup.sh)")
}

#[test]
fn usertests_each_arch_matches_native_x86_64() {
    let root = root();
    let native = glass_tests::oracle(guest_image("x86_64", "usertests"))
        .args(["--root-prefix", &root])
        .output()
        .expect("native usertests");
    assert!(
        native.status.success(),
        "native run fails: {}",
        String::from_utf8_lossy(&native.stdout)
    );
    for arch in ["x86_64", "aarch64", "riscv64"] {
        let prog = guest_path(arch, "usertests");
        let o = run_glass(&["run", "--root", &root, "--", &prog]);
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&native.stdout),
            "{arch}: glass output differs from the native x86_64 run; stderr: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.status.success(), "{arch}: exit {:?}", o.status.code());
    }
}

/// A jump to address 0 (a call through a NULL function pointer) is SIGSEGV on every arch, as
/// natively and under qemu-user; it used to stop the engine "normally" and spin for ever on
/// x86_64 and aarch64 (0 was unicorn's stop address).
#[test]
fn jump_to_address_zero_is_sigsegv_on_each_arch() {
    let root = root();
    for arch in ["x86_64", "aarch64", "riscv64"] {
        let prog = guest_path(arch, "nullderef");
        let oracle = oracle_run(arch, "nullderef", "call0");
        let o = run_glass(&["run", "--root", &root, "--", &prog, "call0"]);
        assert_eq!(status_code(oracle.status), 139, "{arch} oracle");
        assert_eq!(
            (status_code(o.status), String::from_utf8_lossy(&o.stdout)),
            (139, String::from_utf8_lossy(&oracle.stdout)),
            "{arch}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("fault read addr=0x0 pc=0x0"),
            "{arch}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// The arch's breakpoint instruction (int3, brk #0, ebreak) without a debugger is SIGTRAP for
/// the guest: unhandled it kills the process (exit 133), handled the handler runs. The oracle
/// is the same binary natively (x86_64) or under qemu-user (aarch64, riscv64).
#[test]
fn breakpoint_instruction_is_sigtrap_as_natively_and_under_qemu_user() {
    let root = root();
    for arch in ["x86_64", "aarch64", "riscv64"] {
        let prog = guest_path(arch, "nullderef");
        for mode in ["brk", "brk-handled"] {
            let oracle = oracle_run(arch, "nullderef", mode);
            let o = run_glass(&["run", "--root", &root, "--", &prog, mode]);
            assert_eq!(
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&oracle.stdout),
                "{arch} {mode}: stdout; glass stderr: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert_eq!(
                status_code(o.status),
                status_code(oracle.status),
                "{arch} {mode}: exit status; glass stderr: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        // And the note says breakpoint, not illegal instruction.
        let o = run_glass(&["run", "--root", &root, "--", &prog, "brk"]);
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("sys: breakpoint pc="),
            "{arch}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// A store through NULL stops at the store itself: SIGSEGV as natively / under qemu-user,
/// nothing after it runs, and the note's pc lies in `poke`, the function that stores.
#[test]
fn store_fault_stops_at_the_store_on_each_arch() {
    let root = root();
    for arch in ["x86_64", "aarch64", "riscv64"] {
        let prog = guest_path(arch, "nullderef");
        let oracle = oracle_run(arch, "nullderef", "write");
        let o = run_glass(&["run", "--root", &root, "--", &prog, "write"]);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.stdout, oracle.stdout, "{arch}: stdout; stderr: {err}");
        assert_eq!(
            status_code(o.status),
            status_code(oracle.status),
            "{arch}: {err}"
        );
        let (poke, size) = glass_tests::symbol(arch, "nullderef", "poke");
        let pc = err
            .split("fault write addr=0x0 pc=0x")
            .nth(1)
            .and_then(|t| u64::from_str_radix(t.trim(), 16).ok())
            .unwrap_or_else(|| panic!("{arch}: no write-fault note: {err}"));
        assert!(
            (poke..poke + size).contains(&pc),
            "{arch}: pc {pc:#x} outside poke {poke:#x}+{size}: {err}"
        );
    }
}

/// Applets whose output does not depend on the host (relative paths into the root's data).
const APPLETS: &[&[&str]] = &[
    &["echo", "hello", "arm64"],
    &["seq", "3", "3", "30"],
    &["sh", "-c", "for i in 1 2 3; do echo $((i*i)); done | sort -rn | head -2; trap 'echo trapped' USR1; kill -USR1 $$"],
    &["expr", "7", "*", "6"],
    &["printf", "%05d|%s\\n", "42", "x"],
    &["sh", "-c", "echo abc | tr a-z A-Z | rev; (exit 3); echo $?"],
    &["sha256sum", "data/words.txt"],
    &["sort", "-r", "data/words.txt"],
    &["wc", "data/words.txt"],
    &["awk", "BEGIN { for (i = 1; i <= 5; i++) s += i * i; print s }"],
];

#[test]
fn busybox_arm64_matches_native_amd64_busybox() {
    let root = root();
    for args in APPLETS {
        let native = glass_tests::oracle("/bin/busybox")
            .args(*args)
            .current_dir(&root)
            .output()
            .expect("native busybox");
        let mut g = vec![
            "run",
            "--root",
            &root,
            "--env",
            "PATH=/aarch64/bin",
            "--",
            "/aarch64/bin/busybox",
        ];
        g.extend_from_slice(args);
        let o = run_glass(&g);
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&native.stdout),
            "{args:?}: stderr {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(o.status.code(), native.status.code(), "{args:?}");
    }
}

#[test]
fn mixed_machine_x86_shell_pipes_aarch64_into_riscv64() {
    let root = root();
    let o = run_glass(&[
        "run", "--root", &root, "--", "/bin/busybox", "sh", "-c",
        "/aarch64/bin/busybox echo hello from three arches | /riscv64/bin/upcase; /aarch64/bin/busybox uname -m; /bin/busybox uname -m",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "HELLO FROM THREE ARCHES\naarch64\nx86_64\n"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("upcase: 24 bytes"));
    assert!(o.status.success());
}

/// One machine, three arches, seen through /proc: an x86_64 shell loop writes into an aarch64
/// busybox `tr` (status name `busybox`, as exec'd), which writes into a riscv64 `upcase`. Each process's `regs` has its own
/// arch's Ureg size (amd64 184, arm64 280, riscv64 296 bytes), and the pc and sp found at
/// that layout's offsets lie in the process's own Text and Stack segments.
#[test]
fn mixed_machine_proc_shows_each_process_in_its_own_register_layout() {
    root();
    let m = ServedMachine::start(&[
        "--",
        "/bin/sh",
        "-c",
        "while :; do echo x; done | /aarch64/bin/busybox tr x y | /riscv64/bin/upcase",
    ]);
    let mut c = m.client();
    let deadline = Instant::now() + Duration::from_secs(30);
    let names = loop {
        let mut names = Vec::new();
        for e in c
            .ls("/")
            .expect("ls /")
            .iter()
            .filter(|e| e.name != "trace")
        {
            let st = c
                .read_file(&format!("/{}/status", e.name))
                .unwrap_or_default();
            if let Some(n) = String::from_utf8_lossy(&st).split_whitespace().next() {
                names.push((e.name.clone(), n.to_string()));
            }
        }
        if names.len() == 4 && names.iter().any(|n| n.1 == "upcase") {
            break names;
        }
        assert!(
            Instant::now() < deadline,
            "pipeline never started: {names:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let le = |b: &[u8], off: usize| u64::from_le_bytes(b[off..off + 8].try_into().expect("8"));
    // (status name, Ureg size, pc offset, sp offset) per the reference's layouts.
    let want = [
        ("sh", 184, 144, 168),
        ("sh", 184, 144, 168),
        ("busybox", 280, 256, 248),
        ("upcase", 296, 0, 16),
    ];
    for ((pid, name), (wname, size, pc_off, sp_off)) in names.iter().zip(want) {
        assert_eq!(name, wname, "{names:?}");
        let regs = c.read_file(&format!("/{pid}/regs")).expect("regs");
        assert_eq!(regs.len(), size, "{name} ({pid}) regs size");
        let segs =
            String::from_utf8_lossy(&c.read_file(&format!("/{pid}/segment")).expect("segment"))
                .into_owned();
        // A Linux program has a Text line per executable or read-only PT_LOAD.
        let within = |kind: &str, a: u64| {
            segs.lines().filter(|l| l.starts_with(kind)).any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let hex = |t: &str| u64::from_str_radix(t, 16).expect("hex");
                (hex(f[f.len() - 3])..hex(f[f.len() - 2])).contains(&a)
            })
        };
        let (pc, sp) = (le(&regs, pc_off), le(&regs, sp_off));
        assert!(
            within("Text", pc),
            "{name} ({pid}) pc {pc:#x} in no Text: {segs}"
        );
        assert!(
            within("Stack", sp),
            "{name} ({pid}) sp {sp:#x} not in Stack: {segs}"
        );
    }
    c.write_file("/1/ctl", 0, b"kill").ok();
}
