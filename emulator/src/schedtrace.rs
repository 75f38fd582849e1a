//! Scheduling events of the machine: what Plan 9's `/proc/trace` serves (9front
//! `sys/include/trace.h` event numbers, `port/devproc.c` record layout) and what a timeline
//! is drawn from. Every event is stamped in virtual nanoseconds, so the stream is as
//! deterministic as the run (docs/DESIGN.md determinism contract).
//!
//! The scheduler does not announce each state change where it happens (tasks change state
//! in many places: system calls, wakeups, signals, ctl messages). It calls
//! [`Machine::sched_observe`] at fixed points of its loop, which compares every task's state
//! with the one it saw last and emits Ready, Sleep (with the state the task blocks in) and
//! Dead; [`Machine::sched_switch`] emits Run when the processor passes to another task.
//! While nobody consumes the stream (no /proc/trace reader, no timeline) it tracks nothing.

use crate::machine::{PState, Wait};
use proc_model::machine::Pid;
use std::collections::{BTreeMap, VecDeque};

/// Plan 9's trace event types (9front `sys/include/trace.h`: SAdmit = 0 … SUser = 13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Etype {
    /// Admitted to real-time (EDF) scheduling.
    Admit = 0,
    /// A real-time process's new period begins.
    Release = 1,
    /// Scheduled by EDF.
    Edf = 2,
    /// Starts running.
    Run = 3,
    /// Becomes ready.
    Ready = 4,
    /// Blocks (sleeps).
    Sleep = 5,
    /// Yields the processor.
    Yield = 6,
    /// Its slice (real-time cost) ran out.
    Slice = 7,
    /// Missed or reached its deadline.
    Deadline = 8,
    /// Expelled from real-time scheduling.
    Expel = 9,
    /// Exited.
    Dead = 10,
    /// Interrupt start / end (never emitted: Glass has no device interrupts).
    Ints = 11,
    Inte = 12,
    /// A user-defined event.
    User = 13,
}

/// 9front devproc.c Nevents: the events /proc/trace holds before new ones are dropped.
pub const NEVENTS: usize = 0x4000;

/// Size of one /proc/trace record: 9front `Traceevent {ulong pid; ulong etype; vlong time}`
/// (Plan 9's ulong is 32 bits).
pub const RECORD_BYTES: usize = 16;

/// Why a task sleeps: the state /proc/N/status shows while it is blocked. A Sleep record
/// carries the code in the upper 16 bits of its etype (a Glass extension: 9front's trace(1)
/// reads `etype & 0xffff`, so it still sees SSleep).
pub const REASONS: [&str; 9] = [
    "", "Pread", "Pwrite", "Await", "Sleep", "Rendez", "Poll", "Moribund", "Stopped",
];

/// The [`REASONS`] code of a blocked (or stopped) state.
pub fn reason(state: &PState) -> u16 {
    let name = match state {
        PState::Blocked(w) => w.plan9_name(),
        PState::Stopped | PState::JobStopped(_) => "Stopped",
        _ => "",
    };
    REASONS.iter().position(|r| *r == name).unwrap_or(0) as u16
}

/// One event: who, what, when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    pub pid: u32,
    pub etype: Etype,
    /// For Sleep, the [`REASONS`] code of the state it blocks in; 0 otherwise.
    pub reason: u16,
    /// Virtual nanoseconds.
    pub ns: u64,
}

impl Record {
    /// The 16-byte /proc/trace record, little-endian (the byte order of every guest arch
    /// Glass runs, as Plan 9 writes its native one).
    pub fn bytes(&self) -> [u8; RECORD_BYTES] {
        let mut b = [0u8; RECORD_BYTES];
        b[0..4].copy_from_slice(&self.pid.to_le_bytes());
        let etype = self.etype as u32 | u32::from(self.reason) << 16;
        b[4..8].copy_from_slice(&etype.to_le_bytes());
        b[8..16].copy_from_slice(&self.ns.to_le_bytes());
        b
    }
}

/// A task's scheduling state as the stream last reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    Runnable,
    Asleep(u16),
    Dead,
}

fn seen_of(state: &PState) -> Seen {
    match state {
        PState::Ready | PState::Running => Seen::Runnable,
        PState::Zombie(_) | PState::Blocked(Wait::GroupExit) => Seen::Dead,
        s => Seen::Asleep(reason(s)),
    }
}

