//! Tasks, thread groups and address spaces (Linux's task_struct / signal_struct / mm_struct
//! split, Plan 9's Proc): what each thread of control owns ([`Task`]: its state, signal
//! mask and pending signals, the system call it is blocked in, its Plan 9 /proc state),
//! what a thread group shares ([`Group`]: fd table, signal actions, cwd, umask, rlimits,
//! program, process-group ids) and the address space ([`Space`]: the one unicorn engine
//! and the segments mapped in it). The machine keeps each kind in a map keyed by a stable
//! id (tid, pid, space number), never by position. Every group has one task today; the
//! threads work puts several tasks in a group.

use crate::cpu::Cpu;
use crate::fdtable::FdTable;
use crate::param;
use crate::pipe::PipeRef;
use crate::syscalls::Sys;
use crate::vm::AddressSpace;
use proc_model::machine::Pid;
use std::collections::VecDeque;
use std::sync::Arc;

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signal(i32),
}

impl ExitStatus {
    /// The shell's view: the code, or 128 + signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal(s) => 128 + s,
        }
    }

    /// The status word wait4(2) stores (Linux include/uapi/linux/wait.h, WEXITSTATUS and
    /// WTERMSIG): exit code in bits 8–15, or the signal in bits 0–6.
    pub fn wait_word(self) -> u32 {
        match self {
            ExitStatus::Code(c) => ((c as u32) & 0xff) << 8,
            ExitStatus::Signal(s) => (s as u32) & 0x7f,
        }
    }
}

#[derive(Clone, Debug)]
pub enum PState {
    Ready,
    Running,
    /// Stopped by a /proc ctl request (Plan 9 `Stopped`).
    Stopped,
    /// Stopped by SIGSTOP/SIGTSTP until SIGCONT (Linux job control).
    JobStopped(i32),
    /// Inside a system call that waits; it is re-dispatched when the condition may hold.
    Blocked(Wait),
    Zombie(ExitStatus),
}

impl PState {
    pub fn is_zombie(&self) -> bool {
        matches!(self, PState::Zombie(_))
    }

    pub fn runnable(&self) -> bool {
        matches!(self, PState::Ready | PState::Running)
    }
}

/// What a blocked task waits for.
#[derive(Clone, Debug)]
pub enum Wait {
    PipeRead(PipeRef),
    PipeWrite(PipeRef),
    /// open of a FIFO: the other end to be opened (its open counter to move from `seen`).
    FifoOpen {
        fifo: crate::vfs::FifoRef,
        reading: bool,
        seen: u64,
    },
    /// wait4/waitid: a child to change state.
    Child,
    /// vfork: the child to exec or exit.
    Vfork(Pid),
    /// A virtual-time deadline (nanosleep).
    Until(u64),
    /// pause / sigsuspend: any signal.
    Signal,
    /// poll/select: an fd to become ready, or the deadline.
    Poll(Vec<(i32, u16)>, Option<u64>),
    /// read of an empty console while /proc is served: input to arrive.
    Console,
    /// epoll_wait: an item of the instance at this fd to become ready, or the deadline.
    Epoll(i32, Option<u64>),
    /// futex(2) FUTEX_WAIT: a FUTEX_WAKE on the word, or the deadline. `seq` orders the
    /// waiters of one word (first come, first woken, unless chaos scheduling shuffles).
    Futex {
        key: FutexKey,
        bitset: u32,
        deadline: Option<u64>,
        seq: u64,
    },
    /// The group leader called exit(2) while other threads live: the process ends with its
    /// last thread (it is never woken).
    GroupExit,
}

/// A futex word: the address space and the address (private and shared futexes are the
/// same thing here, since only threads share memory).
pub type FutexKey = (SpaceId, u64);

