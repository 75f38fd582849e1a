//! Plan 9 process control for Linux guests (proc(3) ctl, notes; 9front port/proc.c): trap
//! notes (`sys: breakpoint`, `sys: trap: fault read addr=0x…`), the startstop and startsyscall
//! tracing modes, hang-on-exec, Broken processes kept for inspection, and wait records.
//!
//! Notes and Linux signals meet at the return to user mode: a pending note stops a process
//! traced with startstop before it is delivered; otherwise it is delivered as the Linux
//! signal the guest expects. Mapping of user notes (documented in the README):
//! `interrupt` → SIGINT, `hangup` → SIGHUP, `alarm` → SIGALRM, `kill` → SIGKILL,
//! `term` → SIGTERM, `quit` → SIGQUIT, `usr2` → SIGUSR2, anything else → SIGUSR1; trap notes
//! map back to the signal of their trap.

use crate::machine::{ExitStatus, Machine, PState, Process};
use crate::syscalls::Sys;
use proc_model::machine::{Pid, WaitRecord};
use std::io::Write as _;

/// How a stopped process was resumed by its debugger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Trace {
    #[default]
    None,
    /// `startstop`: stop at the next return to user mode with a note pending.
    StartStop,
    /// `startsyscall`: stop at the next system-call entry and at its exit.
    StartSyscall,
}

/// Broken processes kept at most (9front keeps 4; a fifth releases the oldest).
pub const MAX_BROKEN: usize = 4;
/// Wait records kept per process (proc(3)).
pub const MAX_WAITQ: usize = 128;
/// Pending notes per process (NNOTE).
pub const NNOTE: usize = 5;

/// The Linux signal a note is delivered as.
pub fn note_signal(note: &str) -> i32 {
    use crate::signal::*;
    if note == "sys: breakpoint" {
        return 5;
    }
    if let Some(t) = note.strip_prefix("sys: trap: ") {
        return if t.starts_with("fault") {
            11
        } else if t.starts_with("invalid opcode") || t.starts_with("illegal") {
            4
        } else if t.starts_with("divide error") {
            8
        } else {
            11
        };
    }
    match note {
        "interrupt" => SIGINT,
        "hangup" => SIGHUP,
        "alarm" => SIGALRM,
        "kill" | "sys: killed" => SIGKILL,
        "term" => SIGTERM,
        "quit" => 3,
        "usr2" => 12,
        "sys: write on closed pipe" => SIGPIPE,
        _ => SIGUSR1,
    }
}