/// The machine's scheduling event stream.
#[derive(Debug, Default)]
pub struct SchedTrace {
    /// Events waiting for a /proc/trace reader (bounded by [`NEVENTS`]).
    pub events: VecDeque<Record>,
    /// /proc/trace is open (9front topens): only then are events kept for it.
    pub open: bool,
    /// What each task was last reported as, and whether its ctl `trace` was on.
    seen: BTreeMap<Pid, (Seen, bool)>,
    /// The task that holds the processor, as reported by the last Run.
    running: Option<Pid>,
}

impl crate::machine::Machine {
    /// Note a scheduling event of `pid` at the current virtual time.
    pub fn sched_event(&mut self, pid: Pid, etype: Etype) {
        self.sched_event_why(pid, etype, 0);
    }

    /// Note a scheduling event with its reason (a Sleep's [`REASONS`] code).
    pub fn sched_event_why(&mut self, pid: Pid, etype: Etype, reason: u16) {
        let rec = Record {
            pid: pid.0,
            etype,
            reason,
            ns: self.k.clock.ns,
        };
        if let Some(tl) = self.k.trace.timeline.as_mut() {
            tl.sched(&rec);
        }
        let traced = match self.tasks.get(&pid) {
            Some(t) => t.p9.sched_trace,
            None => self.schedtrace.seen.get(&pid).is_some_and(|s| s.1),
        };
        // devproc.c _proctrace: only traced processes, only while the file is open, and
        // a full buffer drops the new event.
        if traced && self.schedtrace.open && self.schedtrace.events.len() < NEVENTS {
            self.schedtrace.events.push_back(rec);
        }
    }

    /// Someone consumes the stream: /proc/trace is open, or a timeline is being written.
    fn sched_watched(&self) -> bool {
        self.schedtrace.open || self.k.trace.timeline.is_some()
    }

    /// Task `tid` gets the processor: the one that had it and is still runnable was
    /// preempted (Ready), and `tid` runs (Run).
    pub fn sched_switch(&mut self, tid: Pid) {
        if self.schedtrace.running == Some(tid) || !self.sched_watched() {
            return;
        }
        if let Some(prev) = self.schedtrace.running.take() {
            if self.tasks.get(&prev).is_some_and(|t| t.state.runnable()) {
                self.sched_event(prev, Etype::Ready);
            }
        }
        self.schedtrace.running = Some(tid);
        self.sched_event(tid, Etype::Run);
    }

    /// Task `tid` gave up the processor (sched_yield): Yield; the next pick runs again.
    pub fn sched_yield(&mut self, tid: Pid) {
        self.sched_event(tid, Etype::Yield);
        if self.schedtrace.running == Some(tid) {
            self.schedtrace.running = None;
        }
    }

    /// Compare every task's state with the last one reported and report the changes: a
    /// new task (`creator` made it, in the step just run) and a woken one are Ready, a
    /// blocked or stopped one Sleeps, an exited one is Dead.
    pub fn sched_observe(&mut self, creator: Option<Pid>) {
        // Nobody watches: keep nothing (opening /proc/trace starts the tracking).
        if !self.sched_watched() {
            if !self.schedtrace.seen.is_empty() {
                self.schedtrace.seen.clear();
                self.schedtrace.running = None;
            }
            return;
        }
        // The common case, nothing changed, without allocating.
        let seen = &self.schedtrace.seen;
        if self.tasks.len() == seen.len()
            && self.tasks.values().zip(seen).all(|(t, (tid, s))| {
                t.tid == *tid && seen_of(&t.state) == s.0 && t.p9.sched_trace == s.1
            })
        {
            return;
        }
        let now: Vec<(Pid, Seen, bool)> = self
            .tasks
            .values()
            .map(|t| (t.tid, seen_of(&t.state), t.p9.sched_trace))
            .collect();
        let mut gone: Vec<Pid> = Vec::new();
        for (&tid, &(s, _)) in &self.schedtrace.seen {
            if s != Seen::Dead && !self.tasks.contains_key(&tid) {
                gone.push(tid);
            }
        }
        for tid in gone {
            self.sched_event(tid, Etype::Dead);
        }
        self.schedtrace
            .seen
            .retain(|tid, _| now.iter().any(|n| n.0 == *tid));
        for (tid, s, traced) in now {
            let before = self.schedtrace.seen.insert(tid, (s, traced)).map(|x| x.0);
            if before == Some(s) {
                continue;
            }
            if before.is_none() {
                self.timeline_new_task(tid, creator);
            }
            if s != Seen::Runnable && self.schedtrace.running == Some(tid) {
                self.schedtrace.running = None;
            }
            match s {
                Seen::Runnable => self.sched_event(tid, Etype::Ready),
                Seen::Asleep(r) => self.sched_event_why(tid, Etype::Sleep, r),
                Seen::Dead => self.sched_event(tid, Etype::Dead),
            }
        }
    }

