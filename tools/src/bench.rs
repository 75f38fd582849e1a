//! `glass bench`: the emulation benchmark. Runs CPU-bound guests — an integer loop, a
//! store-heavy loop over 4 MiB, the same stores scattered over 16 MiB (hash-like order), a
//! busybox sh arithmetic loop — thread guests — a futex ping-pong between two threads, a
//! thread create+join loop — busybox seq writing 200000 short lines to a pipe — and real
//! programs on real data — busybox `sort -rn` of a million lines, a busybox `od | sort |
//! md5sum` pipeline over 1 MB, a bash-static loop and ripgrep `-j1` over a C source tree where
//! the root has them — natively, under qemu-user (the same TCG engine without our kernel) and
//! under glass with deterministic preemption on, several times each, and prints medians and
//! the ratios glass/qemu and glass/native (docs/DESIGN.md "Performance and its yardsticks");
//! then the same on aarch64 and riscv64 against qemu-aarch64 and qemu-riscv64 where the
//! programs exist for that arch. A program, not a timed test.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Runs per engine and workload (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Guest root holding /bin/busybox and the bench programs in /bin.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// qemu-user binary for the yardstick.
    #[arg(long, default_value = "qemu-x86_64")]
    qemu: String,
    /// The goal, as a ratio to qemu-user, that the verdict line checks.
    #[arg(long, default_value_t = 3.0)]
    goal: f64,
    /// Benchmark /proc over 9P instead: /proc/N/mem throughput against raw loopback TCP, and
    /// the status round trip against a raw TCP ping-pong.
    #[arg(long)]
    proc: bool,
    /// A smoke check: one run of each row, with small inputs (for CI; the figures are rough).
    #[arg(long)]
    quick: bool,
    /// Only the x86_64 workloads (skip aarch64 and riscv64 against qemu-aarch64/-riscv64).
    #[arg(long)]
    x86_only: bool,
    /// Only the workloads whose name contains this text (e.g. `sort`, `scatter`); with
    /// --proc, only those rows (`status+mem-waiting`, `mem-running`, `readers`).
    #[arg(long, value_name = "TEXT")]
    only: Option<String>,
}

struct Workload {
    name: &'static str,
    /// A pipeline's stages: natively and under qemu-user each stage is its own process (the
    /// host's sh connects them, so every stage runs under qemu-user, not just the first);
    /// glass runs `argv`, a busybox sh running the same stages in one machine.
    stages: Vec<Vec<String>>,
    /// Guest path inside the root, and arguments.
    argv: Vec<String>,
    /// The guest's arch: x86_64 runs natively too; the others only under qemu-user and glass.
    arch: &'static str,
}

