//! `glass debug`: a source-level debugger that speaks only 9P to a machine's /proc, plus the
//! program's ELF file (read through /proc/N/text) for symbols — acid's model (Plan 9
//! sys/lib/acid/port): breakpoints are written into `mem` while the process is Stopped,
//! `startstop` runs it until a note, the note says why it stopped, `regs` says where.
//! Single-stepping uses Glass's ctl `step` extension (one instruction, then Stopped).
//! Commands come from a terminal, a file or stdin, so tests and CI can script it.

pub mod symbols;

use crate::p9client::{Client, ClientError};
use proc_model::machine::Arch;
use proc_model::ureg::{self, UregLayout};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use symbols::{DbgArch, Symbols};

#[derive(clap::Args)]
pub struct DebugArgs {
    /// /proc server address (host:port or unix:PATH); default $GLASS_ADDR, else 127.0.0.1:5640.
    #[arg(short = 'a', long = "addr", value_name = "ADDR")]
    addr: Option<String>,
    #[command(flatten)]
    conn: crate::ninep_cmd::ConnArgs,
    /// Read commands from FILE instead of stdin.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<std::path::PathBuf>,
    /// Start PROGRAM hung in a new machine served on a private socket and debug its first
    /// process (like `glass run --hang --serve`); the machine's output goes to stdout.
    #[arg(long)]
    hang: bool,
    /// Guest root for --hang.
    #[arg(long, value_name = "DIR")]
    root: Option<std::path::PathBuf>,
    /// With --hang: the program and its arguments. Without: the pid to attach to.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PID | PROGRAM [ARGS]"
    )]
    target: Vec<String>,
}

/// Breakpoint instructions (acid's bpinst): x86 int3; arm64 `brk #0`; riscv `ebreak`, or
/// `c.ebreak` over a compressed (16-bit) instruction so the next one stays intact.
fn bpinst(arch: DbgArch, orig: &[u8]) -> &'static [u8] {
    match arch {
        DbgArch::X86_64 => &[0xcc],
        DbgArch::Aarch64 => &[0x00, 0x00, 0x20, 0xd4],
        DbgArch::Riscv64 if orig.first().is_some_and(|b| b & 3 != 3) => &[0x02, 0x90],
        DbgArch::Riscv64 => &[0x73, 0x00, 0x10, 0x00],
    }
}

/// The Ureg layout of the program's arch (proc-model's table, docs/plan9-proc-9p.md §1.6): the
/// names and offsets `regs` prints and the DWARF numbers unwinding reads.
fn ureg_layout(arch: DbgArch) -> &'static UregLayout {
    ureg::layout(match arch {
        DbgArch::X86_64 => Arch::X86_64,
        DbgArch::Aarch64 => Arch::Aarch64,
        DbgArch::Riscv64 => Arch::Riscv64,
    })
}

struct Debugger {
    c: Client,
    pid: u32,
    syms: Symbols,
    /// Breakpoint number → (address, original bytes).
    bps: BTreeMap<u32, (u64, Vec<u8>)>,
    next_bp: u32,
    out: Box<dyn Write>,
}

type R<T> = Result<T, String>;

fn cerr(e: ClientError) -> String {
    e.to_string()
}

impl Debugger {
    fn path(&self, file: &str) -> String {
        format!("/{}/{file}", self.pid)
    }

    fn ctl(&mut self, msg: &str) -> R<()> {
        let p = self.path("ctl");
        self.c
            .write_file(&p, 0, msg.as_bytes())
            .map(|_| ())
            .map_err(|e| format!("ctl {msg}: {}", cerr(e)))
    }

    /// A ctl message that blocks until the process stops (`startstop`), however long it
    /// runs: sent without the reply timeout.
    fn ctl_blocking(&mut self, msg: &str) -> R<()> {
        let timeout = self.c.timeout();
        self.c.set_timeout(None).map_err(cerr)?;
        let r = self.ctl(msg);
        self.c.set_timeout(timeout).map_err(cerr)?;
        r
    }

