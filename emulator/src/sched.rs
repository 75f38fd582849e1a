//! The scheduler: runs each runnable process's CPU for a quantum of guest work or until it
//! traps, handles its system calls, and advances virtual time by the work done. Preemption
//! points are counted in blocks, never taken from a host timer, so the same inputs give the
//! same interleaving on any host (docs/DESIGN.md).

use crate::cpu::RunExit;
use crate::errno::Errno;
use crate::guestmem::GuestMem;
use crate::machine::{ExitStatus, Machine, PState, Pid, Wait};
use crate::param;
use crate::signal::SIGKILL;
use crate::syscalls::{self, Outcome, Sys};
use crate::trace::Event;
use std::io::Write as _;

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
    /// The machine limit (`--max-time`, `--timeout`) that ended the run, if one did.
    pub limit: Option<String>,
}

impl Machine {
    /// Run until every process has exited (and, with `keep`, go on serving /proc requests
    /// until the request channel closes).
    pub fn run(&mut self) -> RunReport {
        loop {
            self.tape_top();
            self.service(false);
            self.fire_alarms();
            self.wake_blocked();
            self.sched_observe(None);
            if let Some(tid) = self.pick() {
                let t0 = self.k.clock.ns;
                self.sched_switch(tid);
                self.idle_infos.clear();
                self.step(tid);
                self.edf_charge(tid, self.k.clock.ns - t0);
                self.sched_observe(Some(tid));
                self.enforce_limits(tid);
                if self.tape_stepped() {
                    break;
                }
                self.poll_parked();
                continue;
            }
            // Nobody can run. Sleepers: jump the clock to the next deadline.
            if let Some(d) = self.next_deadline() {
                self.idle_infos.clear();
                self.k.clock.ns = self.k.clock.ns.max(d);
                continue;
            }
            match self.tape_idle() {
                crate::record::Idle::Normal => {}
                crate::record::Idle::Applied => {
                    self.idle_infos.clear();
                    continue;
                }
                crate::record::Idle::Stop => break,
            }
            let live = self.tasks.values().any(|t| !t.state.is_zombie());
            let serving = self.requests.is_some();
            if live
                && !serving
                && self
                    .tasks
                    .values()
                    .any(|t| !matches!(t.state, PState::Zombie(_) | PState::Stopped))
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
        self.sched_observe(None);
        self.idle_infos.clear();
        let status = self
            .tasks
            .get(&Pid(param::INIT_PID))
            .and_then(|t| match t.state {
                PState::Zombie(s) => Some(s),
                _ => None,
            });
        let unimplemented = self
            .k
            .unimplemented
            .iter()
            .map(|(nr, (name, c))| {
                let name = match *name {
                    "unknown" => format!("#{nr}"),
                    n => n.to_string(),
                };
                (name, *c)
            })
            .collect();
        let report = RunReport {
            status: status.unwrap_or(ExitStatus::Signal(SIGKILL)),
            digest: self.k.trace.finish(),
            vtime_ns: self.k.clock.ns,
            unimplemented,
            limit: self.limit_hit.clone(),
        };
        self.tape_finish(&report);
        report
    }

    /// The next runnable task after the cursor, round robin in tid order; under chaos
    /// scheduling any runnable task, chosen by the seeded generator. Only tasks of the
    /// highest priority among the runnable ones are candidates (ctl `pri`/`fixedpri`;
    /// every task has PriNormal unless a debugger changed it), so with equal priorities
    /// this is plain round robin.
    fn pick(&mut self) -> Option<Pid> {
        // Real-time processes with budget first, earliest deadline first (edf.rs).
        self.edf_update();
        if let Some(tid) = self.edf_pick() {
            return Some(tid);
        }
        let now = self.k.clock.ns;
        let runnable = || {
            self.tasks.values().filter(|t| {
                t.state.runnable() && !t.p9.edf.as_ref().is_some_and(|e| e.waiting(now))
            })
        };
        let top = runnable().map(|t| t.p9.pri).max()?;
        let ready: Vec<Pid> = runnable()
            .filter(|t| t.p9.pri == top)
            .map(|t| t.tid)
            .collect();
        let tid = match &mut self.sched_rng {
            Some(rng) => {
                if ready.is_empty() {
                    return None;
                }
                ready[(rng.next_u64() % ready.len() as u64) as usize]
            }
            None => {
                let after = |t: &&Pid| self.cursor.is_none_or(|c| **t > c);
                *ready.iter().find(after).or(ready.first())?
            }
        };
        self.cursor = Some(tid);
        Some(tid)
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
        self.tasks
            .values()
            .filter_map(|t| match &t.state {
                PState::Blocked(Wait::Until(d)) => Some(*d),
                PState::Blocked(Wait::Poll(_, Some(d))) => Some(*d),
                PState::Blocked(Wait::Epoll(_, Some(d))) => Some(*d),
                PState::Blocked(Wait::Futex {
                    deadline: Some(d), ..
                }) => Some(*d),
                s if !s.is_zombie() => self.groups.get(&t.tgid).and_then(|g| g.alarm_ns),
                _ => None,
            })
            .chain(self.edf_next_release())
            .min()
    }

    /// Whether the condition blocked task `tid` waits for may now hold: `Some(None)` to run
    /// the call again, `Some(Some(v))` to return `v` from it, `None` to go on waiting.
    fn wake_condition(&self, tid: Pid, w: &Wait) -> Option<Option<u64>> {
        let now = self.k.clock.ns;
        let retry = Some(None);
        let holds = match w {
            Wait::PipeRead(pp) => pp.borrow().read_ready(),
            Wait::PipeWrite(pp) => pp.borrow().write_ready(),
            Wait::FifoOpen {
                fifo,
                reading,
                seen,
            } => {
                let f = fifo.borrow();
                (if *reading { f.w_counter } else { f.r_counter }) != *seen
            }
            Wait::Child => {
                let mut kids = self.groups.values().filter(|g| g.ppid == tid);
                let mut any = false;
                let ready = kids.any(|g| {
                    any = true;
                    g.stop_unreported.is_some()
                        || self.tasks.get(&g.pid).is_none_or(|c| c.state.is_zombie())
                });
                ready || !any
            }
            Wait::Vfork(c) => {
                let waiting = self.groups.get(c).is_some_and(|g| g.in_vfork) && self.live(*c);
                return (!waiting).then_some(Some(u64::from(c.0)));
            }
            Wait::Until(d) => return (now >= *d).then_some(Some(0)),
            Wait::Poll(set, d) => {
                if self.poll_ready(tid, set) {
                    return retry;
                }
                return d.is_some_and(|d| now >= d).then_some(Some(0));
            }
            Wait::Epoll(epfd, d) => {
                if self.epoll_ready(tid, *epfd) {
                    return retry;
                }
                return d.is_some_and(|d| now >= d).then_some(Some(0));
            }
            Wait::Futex { deadline, .. } => {
                return deadline
                    .is_some_and(|d| now >= d)
                    .then_some(Some(Errno::ETIMEDOUT.ret()))
            }
            Wait::Signal | Wait::GroupExit => false,
            Wait::Console => self.k.console_in.as_ref().is_none_or(|c| c.readable()),
        };
        holds.then_some(None)
    }

    /// Make blocked tasks whose condition may now hold runnable again.
    fn wake_blocked(&mut self) {
        for tid in self.tids() {
            let Some(PState::Blocked(w)) = self.tasks.get(&tid).map(|t| &t.state) else {
                continue;
            };
            let wake = self.wake_condition(tid, w);
            // A call whose condition holds completes; only one that would go on waiting is
            // interrupted by a deliverable signal (Linux checks the condition first).
            match wake {
                None if matches!(w, Wait::GroupExit) => {}
                None if self.signal_deliverable(tid) => self.interrupt_blocked(tid),
                None if self.tasks.get(&tid).is_some_and(|t| t.p9.interrupt_pending) => {
                    self.ctl_interrupt(tid)
                }
                None => {}
                Some(None) => {
                    if let Some(t) = self.tasks.get_mut(&tid) {
                        t.state = PState::Ready;
                    }
                }
                Some(Some(v)) => self.complete(tid, v),
            }
        }
    }

    /// Every live task waits on something that can never happen.
    fn deadlock_report(&mut self) {
        let _ = writeln!(
            self.k.console.stderr,
            "glass: deadlock: every process is blocked forever"
        );
        for t in self.tasks.values() {
            let what = match &t.state {
                PState::Blocked(w) => w.describe(),
                PState::JobStopped(s) => format!("stopped by {}", crate::signal::name(*s)),
                PState::Zombie(_) => continue,
                s => format!("{s:?}"),
            };
            let name = self.groups.get(&t.tgid).map_or("?", |g| g.name.as_str());
            let _ = writeln!(
                self.k.console.stderr,
                "glass:   pid {} ({name}): {what}",
                t.tid.0
            );
        }
        let live: Vec<Pid> = self
            .tasks
            .values()
            .filter(|t| !t.state.is_zombie())
            .map(|t| t.tid)
            .collect();
        for tid in live {
            self.kill(tid, ExitStatus::Signal(SIGKILL));
        }
    }

    /// Run the requests that arrived from /proc servers, in arrival order, as far as /proc's
    /// fair share of the machine thread allows (share.rs); with `block` (nobody can run),
    /// wait for one first, and serve with the machine to itself. Returns false when no
    /// server can send requests any more.
    pub fn service(&mut self, block: bool) -> bool {
        let Some(rx) = self.requests.take() else {
            return false;
        };
        let mut alive = true;
        if block {
            self.share.idle();
            // Until a change: `status` may be answered without this thread (proc_adapter).
            self.idle_infos.open();
            match rx.recv() {
                Ok(r) => self.serve(r),
                Err(_) => alive = false,
            }
        }
        self.share.begin(std::time::Instant::now());
        // Changes held back from the middle of the last quantum came first.
        while self.share.has_credit() {
            let Some(r) = self.deferred.pop_front() else {
                break;
            };
            self.serve(r);
        }
        while self.share.has_credit() {
            match rx.try_recv() {
                Ok(r) => self.serve(r),
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    alive = false;
                    break;
                }
            }
        }
        self.requests = Some(rx);
        self.poll_parked();
        self.share.end(std::time::Instant::now());
        alive
    }