/// The workloads of one arch: the bench guests built by guest-images/ for it, in `bin` of the
/// root (`/bin` for x86_64, `/<arch>/bin` for the others), and a busybox sh loop where that
/// arch has a busybox (x86_64 also times fork+exec+wait through its shell).
fn arch_workloads(
    root: &std::path::Path,
    arch: &'static str,
    bin: &str,
    busybox: bool,
) -> Vec<Workload> {
    // Programs the setup adds (Debian's static ones, ripgrep) are measured where present.
    let has = |p: &str| root.join(bin.trim_start_matches('/')).join(p).exists();
    let prog = |p: &str| format!("{bin}/{p}");
    let sh = |script: &str| -> Vec<String> {
        vec![prog("busybox"), "sh".into(), "-c".into(), script.into()]
    };
    let mut v = vec![
        Workload {
            stages: Vec::new(),
            name: "integer loop",
            argv: vec![prog("bench_int"), "100000000".into()],
            arch,
        },
        Workload {
            stages: Vec::new(),
            name: "store loop 4 MiB",
            argv: vec![prog("bench_store"), "50".into()],
            arch,
        },
        Workload {
            stages: Vec::new(),
            name: "scattered stores 16 MiB",
            argv: vec![prog("bench_scatter"), "8".into()],
            arch,
        },
    ];
    if has("deepdir") {
        // Path lookup in a deep tree (issue 14): mkdir+chdir 4,000 levels, getcwd, stat and a
        // file at the bottom, then chdir ..+rmdir back up; /dev/shm keeps the yardsticks in
        // memory, as the guest's file system is.
        v.push(Workload {
            stages: Vec::new(),
            name: "deep dirs x4000",
            argv: vec![prog("deepdir"), "4000".into(), "/dev/shm".into()],
            arch,
        });
    }
    v.push(Workload {
        stages: Vec::new(),
        name: "futex ping-pong x100000",
        argv: vec![prog("bench_threads"), "pingpong".into(), "100000".into()],
        arch,
    });
    v.push(Workload {
        stages: Vec::new(),
        name: "thread create+join x2000",
        argv: vec![prog("bench_threads"), "create".into(), "2000".into()],
        arch,
    });
    if arch == "x86_64" {
        // Many short lines to a redirected stdout (here a pipe; a file buffers the same): a
        // native glibc program buffers them in blocks, and so must the guest, whose console
        // is not a terminal (issue 12: line-buffered it was ~30x native).
        v.push(Workload {
            stages: Vec::new(),
            name: "seq 1 200000 (stdout pipe)",
            argv: vec![prog("busybox"), "seq".into(), "1".into(), "200000".into()],
            arch,
        });
        v.push(Workload {
            stages: Vec::new(),
            name: "fork+exec+wait x200",
            argv: sh("i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done; echo $i"),
            arch,
        });
    }
    if busybox {
        v.push(Workload {
            stages: Vec::new(),
            name: "busybox sh loop",
            argv: sh("i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo $i"),
            arch,
        });
        v.push(Workload {
            stages: Vec::new(),
            name: "busybox sort -rn 1M lines",
            argv: vec![
                prog("busybox"),
                "sort".into(),
                "-rn".into(),
                "-o".into(),
                "/dev/null".into(),
                format!("{SCRATCH}/lines-1m.txt"),
            ],
            arch,
        });
        let stages: Vec<Vec<String>> = [
            vec!["od", "-An", "-tx1", &format!("{SCRATCH}/bytes-1m.bin")],
            vec!["sort"],
            vec!["md5sum"],
        ]
        .iter()
        .map(|st| {
            let mut c = vec![prog("busybox")];
            c.extend(st.iter().map(|a| a.to_string()));
            c
        })
        .collect();
        let script = stages
            .iter()
            .map(|c| c.join(" "))
            .collect::<Vec<_>>()
            .join(" | ");
        v.push(Workload {
            name: "od|sort|md5sum 1 MB",
            argv: sh(&script),
            stages,
            arch,
        });
    }
    if has("bash-static") {
        v.push(Workload {
            stages: Vec::new(),
            name: "bash-static loop",
            argv: vec![
                prog("bash-static"),
                "-c".into(),
                "i=0; s=0; while ((i < 200000)); do ((s += i * i % 7, i++)); done; echo $s".into(),
            ],
            arch,
        });
    }
    if has("rg") && root.join(SCRATCH).join("tree").exists() {
        v.push(Workload {
            stages: Vec::new(),
            name: "ripgrep -j1 source tree",
            argv: vec![
                prog("rg"),
                "-j1".into(),
                // No ignore files: natively the root sits inside a git checkout whose
                // .gitignore (target/) would hide part of the tree that the guest sees.
                "--no-ignore".into(),
                "--sort".into(),
                "path".into(),
                "-c".into(),
                "static inline".into(),
                format!("{SCRATCH}/tree"),
            ],
            arch,
        });
    }
    v
}

/// Where the bench keeps its inputs, inside the guest root (created on first use). Relative:
/// every engine runs with the root as its working directory, so the same argument names the
/// same file natively, under qemu-user and in the guest.
const SCRATCH: &str = "tmp/glass-bench";

/// The inputs of the data workloads, made once inside the root's scratch directory: a million
/// decimal lines and 1 MB of bytes from a fixed LCG (the same on every host), and a copy of a
/// C source tree for ripgrep (unicorn's, which the setup unpacks into build/).
fn make_inputs(root: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    let dir = root.join(SCRATCH);
    std::fs::create_dir_all(&dir)?;
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        // Knuth's MMIX LCG constants (TAOCP vol. 2, 3.3.4).
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        x >> 33
    };
    let lines = dir.join("lines-1m.txt");
    if !lines.exists() {
        let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("lines.tmp"))?);
        for _ in 0..1_000_000 {
            writeln!(out, "{}", next() % 1_000_000_000)?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(dir.join("lines.tmp"), &lines)?;
    }
    let bytes = dir.join("bytes-1m.bin");
    if !bytes.exists() {
        let data: Vec<u8> = (0..1 << 20).map(|_| next() as u8).collect();
        std::fs::write(dir.join("bytes.tmp"), data)?;
        std::fs::rename(dir.join("bytes.tmp"), &bytes)?;
    }
    let tree = dir.join("tree");
    if !tree.exists() {
        let src = crate::default_root().join("../unicorn-engine-sys/qemu");
        if !src.is_dir() {
            // No tree to copy (a root outside the checkout): the ripgrep row is left out.
            return Ok(());
        }
        let tmp = dir.join("tree.tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        let ok = Command::new("cp")
            .arg("-R")
            .arg(&src)
            .arg(&tmp)
            .status()?
            .success();
        if !ok {
            return Err(std::io::Error::other(format!(
                "copying {} failed",
                src.display()
            )));
        }
        std::fs::rename(&tmp, &tree)?;
    }
    Ok(())
}

