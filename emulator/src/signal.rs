//! Signals (signal(7)): posting, default actions (terminate, ignore, stop, continue),
//! interruption of blocking calls (EINTR, or a restart under SA_RESTART), and delivery to
//! handlers on the guest stack through the arch's signal frame; rt_sigreturn undoes it.

use crate::machine::{ExitStatus, Machine, PState, Wait};

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGKILL: i32 = 9;
pub const SIGUSR1: i32 = 10;
pub const SIGPIPE: i32 = 13;
pub const SIGALRM: i32 = 14;
pub const SIGTERM: i32 = 15;
pub const SIGCHLD: i32 = 17;
pub const SIGCONT: i32 = 18;
pub const SIGSTOP: i32 = 19;
pub const SIGTSTP: i32 = 20;
pub const SIGTTIN: i32 = 21;
pub const SIGTTOU: i32 = 22;
pub const SIGURG: i32 = 23;
pub const SIGWINCH: i32 = 28;

const SIG_DFL: u64 = 0;
const SIG_IGN: u64 = 1;
pub const SA_RESTART: u64 = 0x1000_0000;
const SA_NODEFER: u64 = 0x4000_0000;
const SA_RESTORER: u64 = 0x0400_0000;
const SA_RESETHAND: u64 = 0x8000_0000;

pub fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// Signals that cannot be caught, blocked or ignored.
pub const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Default {
    Terminate,
    Ignore,
    Stop,
    Continue,
}

fn default_action(sig: i32) -> Default {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => Default::Ignore,
        SIGCONT => Default::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => Default::Stop,
        _ => Default::Terminate,
    }
}

/// Linux signal names (for glass's own messages).
pub fn name(sig: i32) -> &'static str {
    const NAMES: [&str; 32] = [
        "0",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    NAMES.get(sig as usize).copied().unwrap_or("SIGRT")
}

impl Machine {
    /// Post `sig` to process slot `i` (kill(2) semantics for one target). A signal that
    /// would be ignored is dropped at once; SIGCONT resumes a job-stopped process, a stop
    /// signal discards a pending SIGCONT.
    pub fn post_signal(&mut self, i: usize, sig: i32) {
        let p = &mut self.procs[i];
        if p.state.is_zombie() || !(1..=64).contains(&sig) {
            return;
        }
        if sig == SIGCONT || sig == SIGKILL {
            p.sig_pending &= !(bit(SIGSTOP) | bit(SIGTSTP) | bit(SIGTTIN) | bit(SIGTTOU));
            if let PState::JobStopped(_) = p.state {
                p.state = PState::Ready;
                p.stop_unreported = Some(SIGCONT);
            }
        }
        if default_action(sig) == Default::Stop {
            p.sig_pending &= !bit(SIGCONT);
        }
        let h = p.sigactions[sig as usize].handler;
        let dfl_ignores = matches!(default_action(sig), Default::Ignore | Default::Continue);
        // An ignored signal is discarded when posted (SIGCONT has already resumed above).
        if sig != SIGKILL && (h == SIG_IGN || (h == SIG_DFL && dfl_ignores)) {
            return;
        }
        p.sig_pending |= bit(sig);
    }

    /// Is a signal deliverable to slot `i` now (pending and not blocked)?
    pub fn signal_deliverable(&self, i: usize) -> bool {
        let p = &self.procs[i];
        p.sig_pending & (!p.sigmask | UNBLOCKABLE) != 0
    }

