//! Scheduling events of the machine: what Plan 9's `/proc/trace` serves (9front
//! `sys/include/trace.h` event numbers, `port/devproc.c` record layout) and what a timeline
//! is drawn from. Every event is stamped in virtual nanoseconds, so the stream is as
//! deterministic as the run (docs/DESIGN.md determinism contract).

use proc_model::machine::Pid;
use std::collections::VecDeque;

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

/// One event: who, what, when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    pub pid: u32,
    pub etype: Etype,
    /// Virtual nanoseconds.
    pub ns: u64,
}

/// The machine's scheduling event stream.
#[derive(Debug, Default)]
pub struct SchedTrace {
    pub events: VecDeque<Record>,
}

impl crate::machine::Machine {
    /// Note a scheduling event of `pid` at the current virtual time.
    pub fn sched_event(&mut self, pid: Pid, etype: Etype) {
        let ns = self.k.clock.ns;
        self.schedtrace.events.push_back(Record {
            pid: pid.0,
            etype,
            ns,
        });
        // Bound the buffer until a reader or a timeline consumes it.
        if self.schedtrace.events.len() > 1 << 16 {
            self.schedtrace.events.pop_front();
        }
    }
}
