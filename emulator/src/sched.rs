//! The scheduler: runs each runnable process's CPU for a quantum of guest work or until it
//! traps, handles its system calls, and advances virtual time by the work done. Preemption
//! points are counted in blocks, never taken from a host timer, so the same inputs give the
//! same interleaving on any host (DESIGN.md).

use crate::cpu::RunExit;
use crate::machine::{ExitStatus, Machine, PState};
use crate::param;
use crate::syscalls::{self, Outcome};
use crate::trace::Event;
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
        let mut next = 0usize;
        loop {
            self.service(false);
            let n = self.procs.len();
            let ready = (0..n)
                .map(|d| (next + d) % n)
                .find(|&i| matches!(self.procs[i].state, PState::Ready));
            if let Some(i) = ready {
                next = i + 1;
                self.step(i);
                self.poll_parked();
                continue;
            }
            // Nothing can run: wait for a request if someone may still ask for something.
            let live = self
                .procs
                .iter()
                .any(|p| !matches!(p.state, PState::Zombie(_)));
            if !((live || self.keep) && self.requests.is_some() && self.service(true)) {
                break;
            }
        }
        let status = self.procs.first().and_then(|p| match p.state {
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
            status: status.unwrap_or(ExitStatus::Code(0)),
            digest: self.k.trace.finish(),
            vtime_ns: self.k.clock.ns,
            unimplemented,
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

    /// Run process `i` for one quantum or until it traps, and handle the trap.
    fn step(&mut self, i: usize) {
        let p = &mut self.procs[i];
        p.state = PState::Running;
        self.last_run = Some(p.pid);
        let (exit, blocks) = p.cpu.run(self.quantum);
        p.blocks += blocks;
        self.k.clock.ns += blocks * param::NS_PER_BLOCK;
        p.state = PState::Ready;
        p.last_trap = match exit {
            RunExit::Syscall => 64,
            RunExit::Quantum => 32,
            RunExit::Interrupt(n) => u64::from(n),
            RunExit::Fault { .. } => 14,
            RunExit::InvalidInsn => 6,
            RunExit::Error(_) => 13,
        };
        match exit {
            RunExit::Syscall => self.syscall(i),
            RunExit::Quantum => {}
            RunExit::Interrupt(n) => {
                // x86 vectors: 0 divide error, 1/3 debug/breakpoint, 6 invalid opcode.
                let (sig, what) = match n {
                    0 => (SIGFPE, "divide error".to_string()),
                    1 | 3 => (SIGTRAP, "breakpoint".to_string()),
                    6 => (SIGILL, "invalid opcode".to_string()),
                    n => (SIGSEGV, format!("trap {n}")),
                };
                self.die(i, sig, &what);
            }
            RunExit::Fault { write, addr, exec } => {
                let what = format!(
                    "fault {} addr={addr:#x}",
                    if exec {
                        "exec"
                    } else if write {
                        "write"
                    } else {
                        "read"
                    }
                );
                self.die(i, SIGSEGV, &what);
            }
            RunExit::InvalidInsn => self.die(i, SIGILL, "invalid instruction"),
            RunExit::Error(e) => self.die(i, SIGSEGV, &format!("unicorn error {e:?}")),
        }
    }

    fn syscall(&mut self, i: usize) {
        let p = &mut self.procs[i];
        let (nr, args) = p.cpu.syscall_args();
        p.syscalls += 1;
        self.k.clock.ns += param::NS_PER_SYSCALL;
        let sys = p.cpu.sys(nr);
        let out = match sys {
            Some(s) => syscalls::dispatch(&mut self.k, p, s, args),
            None => Outcome::NoSys,
        };
        let name = sys.map(|s| s.name()).unwrap_or("unknown");
        let ret: i64 = match out {
            Outcome::Ret(v) => {
                p.cpu.set_syscall_ret(v);
                v as i64
            }
            Outcome::NoSys => {
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
                p.cpu.set_syscall_ret(v as u64);
                v
            }
            Outcome::Exit(code) => {
                let pid = p.pid.0;
                self.k.trace.syscall(&Event {
                    ns: self.k.clock.ns,
                    pid,
                    name,
                    nr,
                    args: &args,
                    ret: 0,
                });
                self.exit(i, ExitStatus::Code(code));
                return;
            }
        };
        let pid = self.procs[i].pid.0;
        self.k.trace.syscall(&Event {
            ns: self.k.clock.ns,
            pid,
            name,
            nr,
            args: &args,
            ret,
        });
    }

    /// End process `i` with `status` (ctl `kill`, a fatal signal).
    pub fn kill(&mut self, i: usize, status: ExitStatus) {
        self.exit(i, status);
    }

    fn exit(&mut self, i: usize, status: ExitStatus) {
        let p = &mut self.procs[i];
        p.state = PState::Zombie(status);
        p.fds = Default::default();
        self.k.trace.exit(p.pid.0, status.shell_code());
    }

    /// A guest fault nobody handles: the process dies of `sig`.
    fn die(&mut self, i: usize, sig: i32, what: &str) {
        let p = &self.procs[i];
        let _ = writeln!(
            self.k.console.stderr,
            "glass: pid {} ({}) killed by {}: {what} pc={:#x}",
            p.pid.0,
            p.name,
            signal_name(sig),
            p.cpu.pc()
        );
        self.exit(i, ExitStatus::Signal(sig));
    }
}
