//! The scheduler: runs each runnable process's CPU for a quantum of guest work or until it
//! traps, handles its system calls, and advances virtual time by the work done. Preemption
//! points are counted in blocks, never taken from a host timer, so the same inputs give the
//! same interleaving on any host (DESIGN.md).

use crate::cpu::RunExit;
use crate::machine::{ExitStatus, Machine, PState, Wait};
use crate::param;
use crate::syscalls::{self, Outcome};
use crate::trace::Event;
use proc_model::machine::Pid;
use std::io::Write as _;

/// Linux signal numbers used for guest faults (asm-generic/signal.h).
pub const SIGILL: i32 = 4;
pub const SIGTRAP: i32 = 5;
pub const SIGFPE: i32 = 8;
pub const SIGSEGV: i32 = 11;

/// The result of a whole run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Exit status of the first process.
    pub status: ExitStatus,
    /// Hex SHA-256 over outputs, trace and exits.
    pub digest: String,
    /// Virtual time at the end, in nanoseconds.
    pub vtime_ns: u64,
    /// Unimplemented system calls met: (name or number, count).
    pub unimplemented: Vec<(String, u64)>,
}

pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        SIGILL => "SIGILL",
        SIGTRAP => "SIGTRAP",
        SIGFPE => "SIGFPE",
        SIGSEGV => "SIGSEGV",
        9 => "SIGKILL",
        _ => "signal",
    }
}

impl Machine {
    /// Run until every process has exited (and, with `keep`, go on serving /proc requests
    /// until the request channel closes).
    pub fn run(&mut self) -> RunReport {
        loop {
            self.service(false);
            self.fire_alarms();
            self.wake_blocked();
            if let Some(i) = self.pick() {
                self.step(i);
                self.poll_parked();
                continue;
            }
            // Nobody can run. Sleepers: jump the clock to the next deadline.
            if let Some(d) = self.next_deadline() {
                self.k.clock.ns = self.k.clock.ns.max(d);
                continue;
            }
            let live = self.procs.iter().any(|p| !p.state.is_zombie());
            let serving = self.requests.is_some();
            if live
                && !serving
                && self
                    .procs
                    .iter()
                    .any(|p| !matches!(p.state, PState::Zombie(_) | PState::Stopped))
            {
                self.deadlock_report();
                break;
            }
            // Wait for a request if someone may still ask for something.
            if !((live || self.keep) && serving && self.service(true)) {
                break;
            }
        }
        // The machine has ended: later /proc requests and parked waits answer `process
        // exited` (their reply channels close) instead of waiting for a machine that is gone.
        self.requests = None;
        self.parked.clear();
        let status = self
            .procs
            .iter()
            .find(|p| p.pid.0 == param::INIT_PID)
            .and_then(|p| match p.state {
                PState::Zombie(s) => Some(s),
                _ => None,
            });
        let unimplemented = self
            .k
            .unimplemented
            .iter()
            .map(|(nr, (sys, c))| {
                (
                    sys.map(|s| s.name().to_string())
                        .unwrap_or_else(|| format!("#{nr}")),
                    *c,
                )
            })
            .collect();
        RunReport {
            status: status.unwrap_or(ExitStatus::Signal(9)),
            digest: self.k.trace.finish(),
            vtime_ns: self.k.clock.ns,
            unimplemented,
        }
    }

    /// The next runnable process after the cursor, round robin.
    fn pick(&mut self) -> Option<usize> {
        let n = self.procs.len();
        let runnable = |i: &usize| matches!(self.procs[*i].state, PState::Ready | PState::Running);
        let i = match &mut self.sched_rng {
            // Chaos scheduling: any runnable process, chosen by the seeded generator.
            Some(rng) => {
                let ready: Vec<usize> = (0..n).filter(runnable).collect();
                if ready.is_empty() {
                    return None;
                }
                ready[(rng.next_u64() % ready.len() as u64) as usize]
            }
            None => (0..n).map(|d| (self.cursor + d) % n).find(runnable)?,
        };
        self.cursor = i + 1;
        Some(i)
    }

    /// This step's quantum: fixed, or jittered between 1/8 and all of it under chaos.
    fn quantum_now(&mut self) -> u64 {
        match &mut self.sched_rng {
            Some(rng) => {
                (self.quantum / 8).max(1)
                    + rng.next_u64() % (self.quantum - self.quantum / 8).max(1)
            }
            None => self.quantum,
        }
    }

