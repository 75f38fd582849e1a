//! Signals (signal(7)): posting, default actions (terminate, ignore, stop, continue),
//! interruption of blocking calls (EINTR, or a restart under SA_RESTART), and delivery to
//! handlers on the guest stack through the arch's signal frame; rt_sigreturn undoes it.

use crate::errno::{Errno, SysResult};
use crate::machine::{ExitStatus, Group, Machine, PState, Pid, Task};

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGKILL: i32 = 9;
pub const SIGQUIT: i32 = 3;
pub const SIGILL: i32 = 4;
pub const SIGTRAP: i32 = 5;
pub const SIGFPE: i32 = 8;
pub const SIGUSR1: i32 = 10;
pub const SIGSEGV: i32 = 11;
pub const SIGUSR2: i32 = 12;
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
pub const SIGXCPU: i32 = 24;
pub const SIGXFSZ: i32 = 25;
pub const SIGWINCH: i32 = 28;

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;
pub const SA_RESTART: u64 = 0x1000_0000;
const SA_NODEFER: u64 = 0x4000_0000;
const SA_ONSTACK: u64 = 0x0800_0000;
const SA_RESTORER: u64 = 0x0400_0000;
const SA_RESETHAND: u64 = 0x8000_0000;

/// siginfo si_code values (asm-generic/siginfo.h): sent by kill(2), by tkill/tgkill.
pub const SI_USER: i32 = 0;
pub const SI_TKILL: i32 = -6;

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

/// Post `sig` to task `t` of group `g` (kill(2) semantics for one target). A signal that
/// would be ignored is dropped at once; SIGCONT resumes a job-stopped task, a stop signal
/// discards a pending SIGCONT.
pub fn post(t: &mut Task, g: &mut Group, sig: i32) {
    if t.state.is_zombie() || !(1..=64).contains(&sig) {
        return;
    }
    if sig == SIGCONT || sig == SIGKILL {
        t.sig_pending &= !(bit(SIGSTOP) | bit(SIGTSTP) | bit(SIGTTIN) | bit(SIGTTOU));
        if let PState::JobStopped(_) = t.state {
            t.state = PState::Ready;
            g.stop_unreported = Some(SIGCONT);
        }
    }
    if default_action(sig) == Default::Stop {
        t.sig_pending &= !bit(SIGCONT);
    }
    let h = g.sigactions[sig as usize].handler;
    let dfl_ignores = matches!(default_action(sig), Default::Ignore | Default::Continue);
    // An ignored signal is discarded when posted (SIGCONT has already resumed above).
    if sig != SIGKILL && (h == SIG_IGN || (h == SIG_DFL && dfl_ignores)) {
        return;
    }
    t.sig_pending |= bit(sig);
}

/// The pending signals task `t` can take now (not blocked, or unblockable).
pub fn deliverable(t: &Task) -> u64 {
    t.sig_pending & (!t.sigmask | UNBLOCKABLE)
}

/// The lowest-numbered signal of a set (Linux delivers the lowest first).
pub fn lowest(set: u64) -> i32 {
    set.trailing_zeros() as i32 + 1
}

/// rt_sigprocmask(2)'s new mask: SIG_BLOCK 0, SIG_UNBLOCK 1, SIG_SETMASK 2; SIGKILL and
/// SIGSTOP can never be blocked.
pub fn new_mask(how: u64, old: u64, set: u64) -> SysResult<u64> {
    Ok(match how {
        0 => old | set,
        1 => old & !set,
        2 => set,
        _ => return Err(Errno::EINVAL),
    } & !UNBLOCKABLE)
}

impl Machine {
    /// Post `sig` to task `tid` (kill(2) semantics for one target).
    pub fn post_signal(&mut self, tid: Pid, sig: i32) {
        self.post_signal_from(tid, sig, SI_USER, 0);
    }

    /// Post `sig` to task `tid` with the sender its handler sees in siginfo (si_code,
    /// si_pid): glibc's cancellation handler checks that SIGCANCEL came from tgkill of
    /// its own process.
    pub fn post_signal_from(&mut self, tid: Pid, sig: i32, code: i32, from: u32) {
        let Machine { tasks, groups, .. } = self;
        let Some(t) = tasks.get_mut(&tid) else { return };
        let Some(g) = groups.get_mut(&t.tgid) else {
            return;
        };
        post(t, g, sig);
        if t.sig_pending & bit(sig) != 0 {
            if let Some(f) = t.sig_from.get_mut(sig as usize) {
                *f = (code, u64::from(from));
            }
        }
    }

    /// Post `sig` to the process `pid` (kill(2)): one thread takes it, the first in tid
    /// order that does not block it (else the leader), so the choice is deterministic.
    /// SIGCONT resumes every thread of a job-stopped process.
    pub fn post_process_signal(&mut self, pid: Pid, sig: i32) {
        self.post_process_signal_from(pid, sig, 0);
    }