    /// Wake a blocked process because a signal is deliverable: its call returns EINTR, or is
    /// restarted after the handler when the handler has SA_RESTART and the call allows it.
    pub fn interrupt_blocked(&mut self, i: usize) {
        let p = &mut self.procs[i];
        let PState::Blocked(w) = &p.state else { return };
        let restartable = matches!(
            w,
            Wait::PipeRead(_) | Wait::PipeWrite(_) | Wait::Child | Wait::Console
        );
        let deliverable = p.sig_pending & (!p.sigmask | UNBLOCKABLE);
        let sig = deliverable.trailing_zeros() as i32 + 1;
        let restart = restartable && p.sigactions[sig as usize].flags & SA_RESTART != 0;
        if let Some((sys, nr, args)) = p.retry.take() {
            if restart {
                p.cpu.restart_syscall(nr);
            } else {
                p.cpu.set_syscall_ret((-4i64) as u64); // EINTR
                let (pid, now) = (p.pid.0, self.k.clock.ns);
                self.k.trace.syscall(&crate::trace::Event {
                    ns: now,
                    pid,
                    name: sys.name(),
                    nr,
                    args: &args[..sys.argc()],
                    ret: -4,
                });
            }
        }
        let p = &mut self.procs[i];
        p.state = PState::Ready;
    }

    /// Deliver pending signals to slot `i` before it returns to user code. Returns false if
    /// the process can no longer run (it died or stopped).
    pub fn deliver_signals(&mut self, i: usize) -> bool {
        loop {
            let p = &mut self.procs[i];
            let deliverable = p.sig_pending & (!p.sigmask | UNBLOCKABLE);
            if deliverable == 0 {
                return true;
            }
            let sig = deliverable.trailing_zeros() as i32 + 1;
            p.sig_pending &= !bit(sig);
            let act = p.sigactions[sig as usize];
            if sig == SIGKILL || act.handler == SIG_DFL {
                match default_action(sig) {
                    Default::Ignore | Default::Continue => continue,
                    Default::Stop => {
                        p.state = PState::JobStopped(sig);
                        p.stop_unreported = Some(sig);
                        self.notify_parent(i);
                        return false;
                    }
                    Default::Terminate => {
                        self.kill(i, ExitStatus::Signal(sig));
                        return false;
                    }
                }
            }
            if act.handler == SIG_IGN {
                continue;
            }
            let old_mask = p.saved_mask.take().unwrap_or(p.sigmask);
            let mut info = [0u8; 128];
            info[0..4].copy_from_slice(&sig.to_le_bytes());
            // si_code SI_USER (0); si_pid/si_uid stay 0 (the kernel, or a process as root).
            p.fp_stack.push(p.cpu.fp_save());
            // Without SA_RESTORER the handler returns through the machine's trampoline page.
            let restorer = if act.flags & SA_RESTORER != 0 {
                act.restorer
            } else {
                crate::param::SIGTRAMP_ADDR
            };
            if !p
                .cpu
                .enter_handler(sig, act.handler, restorer, old_mask, &info)
            {
                self.kill(i, ExitStatus::Signal(11));
                return false;
            }
            let p = &mut self.procs[i];
            p.sigmask |= act.mask & !UNBLOCKABLE;
            if act.flags & SA_NODEFER == 0 {
                p.sigmask |= bit(sig) & !UNBLOCKABLE;
            }
            if act.flags & SA_RESETHAND != 0 {
                p.sigactions[sig as usize].handler = SIG_DFL;
            }
            return true;
        }
    }

    /// rt_sigreturn for slot `i`.
    pub fn sigreturn(&mut self, i: usize) {
        let p = &mut self.procs[i];
        match p.cpu.sigreturn() {
            Some(mask) => {
                p.sigmask = mask & !UNBLOCKABLE;
                if let Some(fp) = p.fp_stack.pop() {
                    p.cpu.fp_restore(&fp);
                }
            }
            None => self.kill(i, ExitStatus::Signal(11)),
        }
    }

    /// SIGCHLD to the parent of slot `i`.
    pub fn notify_parent(&mut self, i: usize) {
        let ppid = self.procs[i].ppid;
        if let Some(pi) = self
            .procs
            .iter()
            .position(|q| q.pid == ppid && !q.state.is_zombie())
        {
            self.post_signal(pi, SIGCHLD);
        }
    }
}
