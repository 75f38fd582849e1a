//! Watchpoints through /proc/N/watchpt (docs/plan9-proc-9p.md §1.4 watchpt, §3.3 note
//! strings; 9front pc/devarch.c setupwatchpts, pc64/trap.c debugexc) on the real guest
//! `watchme`, driven by proc-model's 9P client over TCP, on x86_64, aarch64 and riscv64.
//!
//! Oracles: the ELF symbol table (the watched globals and `tick`), the cross objdump of
//! the same image (the instruction just before the stop pc is the store to `counter`),
//! 9front's error strings and note format (the reference), and the program's own output
//! natively (x86_64) when nothing fires.

use glass_tests::{guest_image, symbol, ServedMachine};
use proc_model::machine::Arch;
use proc_model::ninep::client::{Client, ClientError};
use proc_model::ureg;
use std::process::Command;

fn arch_of(arch: &str) -> Arch {
    match arch {
        "x86_64" => Arch::X86_64,
        "aarch64" => Arch::Aarch64,
        _ => Arch::Riscv64,
    }
}

fn reg(c: &mut Client, arch: &str, name: &str) -> u64 {
    let raw = c.read_file("/1/regs").expect("regs");
    let l = ureg::layout(arch_of(arch));
    let f = l.field(name).expect("field");
    l.get(&raw, f).expect("value")
}