    /// [`Machine::post_process_signal`] from process `from` (kill(2): si_code SI_USER).
    pub fn post_process_signal_from(&mut self, pid: Pid, sig: i32, from: u32) {
        let threads: Vec<Pid> = self
            .tasks
            .values()
            .filter(|t| t.tgid == pid && !t.state.is_zombie())
            .map(|t| t.tid)
            .collect();
        if sig == SIGCONT || sig == SIGKILL {
            for &t in threads.iter().filter(|&&t| t != pid) {
                if let Some(task) = self.tasks.get_mut(&t) {
                    if let PState::JobStopped(_) = task.state {
                        task.state = PState::Ready;
                    }
                }
            }
        }
        let target = threads
            .iter()
            .copied()
            .find(|t| {
                self.tasks.get(t).is_some_and(|t| {
                    t.sigmask & bit(sig) == 0
                        && !matches!(t.state, PState::Blocked(crate::machine::Wait::GroupExit))
                })
            })
            .unwrap_or(pid);
        self.post_signal_from(target, sig, SI_USER, from);
    }

    /// Is a signal deliverable to task `tid` now (pending and not blocked)?
    pub fn signal_deliverable(&self, tid: Pid) -> bool {
        self.tasks.get(&tid).is_some_and(|t| deliverable(t) != 0)
    }

    /// Wake a blocked task because a signal is deliverable: its call returns EINTR, or is
    /// restarted after the handler when the handler has SA_RESTART and the call allows it.
    pub fn interrupt_blocked(&mut self, tid: Pid) {
        let now = self.k.clock.ns;
        let Some(p) = self.parts(tid) else { return };
        let PState::Blocked(w) = &p.t.state else {
            return;
        };
        let sig = lowest(deliverable(p.t));
        let restart = w.restartable() && p.g.sigactions[sig as usize].flags & SA_RESTART != 0;
        let traced = match p.t.retry.take() {
            Some((_, nr, _)) if restart => {
                p.s.cpu.restart_syscall(nr);
                None
            }
            Some(call) => {
                p.s.cpu.set_syscall_ret(Errno::EINTR.ret());
                Some(call)
            }
            None => None,
        };
        p.t.state = PState::Ready;
        if let Some(call) = traced {
            self.k
                .trace_call(now, tid, &call, -i64::from(Errno::EINTR.0));
        }
    }

    /// Deliver pending signals to task `tid` before it returns to user code. Returns false
    /// if the task can no longer run (it died or stopped).
    pub fn deliver_signals(&mut self, tid: Pid) -> bool {
        loop {
            let Some(p) = self.parts(tid) else {
                return false;
            };
            let pending = deliverable(p.t);
            if pending == 0 {
                return true;
            }
            let sig = lowest(pending);
            p.t.sig_pending &= !bit(sig);
            let act = p.g.sigactions[sig as usize];
            if sig == SIGKILL || act.handler == SIG_DFL {
                match default_action(sig) {
                    Default::Ignore | Default::Continue => continue,
                    Default::Stop => {
                        // A job-control stop stops the whole thread group.
                        p.g.stop_unreported = Some(sig);
                        let group = p.t.tgid;
                        for t in self.tasks.values_mut().filter(|t| t.tgid == group) {
                            if t.state.runnable() || t.tid == tid {
                                t.state = PState::JobStopped(sig);
                            }
                        }
                        self.notify_parent(tid);
                        return false;
                    }
                    Default::Terminate => {
                        self.kill(tid, ExitStatus::Signal(sig));
                        return false;
                    }
                }
            }
            if act.handler == SIG_IGN {
                continue;
            }
            let old_mask = p.t.saved_mask.take().unwrap_or(p.t.sigmask);
            let mut info = [0u8; 128];
            info[0..4].copy_from_slice(&sig.to_le_bytes());
            // si_code and si_pid of the sender, si_uid 0 (the guest runs as root); or
            // si_code and si_addr of a fault.
            let (code, from) = p.t.sig_from.get(sig as usize).copied().unwrap_or((0, 0));
            info[8..12].copy_from_slice(&code.to_le_bytes());
            info[16..24].copy_from_slice(&from.to_le_bytes());
            p.t.fp_stack.push(p.s.cpu.fp_save());
            // SA_ONSTACK: the frame goes on the alternate stack, unless already on it.
            let sp = p.s.cpu.sp();
            let stack = match p.t.altstack {
                Some((base, size))
                    if act.flags & SA_ONSTACK != 0 && sp.wrapping_sub(base) >= size =>
                {
                    Some(base.wrapping_add(size))
                }
                _ => None,
            };
            // Without SA_RESTORER the handler returns through the machine's trampoline page.
            let restorer = if act.flags & SA_RESTORER != 0 {
                act.restorer
            } else {
                crate::param::SIGTRAMP_ADDR
            };
            if !p
                .s
                .cpu
                .enter_handler(sig, act.handler, restorer, old_mask, &info, stack)
            {
                self.kill(tid, ExitStatus::Signal(SIGSEGV));
                return false;
            }
            p.t.sigmask |= act.mask & !UNBLOCKABLE;
            if act.flags & SA_NODEFER == 0 {
                p.t.sigmask |= bit(sig) & !UNBLOCKABLE;
            }
            if act.flags & SA_RESETHAND != 0 {
                p.g.sigactions[sig as usize].handler = SIG_DFL;
            }
            return true;
        }
    }