    /// Run one request, charged to /proc's share.
    fn serve(&mut self, r: crate::machine::Request) {
        let start = std::time::Instant::now();
        match r {
            crate::machine::Request::Change(f) => {
                self.idle_infos.clear();
                f(self)
            }
            crate::machine::Request::Query(f) => f(self),
        }
        self.share.charge(start.elapsed());
    }

    /// In the middle of a quantum (the running engine stopped at a block boundary): answer
    /// the queries waiting, as far as /proc's share allows; changes wait for the quantum's
    /// end, in order.
    fn serve_queries(&mut self) {
        let Some(rx) = self.requests.take() else {
            return;
        };
        self.share.begin(std::time::Instant::now());
        while self.share.has_credit() {
            match rx.try_recv() {
                Ok(crate::machine::Request::Query(f)) => {
                    let start = std::time::Instant::now();
                    f(self);
                    self.share.charge(start.elapsed());
                }
                Ok(change) => self.deferred.push_back(change),
                Err(_) => break,
            }
        }
        self.requests = Some(rx);
        self.share.end(std::time::Instant::now());
    }

    /// Whether a /proc query may stop the running engine early: a server is attached,
    /// /proc has credit, and nothing counts runs (a profile takes one sample per run; a
    /// recording counts steps).
    fn interruptible(&self, tid: Pid) -> bool {
        self.requests.is_some()
            && self.share.has_credit()
            && self.tape.is_none()
            && self.tasks.get(&tid).is_some_and(|t| t.p9.profile.is_none())
    }