impl Wait {
    /// The state name Plan 9 shows while a process is inside this call.
    pub fn plan9_name(&self) -> &'static str {
        match self {
            Wait::PipeRead(_) | Wait::Console => "Pread",
            Wait::PipeWrite(_) => "Pwrite",
            Wait::Child | Wait::Vfork(_) => "Await",
            Wait::Until(_) => "Sleep",
            Wait::Signal | Wait::Futex { .. } | Wait::FifoOpen { .. } => "Rendez",
            Wait::Poll(..) | Wait::Epoll(..) => "Poll",
            Wait::GroupExit => "Moribund",
        }
    }

    /// The call may be restarted after a handler with SA_RESTART (signal(7): reads and
    /// writes of pipes and terminals, wait); sleeps and poll always fail with EINTR.
    pub fn restartable(&self) -> bool {
        matches!(
            self,
            Wait::PipeRead(_)
                | Wait::PipeWrite(_)
                | Wait::Child
                | Wait::Console
                | Wait::FifoOpen { .. }
        )
    }

    /// What the deadlock report says the task waits on.
    pub fn describe(&self) -> String {
        match self {
            Wait::PipeRead(pp) => {
                format!("reading pipe:[{}] (empty, writers open)", pp.borrow().id)
            }
            Wait::PipeWrite(pp) => {
                format!("writing pipe:[{}] (full, readers open)", pp.borrow().id)
            }
            Wait::FifoOpen { fifo, reading, .. } => format!(
                "opening fifo pipe:[{}] for {} (no {} yet)",
                fifo.borrow().pipe.borrow().id,
                if *reading { "reading" } else { "writing" },
                if *reading { "writer" } else { "reader" },
            ),
            Wait::Child => "waiting for a child".into(),
            Wait::Vfork(c) => format!("waiting for vfork child {}", c.0),
            Wait::Until(_) => "sleeping".into(),
            Wait::Signal => "waiting for a signal".into(),
            Wait::Console => "reading the console".into(),
            Wait::Epoll(fd, _) => format!("in epoll_wait on fd {fd}"),
            Wait::Futex { key, .. } => format!("waiting on futex {:#x}", key.1),
            Wait::GroupExit => "exited, waiting for its other threads".into(),
            Wait::Poll(set, _) => format!(
                "polling fds {:?}",
                set.iter().map(|x| x.0).collect::<Vec<_>>()
            ),
        }
    }
}

/// What Plan 9's /proc keeps per process beyond the Linux view (proc(3)): owner, procmode,
/// the private flag, note group, written args and pending notes. Per task: on Plan 9 every
/// thread is a process of its own.
#[derive(Clone, Debug)]
pub struct Plan9State {
    pub user: String,
    pub procmode: u32,
    pub private: bool,
    pub noteid: u32,
    pub args_text: Option<String>,
    pub notes: VecDeque<String>,
    /// ctl `hang`: stop right after a successful exec (inherited across fork and exec).
    pub hang: bool,
    /// How the debugger resumed the process.
    pub trace: crate::debug::Trace,
    /// The exit string of a process that died of an unhandled trap (it stays Broken).
    pub broken: Option<String>,
    /// Wait records of ended children, for /proc/N/wait.
    pub waitq: VecDeque<proc_model::machine::WaitRecord>,
    /// The `syscall` file: the last traced system call.
    pub syscall_text: String,
    /// A debugger is waiting in ctl for this process (only one may).
    pub waiter: bool,
    /// ctl `step` (a Glass extension): run one instruction, then stop.
    pub step: bool,
    /// ctl `interrupt` found no system call to abort: the next blocking call is interrupted
    /// (9front notepending with no note; cleared by `nointerrupt`).
    pub interrupt_pending: bool,
    /// Base and current priority (status fields 11 and 12; 9front basepri and priority),
    /// set by ctl `pri`/`fixedpri`; the scheduler runs the highest runnable priority.
    pub base_pri: u32,
    pub pri: u32,
    /// ctl `fixedpri`: 9front keeps the priority from changing. Glass never changes
    /// priorities on its own, so this only records which message set it.
    pub fixed_pri: bool,
    /// Virtual time (ns) at which the traced system call in `syscall_text` began.
    pub syscall_start_ns: u64,
    /// The process has exec'd a program (the first process counts as exec'd): `args`
    /// of a child that forked and never exec'd reads empty (proc(3) args).
    pub execd: bool,
    /// ctl `profile`: the text segment's base and one counter per 8 bytes of it (9front
    /// LRESPROF 3), bumped by the pc sampled at each preemption (9front profclock samples
    /// at each clock tick). Cleared by exec; not inherited by fork.
    pub profile: Option<(u64, Vec<u32>)>,
    /// Virtual time (ns) of the next profiling sample.
    pub profile_next_ns: u64,
    /// The `watchpt` list, enforced while the process runs (cpu/watch.rs). Not inherited
    /// by fork (9front newproc starts without one); kept across exec, as 9front keeps
    /// p->watchpt and the debug registers through sysexec; dropped at exit (pexit).
    pub watchpts: Vec<proc_model::procfs::watchpt::Watchpt>,
    /// Real-time parameters and state (edf.rs), from the first real-time ctl message on.
    /// Not inherited by fork (9front newproc: p->edf = nil).
    pub edf: Option<crate::edf::Edf>,
    /// ctl `trace`: this process's scheduling events go to /proc/trace (9front p->trace;
    /// not inherited: newproc clears it).
    pub sched_trace: bool,
}

