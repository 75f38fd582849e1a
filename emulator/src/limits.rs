//! Machine-wide limits (`glass run --max-memory/--max-procs/--max-time/--timeout`) and the
//! per-process resource limits a guest sets with setrlimit(2)/prlimit64(2) (Linux
//! include/uapi/asm-generic/resource.h and kernel/sys.c) that are enforced outside a single
//! system call: RLIMIT_CPU on virtual time (SIGXCPU at the soft limit and every second
//! after it, SIGKILL at the hard one, as kernel/time/posix-cpu-timers.c does) and the
//! memory ceiling, which when exceeded by growth no call could refuse (the stack) kills the
//! largest process, deterministically, with a `glass:` message.

use crate::budget::Budget;
use crate::errno::{Errno, SysResult};
use crate::machine::{ExitStatus, Machine, PState, Pid};
use crate::param;
use crate::proc::{Group, SpaceId};
use std::io::Write as _;
use std::time::{Duration, Instant};

/// RLIMIT_* numbers (asm-generic/resource.h).
pub const RLIMIT_CPU: usize = 0;
pub const RLIMIT_FSIZE: usize = 1;
pub const RLIMIT_DATA: usize = 2;
pub const RLIMIT_STACK: usize = 3;
pub const RLIMIT_NPROC: usize = 6;
pub const RLIMIT_NOFILE: usize = 7;
pub const RLIMIT_AS: usize = 9;
/// RLIM_INFINITY.
pub const INFINITY: u64 = u64::MAX;

/// The machine-wide limits of one run.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Ceiling over guest memory and the overlay, bytes.
    pub max_memory: u64,
    /// Processes (thread groups) and threads alive at once.
    pub max_procs: u32,
    /// End the run when virtual time passes this (ns).
    pub max_time_ns: Option<u64>,
    /// End the run when this much host time has passed.
    pub timeout: Option<Duration>,
}

/// `--max-memory`'s default: 4 GiB, or three quarters of the host's RAM if that is less.
pub const DEFAULT_MAX_MEMORY: u64 = 4 << 30;
/// `--max-procs`'s default (our choice: a fork bomb stops there, at a few GiB at most).
pub const DEFAULT_MAX_PROCS: u32 = 1024;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_memory: default_max_memory(),
            max_procs: DEFAULT_MAX_PROCS,
            max_time_ns: None,
            timeout: None,
        }
    }
}

/// [`DEFAULT_MAX_MEMORY`], or 3/4 of MemTotal in /proc/meminfo (proc(5)) when smaller.
pub fn default_max_memory() -> u64 {
    let host = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb.saturating_mul(1024) / 4 * 3);
    host.map_or(DEFAULT_MAX_MEMORY, |h| h.min(DEFAULT_MAX_MEMORY))
}

/// A duration as `--max-time`/`--timeout` take it: a number with an optional unit, ms, s
/// (the default), m or h, as timeout(1) takes it (plus ms).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, mul_ms) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000)
    } else {
        (s, 1000)
    };
    let n: f64 = num.parse().ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let ms = n * mul_ms as f64;
    (ms < 1e15).then(|| Duration::from_micros((ms * 1000.0) as u64))
}

/// Host bytes an engine costs beyond the guest memory mapped in it (its CPU state, soft
/// TLB and the translated code it has filled), charged per address space so a fork bomb
/// of small processes meets `--max-memory` too. Measured (debug build, x86_64 host):
/// glass's peak RSS with 101 forked children of a static glibc program waiting in pause,
/// less that with 1, is 1.66 MiB a process, engine and touched guest pages together;
/// 2 MiB rounds that up (tests/tests/limits.rs checks the bound it serves).
pub const ENGINE_CHARGE: u64 = 2 << 20;

/// The soft limit `r` of group `g`.
pub fn soft(g: &Group, r: usize) -> u64 {
    g.rlimits[r].0
}