    /// The earliest virtual-time deadline anyone sleeps until.
    fn next_deadline(&self) -> Option<u64> {
        self.procs
            .iter()
            .filter_map(|p| match &p.state {
                PState::Blocked(Wait::Until(d)) => Some(*d),
                PState::Blocked(Wait::Poll(_, Some(d))) => Some(*d),
                _ if !p.state.is_zombie() => p.alarm_ns,
                _ => None,
            })
            .min()
    }

    /// Make blocked processes whose condition may now hold runnable again.
    fn wake_blocked(&mut self) {
        let now = self.k.clock.ns;
        for i in 0..self.procs.len() {
            let PState::Blocked(w) = &self.procs[i].state else {
                continue;
            };
            enum Wake {
                No,
                Retry,
                Return(u64),
            }
            let wake = match w {
                Wait::PipeRead(pp) => {
                    let pp = pp.borrow();
                    if !pp.buf.is_empty() || pp.writers == 0 {
                        Wake::Retry
                    } else {
                        Wake::No
                    }
                }
                Wait::PipeWrite(pp) => {
                    let pp = pp.borrow();
                    if pp.space() >= crate::pipe::PIPE_BUF || pp.readers == 0 {
                        Wake::Retry
                    } else {
                        Wake::No
                    }
                }
                Wait::Child => {
                    let me = self.procs[i].pid;
                    let any = self.procs.iter().any(|c| {
                        c.ppid == me && (c.state.is_zombie() || c.stop_unreported.is_some())
                    });
                    let none = !self.procs.iter().any(|c| c.ppid == me);
                    if any || none {
                        Wake::Retry
                    } else {
                        Wake::No
                    }
                }
                Wait::Vfork(c) => {
                    let c = *c;
                    match self.procs.iter().find(|q| q.pid == c) {
                        Some(q) if q.in_vfork && !q.state.is_zombie() => Wake::No,
                        _ => Wake::Return(u64::from(c.0)),
                    }
                }
                Wait::Until(d) => {
                    if now >= *d {
                        Wake::Return(0)
                    } else {
                        Wake::No
                    }
                }
                Wait::Poll(set, d) => {
                    if self.poll_ready(i, set) {
                        Wake::Retry
                    } else if d.is_some_and(|d| now >= d) {
                        Wake::Return(0)
                    } else {
                        Wake::No
                    }
                }
                Wait::Signal => Wake::No,
                Wait::Console => {
                    if self.k.console_in.as_ref().is_none_or(|c| c.readable()) {
                        Wake::Retry
                    } else {
                        Wake::No
                    }
                }
            };
            // A call whose condition holds completes; only one that would go on waiting is
            // interrupted by a deliverable signal (Linux checks the condition first).
            if matches!(wake, Wake::No) && self.signal_deliverable(i) {
                self.interrupt_blocked(i);
                continue;
            }
            let p = &mut self.procs[i];
            match wake {
                Wake::No => {}
                Wake::Retry => p.state = PState::Ready,
                Wake::Return(v) => {
                    if let Some((sys, nr, args)) = p.retry.take() {
                        p.cpu.set_syscall_ret(v);
                        let (pid, name) = (p.pid.0, sys.name());
                        self.k.trace.syscall(&Event {
                            ns: now,
                            pid,
                            name,
                            nr,
                            args: &args[..sys.argc()],
                            ret: v as i64,
                        });
                    }
                    self.procs[i].state = PState::Ready;
                }
            }
        }
    }

    /// Every live process waits on something that can never happen.
    fn deadlock_report(&mut self) {
        let _ = writeln!(
            self.k.console.stderr,
            "glass: deadlock: every process is blocked forever"
        );
        for p in &self.procs {
            let what = match &p.state {
                PState::Blocked(w) => match w {
                    Wait::PipeRead(pp) => {
                        format!("reading pipe:[{}] (empty, writers open)", pp.borrow().id)
                    }
                    Wait::PipeWrite(pp) => {
                        format!("writing pipe:[{}] (full, readers open)", pp.borrow().id)
                    }
                    Wait::Child => "waiting for a child".into(),
                    Wait::Vfork(c) => format!("waiting for vfork child {}", c.0),
                    Wait::Until(_) => "sleeping".into(),
                    Wait::Signal => "waiting for a signal".into(),
                    Wait::Console => "reading the console".into(),
                    Wait::Poll(set, _) => format!(
                        "polling fds {:?}",
                        set.iter().map(|x| x.0).collect::<Vec<_>>()
                    ),
                },
                PState::JobStopped(s) => format!("stopped by {}", crate::signal::name(*s)),
                PState::Zombie(_) => continue,
                s => format!("{s:?}"),
            };
            let _ = writeln!(
                self.k.console.stderr,
                "glass:   pid {} ({}): {what}",
                p.pid.0, p.name
            );
        }
        let live: Vec<Pid> = self
            .procs
            .iter()
            .filter(|p| !p.state.is_zombie())
            .map(|p| p.pid)
            .collect();
        for pid in live {
            if let Some(i) = self.index_of(pid) {
                self.kill(i, ExitStatus::Signal(9));
            }
        }
    }