impl Plan9State {
    /// The state of a new process of `user` in note group `noteid`.
    pub fn new(user: &str, noteid: u32, hang: bool) -> Plan9State {
        Plan9State {
            user: user.to_string(),
            procmode: 0o640,
            private: false,
            noteid,
            args_text: None,
            notes: VecDeque::new(),
            hang,
            trace: Default::default(),
            broken: None,
            waitq: VecDeque::new(),
            syscall_text: String::new(),
            waiter: false,
            step: false,
            interrupt_pending: false,
            base_pri: proc_model::ctlstate::PRI_NORMAL,
            pri: proc_model::ctlstate::PRI_NORMAL,
            fixed_pri: false,
            syscall_start_ns: 0,
            execd: true,
            profile: None,
            profile_next_ns: 0,
            watchpts: Vec::new(),
            edf: None,
            sched_trace: false,
        }
    }

    /// What a child inherits across fork (proc(3); 9front sysrfork): owner, mode, note
    /// group, hang, priority, and a `startsyscall` trace request (the child stops at its
    /// first system call as its parent would); not the notes, args, wait records, other
    /// trace modes or the debugger.
    pub fn forked(&self) -> Plan9State {
        let trace = match self.trace {
            crate::debug::Trace::StartSyscall => crate::debug::Trace::StartSyscall,
            _ => crate::debug::Trace::None,
        };
        Plan9State {
            private: self.private,
            procmode: self.procmode,
            trace,
            base_pri: self.base_pri,
            pri: self.pri,
            fixed_pri: self.fixed_pri,
            execd: false,
            ..Plan9State::new(&self.user, self.noteid, self.hang)
        }
    }
}

/// A recorded signal disposition (rt_sigaction(2)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// A blocked or stopped-at-entry system call: (call, raw number, arguments).
pub type SysCall = (Sys, u64, [u64; 6]);