/// qemu-user for an arch: `--qemu` for x86_64, qemu-aarch64 / qemu-riscv64 otherwise.
fn qemu_for(args: &BenchArgs, arch: &str) -> String {
    match arch {
        "x86_64" => args.qemu.clone(),
        a => format!("qemu-{a}"),
    }
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Time one command; None if it failed.
fn time(cmd: &mut Command) -> Option<(f64, Vec<u8>)> {
    let t = Instant::now();
    let o = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    let dt = t.elapsed().as_secs_f64();
    o.status.success().then_some((dt, o.stdout))
}

pub fn bench(args: &BenchArgs) -> std::process::ExitCode {
    let runs = if args.quick { 1 } else { args.runs.max(1) };
    let root = args.root.clone().unwrap_or_else(crate::default_root);
    // Programs run with the root as their cwd: the root must be absolute.
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    if args.proc {
        return match crate::bench9p::bench_proc(
            &root,
            crate::bench9p::ProcBench::new(runs, args.quick),
            args.only.as_deref(),
        ) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("glass bench --proc: {e}");
                std::process::ExitCode::from(1)
            }
        };
    }
    let glass = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("glass"));
    if let Err(e) = make_inputs(&root) {
        eprintln!(
            "glass bench: making the inputs in {}/{SCRATCH}: {e}",
            root.display()
        );
        return std::process::ExitCode::from(1);
    }
    let mut workloads = arch_workloads(&root, "x86_64", "/bin", true);
    if !args.x86_only {
        workloads.extend(arch_workloads(&root, "aarch64", "/aarch64/bin", true));
        workloads.extend(arch_workloads(&root, "riscv64", "/riscv64/bin", false));
    }
    if let Some(only) = &args.only {
        workloads.retain(|w| w.name.contains(only.as_str()));
    }
    let host = |guest: &str| -> PathBuf { root.join(guest.trim_start_matches('/')) };
    for w in &workloads {
        if !host(&w.argv[0]).exists() {
            eprintln!(
                "glass bench: {} missing; run tools/scripts/setup.sh",
                host(&w.argv[0]).display()
            );
            return std::process::ExitCode::from(2);
        }
    }
    println!(
        "glass bench: medians of {} runs; glass runs with preemption every {} blocks",
        runs,
        glass_emulator::param::QUANTUM_BLOCKS
    );
    println!(
        "{:<8} {:<26} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "arch", "workload", "native s", "qemu s", "glass s", "glass/qemu", "glass/native"
    );
    let mut worst: f64 = 0.0;
    for w in &workloads {
        let exe = host(&w.argv[0]);
        let native_ok = w.arch == "x86_64";
        let mut t = [Vec::new(), Vec::new(), Vec::new()];
        let mut outputs: Vec<Vec<u8>> = Vec::new();
        for _ in 0..runs {
            // Interleave the engines so machine noise hits all three alike.
            let (mut native, mut qemu) = if w.stages.is_empty() {
                let mut native = Command::new(&exe);
                native.args(&w.argv[1..]).current_dir(&root);
                let mut qemu = Command::new(qemu_for(args, w.arch));
                qemu.arg(&exe).args(&w.argv[1..]).current_dir(&root);
                (native, qemu)
            } else {
                let line = |prefix: &str| -> String {
                    w.stages
                        .iter()
                        .map(|st| {
                            let exe = host(&st[0]);
                            format!("{prefix}{} {}", exe.display(), st[1..].join(" "))
                        })
                        .collect::<Vec<_>>()
                        .join(" | ")
                };
                let mut native = Command::new("sh");
                native.arg("-c").arg(line("")).current_dir(&root);
                let mut qemu = Command::new("sh");
                qemu.arg("-c")
                    .arg(line(&format!("{} ", qemu_for(args, w.arch))))
                    .current_dir(&root);
                (native, qemu)
            };
            let mut g = Command::new(&glass);
            g.arg("run")
                .arg("--root")
                .arg(&root)
                .arg("--")
                .args(&w.argv);
            for (i, cmd) in [&mut native, &mut qemu, &mut g].into_iter().enumerate() {
                if i == 0 && !native_ok {
                    continue;
                }
                match time(cmd) {
                    Some((dt, out)) => {
                        t[i].push(dt);
                        outputs.push(out);
                    }
                    None => {
                        eprintln!(
                            "glass bench: {} failed under {}",
                            w.name,
                            ["native", "qemu", "glass"][i]
                        );
                        return std::process::ExitCode::from(1);
                    }
                }
            }
        }
        if outputs.windows(2).any(|p| p[0] != p[1]) {
            eprintln!(
                "glass bench: {} printed different output across engines",
                w.name
            );
            return std::process::ExitCode::from(1);
        }
        let [n, q, g] = [
            median(t[0].clone()),
            median(t[1].clone()),
            median(t[2].clone()),
        ];
        worst = worst.max(g / q);
        let (ns, gn) = if native_ok {
            (format!("{n:.3}"), format!("{:.2}x", g / n))
        } else {
            ("-".to_string(), "-".to_string())
        };
        println!(
            "{:<8} {:<26} {:>10} {:>10.3} {:>10.3} {:>11.2}x {:>12}",
            w.arch,
            w.name,
            ns,
            q,
            g,
            g / q,
            gn
        );
    }
    let verdict = if worst <= args.goal {
        "meets"
    } else {
        "misses"
    };
    println!(
        "worst glass/qemu ratio {worst:.2}x: {verdict} the goal of {:.1}x (aim 2x)",
        args.goal
    );
    if args.only.is_some() {
        // A chosen subset: the recording and memory rows are not among them.
        return std::process::ExitCode::SUCCESS;
    }
    match record_overhead(&glass, &root, runs.max(1)) {
        Some((plain, rec, size)) => {
            let ratio = rec / plain;
            let verdict = if ratio <= 1.05 { "meets" } else { "misses" };
            println!(
                "recording: the demo workload {plain:.3} s plain, {rec:.3} s with --record ({:+.1}%, {verdict} the goal of 5%); recording {:.1} KiB (goal < 64 KiB)",
                (ratio - 1.0) * 100.0,
                size as f64 / 1024.0
            );
        }
        None => println!("recording: could not be measured"),
    }
    match idle_memory(&glass, &root, 200) {
        Some((base, full)) => {
            let per = (full.saturating_sub(base)) as f64 / 200.0 / 1024.0;
            let verdict = if per <= 8.0 { "meets" } else { "misses" };
            println!(
                "host memory: {:.1} MiB with 1 process, {:.1} MiB with 201 idle ones: {per:.2} MiB per idle process ({verdict} the goal of 8 MiB)",
                base as f64 / 1024.0,
                full as f64 / 1024.0
            );
        }
        None => println!("host memory: could not be measured (no /proc/PID/status?)"),
    }
    std::process::ExitCode::SUCCESS
}

