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

use crate::guestmem::GuestMem;
use crate::machine::{Detached, ExitStatus, Group, Machine, PState, ProcMut, ProcRef, Task};
use crate::signal::*;
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
pub const NNOTE: usize = proc_model::machine::NNOTE;
/// Plan 9 Ureg `type` of an entry into the kernel by a system call (9front pc64: 64).
pub const TRAP_SYSCALL: u64 = 64;
/// Plan 9 Ureg `type` of a preemption: the clock interrupt's vector on 9front pc64.
pub const TRAP_CLOCK: u64 = 32;

/// The Linux signal a note is delivered as.
pub fn note_signal(note: &str) -> i32 {
    use crate::signal::*;
    if note == "sys: breakpoint" || note.starts_with("sys: watchpoint") {
        return SIGTRAP;
    }
    if let Some(t) = note.strip_prefix("sys: trap: ") {
        return if t.starts_with("invalid opcode") || t.starts_with("illegal") {
            SIGILL
        } else if t.starts_with("divide error") {
            SIGFPE
        } else {
            SIGSEGV
        };
    }
    match note {
        "interrupt" => SIGINT,
        "hangup" => SIGHUP,
        "alarm" => SIGALRM,
        "kill" | "sys: killed" => SIGKILL,
        "term" => SIGTERM,
        "quit" => SIGQUIT,
        "usr2" => SIGUSR2,
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

/// The wait record a parent gets when the process of `t` and `g` ends at virtual time
/// `now` (proc(3) wait): the message is empty for a normal exit, else
/// `"<text> <pid>: <exit string>"`.
pub fn wait_record(now: u64, t: &Task, g: &Group, status: ExitStatus) -> WaitRecord {
    let ms = |ns: u64| ns / 1_000_000;
    let user = ms(t.blocks * crate::param::NS_PER_BLOCK);
    let sys = ms(t.syscalls * crate::param::NS_PER_SYSCALL);
    let real = ms(now.saturating_sub(t.start_ns));
    let exits = match (&t.p9.broken, status) {
        (Some(b), _) => b.clone(),
        (None, ExitStatus::Code(0)) => String::new(),
        (None, ExitStatus::Code(c)) => format!("exit {c}"),
        (None, ExitStatus::Signal(SIGKILL)) => "Killed".into(),
        (None, ExitStatus::Signal(s)) => format!("killed by {}", crate::signal::name(s)),
    };
    let msg = if exits.is_empty() {
        exits
    } else {
        format!("{} {}: {exits}", g.name, t.tid.0)
    };
    WaitRecord {
        pid: t.tid,
        times_ms: [user, sys, real],
        msg,
    }
}

/// The `syscall` file text at a system call's entry (9front syscallfmt: pid, text, name,
/// pc, args); a path argument also shows its string, as 9front's `%#p/"…"`.
pub fn syscall_entry_text(
    tid: Pid,
    name: &str,
    pc: u64,
    mem: &dyn GuestMem,
    sys: Option<Sys>,
    args: &[u64],
) -> String {
    let mut s = format!("{} {} {} {:#x}", tid.0, name, plan9_sysname(sys), pc);
    let path_arg = sys.and_then(|s| path_arg(s.name()));
    for (i, a) in args.iter().enumerate() {
        s.push_str(&format!(" {a:#x}"));
        if Some(i) == path_arg {
            s.push_str(&format!("/{}", quoted_cstr(mem, *a)));
        }
    }
    s
}

/// The text the `syscall` file shows at a call's exit. 9front sysretfmt replaces the
/// entry line with `" = <ret> <errstr> <start> <stop>\n"` (ratrace tells an exit line by
/// `buf[1] == '='`): the error string, or `""` when the call succeeded, then the virtual
/// times in ns at which the call began and ended. A Linux call has no error string, so
/// Glass prints `errno=N`.
pub fn syscall_exit_text(ret: i64, start: u64, stop: u64) -> String {
    let err = if (-4095..0).contains(&ret) {
        format!("errno={}", -ret)
    } else {
        "\"\"".to_string()
    };
    format!(" = {ret} {err} {start} {stop}\n")
}

impl Machine {
    /// A trap in task `tid` posts `note`. Traced with startstop, the task stops before
    /// delivery with the note readable and pc at `pc`; otherwise the note becomes `sig`: a
    /// guest handler runs, or the process dies and stays Broken.
    pub fn trap(&mut self, tid: Pid, note: String, sig: i32, pc: u64) {
        let Some(p) = self.parts(tid) else { return };
        if p.t.p9.trace == Trace::StartStop {
            p.s.cpu.set_pc(pc);
            if p.t.p9.notes.len() < NNOTE {
                p.t.p9.notes.push_back(note);
            }
            p.t.state = PState::Stopped;
            return;
        }
        let handler = p.g.sigactions[sig as usize].handler;
        if handler > 1 {
            // A synchronous signal is not held back by the mask (Linux force_sig).
            p.t.sigmask &= !crate::signal::bit(sig);
            self.post_signal(tid, sig);
            return;
        }
        self.break_process(tid, &note, sig, pc);
    }

    /// The process dies of an unhandled trap: its parent sees the signal, /proc keeps it
    /// Broken with its memory and registers.
    pub fn break_process(&mut self, tid: Pid, note: &str, sig: i32, pc: u64) {
        let exit = format!("{note} pc={pc:#x}");
        let name = self
            .group_of(tid)
            .map_or("?".to_string(), |g| g.name.clone());
        let _ = writeln!(
            self.k.console.stderr,
            "glass: {name} {}: suicide: {exit}",
            tid.0
        );
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.p9.broken = Some(exit);
        }
        self.kill(tid, ExitStatus::Signal(sig));
    }

    /// A note was just queued for task `tid`: 9front postnote interrupts a blocked system
    /// call. The note stays queued (it counts against NNOTE and a debugger can still read
    /// it); the call ends as the note's signal would end it (EINTR, or restarted under
    /// SA_RESTART), unless the guest blocks or ignores that signal, as on Linux.
    pub fn note_interrupts(&mut self, tid: Pid) {
        let Some(t) = self.tasks.get_mut(&tid) else {
            return;
        };
        if !matches!(t.state, PState::Blocked(_)) {
            return;
        }
        let Some(sig) = t.p9.notes.back().map(|n| note_signal(n)) else {
            return;
        };
        let ignored = self
            .groups
            .get(&t.tgid)
            .is_some_and(|g| g.sigactions[sig as usize].handler == SIG_IGN && sig != SIGKILL);
        let had = t.sig_pending & bit(sig);
        t.sig_pending |= bit(sig);
        let interrupt = !ignored && deliverable(t) & bit(sig) != 0;
        if interrupt {
            self.interrupt_blocked(tid);
        }
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.sig_pending = (t.sig_pending & !bit(sig)) | had;
        }
    }

    /// ctl `interrupt` (9front postnote with no note → procinterrupt): a blocked system call
    /// ends with EINTR at once, never restarted; with none in progress the interrupt stays
    /// pending for the next one.
    pub fn ctl_interrupt(&mut self, tid: Pid) {
        let now = self.k.clock.ns;
        let Some(p) = self.p9_proc_mut(tid) else {
            return;
        };
        if !matches!(p.t.state, PState::Blocked(_)) {
            p.t.p9.interrupt_pending = true;
            return;
        }
        p.t.p9.interrupt_pending = false;
        let call = p.t.retry.take();
        if call.is_some() {
            p.s.cpu.set_syscall_ret(crate::errno::Errno::EINTR.ret());
        }
        let eintr = -i64::from(crate::errno::Errno::EINTR.0);
        p.t.state = PState::Ready;
        if p.t.p9.trace == Trace::StartSyscall {
            // The aborted call's exit is a traced stop like any other call's exit.
            p.t.p9.syscall_text = syscall_exit_text(eintr, p.t.p9.syscall_start_ns, now);
            p.t.state = PState::Stopped;
        }
        if let Some(call) = call {
            self.k.trace_call(now, tid, &call, eintr);
        }
    }

    /// Convert pending notes of task `tid` to signals (no debugger is tracing it).
    pub fn notes_to_signals(&mut self, tid: Pid) {
        while let Some(n) = self
            .tasks
            .get_mut(&tid)
            .and_then(|t| t.p9.notes.pop_front())
        {
            self.post_signal(tid, note_signal(&n));
        }
    }

    /// Queue the wait record of task `tid` (which just ended) for its parent.
    pub fn queue_wait_record(&mut self, tid: Pid, status: ExitStatus) {
        let now = self.k.clock.ns;
        let Some(p) = self.parts_ref(tid) else { return };
        let (rec, ppid) = (wait_record(now, p.t, p.g, status), p.g.ppid);
        if !self.live(ppid) {
            return;
        }
        if let Some(parent) = self.tasks.get_mut(&ppid) {
            // pexit pushes at the head: a read returns the newest record first.
            if parent.p9.waitq.len() < MAX_WAITQ {
                parent.p9.waitq.push_front(rec);
            }
        }
    }

    /// A reaped process that broke stays visible (at most MAX_BROKEN of them); the one
    /// returned is let go.
    pub fn keep_broken(&mut self, d: Detached) -> Option<Detached> {
        if d.task.p9.broken.is_none() {
            return Some(d);
        }
        self.broken.push(d);
        if self.broken.len() > MAX_BROKEN {
            return Some(self.broken.remove(0));
        }
        None
    }

    /// A process as /proc sees it: live, a zombie that broke, or a reaped Broken one.
    pub fn p9_proc(&self, pid: Pid) -> Option<ProcRef<'_>> {
        match self.tasks.get(&pid) {
            Some(t) if !t.state.is_zombie() || t.p9.broken.is_some() => self.parts_ref(pid),
            _ => self
                .broken
                .iter()
                .find(|d| d.task.tid == pid)
                .map(|d| ProcRef {
                    t: &d.task,
                    g: &d.group,
                    s: &d.space,
                }),
        }
    }

    pub fn p9_proc_mut(&mut self, pid: Pid) -> Option<ProcMut<'_>> {
        match self.tasks.get(&pid) {
            Some(t) if !t.state.is_zombie() || t.p9.broken.is_some() => self.parts(pid),
            _ => self
                .broken
                .iter_mut()
                .find(|d| d.task.tid == pid)
                .map(|d| ProcMut {
                    t: &mut d.task,
                    g: &mut d.group,
                    s: &mut d.space,
                }),
        }
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
fn quoted_cstr(mem: &dyn GuestMem, addr: u64) -> String {
    const SHOWN: usize = 64;
    let Ok(bytes) = mem.read_cstr(addr, crate::param::PATH_MAX) else {
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