    fn status_state(&mut self) -> R<String> {
        let p = self.path("status");
        let s = self.c.read_file(&p).map_err(cerr)?;
        // status: name[27] user[27] state[11] ... (whitespace-separated, acid's field 3)
        Ok(String::from_utf8_lossy(&s)
            .split_whitespace()
            .nth(2)
            .unwrap_or("")
            .to_string())
    }

    fn ensure_stopped(&mut self) -> R<()> {
        if self.status_state()? != "Stopped" {
            self.ctl("stop")?;
        }
        Ok(())
    }

    fn regs_raw(&mut self) -> R<Vec<u8>> {
        let p = self.path("regs");
        self.c.read_once(&p, 0, 4096).map_err(cerr)
    }

    fn reg(&mut self, name: &str) -> R<u64> {
        let raw = self.regs_raw()?;
        let layout = ureg_layout(self.syms.arch);
        let f = layout
            .field(name)
            .ok_or_else(|| format!("no register {name}"))?;
        Ok(layout.get(&raw, f).ok_or("short regs")?)
    }

    fn pc(&mut self) -> R<u64> {
        self.reg("pc")
    }

    fn read_mem(&mut self, addr: u64, n: usize) -> R<Vec<u8>> {
        let p = self.path("mem");
        let mut out = Vec::new();
        while out.len() < n {
            let d = self
                .c
                .read_once(&p, addr + out.len() as u64, (n - out.len()) as u32)
                .map_err(cerr)?;
            if d.is_empty() {
                break;
            }
            out.extend_from_slice(&d);
        }
        Ok(out)
    }

    fn write_mem(&mut self, addr: u64, data: &[u8]) -> R<()> {
        let p = self.path("mem");
        self.c.write_file(&p, addr, data).map(|_| ()).map_err(cerr)
    }

    fn notes(&mut self) -> R<Vec<String>> {
        let p = self.path("note");
        let mut v = Vec::new();
        loop {
            let d = self.c.read_once(&p, 0, 128).map_err(cerr)?;
            if d.is_empty() {
                break;
            }
            v.push(
                String::from_utf8_lossy(&d)
                    .trim_end_matches('\0')
                    .to_string(),
            );
        }
        Ok(v)
    }

    /// "func+off (file:line)" for an address.
    fn describe(&self, pc: u64) -> String {
        self.describe_at(pc, pc)
    }

    /// `pc` described by the function and line of `lookup` (a caller frame's pc is a return
    /// address: its call instruction, and so its source line, is at pc-1, as gdb shows it).
    fn describe_at(&self, pc: u64, lookup: u64) -> String {
        let f = self.syms.func_at(lookup).map(|(n, o)| {
            let o = o + (pc - lookup);
            if o == 0 {
                n.to_string()
            } else {
                format!("{n}+{o:#x}")
            }
        });
        let l = self
            .syms
            .line_at(lookup)
            .map(|(f, l)| format!(" {}:{l}", f.rsplit('/').next().unwrap_or(f)));
        format!(
            "{pc:#x} {}{}",
            f.unwrap_or_else(|| "?".into()),
            l.unwrap_or_default()
        )
    }

    fn resolve(&self, what: &str) -> R<u64> {
        if let Some(h) = what.strip_prefix("0x") {
            return u64::from_str_radix(h, 16).map_err(|_| format!("bad address {what}"));
        }
        if let Some((file, line)) = what.rsplit_once(':') {
            if let Ok(line) = line.parse::<u32>() {
                return self
                    .syms
                    .addr_of_line(file, line)
                    .ok_or_else(|| format!("no code at {what}"));
            }
        }
        self.syms
            .lookup(what)
            .ok_or_else(|| format!("no symbol {what}"))
    }

    fn bp_at(&self, addr: u64) -> Option<(u32, Vec<u8>)> {
        self.bps
            .iter()
            .find(|(_, (a, _))| *a == addr)
            .map(|(n, (_, o))| (*n, o.clone()))
    }

    /// Write the breakpoint instruction at `addr`; the bytes it replaced.
    fn insert_bp(&mut self, addr: u64) -> R<Vec<u8>> {
        let first = self.read_mem(addr, 1)?;
        let len = bpinst(self.syms.arch, &first).len();
        let orig = self.read_mem(addr, len)?;
        self.write_mem(addr, bpinst(self.syms.arch, &orig))?;
        Ok(orig)
    }