    /// Run the requests that arrived from /proc servers; with `block`, wait for one first.
    /// Returns false when no server can send requests any more.
    pub fn service(&mut self, block: bool) -> bool {
        let Some(rx) = self.requests.take() else {
            return false;
        };
        let mut alive = true;
        if block {
            match rx.recv() {
                Ok(r) => r(self),
                Err(_) => alive = false,
            }
        }
        loop {
            match rx.try_recv() {
                Ok(r) => r(self),
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    alive = false;
                    break;
                }
            }
        }
        self.requests = Some(rx);
        self.poll_parked();
        alive
    }

    /// Give every parked request a chance to finish.
    pub fn poll_parked(&mut self) {
        if self.parked.is_empty() {
            return;
        }
        let mut parked = std::mem::take(&mut self.parked);
        parked.retain_mut(|p| !p(self));
        parked.append(&mut self.parked);
        self.parked = parked;
    }

    /// Run process `i`: finish a system call it was blocked in (or stopped at by
    /// startsyscall), stop it for its debugger, deliver its notes and signals, and run its
    /// CPU for one quantum or until it traps.
    fn step(&mut self, i: usize) {
        if let Some((sys, nr, args)) = self.procs[i].retry.take() {
            self.syscall_with(i, Some(sys), nr, args);
            return;
        }
        if let Some((sys, nr, args)) = self.procs[i].sys_entry.take() {
            self.syscall_with(i, sys, nr, args);
            return;
        }
        if self.procs[i].stop_req {
            self.procs[i].stop_req = false;
            self.procs[i].state = PState::Stopped;
            return;
        }
        // A pending note: its debugger gets the process before delivery (startstop),
        // otherwise it becomes the Linux signal the guest expects.
        if !self.procs[i].p9.notes.is_empty() {
            if self.procs[i].p9.trace == crate::debug::Trace::StartStop {
                self.procs[i].state = PState::Stopped;
                return;
            }
            self.notes_to_signals(i);
        }
        if !self.deliver_signals(i) {
            return;
        }
        let quantum = self.quantum_now();
        let p = &mut self.procs[i];
        p.state = PState::Running;
        self.last_run = Some(p.pid);
        let stepping = std::mem::take(&mut p.p9.step);
        let (exit, blocks) = if stepping {
            p.cpu.run_one()
        } else {
            p.cpu.run(quantum)
        };
        p.vm.sync_stack(p.cpu.stack_bounds().0);
        p.blocks += blocks;
        self.k.clock.ns += blocks * param::NS_PER_BLOCK;
        p.state = PState::Ready;
        match exit {
            RunExit::Syscall => {
                p.last_trap = 64;
                let (nr, args) = p.cpu.syscall_args();
                let sys = p.cpu.sys(nr);
                if p.p9.trace == crate::debug::Trace::StartSyscall {
                    // Stop at the entry; the call runs when the debugger resumes it.
                    let argc = sys.map_or(6, |s| s.argc());
                    p.p9.syscall_text = Self::syscall_entry_text(p, sys, &args[..argc]);
                    p.sys_entry = Some((sys, nr, args));
                    p.state = PState::Stopped;
                    return;
                }
                self.syscall_with(i, sys, nr, args);
            }
            RunExit::Quantum => p.last_trap = 32,
            exit => {
                if let Some(t) = p.cpu.trap(exit) {
                    p.last_trap = t.ureg_type;
                    self.trap(i, t.note, t.sig, t.pc);
                }
            }
        }
        if stepping && i < self.procs.len() && matches!(self.procs[i].state, PState::Ready) {
            self.procs[i].state = PState::Stopped;
        }
    }

    fn syscall_with(
        &mut self,
        i: usize,
        sys: Option<crate::syscalls::Sys>,
        nr: u64,
        args: [u64; 6],
    ) {
        self.procs[i].syscalls += 1;
        self.k.clock.ns += param::NS_PER_SYSCALL;
        let out = match sys {
            Some(s) => match self.machine_syscall(i, s, args) {
                Some(o) => o,
                None => syscalls::dispatch(&mut self.k, &mut self.procs[i], s, args),
            },
            None => Outcome::NoSys,
        };
        let name = sys.map(|s| s.name()).unwrap_or("unknown");
        let argc = sys.map_or(6, |s| s.argc());
        let ret: i64 = match out {
            Outcome::Ret(v) => {
                self.procs[i].cpu.set_syscall_ret(v);
                v as i64
            }
            Outcome::NoReturn => 0,
            Outcome::Block(w) => {
                let p = &mut self.procs[i];
                p.retry = sys.map(|s| (s, nr, args));
                p.state = PState::Blocked(w);
                return;
            }
            Outcome::NoSys => {
                let p = &self.procs[i];
                let e = self.k.unimplemented.entry(nr).or_insert((sys, 0));
                e.1 += 1;
                if e.1 == 1 {
                    let _ = writeln!(
                        self.k.console.stderr,
                        "glass: unimplemented system call {name} (#{nr}) in pid {}; returning ENOSYS",
                        p.pid.0
                    );
                }
                let v = -38i64;
                self.procs[i].cpu.set_syscall_ret(v as u64);
                v
            }
            Outcome::Exit(code) => {
                let pid = self.procs[i].pid.0;
                self.k.trace.syscall(&Event {
                    ns: self.k.clock.ns,
                    pid,
                    name,
                    nr,
                    args: &args[..argc],
                    ret: 0,
                });
                self.exit(i, ExitStatus::Code(code));
                return;
            }
        };
        if i < self.procs.len() && self.procs[i].p9.trace == crate::debug::Trace::StartSyscall {
            // Stop again at the call's exit, with the result in the `syscall` file.
            let p = &mut self.procs[i];
            // 9front prints the error string, or "" when the call succeeded.
            let err = if (-4095..0).contains(&ret) {
                format!("errno={}", -ret)
            } else {
                "\"\"".to_string()
            };
            let now = self.k.clock.ns;
            p.p9.syscall_text = format!("{} = {ret} {err} {now} {now}\n", p.p9.syscall_text);
            if !p.state.is_zombie() {
                p.state = PState::Stopped;
            }
        }
        if i < self.procs.len() {
            let pid = self.procs[i].pid.0;
            self.k.trace.syscall(&Event {
                ns: self.k.clock.ns,
                pid,
                name,
                nr,
                args: &args[..argc],
                ret,
            });
        }
    }

    /// End process `i` with `status` (ctl `kill`, a fatal signal).
    pub fn kill(&mut self, i: usize, status: ExitStatus) {
        self.exit(i, status);
    }

    fn exit(&mut self, i: usize, status: ExitStatus) {
        if self.procs[i].state.is_zombie() {
            return;
        }
        let p = &mut self.procs[i];
        p.state = PState::Zombie(status);
        p.retry = None;
        p.in_vfork = false;
        p.fds = Default::default();
        let pid = p.pid;
        self.k.trace.exit(pid.0, status.shell_code());
        self.queue_wait_record(i, status);
        // Orphans go to init.
        let init = Pid(param::INIT_PID);
        let init_alive = self.proc_ref(init).is_some() && pid != init;
        for c in self.procs.iter_mut().filter(|c| c.ppid == pid) {
            c.ppid = if init_alive { init } else { Pid(0) };
        }
        self.notify_parent(i);
        // Zombies nobody can reap go away at once.
        let orphans: Vec<usize> = (0..self.procs.len())
            .filter(|&c| {
                self.procs[c].state.is_zombie()
                    && self.procs[c].ppid == Pid(0)
                    && self.procs[c].pid != init
            })
            .collect();
        for c in orphans.into_iter().rev() {
            self.reap(c);
        }
        // When init ends, the machine ends: like a container, everything else is killed.
        if pid == init {
            let live: Vec<Pid> = self
                .procs
                .iter()
                .filter(|p| !p.state.is_zombie())
                .map(|p| p.pid)
                .collect();
            for pid in live {
                if let Some(j) = self.index_of(pid) {
                    self.exit(j, ExitStatus::Signal(9));
                }
            }
        }
    }
}