fn mem_u64(c: &mut Client, addr: u64) -> u64 {
    let b = c.read_once("/1/mem", addr, 8).expect("mem");
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

fn state(c: &mut Client) -> String {
    let st = c.read_file("/1/status").expect("status");
    String::from_utf8_lossy(&st)
        .split_whitespace()
        .nth(2)
        .unwrap_or("")
        .to_string()
}

fn note(c: &mut Client) -> String {
    let n = c.read_once("/1/note", 0, 128).expect("note");
    String::from_utf8_lossy(&n)
        .trim_end_matches('\0')
        .to_string()
}

fn write_err(c: &mut Client, path: &str, off: u64, data: &str) -> String {
    match c.write_file(path, off, data.as_bytes()) {
        Err(ClientError::Remote(e)) => e,
        other => panic!("write {data:?} to {path}: expected an error, got {other:?}"),
    }
}

/// The objdump line of the instruction that ends where `pc` begins: the one printed just
/// before the line of `pc` (in `func`'s disassembly).
fn insn_before(arch: &str, func: &str, pc: u64) -> String {
    let tool = match arch {
        "x86_64" => "objdump".to_string(),
        a => format!("{a}-linux-gnu-objdump"),
    };
    let o = Command::new(tool)
        .args(["-d", "--no-show-raw-insn"])
        .arg(format!("--disassemble={func}"))
        .arg(guest_image(arch, "watchme"))
        .output()
        .expect("objdump (binutils) runs");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let at = format!("{pc:x}:");
    let i = lines
        .iter()
        .position(|l| l.trim_start().starts_with(&at))
        .unwrap_or_else(|| panic!("pc {pc:#x} is no instruction start of {func}:\n{text}"));
    lines[i - 1].to_string()
}

/// Whether an objdump line is a 64-bit store (x86 `mov %reg,mem`, arm64 `str x`, riscv
/// `sd`).
fn is_store(arch: &str, line: &str) -> bool {
    let insn = line.split('\t').nth(1).unwrap_or("").trim();
    match arch {
        "x86_64" => insn.starts_with("mov") && insn.contains(",0x") && insn.contains("(%rip)"),
        "aarch64" => insn.starts_with("str"),
        _ => insn.starts_with("sd") || insn.starts_with("c.sd"),
    }
}

/// The Ureg `type` a watchpoint leaves: amd64 vector 1, arm64 exception class 0x34,
/// riscv64 cause 3.
fn watch_type(arch: &str) -> u64 {
    match arch {
        "x86_64" => 1,
        "aarch64" => 0x34,
        _ => 3,
    }
}

fn watch_flow(arch: &str, program: &str) {
    let mut m = ServedMachine::start(&["--hang", "--", program]);
    let mut c = m.client();
    let (counter, _) = symbol(arch, "watchme", "counter");
    let (source, _) = symbol(arch, "watchme", "source");
    let (tick, _) = symbol(arch, "watchme", "tick");
    let (main, main_size) = symbol(arch, "watchme", "main");
    assert_eq!(state(&mut c), "Stopped");
    let wp = "/1/watchpt";

    // 9front's setupwatchpts errors (amd64 rules), and a refused write changes nothing.
    assert_eq!(
        write_err(&mut c, wp, 0, &format!("r-- {source:#x} 8\n")),
        "type must be rw-, -w- or --x"
    );
    assert_eq!(
        write_err(&mut c, wp, 0, &format!("--x {tick:#x} 4\n")),
        "length must be 1 on breakpoints"
    );
    assert_eq!(
        write_err(&mut c, wp, 0, &format!("-w- {counter:#x} 3\n")),
        "length must be 1,2,4,8"
    );
    assert_eq!(
        write_err(&mut c, wp, 0, &format!("-w- {:#x} 8\n", counter + 4)),
        "address must be aligned according to length"
    );
    let five = format!("-w- {counter:#x} 8\n").repeat(5);
    assert_eq!(
        write_err(&mut c, wp, 0, &five),
        "there are four watchpoints."
    );
    // procfs's own parse errors (writewatchpt).
    assert_eq!(
        write_err(&mut c, wp, 0, &format!("-w- {counter:#x}\n")),
        "wrong number of fields"
    );
    assert_eq!(c.read_file(wp).expect("watchpt"), b"");

    // Write watchpoints: entry 0 on `source`, which the loop only reads, entry 1 on
    // `counter`. The first iteration reads source, then stores counter: only entry 1 fires.
    let list = format!("-w- {source:#x} 8\n");
    c.write_file(wp, 0, list.as_bytes()).expect("watch source");
    let more = format!("-w- {counter:#x} 8\n");
    c.write_file(wp, 42, more.as_bytes()).expect("append");
    assert_eq!(
        String::from_utf8_lossy(&c.read_file(wp).expect("watchpt")),
        format!("-w- {source:#018x} 0x0000000000000008\n-w- {counter:#018x} 0x0000000000000008\n")
    );
    c.write_file("/1/ctl", 0, b"startstop").expect("startstop");
    assert_eq!(state(&mut c), "Stopped");
    assert_eq!(note(&mut c), "sys: watchpoint 1");
    assert_eq!(note(&mut c), "", "one note, consumed by the read");
    // A trap: the store is done and pc is just past it, in main.
    assert_eq!(mem_u64(&mut c, counter), 1);
    let pc = reg(&mut c, arch, "pc");
    assert!((main..main + main_size).contains(&pc), "pc {pc:#x}");
    let before = insn_before(arch, "main", pc);
    assert!(is_store(arch, &before), "not a store before pc: {before}");
    if arch == "x86_64" {
        assert!(before.contains("<counter>"), "{before}");
    }
    assert_eq!(reg(&mut c, arch, "type"), watch_type(arch));

    // Read watchpoints: `rw-` on source fires at the next iteration's read.
    c.write_file(wp, 0, format!("rw- {source:#x} 8\n").as_bytes())
        .expect("watch reads");
    c.write_file("/1/ctl", 0, b"startstop").expect("startstop");
    assert_eq!(note(&mut c), "sys: watchpoint 0");
    assert_eq!(mem_u64(&mut c, counter), 1, "stopped before the next store");
    let pc = reg(&mut c, arch, "pc");
    assert!((main..main + main_size).contains(&pc), "pc {pc:#x}");

    // Execute watchpoints stop at the instruction, before it runs; resumed there it runs
    // once and the watchpoint fires at the next call.
    c.write_file(wp, 0, format!("--x {tick:#x} 1\n").as_bytes())
        .expect("watch tick");
    c.write_file("/1/ctl", 0, b"startstop").expect("startstop");
    assert_eq!(note(&mut c), "sys: watchpoint 0");
    assert_eq!(reg(&mut c, arch, "pc"), tick);
    let t0 = mem_u64(&mut c, symbol(arch, "watchme", "ticks").0);
    c.write_file("/1/ctl", 0, b"startstop").expect("startstop");
    assert_eq!(note(&mut c), "sys: watchpoint 0");
    assert_eq!(reg(&mut c, arch, "pc"), tick);
    assert_eq!(mem_u64(&mut c, symbol(arch, "watchme", "ticks").0), t0 + 1);
    // Iterations 2 (the first stop at tick) and 3 (the second) stored counter.
    assert_eq!(mem_u64(&mut c, counter), 3);

    // Single steps do not skip a data watchpoint either.
    c.write_file(wp, 0, format!("-w- {counter:#x} 8\n").as_bytes())
        .expect("watch counter");
    let mut fired = false;
    for _ in 0..200 {
        c.write_file("/1/ctl", 0, b"step").expect("step");
        let n = note(&mut c);
        if !n.is_empty() {
            assert_eq!(n, "sys: watchpoint 0");
            fired = true;
            break;
        }
    }
    assert!(fired, "200 steps through the loop never stored counter");
    assert_eq!(mem_u64(&mut c, counter), 4);
    let pc = reg(&mut c, arch, "pc");
    assert!(is_store(arch, &insn_before(arch, "main", pc)));

    // An OTRUNC open clears the list; the program then runs to its end undisturbed.
    let (fid, _) = c.open_path(wp, 0x11).expect("open OWRITE|OTRUNC");
    c.clunk(fid).expect("clunk");
    assert_eq!(c.read_file(wp).expect("watchpt"), b"");
    c.write_file("/1/ctl", 0, b"start").expect("start");
    assert_eq!(m.wait_exit(60), Some(0), "{}", m.stderr());
    assert_eq!(m.stdout(), "counter=1000 total=3000 ticks=1000\n");
}

#[test]
fn watchpoints_x86_64() {
    watch_flow("x86_64", "/bin/watchme");
}

#[test]
fn watchpoints_aarch64() {
    watch_flow("aarch64", "/aarch64/bin/watchme");
}

#[test]
fn watchpoints_riscv64() {
    watch_flow("riscv64", "/riscv64/bin/watchme");
}

/// The native run prints what the test expects when nothing fires.
#[test]
fn watchme_native_output() {
    let o = glass_tests::oracle(guest_image("x86_64", "watchme"))
        .output()
        .expect("native watchme");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "counter=1000 total=3000 ticks=1000\n"
    );
}