    /// Step over an inserted breakpoint at pc: put the original bytes back, one instruction,
    /// then the breakpoint again.
    fn step_one(&mut self) -> R<()> {
        let pc = self.pc()?;
        if let Some((_, orig)) = self.bp_at(pc) {
            self.write_mem(pc, &orig)?;
            let r = self.ctl("step");
            self.write_mem(pc, bpinst(self.syms.arch, &orig))?;
            r
        } else {
            self.ctl("step")
        }
    }

    /// Run until the process stops again; report why.
    fn cont(&mut self) -> R<String> {
        self.step_one()?;
        if let Err(e) = self.ctl_blocking("startstop") {
            // The process ended instead of stopping: a normal end of a debugging session.
            if e.ends_with("process exited") {
                return Ok("process exited".into());
            }
            return Err(e);
        }
        let notes = self.notes()?;
        let pc = self.pc()?;
        let why = notes.first().cloned().unwrap_or_else(|| "stopped".into());
        if let Some(idx) = why.strip_prefix("sys: watchpoint ") {
            return self.watch_stop(&why, idx, pc);
        }
        let bp = self
            .bp_at(pc)
            .map(|(n, _)| format!(" (breakpoint {n})"))
            .unwrap_or_default();
        Ok(format!("{why}{bp} at {}", self.describe(pc)))
    }