/// May address space growth of `more` bytes happen for group `g` whose space holds `size`
/// bytes (RLIMIT_AS) and whose machine has `budget`? ENOMEM as mmap(2) answers otherwise.
pub fn check_map(budget: &Budget, g: &Group, size: u64, more: u64) -> SysResult<()> {
    if size.saturating_add(more) > soft(g, RLIMIT_AS) {
        return Err(Errno::ENOMEM);
    }
    budget.check_guest(more)
}

impl Machine {
    /// Bring the budget's guest charge of address space `id` up to date (its mapped bytes
    /// plus [`ENGINE_CHARGE`], or nothing once it is gone).
    pub fn recharge(&mut self, id: SpaceId) {
        // A space whose processes have all ended costs nothing more (Linux frees a
        // zombie's memory at exit; glass keeps the engine for /proc until the reap).
        let live = self
            .groups
            .values()
            .any(|g| g.space == id && self.tasks.get(&g.pid).is_some_and(|t| !t.state.is_zombie()));
        let new = match self.spaces.get(&id) {
            Some(s) if live => s.vm.charge() + ENGINE_CHARGE,
            _ => 0,
        };
        let old = if self.spaces.contains_key(&id) {
            self.charges.insert(id, new).unwrap_or(0)
        } else {
            self.charges.remove(&id).unwrap_or(0)
        };
        self.k.vfs.budget().recharge_guest(old, new);
    }

    /// Forget the charges of address spaces that no longer exist.
    fn recharge_gone(&mut self) {
        let gone: Vec<SpaceId> = self
            .charges
            .keys()
            .filter(|id| !self.spaces.contains_key(id))
            .copied()
            .collect();
        for id in gone {
            self.recharge(id);
        }
    }

    /// Processes and threads alive (not zombies).
    pub fn live_tasks(&self) -> usize {
        self.tasks.values().filter(|t| !t.state.is_zombie()).count()
    }

    /// May `tid` create one more task? EAGAIN past `--max-procs` or the caller's
    /// RLIMIT_NPROC (fork(2): "the RLIMIT_NPROC soft resource limit was reached").
    pub fn check_new_task(&self, tid: Pid) -> SysResult<()> {
        let live = self.live_tasks() as u64;
        if live >= u64::from(self.limits.max_procs) {
            return Err(Errno::EAGAIN);
        }
        let nproc = self
            .tasks
            .get(&tid)
            .and_then(|t| self.groups.get(&t.tgid))
            .map_or(INFINITY, |g| soft(g, RLIMIT_NPROC));
        // Every guest process runs as the one user (uid 0): all of them count. Linux
        // exempts its root (kernel/fork.c copy_process, INIT_USER); glass does not, so a
        // guest that sets the limit is held to it (README "Limits").
        if live >= nproc {
            return Err(Errno::EAGAIN);
        }
        Ok(())
    }

    /// The machine's checks after task `tid` ran or made a call: memory, its process's
    /// CPU time, the run's virtual and wall time.
    pub fn enforce_limits(&mut self, tid: Pid) {
        if let Some(space) = self
            .tasks
            .get(&tid)
            .and_then(|t| self.groups.get(&t.tgid))
            .map(|g| g.space)
        {
            self.recharge(space);
        }
        if self.charges.len() != self.spaces.len() {
            self.recharge_gone();
        }
        if self.k.vfs.budget().over() {
            self.kill_largest();
        }
        self.check_cpu(tid);
        if self.limit_hit.is_none() {
            if let Some(max) = self.limits.max_time_ns {
                if self.k.clock.ns > max {
                    self.end_run(format!(
                        "virtual time limit reached (--max-time {}s): ending the run",
                        max as f64 / 1e9
                    ));
                }
            }
        }
        if self.limit_hit.is_none() {
            if let Some(t) = self.limits.timeout {
                if self.started.elapsed() > t {
                    self.end_run(format!(
                        "wall-clock timeout reached (--timeout {}s): ending the run",
                        t.as_secs_f64()
                    ));
                }
            }
        }
    }