/// One thread of control.
#[derive(Debug)]
pub struct Task {
    pub tid: Pid,
    /// The thread group: its leader's pid.
    pub tgid: Pid,
    pub state: PState,
    pub sigmask: u64,
    /// Pending signals, bit (sig-1).
    pub sig_pending: u64,
    /// Who sent each pending signal, by signal number: (si_code, si_pid) for a signal a
    /// process sent, (si_code, si_addr) for a fault; the second field fills siginfo's
    /// eight bytes at offset 16 (si_pid and a zero si_uid, or si_addr).
    pub sig_from: [(i32, u64); param::NSIG + 1],
    /// The mask to restore after a handler that interrupted sigsuspend.
    pub saved_mask: Option<u64>,
    /// Floating-point state saved by signal delivery, restored by rt_sigreturn.
    pub fp_stack: Vec<Vec<u8>>,
    /// The blocked system call to dispatch again when woken.
    pub retry: Option<SysCall>,
    /// A system call stopped at its entry by startsyscall, to run when resumed.
    pub sys_entry: Option<(Option<Sys>, u64, [u64; 6])>,
    /// A /proc `stop` waiting for the task to leave its system call.
    pub stop_req: bool,
    /// Plan 9 Ureg `type` of the last entry into the kernel: 64 for a system call, 32 for
    /// preemption (the clock interrupt's vector on 9front pc64).
    pub last_trap: u64,
    /// Blocks of guest work executed and syscalls made (for status times).
    pub blocks: u64,
    pub syscalls: u64,
    pub start_ns: u64,
    pub p9: Plan9State,
    /// The registers, while another thread of the address space is loaded in the engine.
    pub regs: Option<crate::cpu::RegCtx>,
    /// set_tid_address / CLONE_CHILD_CLEARTID: zeroed and futex-woken when the thread ends.
    pub clear_tid: u64,
    /// set_robust_list: the head of the thread's robust futex list (0 if none).
    pub robust_list: u64,
    /// sigaltstack(2): the alternate signal stack (base, size), if one is set.
    pub altstack: Option<(u64, u64)>,
}

impl Task {
    /// A new task, Ready (or Stopped with `p9.hang` on a first process), started at `now`.
    pub fn new(tid: Pid, tgid: Pid, now: u64, p9: Plan9State) -> Task {
        Task {
            tid,
            tgid,
            state: PState::Ready,
            sigmask: 0,
            sig_pending: 0,
            sig_from: [(0, 0); param::NSIG + 1],
            saved_mask: None,
            fp_stack: Vec::new(),
            retry: None,
            sys_entry: None,
            stop_req: false,
            last_trap: crate::debug::TRAP_SYSCALL,
            blocks: 0,
            syscalls: 0,
            start_ns: now,
            p9,
            regs: None,
            clear_tid: 0,
            robust_list: 0,
            altstack: None,
        }
    }
}

/// The number of an address space in the machine's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpaceId(pub u64);

/// What the tasks of a thread group share.
#[derive(Clone, Debug)]
pub struct Group {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgid: u32,
    pub sid: u32,
    /// Base name of the program as exec'd (Plan 9's text name).
    pub name: String,
    pub args: Vec<String>,
    /// The environment as exec'd (/proc/PID/environ).
    pub env: Vec<String>,
    /// Canonical guest path of the executable (readlink /proc/self/exe).
    pub exe: String,
    /// The executable's bytes (what /proc/N/text serves).
    pub image: Arc<[u8]>,
    pub space: SpaceId,
    pub fds: FdTable,
    pub cwd: String,
    pub umask: u32,
    /// Resource limits (soft, hard) by RLIMIT_* number (getrlimit(2)); inherited by fork.
    pub rlimits: [(u64, u64); param::RLIM_NLIMITS],
    /// Dispositions by signal number (index 0 unused).
    pub sigactions: Vec<SigAction>,
    /// ITIMER_REAL / alarm deadline in virtual ns.
    pub alarm_ns: Option<u64>,
    /// The nice value (setpriority(2)), -20 to 19; inherited by fork.
    pub nice: i32,
    /// A vfork child that has not yet exec'd or exited (its parent waits).
    pub in_vfork: bool,
    /// A job-control stop or continue not yet reported to wait4 (WUNTRACED / WCONTINUED).
    pub stop_unreported: Option<i32>,
    /// RLIMIT_CPU: the CPU second at which the next SIGXCPU is due.
    pub xcpu_next: u64,
}