    /// The watchpoint list as `watchpt` shows it: (type, address, length) per entry.
    fn watch_list(&mut self) -> R<Vec<(String, u64, u64)>> {
        let p = self.path("watchpt");
        let text = self.c.read_file(&p).map_err(cerr)?;
        let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or(0);
        Ok(String::from_utf8_lossy(&text)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() == 3).then(|| (f[0].to_string(), hex(f[1]), hex(f[2])))
            })
            .collect())
    }

    /// A watched address by name: the function or data symbol that starts there.
    fn watch_name(&self, addr: u64) -> String {
        self.syms
            .func_at(addr)
            .filter(|(_, o)| *o == 0)
            .map(|(n, _)| n.to_string())
            .or_else(|| self.syms.object_at(addr))
            .unwrap_or_else(|| format!("{addr:#x}"))
    }

    /// Why a watchpoint stop happened and where. A data watchpoint is a trap (9front amd64
    /// debug registers): pc is past the instruction that made the access, so, as acid's
    /// amd64 stopped() does (pc--), the access is described at pc-1, inside that
    /// instruction; an execute watchpoint stops at its instruction.
    fn watch_stop(&mut self, why: &str, idx: &str, pc: u64) -> R<String> {
        let list = self.watch_list()?;
        let mut exec = false;
        let mut which = Vec::new();
        for i in idx
            .split(',')
            .filter_map(|i| i.trim().parse::<usize>().ok())
        {
            if let Some((ty, addr, len)) = list.get(i) {
                exec |= ty.contains('x');
                let name = self.watch_name(*addr);
                which.push(format!("watchpoint {i}: {ty} {name} {len}"));
            }
        }
        let at = if exec {
            format!("at {}", self.describe(pc))
        } else {
            format!("after {}", self.describe_at(pc, pc.saturating_sub(1)))
        };
        Ok(format!("{why} ({}) {at}", which.join(", ")))
    }

    fn dwarf_regs(&mut self) -> R<[u64; 33]> {
        let raw = self.regs_raw()?;
        let mut regs = [0u64; 33];
        let layout = ureg_layout(self.syms.arch);
        for f in layout.fields {
            let v = layout.get(&raw, f).unwrap_or(0);
            if let Some(d) = f.dwarf {
                regs[usize::from(d)] = v;
            }
            if f.name == "pc" {
                regs[32] = v;
            }
        }
        Ok(regs)
    }

    fn backtrace(&mut self) -> R<Vec<String>> {
        let regs = self.dwarf_regs()?;
        let mut cache: Vec<(u64, u64)> = Vec::new();
        let frames = {
            let mem_path = self.path("mem");
            let c = &mut self.c;
            let mut mem = |a: u64| -> Option<u64> {
                if let Some((_, v)) = cache.iter().find(|(k, _)| *k == a) {
                    return Some(*v);
                }
                let b = c.read_once(&mem_path, a, 8).ok()?;
                let v = u64::from_le_bytes(b.get(..8)?.try_into().ok()?);
                cache.push((a, v));
                Some(v)
            };
            self.syms.backtrace(&regs, &mut mem, 64)
        };
        Ok(frames
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let lookup = if i == 0 { f.pc } else { f.pc.saturating_sub(1) };
                format!("#{i} {}", self.describe_at(f.pc, lookup))
            })
            .collect())
    }

    fn exec(&mut self, line: &str) -> R<bool> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(&cmd) = words.first() else {
            return Ok(true);
        };
        let arg = words.get(1).copied().unwrap_or("");
        match cmd {
            "break" | "b" => {
                let addr = self.resolve(arg)?;
                self.ensure_stopped()?;
                let orig = self.insert_bp(addr)?;
                let n = self.next_bp;
                self.next_bp += 1;
                self.bps.insert(n, (addr, orig));
                let d = self.describe(addr);
                writeln!(self.out, "breakpoint {n} at {d}").ok();
            }
            "delete" | "d" => {
                let n: u32 = arg
                    .parse()
                    .map_err(|_| format!("delete: bad breakpoint number {arg:?}"))?;
                let (addr, orig) = self
                    .bps
                    .remove(&n)
                    .ok_or_else(|| format!("no breakpoint {n}"))?;
                self.ensure_stopped()?;
                self.write_mem(addr, &orig)?;
                writeln!(self.out, "deleted breakpoint {n}").ok();
            }
            "watch" | "w" => {
                // watch [-r|-w|-x] ADDR|SYM [LEN]: appended to /proc/N/watchpt. -w watches
                // writes, -r reads and writes (x86 debug registers cannot watch reads
                // alone; 9front refuses `r--`), -x execution of one instruction.
                let (ty, rest) = match words.get(1).copied() {
                    Some("-r") => ("rw-", &words[2..]),
                    Some("-w") => ("-w-", &words[2..]),
                    Some("-x") => ("--x", &words[2..]),
                    _ => ("-w-", &words[1..]),
                };
                let what = rest
                    .first()
                    .ok_or("usage: watch [-r|-w|-x] ADDR|SYM [LEN]")?;
                let addr = self.resolve(what)?;
                let len: u64 = match rest.get(1) {
                    Some(l) => l.parse().map_err(|_| format!("bad length {l}"))?,
                    None if ty == "--x" => 1,
                    None => self
                        .syms
                        .object_size(what)
                        .filter(|w| [1, 2, 4, 8].contains(w))
                        .unwrap_or(8),
                };
                self.ensure_stopped()?;
                let n = self.watch_list()?.len();
                let p = self.path("watchpt");
                let line = format!("{ty} {addr:#x} {len}\n");
                self.c
                    .write_file(&p, (n * 42) as u64, line.as_bytes())
                    .map_err(|e| format!("watch: {}", cerr(e)))?;
                let name = self.watch_name(addr);
                writeln!(self.out, "watchpoint {n}: {ty} {addr:#x} {name} {len}").ok();
            }
            "unwatch" => {
                // unwatch [N]: remove watchpoint N (the later ones are renumbered), or all.
                let mut list = self.watch_list()?;
                if arg.is_empty() {
                    list.clear();
                } else {
                    let n: usize = arg
                        .parse()
                        .map_err(|_| format!("unwatch: bad watchpoint number {arg:?}"))?;
                    if n >= list.len() {
                        return Err(format!("no watchpoint {n}"));
                    }
                    list.remove(n);
                }
                self.ensure_stopped()?;
                // At offset 0 the list is replaced; a blank line alone clears it.
                let mut text: String = list
                    .iter()
                    .map(|(t, a, l)| format!("{t} {a:#x} {l}\n"))
                    .collect();
                if text.is_empty() {
                    text.push('\n');
                }
                let p = self.path("watchpt");
                self.c
                    .write_file(&p, 0, text.as_bytes())
                    .map_err(|e| format!("unwatch: {}", cerr(e)))?;
                writeln!(self.out, "{} watchpoints left", list.len()).ok();
            }
            "cont" | "c" => {
                let s = self.cont()?;
                writeln!(self.out, "{s}").ok();
            }
            "step" | "si" => {
                self.step_one()?;
                let pc = self.pc()?;
                let d = self.describe(pc);
                writeln!(self.out, "{d}").ok();
            }
            "next" | "n" => {
                // Step until the source line changes in this frame; step over calls by
                // running to the return address.
                let start_pc = self.pc()?;
                let start_line = self.syms.line_at(start_pc).map(|(f, l)| (f.to_string(), l));
                let start_sp = self.reg("sp")?;
                for _ in 0..100_000 {
                    self.step_one()?;
                    let pc = self.pc()?;
                    let sp = self.reg("sp")?;
                    if sp < start_sp && self.syms.func_at(pc).is_some_and(|(_, off)| off == 0) {
                        // Entered a call: run to its return address.
                        let ret = self.return_address(sp)?;
                        let orig = self.insert_bp(ret)?;
                        let r = self.ctl_blocking("startstop");
                        self.write_mem(ret, &orig)?;
                        r?;
                        let _ = self.notes();
                        continue;
                    }
                    let line = self.syms.line_at(pc).map(|(f, l)| (f.to_string(), l));
                    if line.is_some() && line != start_line && sp >= start_sp.saturating_sub(0) {
                        break;
                    }
                    if sp > start_sp && line.is_some() {
                        break;
                    }
                }
                let pc = self.pc()?;
                let d = self.describe(pc);
                writeln!(self.out, "{d}").ok();
            }
            "regs" => {
                let raw = self.regs_raw()?;
                let layout = ureg_layout(self.syms.arch);
                for f in layout.fields {
                    let v = layout.get(&raw, f).unwrap_or(0);
                    // Zero-padded to the field's width: 16 hex digits, 4 for a selector.
                    let w = 2 + 2 * f.size;
                    writeln!(self.out, "{:<6} {v:#0w$x}", f.name).ok();
                }
            }
            "bt" | "where" => {
                for f in self.backtrace()? {
                    writeln!(self.out, "{f}").ok();
                }
            }
            c if c.starts_with("x/") || c == "x" => {
                let n: usize = c
                    .strip_prefix("x/")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(16);
                let addr = self.resolve(arg)?;
                let data = self.read_mem(addr, n)?;
                for (i, chunk) in data.chunks(16).enumerate() {
                    let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
                    writeln!(self.out, "{:#x}: {}", addr + 16 * i as u64, hex.join(" ")).ok();
                }
            }
            "set" => {
                // set ADDR|SYMBOL = VALUE (a symbol's size picks the width; else 8 bytes)
                let rest = line[3..].trim();
                let (lhs, rhs) = rest
                    .split_once('=')
                    .ok_or("usage: set ADDR|SYMBOL = VALUE")?;
                let (lhs, rhs) = (lhs.trim(), rhs.trim());
                let addr = self.resolve(lhs)?;
                let v: i64 = if let Some(h) = rhs.strip_prefix("0x") {
                    i64::from_str_radix(h, 16).map_err(|_| format!("bad value {rhs}"))?
                } else {
                    rhs.parse().map_err(|_| format!("bad value {rhs}"))?
                };
                let width = self
                    .syms
                    .object_size(lhs)
                    .filter(|w| [1, 2, 4, 8].contains(w))
                    .unwrap_or(8) as usize;
                self.ensure_stopped()?;
                self.write_mem(addr, &v.to_le_bytes()[..width])?;
                writeln!(self.out, "{lhs} = {v}").ok();
            }
            "print" | "p" => {
                let addr = self.resolve(arg)?;
                let width = self
                    .syms
                    .object_size(arg)
                    .filter(|w| [1, 2, 4, 8].contains(w))
                    .unwrap_or(8) as usize;
                let b = self.read_mem(addr, width)?;
                let mut v = [0u8; 8];
                v[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
                writeln!(self.out, "{arg} = {}", i64::from_le_bytes(v)).ok();
            }
            "notes" => {
                for n in self.notes()? {
                    writeln!(self.out, "note: {n}").ok();
                }
            }
            "status" => {
                let s = self.status_state()?;
                writeln!(self.out, "{s}").ok();
            }
            "kill" => {
                self.ctl("kill")?;
                writeln!(self.out, "killed").ok();
                return Ok(false);
            }
            "start" => {
                self.step_one()?;
                self.ctl("start")?;
                writeln!(self.out, "started").ok();
            }
            "quit" | "q" => return Ok(false),
            "help" => {
                writeln!(self.out, "break FUNC|FILE:LINE|0xADDR, delete N, watch [-r|-w|-x] ADDR|SYM [LEN], unwatch [N], cont, step, next, regs, bt, x/N ADDR|SYM, set ADDR|SYM = VALUE, print SYM, notes, status, start, kill, quit").ok();
            }
            c => return Err(format!("unknown command {c:?} (try help)")),
        }
        Ok(true)
    }

    /// The return address of a call just entered (the word at sp on x86_64; the link
    /// register on arm64 and riscv).
    fn return_address(&mut self, sp: u64) -> R<u64> {
        match self.syms.arch {
            DbgArch::X86_64 => {
                let b = self.read_mem(sp, 8)?;
                Ok(u64::from_le_bytes(
                    b.get(..8)
                        .ok_or("short read")?
                        .try_into()
                        .map_err(|_| "read")?,
                ))
            }
            DbgArch::Aarch64 => self.reg("r30"),
            DbgArch::Riscv64 => self.reg("ra"),
        }
    }
}