    /// Run `tid`'s CPU for `quantum` blocks from virtual time `now`. A /proc query that
    /// arrives meanwhile may stop the engine at a block boundary; it is answered there and
    /// the run goes on with the blocks left and the virtual time they started at, so the
    /// guest runs the same blocks, sees the same clock and ends the quantum at the same
    /// block as without the query (docs/DESIGN.md "Threads"). Returns the exit and the
    /// blocks run in all.
    fn run_quantum(&mut self, tid: Pid, quantum: u64, now: u64) -> Option<(RunExit, u64)> {
        let mut done = 0;
        loop {
            let interruptible = self.interruptible(tid);
            if interruptible && self.interrupter.take_asked() {
                self.serve_queries();
            }
            let stop = self.interrupter.clone();
            let p = self.parts(tid)?;
            p.s.cpu.set_time(now + done * param::NS_PER_BLOCK);
            let (exit, blocks) = if interruptible {
                p.s.cpu.run_interruptible(quantum - done, &stop)
            } else {
                p.s.cpu.run(quantum - done)
            };
            done += blocks;
            // Stopped early by a query (not by the guest, not at the quantum's end).
            if interruptible
                && matches!(exit, RunExit::Quantum)
                && done < quantum
                && self.interrupter.take_asked()
            {
                self.serve_queries();
                continue;
            }
            return Some((exit, done));
        }
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

    /// Run task `tid`: finish a system call it was blocked in (or stopped at by
    /// startsyscall), stop it for its debugger, deliver its notes and signals, and run its
    /// CPU for one quantum or until it traps.
    fn step(&mut self, tid: Pid) {
        let Some(t) = self.tasks.get_mut(&tid) else {
            return;
        };
        if let Some((sys, nr, args)) = t.retry.take() {
            self.syscall_with(tid, Some(sys), nr, args);
            return;
        }
        if let Some((sys, nr, args)) = t.sys_entry.take() {
            self.syscall_with(tid, sys, nr, args);
            return;
        }
        if t.stop_req {
            t.stop_req = false;
            t.state = PState::Stopped;
            return;
        }
        // A pending note: its debugger gets the process before delivery (startstop),
        // otherwise it becomes the Linux signal the guest expects.
        if !t.p9.notes.is_empty() {
            if t.p9.trace == crate::debug::Trace::StartStop {
                t.state = PState::Stopped;
                return;
            }
            self.notes_to_signals(tid);
        }
        if !self.deliver_signals(tid) {
            return;
        }
        let quantum = self.quantum_now();
        let quantum = self.edf_quantum(tid, quantum);
        self.last_run = Some(tid);
        let now = self.k.clock.ns;
        let Some(p) = self.parts(tid) else { return };
        p.t.state = PState::Running;
        p.s.cpu.set_time(now);
        p.s.cpu.set_watchpoints(&p.t.p9.watchpts);
        let stepping = std::mem::take(&mut p.t.p9.step);
        let (exit, blocks) = if stepping {
            p.s.cpu.run_one()
        } else {
            match self.run_quantum(tid, quantum, now) {
                Some(r) => r,
                None => return,
            }
        };
        let Some(p) = self.parts(tid) else { return };
        p.s.vm.sync_stack(p.s.cpu.stack_bounds().0);
        p.t.blocks += blocks;
        p.t.state = PState::Ready;
        let pc = p.s.cpu.pc();
        self.k.clock.ns += blocks * param::NS_PER_BLOCK;
        self.profile_tick(tid, pc);
        match exit {
            RunExit::Syscall => {
                let entry_ns = self.k.clock.ns;
                let Some(p) = self.parts(tid) else { return };
                p.t.last_trap = crate::debug::TRAP_SYSCALL;
                let (nr, args) = p.s.cpu.syscall_args();
                let sys = p.s.cpu.sys(nr);
                if p.t.p9.trace == crate::debug::Trace::StartSyscall {
                    // Stop at the entry; the call runs when the debugger resumes it.
                    let argc = sys.map_or(6, |s| s.argc());
                    p.t.p9.syscall_text = crate::debug::syscall_entry_text(
                        tid,
                        &p.g.name,
                        pc,
                        &p.s.cpu,
                        sys,
                        &args[..argc],
                    );
                    p.t.sys_entry = Some((sys, nr, args));
                    p.t.p9.syscall_start_ns = entry_ns;
                    p.t.state = PState::Stopped;
                    return;
                }
                self.syscall_with(tid, sys, nr, args);
            }
            RunExit::Quantum => self.set_last_trap(tid, crate::debug::TRAP_CLOCK),
            exit => {
                let Some(cpu) = self.cpu_of(tid) else { return };
                if let Some(t) = cpu.trap(exit) {
                    self.set_last_trap(tid, t.ureg_type);
                    self.trap(tid, t.note, t.sig, t.pc);
                    // The fault's own siginfo, over the plain one posting gave it.
                    if let (Some(si), Some(task)) = (t.si, self.tasks.get_mut(&tid)) {
                        if task.sig_pending & crate::signal::bit(t.sig) != 0 {
                            if let Some(f) = task.sig_from.get_mut(t.sig as usize) {
                                *f = si;
                            }
                        }
                    }
                }
            }
        }
        if let Some(t) = self.tasks.get_mut(&tid) {
            if stepping && matches!(t.state, PState::Ready) {
                t.state = PState::Stopped;
            }
        }
    }

    /// ctl `profile`: 9front's profclock adds to the counter of the user pc at each clock
    /// tick; Glass's clock is virtual, so at each return from guest code at least one tick
    /// (PROFILE_TICK_NS of virtual time) after the last sample, the pc there is counted.
    fn profile_tick(&mut self, tid: Pid, pc: u64) {
        let now = self.k.clock.ns;
        let Some(t) = self.tasks.get_mut(&tid) else {
            return;
        };
        let Some((base, counts)) = t.p9.profile.as_mut() else {
            return;
        };
        if now < t.p9.profile_next_ns {
            return;
        }
        t.p9.profile_next_ns = now + param::PROFILE_TICK_NS;
        if let Some(c) = pc
            .checked_sub(*base)
            .and_then(|off| counts.get_mut((off >> 3) as usize))
        {
            *c = c.saturating_add(1);
        }
    }

    fn set_last_trap(&mut self, tid: Pid, ty: u64) {
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.last_trap = ty;
        }
    }