impl Group {
    /// A group whose leader is `pid`, running `exe` in `space`, leading its own process
    /// group and session, with fds 0–2 on the console and default dispositions.
    pub fn new(
        pid: Pid,
        ppid: Pid,
        exe: &str,
        args: Vec<String>,
        image: Arc<[u8]>,
        space: SpaceId,
    ) -> Group {
        Group {
            pid,
            ppid,
            pgid: pid.0,
            sid: pid.0,
            name: exe.rsplit('/').next().unwrap_or(exe).to_string(),
            args,
            env: Vec::new(),
            exe: exe.to_string(),
            image,
            space,
            fds: FdTable::with_console(),
            cwd: "/".into(),
            umask: 0o022,
            rlimits: param::default_rlimits(),
            sigactions: vec![SigAction::default(); param::NSIG + 1],
            alarm_ns: None,
            nice: 0,
            in_vfork: false,
            stop_unreported: None,
            xcpu_next: 0,
        }
    }
}

/// An address space: its one engine and the segments mapped in it.
pub struct Space {
    pub cpu: Cpu,
    pub vm: AddressSpace,
    /// The thread whose registers are in the engine.
    pub loaded: Pid,
}

/// A whole process taken out of the tables: a reaped Broken process kept for /proc.
pub struct Detached {
    pub task: Task,
    pub group: Group,
    pub space: Space,
}

/// A process as /proc and the debugger see it: a task with its group and address space.
pub struct ProcRef<'a> {
    pub t: &'a Task,
    pub g: &'a Group,
    pub s: &'a Space,
}

/// [`ProcRef`], mutable.
pub struct ProcMut<'a> {
    pub t: &'a mut Task,
    pub g: &'a mut Group,
    pub s: &'a mut Space,
}

impl ProcMut<'_> {
    pub fn as_ref(&self) -> ProcRef<'_> {
        ProcRef {
            t: self.t,
            g: self.g,
            s: self.s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_word_exit_code_in_second_byte() {
        assert_eq!(ExitStatus::Code(3).wait_word(), 0x0300);
        assert_eq!(ExitStatus::Code(256 + 7).wait_word(), 0x0700);
    }

    #[test]
    fn wait_word_signal_in_low_seven_bits() {
        assert_eq!(ExitStatus::Signal(9).wait_word(), 9);
        assert_eq!(ExitStatus::Signal(11).shell_code(), 139);
    }

    #[test]
    fn forked_plan9_state_keeps_owner_and_drops_notes() {
        let mut p = Plan9State::new("eve", 7, true);
        p.notes.push_back("interrupt".into());
        p.args_text = Some("x".into());
        p.procmode = 0o600;
        let c = p.forked();
        assert_eq!(
            (c.user.as_str(), c.noteid, c.hang, c.procmode),
            ("eve", 7, true, 0o600)
        );
        assert!(c.notes.is_empty() && c.args_text.is_none());
    }

    #[test]
    fn forked_plan9_state_inherits_startsyscall_only() {
        // 9front sysrfork: a child of a process traced by startsyscall inherits the trace.
        let mut p = Plan9State::new("eve", 7, false);
        p.trace = crate::debug::Trace::StartSyscall;
        assert_eq!(p.forked().trace, crate::debug::Trace::StartSyscall);
        p.trace = crate::debug::Trace::StartStop;
        assert_eq!(p.forked().trace, crate::debug::Trace::None);
    }

    #[test]
    fn new_group_leads_its_own_process_group_and_session() {
        let g = Group::new(
            Pid(5),
            Pid(1),
            "/bin/sh",
            vec![],
            Arc::from(Vec::new()),
            SpaceId(0),
        );
        assert_eq!((g.pgid, g.sid, g.name.as_str()), (5, 5, "sh"));
        assert_eq!(g.fds.iter().count(), 3);
    }
}