pub fn debug(args: &DebugArgs) -> std::process::ExitCode {
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("glass debug: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

fn run(args: &DebugArgs) -> R<()> {
    let user = glass_emulator::machine::host_user();
    let mut child = None;
    let (addr, pid) = if args.hang {
        // A private machine: glass run --hang --serve unix:SOCK -- PROGRAM ...
        let sock = std::env::temp_dir().join(format!("glass-debug-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&sock);
        let mut cmd =
            std::process::Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
        cmd.arg("run")
            .arg("--hang")
            .arg("--serve")
            .arg(format!("unix:{}", sock.display()));
        if let Some(r) = &args.root {
            cmd.arg("--root").arg(r);
        }
        cmd.arg("--").args(&args.target);
        let c = cmd
            .stdin(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("starting the machine: {e}"))?;
        child = Some(c);
        // Wait for the socket to appear.
        for _ in 0..500 {
            if sock.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        (format!("unix:{}", sock.display()), 1)
    } else {
        let pid = args.target[0]
            .parse::<u32>()
            .map_err(|_| format!("not a pid: {}", args.target[0]))?;
        (
            args.addr
                .clone()
                .unwrap_or_else(crate::ninep_cmd::default_addr),
            pid,
        )
    };
    let opts = args.conn.options().map_err(|e| format!("--auth: {e}"))?;
    let mut c = Client::connect_with(&addr, &user, &opts).map_err(|e| format!("{addr}: {e}"))?;
    // Symbols from the executable itself: /proc/N/text is the program's file.
    let text = c
        .read_file(&format!("/{pid}/text"))
        .map_err(|e| format!("reading /{pid}/text: {e}"))?;
    let syms = Symbols::load(&text)?;
    let mut d = Debugger {
        c,
        pid,
        syms,
        bps: BTreeMap::new(),
        next_bp: 1,
        out: Box::new(std::io::stdout()),
    };
    writeln!(d.out, "attached to pid {pid} at {addr}").ok();
    let input: Box<dyn BufRead> = match &args.file {
        Some(f) => Box::new(std::io::BufReader::new(
            std::fs::File::open(f).map_err(|e| format!("{}: {e}", f.display()))?,
        )),
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    let mut failed = false;
    for line in input.lines() {
        let line = line.map_err(|e| e.to_string())?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        writeln!(d.out, "(glass) {line}").ok();
        match d.exec(line) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                writeln!(d.out, "error: {e}").ok();
                failed = true;
                if e.contains("process exited") {
                    break;
                }
            }
        }
        d.out.flush().ok();
    }
    if let Some(mut ch) = child {
        let _ = ch.wait();
    }
    if failed {
        Err("a command failed".into())
    } else {
        Ok(())
    }
}