    fn syscall_with(&mut self, tid: Pid, sys: Option<Sys>, nr: u64, args: [u64; 6]) {
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.syscalls += 1;
        }
        if let Some(tl) = self.k.trace.timeline.as_mut() {
            tl.call_start(tid.0, self.k.clock.ns);
        }
        self.k.clock.ns += param::NS_PER_SYSCALL;
        let out = match sys {
            Some(s) => syscalls::dispatch(self, tid, s, args),
            None => Outcome::NoSys,
        };
        match (sys, &out) {
            (Some(Sys::SchedYield), _) => self.sched_yield(tid),
            (Some(Sys::Execve | Sys::Execveat), Outcome::NoReturn) => self.timeline_exec(tid),
            _ => {}
        }
        let name = match sys {
            Some(s) => s.name(),
            None => self
                .arch_of(tid)
                .and_then(|a| syscalls::names::name(a, nr))
                .unwrap_or("unknown"),
        };
        let argc = sys.map_or(6, |s| s.argc());
        let ret: i64 = match &out {
            &Outcome::Ret(v) => {
                if let Some(cpu) = self.cpu_of(tid) {
                    cpu.set_syscall_ret(v);
                }
                v as i64
            }
            Outcome::NoReturn => 0,
            Outcome::Block(w) => {
                if let Some(t) = self.tasks.get_mut(&tid) {
                    t.retry = sys.map(|s| (s, nr, args));
                    t.state = PState::Blocked(w.clone());
                }
                return;
            }
            Outcome::NoSys => {
                let e = self.k.unimplemented.entry(nr).or_insert((name, 0));
                e.1 += 1;
                if e.1 == 1 && !self.k.quiet_syscalls {
                    let _ = writeln!(
                        self.k.console.stderr,
                        "glass: unimplemented system call {name} (#{nr}) in pid {}; returning ENOSYS",
                        tid.0
                    );
                }
                if let Some(cpu) = self.cpu_of(tid) {
                    cpu.set_syscall_ret(Errno::ENOSYS.ret());
                }
                Errno::ENOSYS.ret() as i64
            }
            &Outcome::ThreadExit(code) | &Outcome::Exit(code) => {
                self.k.trace.syscall(&Event {
                    ns: self.k.clock.ns,
                    pid: tid.0,
                    name,
                    nr,
                    args: &args[..argc],
                    ret: 0,
                });
                if matches!(out, Outcome::ThreadExit(_)) {
                    self.thread_exit(tid, code);
                } else {
                    self.exit(tid, ExitStatus::Code(code));
                }
                return;
            }
        };
        if let Some(t) = self.tasks.get_mut(&tid) {
            if t.p9.trace == crate::debug::Trace::StartSyscall {
                // Stop again at the call's exit, with the result in the `syscall` file.
                let now = self.k.clock.ns;
                t.p9.syscall_text =
                    crate::debug::syscall_exit_text(ret, t.p9.syscall_start_ns, now);
                if !t.state.is_zombie() {
                    t.state = PState::Stopped;
                }
            }
        }
        if self.tasks.contains_key(&tid) {
            self.k.trace.syscall(&Event {
                ns: self.k.clock.ns,
                pid: tid.0,
                name,
                nr,
                args: &args[..argc],
                ret,
            });
        }
    }

    /// End task `tid`'s process with `status` (ctl `kill`, a fatal signal).
    pub fn kill(&mut self, tid: Pid, status: ExitStatus) {
        self.exit(tid, status);
    }

    /// exit(2) of one thread: its clear_child_tid word is zeroed and woken, and it goes
    /// away; the last thread's exit ends the process. A leader that exits before its other
    /// threads stays, Moribund, until they end (as Linux keeps a zombie leader).
    fn thread_exit(&mut self, tid: Pid, code: i32) {
        let Some(tgid) = self.tasks.get(&tid).map(|t| t.tgid) else {
            return;
        };
        let others = self.tasks.values().any(|t| {
            t.tgid == tgid && t.tid != tid && !matches!(t.state, PState::Blocked(Wait::GroupExit))
        });
        if !others {
            return self.exit(tid, ExitStatus::Code(code));
        }
        self.release_thread(tid);
        if tid == tgid {
            if let Some(t) = self.tasks.get_mut(&tid) {
                t.state = PState::Blocked(Wait::GroupExit);
                t.retry = None;
            }
        } else {
            self.k.trace.exit(tid.0, code);
            self.tasks.remove(&tid);
        }
    }

    /// What the kernel does for a thread that ends while its address space lives on:
    /// clear_child_tid (CLONE_CHILD_CLEARTID, set_tid_address) is zeroed and one waiter on
    /// it woken, which is how pthread_join learns of the end.
    fn release_thread(&mut self, tid: Pid) {
        self.release_robust_futexes(tid);
        let Some(addr) = self.tasks.get(&tid).map(|t| t.clear_tid) else {
            return;
        };
        if addr != 0 {
            if let Some(cpu) = self.cpu_of(tid) {
                if cpu.write_u32(addr, 0).is_ok() {
                    crate::syscalls::sched::futex_wake(self, tid, addr, 1, u32::MAX);
                }
            }
        }
    }

    /// The robust futexes a dying thread holds (set_robust_list(2), the kernel's
    /// exit_robust_list): each word it owns gets FUTEX_OWNER_DIED, and a waiter is woken,
    /// so the next locker of a robust mutex sees EOWNERDEAD.
    fn release_robust_futexes(&mut self, tid: Pid) {
        const FUTEX_WAITERS: u32 = 0x8000_0000;
        const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
        const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
        /// The kernel's ROBUST_LIST_LIMIT: a list longer (or circular) is abandoned.
        const LIMIT: usize = 2048;
        let Some(head) = self
            .tasks
            .get(&tid)
            .map(|t| t.robust_list)
            .filter(|&h| h != 0)
        else {
            return;
        };
        let Some(cpu) = self.cpu_of(tid) else { return };
        let (Ok(first), Ok(offset), Ok(pending)) = (
            cpu.read_u64(head),
            cpu.read_u64(head + 8),
            cpu.read_u64(head + 16),
        ) else {
            return;
        };
        let mut words = Vec::new();
        let mut entry = first & !1;
        for _ in 0..LIMIT {
            if entry == head || entry == 0 {
                break;
            }
            if entry != pending & !1 {
                words.push(entry.wrapping_add(offset));
            }
            match cpu.read_u64(entry) {
                Ok(next) => entry = next & !1,
                Err(_) => break,
            }
        }
        if pending & !1 != 0 {
            words.push((pending & !1).wrapping_add(offset));
        }
        for w in words {
            let Some(cpu) = self.cpu_of(tid) else { return };
            let Ok(v) = cpu.read_u32(w) else { continue };
            if v & FUTEX_TID_MASK != tid.0 {
                continue;
            }
            if cpu
                .write_u32(w, (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED)
                .is_ok()
                && v & FUTEX_WAITERS != 0
            {
                crate::syscalls::sched::futex_wake(self, tid, w, 1, u32::MAX);
            }
        }
    }

    /// Linux frees a process's memory when it exits (exit_mm), not when it is reaped: the
    /// address space of `pid`, which just became a zombie, goes now (its engine back to the
    /// pool or dropped, its memory uncharged), unless another live process still runs in
    /// it (a vfork parent) or the process broke (kept for /proc, as reap does). A zombie
    /// needs only its task and group: its wait status, its ids, its times.
    fn free_exited_space(&mut self, pid: Pid) {
        if self.tasks.get(&pid).is_none_or(|t| t.p9.broken.is_some()) {
            return;
        }
        let Some((id, image)) = self.groups.get(&pid).map(|g| (g.space, g.image.clone())) else {
            return;
        };
        let in_use = self
            .groups
            .values()
            .any(|g| g.space == id && self.tasks.get(&g.pid).is_some_and(|t| !t.state.is_zombie()));
        if in_use {
            return;
        }
        let Some(space) = self.spaces.remove(&id) else {
            return;
        };
        let text = space.vm.text_ranges();
        self.retire(space.cpu, image, text);
        self.recharge(id);
    }

    fn exit(&mut self, tid: Pid, status: ExitStatus) {
        // The whole thread group ends: the other threads go at once, the leader remains
        // as the process's zombie.
        let Some(leader) = self.tasks.get(&tid).map(|t| t.tgid) else {
            return;
        };
        let others: Vec<Pid> = self
            .tasks
            .values()
            .filter(|t| t.tgid == leader && t.tid != leader)
            .map(|t| t.tid)
            .collect();
        if let (Some(broken), Some(l)) = (
            self.tasks.get(&tid).and_then(|t| t.p9.broken.clone()),
            self.tasks.get_mut(&leader),
        ) {
            l.p9.broken = Some(broken);
        }
        for t in others {
            self.tasks.remove(&t);
        }
        if let Some(space) = self.group_of(leader).map(|g| g.space) {
            if let Some(s) = self.spaces.get_mut(&space) {
                if s.loaded != leader {
                    // The leader's registers (what /proc shows of a Broken process).
                    if let Some(regs) = self.tasks.get(&leader).and_then(|t| t.regs.as_ref()) {
                        let _ = s.cpu.load_regs(regs);
                    }
                    s.loaded = leader;
                }
            }
        }
        let tid = leader;
        let Some(p) = self.parts(tid) else { return };
        if p.t.state.is_zombie() {
            return;
        }
        p.t.state = PState::Zombie(status);
        p.t.retry = None;
        p.g.in_vfork = false;
        p.g.fds = Default::default();
        self.k.trace.exit(tid.0, status.shell_code());
        self.queue_wait_record(tid, status);
        // Orphans go to init.
        let init = Pid(param::INIT_PID);
        let heir = if self.live(init) && tid != init {
            init
        } else {
            Pid(0)
        };
        for g in self.groups.values_mut().filter(|g| g.ppid == tid) {
            g.ppid = heir;
        }
        self.notify_parent(tid);
        // Zombies nobody can reap go away at once.
        let orphans: Vec<Pid> = self
            .groups
            .values()
            .filter(|g| g.ppid == Pid(0) && g.pid != init)
            .filter(|g| self.tasks.get(&g.pid).is_some_and(|t| t.state.is_zombie()))
            .map(|g| g.pid)
            .collect();
        for c in orphans {
            self.reap(c);
        }
        self.free_exited_space(tid);
        // When init ends, the machine ends: like a container, everything else is killed.
        if tid == init {
            let live: Vec<Pid> = self
                .tasks
                .values()
                .filter(|t| !t.state.is_zombie())
                .map(|t| t.tid)
                .collect();
            for t in live {
                self.exit(t, ExitStatus::Signal(SIGKILL));
            }
        }
    }
}