/// Capitalised system-call name as 9front prints it in `status` and `syscall`.
pub fn plan9_sysname(sys: Option<Sys>) -> String {
    let n = sys.map_or("Unknown", |s| s.name());
    let mut c = n.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

impl Machine {
    /// A trap in process `i` posts `note`. Traced with startstop, the process stops before
    /// delivery with the note readable and pc at `pc`; otherwise the note becomes `sig`: a
    /// guest handler runs, or the process dies and stays Broken.
    pub fn trap(&mut self, i: usize, note: String, sig: i32, pc: u64) {
        let p = &mut self.procs[i];
        if p.p9.trace == Trace::StartStop {
            p.cpu.set_pc(pc);
            if p.p9.notes.len() < NNOTE {
                p.p9.notes.push_back(note);
            }
            p.state = PState::Stopped;
            return;
        }
        let handler = p.sigactions[sig as usize].handler;
        if handler > 1 {
            // A synchronous signal is not held back by the mask (Linux force_sig).
            p.sigmask &= !crate::signal::bit(sig);
            self.post_signal(i, sig);
            return;
        }
        self.break_process(i, &note, sig, pc);
    }

    /// The process dies of an unhandled trap: its parent sees the signal, /proc keeps it
    /// Broken with its memory and registers.
    pub fn break_process(&mut self, i: usize, note: &str, sig: i32, pc: u64) {
        let p = &mut self.procs[i];
        let exit = format!("{note} pc={pc:#x}");
        let _ = writeln!(
            self.k.console.stderr,
            "glass: {} {}: suicide: {exit}",
            p.name, p.pid.0
        );
        p.p9.broken = Some(exit);
        self.kill(i, ExitStatus::Signal(sig));
    }

    /// Convert pending notes of process `i` to signals (no debugger is tracing it).
    pub fn notes_to_signals(&mut self, i: usize) {
        while let Some(n) = self.procs[i].p9.notes.pop_front() {
            let sig = note_signal(&n);
            self.post_signal(i, sig);
        }
    }

    /// The wait record a parent gets when `p` ends (proc(3) wait): the message is empty for
    /// a normal exit, else `"<text> <pid>: <exit string>"`.
    pub fn wait_record_of(&self, p: &Process, status: ExitStatus) -> WaitRecord {
        let ms = |ns: u64| ns / 1_000_000;
        let user = ms(p.blocks * crate::param::NS_PER_BLOCK);
        let sys = ms(p.syscalls * crate::param::NS_PER_SYSCALL);
        let real = ms(self.k.clock.ns.saturating_sub(p.start_ns));
        let exits = match (&p.p9.broken, status) {
            (Some(b), _) => b.clone(),
            (None, ExitStatus::Code(0)) => String::new(),
            (None, ExitStatus::Code(c)) => format!("exit {c}"),
            (None, ExitStatus::Signal(9)) => "Killed".into(),
            (None, ExitStatus::Signal(s)) => format!("killed by {}", crate::signal::name(s)),
        };
        let msg = if exits.is_empty() {
            exits
        } else {
            format!("{} {}: {exits}", p.name, p.pid.0)
        };
        WaitRecord {
            pid: p.pid,
            times_ms: [user, sys, real],
            msg,
        }
    }

    /// Queue the wait record of slot `i` (which just ended) for its parent.
    pub fn queue_wait_record(&mut self, i: usize, status: ExitStatus) {
        let rec = self.wait_record_of(&self.procs[i], status);
        let ppid = self.procs[i].ppid;
        if let Some(parent) = self
            .procs
            .iter_mut()
            .find(|q| q.pid == ppid && !q.state.is_zombie())
        {
            if parent.p9.waitq.len() < MAX_WAITQ {
                parent.p9.waitq.push_back(rec);
            }
        }
    }

    /// A reaped process that broke stays visible (at most MAX_BROKEN of them).
    pub fn keep_broken(&mut self, p: Process) -> Option<Process> {
        if p.p9.broken.is_none() {
            return Some(p);
        }
        self.broken.push(p);
        if self.broken.len() > MAX_BROKEN {
            return Some(self.broken.remove(0));
        }
        None
    }

    /// A process as /proc sees it: live, a zombie that broke, or a reaped Broken one.
    pub fn p9_proc(&self, pid: Pid) -> Option<&Process> {
        self.procs
            .iter()
            .find(|p| p.pid == pid && (!p.state.is_zombie() || p.p9.broken.is_some()))
            .or_else(|| self.broken.iter().find(|p| p.pid == pid))
    }

    pub fn p9_proc_mut(&mut self, pid: Pid) -> Option<&mut Process> {
        if let Some(i) = self
            .procs
            .iter()
            .position(|p| p.pid == pid && (!p.state.is_zombie() || p.p9.broken.is_some()))
        {
            return Some(&mut self.procs[i]);
        }
        self.broken.iter_mut().find(|p| p.pid == pid)
    }

    /// The `syscall` file text at a system call's entry (9front syscallfmt: pid, text, name,
    /// pc, args); a path argument also shows its string, as 9front's `%#p/"…"`.
    pub fn syscall_entry_text(p: &Process, sys: Option<Sys>, args: &[u64]) -> String {
        let mut s = format!(
            "{} {} {} {:#x}",
            p.pid.0,
            p.name,
            plan9_sysname(sys),
            p.cpu.pc()
        );
        let path_arg = sys.and_then(|s| path_arg(s.name()));
        for (i, a) in args.iter().enumerate() {
            s.push_str(&format!(" {a:#x}"));
            if Some(i) == path_arg {
                s.push_str(&format!("/{}", quoted_cstr(p, *a)));
            }
        }
        s
    }
}

/// Which argument of a system call is a path name (Linux syscall ABI).
fn path_arg(name: &str) -> Option<usize> {
    match name {
        "open" | "execve" | "access" | "readlink" | "unlink" | "mkdir" | "rmdir" | "chdir"
        | "stat" | "lstat" | "chmod" | "creat" | "truncate" | "statfs" => Some(0),
        "openat" | "execveat" | "newfstatat" | "statx" | "faccessat" | "faccessat2"
        | "readlinkat" | "unlinkat" | "mkdirat" | "fchmodat" => Some(1),
        _ => None,
    }
}

/// A guest C string for the `syscall` file: double-quoted, its first 64 bytes shown (then
/// `...`), with `"`, `\` and non-printing bytes escaped; `?` if it cannot be read.
fn quoted_cstr(p: &Process, addr: u64) -> String {
    const SHOWN: usize = 64;
    let Ok(bytes) = p.cpu.read_cstr(addr, crate::param::PATH_MAX) else {
        return "?".to_string();
    };
    let mut q = String::from("\"");
    for &b in bytes.iter().take(SHOWN) {
        match b {
            b'"' | b'\\' => {
                q.push('\\');
                q.push(b as char);
            }
            0x20..=0x7e => q.push(b as char),
            _ => q.push_str(&format!("\\x{b:02x}")),
        }
    }
    q.push('"');
    if bytes.len() > SHOWN {
        q.push_str("...");
    }
    q
}