    /// A task appeared: name its track and draw the fork arrow from its creator's call.
    fn timeline_new_task(&mut self, tid: Pid, creator: Option<Pid>) {
        if self.k.trace.timeline.is_none() {
            return;
        }
        let Some(t) = self.tasks.get(&tid) else {
            return;
        };
        let tgid = t.tgid;
        let name = self.groups.get(&tgid).map(|g| g.name.clone());
        let from = creator.and_then(|c| self.tasks.get(&c).map(|t| (c.0, t.tgid.0)));
        let ns = self.k.clock.ns;
        if let Some(tl) = self.k.trace.timeline.as_mut() {
            tl.task(tid.0, tgid.0, name.as_deref().unwrap_or("?"), from, ns);
        }
    }

    /// Task `tid` exec'd a new program: rename its process track and mark the moment.
    pub fn timeline_exec(&mut self, tid: Pid) {
        let Some(name) = self.group_of(tid).map(|g| g.name.clone()) else {
            return;
        };
        let Some(tgid) = self.tasks.get(&tid).map(|t| t.tgid) else {
            return;
        };
        let ns = self.k.clock.ns;
        if let Some(tl) = self.k.trace.timeline.as_mut() {
            tl.exec(tid.0, tgid.0, &name, ns);
        }
    }

    /// Up to `max` records for a /proc/trace read, oldest first, removed from the buffer.
    pub fn trace_take(&mut self, max: usize) -> Vec<u8> {
        let n = max.min(self.schedtrace.events.len());
        let mut out = Vec::with_capacity(n * RECORD_BYTES);
        for r in self.schedtrace.events.drain(..n) {
            out.extend_from_slice(&r.bytes());
        }
        out
    }

    /// /proc/trace was opened (or closed): events are kept only while it is open, and a
    /// new open starts from an empty buffer (devproc.c procopen, procclose).
    pub fn trace_set_open(&mut self, open: bool) {
        self.schedtrace.open = open;
        self.schedtrace.events.clear();
        if !open {
            return;
        }
        // The reader starts from each traced task's state now; without a timeline nothing
        // was tracked before, so this is where tracking starts.
        let ns = self.k.clock.ns;
        let tracking = self.k.trace.timeline.is_none();
        for t in self.tasks.values() {
            let s = seen_of(&t.state);
            if tracking {
                self.schedtrace.seen.insert(t.tid, (s, t.p9.sched_trace));
            }
            if t.p9.sched_trace && self.schedtrace.events.len() < NEVENTS {
                let (etype, reason) = match s {
                    Seen::Runnable => (Etype::Ready, 0),
                    Seen::Asleep(r) => (Etype::Sleep, r),
                    Seen::Dead => (Etype::Dead, 0),
                };
                self.schedtrace.events.push_back(Record {
                    pid: t.tid.0,
                    etype,
                    reason,
                    ns,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_bytes_are_pid_etype_time_little_endian() {
        let r = Record {
            pid: 7,
            etype: Etype::Sleep,
            reason: 1,
            ns: 0x0102_0304_0506_0708,
        };
        assert_eq!(
            r.bytes(),
            [7, 0, 0, 0, 5, 0, 1, 0, 8, 7, 6, 5, 4, 3, 2, 1],
            "9front Traceevent {{ulong pid; ulong etype; vlong time}}"
        );
    }

    #[test]
    fn reason_of_stopped_and_ready_states() {
        assert_eq!(REASONS[reason(&PState::Stopped) as usize], "Stopped");
        assert_eq!(reason(&PState::Ready), 0);
        assert_eq!(
            REASONS[reason(&PState::Blocked(Wait::Child)) as usize],
            "Await"
        );
    }
}