/// Resident memory (KiB) of glass running a shell that starts `n` sleeping children and then
/// waits on stdin, measured once with none and once with `n`: the medians of three reads.
fn idle_memory(glass: &std::path::Path, root: &std::path::Path, n: usize) -> Option<(u64, u64)> {
    use std::io::{Read, Write};
    let measure = |count: usize| -> Option<u64> {
        let script = format!(
            "i=0; while [ $i -lt {count} ]; do sleep 1000 & i=$((i+1)); done; echo ready; read x; kill $(jobs -p) 2>/dev/null; true"
        );
        let mut child = Command::new(glass)
            .arg("run")
            .arg("--root")
            .arg(root)
            .args(["--", "/bin/busybox", "sh", "-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut out = child.stdout.take()?;
        let mut buf = [0u8; 6];
        out.read_exact(&mut buf).ok()?;
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok();
        if let Some(mut s) = child.stdin.take() {
            let _ = s.write_all(b"\n");
        }
        let _ = child.wait();
        status?.lines().find_map(|l| {
            l.strip_prefix("VmRSS:")
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
    };
    let mut base = Vec::new();
    let mut full = Vec::new();
    for _ in 0..3 {
        base.push(measure(0)? as f64);
        full.push(measure(n)? as f64);
    }
    Some((median(base) as u64, median(full) as u64))
}

/// The cost of `--record` (issue 11): the demo's workload run plain and with `--record`,
/// interleaved, `runs` times each; medians in seconds, and the recording's size in bytes.
fn record_overhead(
    glass: &std::path::Path,
    root: &std::path::Path,
    runs: usize,
) -> Option<(f64, f64, u64)> {
    let script = crate::demo::WORKLOAD;
    let file = std::env::temp_dir().join(format!("glass-bench-{}.glrec", std::process::id()));
    let mut plain = Vec::new();
    let mut rec = Vec::new();
    let mut outputs = Vec::new();
    for _ in 0..runs {
        for recording in [false, true] {
            let mut c = Command::new(glass);
            c.arg("run").arg("--root").arg(root);
            if recording {
                c.arg("--record").arg(&file);
            }
            c.args(["--", "/bin/busybox", "sh", "-c", script]);
            let (dt, out) = time(&mut c)?;
            outputs.push(out);
            if recording {
                rec.push(dt)
            } else {
                plain.push(dt)
            }
        }
    }
    let size = std::fs::metadata(&file).ok()?.len();
    let _ = std::fs::remove_file(&file);
    if outputs.windows(2).any(|p| p[0] != p[1]) {
        eprintln!("glass bench: the demo workload printed different output with --record");
        return None;
    }
    Some((median(plain), median(rec), size))
}