    /// The machine is over its memory ceiling after growth nobody could refuse: kill the
    /// process with the largest charge (the lowest pid among equals), as the Linux OOM
    /// killer picks the largest. One per check: the next check kills again if need be.
    fn kill_largest(&mut self) {
        let victim = self
            .groups
            .values()
            .filter(|g| self.tasks.get(&g.pid).is_some_and(|t| !t.state.is_zombie()))
            .map(|g| (self.charges.get(&g.space).copied().unwrap_or(0), g.pid))
            .max_by_key(|&(c, pid)| (c, std::cmp::Reverse(pid)));
        let Some((charge, pid)) = victim else { return };
        let _ = writeln!(
            self.k.console.stderr,
            "glass: out of memory (--max-memory {} MiB): killed pid {} ({}, {} MiB)",
            self.k.vfs.budget().limit() >> 20,
            pid.0,
            self.groups.get(&pid).map_or("", |g| g.name.as_str()),
            charge >> 20
        );
        self.kill(pid, ExitStatus::Signal(crate::signal::SIGKILL));
        if let Some(space) = self.groups.get(&pid).map(|g| g.space) {
            self.recharge(space);
        }
        self.recharge_gone();
    }

    /// RLIMIT_CPU of `tid`'s process on virtual CPU time: SIGXCPU at the soft limit and
    /// once a second after it, SIGKILL at the hard limit.
    fn check_cpu(&mut self, tid: Pid) {
        let Some(tgid) = self.tasks.get(&tid).map(|t| t.tgid) else {
            return;
        };
        let Some(g) = self.groups.get(&tgid) else {
            return;
        };
        let (soft, hard) = g.rlimits[RLIMIT_CPU];
        if soft == INFINITY && hard == INFINITY {
            return;
        }
        let ns: u64 = self
            .tasks
            .values()
            .filter(|t| t.tgid == tgid)
            .map(cpu_ns)
            .sum();
        let secs = ns / 1_000_000_000;
        if secs >= hard {
            self.post_process_signal(tgid, crate::signal::SIGKILL);
        } else if secs >= soft {
            let next = self.groups.get(&tgid).map_or(0, |g| g.xcpu_next);
            if secs >= next.max(soft) {
                if let Some(g) = self.groups.get_mut(&tgid) {
                    g.xcpu_next = secs + 1;
                }
                self.post_process_signal(tgid, crate::signal::SIGXCPU);
            }
        }
    }

    /// End the whole run because a machine limit was reached: every process is killed and
    /// the run reports why (glass exits 124, as timeout(1) does).
    fn end_run(&mut self, why: String) {
        let _ = writeln!(self.k.console.stderr, "glass: {why}");
        self.limit_hit = Some(why);
        let live: Vec<Pid> = self
            .groups
            .keys()
            .copied()
            .filter(|p| {
                self.tasks
                    .get(p)
                    .is_some_and(|t| !matches!(t.state, PState::Zombie(_)))
            })
            .collect();
        for pid in live.into_iter().rev() {
            self.kill(pid, ExitStatus::Signal(crate::signal::SIGKILL));
        }
    }
}

/// A task's CPU time in virtual ns: its guest work and its system calls.
pub fn cpu_ns(t: &crate::proc::Task) -> u64 {
    t.blocks
        .saturating_mul(param::NS_PER_BLOCK)
        .saturating_add(t.syscalls.saturating_mul(param::NS_PER_SYSCALL))
}

/// The bytes of the initial stack an exec maps and may grow to, under RLIMIT_STACK: at
/// most [`param::STACK_SIZE`] (the region glass reserves below STACK_TOP), at least one
/// page.
pub fn stack_limit(g: &Group) -> u64 {
    soft(g, RLIMIT_STACK).clamp(param::PAGE_SIZE, param::STACK_SIZE) & !(param::PAGE_SIZE - 1)
}

/// A started clock for `--timeout`.
pub fn now() -> Instant {
    Instant::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_duration_units() {
        assert_eq!(parse_duration("10"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("-1"), None);
        assert_eq!(parse_duration("abc"), None);
    }

    #[test]
    fn default_max_memory_at_most_four_gib() {
        let d = default_max_memory();
        assert!(d > 0 && d <= DEFAULT_MAX_MEMORY);
    }
}