    /// rt_sigreturn for task `tid`.
    pub fn sigreturn(&mut self, tid: Pid) {
        let Some(p) = self.parts(tid) else { return };
        match p.s.cpu.sigreturn() {
            Some(mask) => {
                p.t.sigmask = mask & !UNBLOCKABLE;
                if let Some(fp) = p.t.fp_stack.pop() {
                    p.s.cpu.fp_restore(&fp);
                }
            }
            None => self.kill(tid, ExitStatus::Signal(SIGSEGV)),
        }
    }

    /// SIGCHLD to the parent of task `tid`.
    pub fn notify_parent(&mut self, tid: Pid) {
        let Some(ppid) = self.group_of(tid).map(|g| g.ppid) else {
            return;
        };
        if self.live(ppid) {
            self.post_process_signal(ppid, SIGCHLD);
        }
    }
}

impl Machine {
    /// Alarms that have come due raise SIGALRM.
    pub fn fire_alarms(&mut self) {
        let now = self.k.clock.ns;
        let due: Vec<Pid> = self
            .groups
            .values_mut()
            .filter(|g| g.alarm_ns.is_some_and(|d| d <= now))
            .map(|g| {
                g.alarm_ns = None;
                g.pid
            })
            .collect();
        for pid in due {
            self.post_process_signal(pid, SIGALRM);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::{Plan9State, SpaceId};

    fn task_group() -> (Task, Group) {
        let pid = Pid(2);
        let t = Task::new(pid, pid, 0, Plan9State::new("eve", 2, false));
        let g = Group::new(
            pid,
            Pid(1),
            "/bin/x",
            vec![],
            std::sync::Arc::from(Vec::new()),
            SpaceId(0),
        );
        (t, g)
    }

    #[test]
    fn post_default_ignored_signal_is_dropped() {
        let (mut t, mut g) = task_group();
        post(&mut t, &mut g, SIGCHLD);
        post(&mut t, &mut g, SIGWINCH);
        assert_eq!(t.sig_pending, 0);
    }

    #[test]
    fn post_sig_ign_handler_drops_but_sigkill_stays() {
        let (mut t, mut g) = task_group();
        g.sigactions[SIGTERM as usize].handler = SIG_IGN;
        post(&mut t, &mut g, SIGTERM);
        post(&mut t, &mut g, SIGKILL);
        assert_eq!(t.sig_pending, bit(SIGKILL));
    }

    #[test]
    fn post_sigcont_resumes_job_stopped_and_drops_pending_stops() {
        let (mut t, mut g) = task_group();
        g.sigactions[SIGCONT as usize].handler = 0x1000;
        t.state = PState::JobStopped(SIGTSTP);
        t.sig_pending = bit(SIGTSTP) | bit(SIGTTIN);
        post(&mut t, &mut g, SIGCONT);
        assert!(matches!(t.state, PState::Ready));
        assert_eq!(g.stop_unreported, Some(SIGCONT));
        assert_eq!(t.sig_pending, bit(SIGCONT));
    }

    #[test]
    fn post_stop_signal_discards_pending_sigcont() {
        let (mut t, mut g) = task_group();
        t.sig_pending = bit(SIGCONT);
        post(&mut t, &mut g, SIGSTOP);
        assert_eq!(t.sig_pending, bit(SIGSTOP));
    }

    #[test]
    fn post_to_zombie_or_out_of_range_does_nothing() {
        let (mut t, mut g) = task_group();
        post(&mut t, &mut g, 0);
        post(&mut t, &mut g, 65);
        t.state = PState::Zombie(ExitStatus::Code(0));
        post(&mut t, &mut g, SIGTERM);
        assert_eq!(t.sig_pending, 0);
    }

    #[test]
    fn blocked_signal_is_not_deliverable_but_sigkill_is() {
        let (mut t, mut g) = task_group();
        t.sigmask = bit(SIGTERM) | bit(SIGKILL);
        post(&mut t, &mut g, SIGTERM);
        assert_eq!(deliverable(&t), 0);
        post(&mut t, &mut g, SIGKILL);
        assert_eq!(deliverable(&t), bit(SIGKILL));
    }

    #[test]
    fn lowest_pending_signal_goes_first() {
        assert_eq!(lowest(bit(SIGTERM) | bit(SIGINT)), SIGINT);
    }

    #[test]
    fn sigprocmask_block_unblock_setmask() {
        assert_eq!(new_mask(0, bit(1), bit(2)), Ok(bit(1) | bit(2)));
        assert_eq!(new_mask(1, bit(1) | bit(2), bit(2)), Ok(bit(1)));
        assert_eq!(new_mask(2, bit(1), bit(3)), Ok(bit(3)));
        assert_eq!(new_mask(3, 0, 0), Err(Errno::EINVAL));
    }

    #[test]
    fn sigprocmask_never_blocks_sigkill_or_sigstop() {
        assert_eq!(new_mask(2, 0, u64::MAX), Ok(!UNBLOCKABLE));
    }
}