/// Not traced by a debugger, a watched access is the note's signal, SIGTRAP (README
/// note-to-signal table): the process dies of it, Broken, as natively a SIGTRAP with no
/// handler kills.
#[test]
fn untraced_watchpoint_kills_with_sigtrap() {
    let mut m = ServedMachine::start(&["--hang", "--", "/bin/watchme"]);
    let mut c = m.client();
    let (counter, _) = symbol("x86_64", "watchme", "counter");
    c.write_file("/1/watchpt", 0, format!("-w- {counter:#x} 8\n").as_bytes())
        .expect("watch");
    c.write_file("/1/ctl", 0, b"start").expect("start");
    let code = m.wait_exit(60).expect("machine ends");
    // The shell convention for a death by SIGTRAP (5): 128 + 5.
    assert_eq!(code, 133, "{}", m.stderr());
    assert!(
        m.stderr().contains("suicide: sys: watchpoint 0 pc=0x"),
        "{}",
        m.stderr()
    );
    assert_eq!(m.stdout(), "");
}

/// fork does not copy the list (9front newproc starts without one): `rtspin` watched on
/// `printf`, which every process calls once at its end, forks two children; they have
/// empty lists and print, while the parent stops at its own printf.
#[test]
fn fork_does_not_copy_the_list() {
    let mut m = ServedMachine::start(&["--hang", "--", "/bin/rtspin", "3", "300"]);
    let mut c = m.client();
    let (printf, _) = symbol("x86_64", "rtspin", "printf");
    c.write_file("/1/watchpt", 0, format!("--x {printf:#x} 1\n").as_bytes())
        .expect("watch printf");
    c.write_file("/1/ctl", 0, b"startstop").expect("startstop");
    assert_eq!(note(&mut c), "sys: watchpoint 0");
    assert_eq!(reg(&mut c, "x86_64", "pc"), printf);
    // The children ran to their ends meanwhile (the parent spins as long as they do);
    // their lines are out, the parent's is not.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while m.stdout().lines().count() < 2 {
        assert!(std::time::Instant::now() < deadline, "{}", m.stderr());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let pids: Vec<String> = m
        .stdout()
        .lines()
        .map(|l| l.split(' ').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(pids.len(), 2);
    assert!(!pids.contains(&"1".to_string()), "{pids:?}");
    assert_eq!(
        String::from_utf8_lossy(&c.read_file("/1/watchpt").expect("watchpt")),
        format!("--x {printf:#018x} 0x0000000000000001\n")
    );
    c.write_file("/1/watchpt", 0, b"\n").expect("clear");
    c.write_file("/1/ctl", 0, b"start").expect("start");
    assert_eq!(m.wait_exit(60), Some(0), "{}", m.stderr());
    assert_eq!(m.stdout().lines().count(), 3);
}

/// A watchpt write is an outside input a recording keeps (docs/recording.md `watchpt`):
/// replayed with no client, the process dies of the same watchpoint at the same point.
#[test]
fn recorded_watchpoint_replays() {
    let dir = std::env::temp_dir().join(format!("glass-watch-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let file = dir.join("run.glrec");
    let f = file.to_string_lossy().into_owned();
    let mut m = ServedMachine::start(&["--record", &f, "--hang", "--", "/bin/watchme"]);
    let mut c = m.client();
    let (counter, _) = symbol("x86_64", "watchme", "counter");
    c.write_file("/1/watchpt", 0, format!("-w- {counter:#x} 8\n").as_bytes())
        .expect("watch");
    c.write_file("/1/ctl", 0, b"start").expect("start");
    assert_eq!(m.wait_exit(60), Some(133), "{}", m.stderr());
    let died = m
        .stderr()
        .lines()
        .find(|l| l.contains("suicide: sys: watchpoint 0 pc=0x"))
        .unwrap_or_else(|| panic!("{}", m.stderr()))
        .to_string();
    let text = std::fs::read_to_string(&file).expect("recording");
    assert!(text.contains("\"k\":\"watchpt\""), "{text}");
    let rep = Command::new(glass_tests::glass_bin())
        .args(["replay"])
        .arg(&file)
        .arg("--root")
        .arg(glass_tests::guest_root())
        .output()
        .expect("glass replay");
    let err = String::from_utf8_lossy(&rep.stderr).into_owned();
    assert!(err.contains("replay matched"), "{err}");
    assert!(err.contains(&died), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
