//! Real-time scheduling: 9front's earliest-deadline-first scheduler (port/edf.c, the
//! real-time ctl messages of port/devproc.c procctlreq; docs/plan9-proc-9p.md §2.2) run in
//! virtual time. An admitted process gets its cost C of CPU in every period T, before its
//! deadline D: while it has budget left in the current period it runs before every
//! process that is not real-time, the earliest deadline first; what it runs is charged in
//! virtual time; at each period it is released again. A process whose budget ran out, or
//! whose deadline passed, waits for its next release (`Waitrelease`), or, with `extra`,
//! runs on at PriExtra as a best-effort process.
//!
//! Deviation: 9front decides on timers; Glass decides between quanta, and shortens the
//! quantum of whatever runs so that it ends when a real-time budget runs out, a deadline
//! passes or a release is due (to the block, [`param::NS_PER_BLOCK`]).

use crate::machine::{Machine, Pid};
use crate::param;
use crate::schedtrace::Etype;
use proc_model::machine::{ProcError, RtMsg};

/// 9front portdat.h: the queue of released EDF processes, shown as their priority.
pub const PRI_EDF: u32 = 21;
/// 9front portdat.h PriExtra: an EDF process running on best-effort after its budget.
pub const PRI_EXTRA: u32 = 19;
/// testschedulability's step limit (edf.h Maxsteps: 100 periods of 200 processes).
const MAX_STEPS: usize = 200 * 100 * 2;

/// One process's real-time parameters and state (9front `Edf`). Parameters are in µs as
/// 9front keeps them (a ctl time is cut to whole µs); the running state is in virtual ns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Edf {
    /// Period T, deadline D (relative to a release), cost C per period, in µs.
    pub period_us: u64,
    pub deadline_us: u64,
    pub cost_us: u64,
    pub admitted: bool,
    pub sporadic: bool,
    /// `deadlinenotes` (9front Sendnotes): recorded; 9front's edf.c sends no note either.
    pub sendnotes: bool,
    pub extratime: bool,
    /// This release's time r, its deadline d, the next release t, the budget S left.
    pub r: u64,
    pub d: u64,
    pub t: u64,
    pub s: u64,
    /// The deadline d was reached (its Deadline event is out).
    pub past: bool,
    /// Periods released, and deadlines reached with budget left (missed).
    pub periods: u64,
    pub missed: u64,
}

impl Edf {
    /// Released, with budget left and the deadline ahead: runs at EDF priority.
    pub fn eligible(&self, now: u64) -> bool {
        self.admitted && self.s > 0 && now < self.d
    }

    /// Admitted but waiting for its next release (9front Waitrelease): not runnable.
    pub fn waiting(&self, now: u64) -> bool {
        self.admitted && !self.eligible(now) && !self.extratime
    }

    /// edf.c release(): a new period. A periodic process stays true to its period (the
    /// next release is a whole number of periods on); a sporadic one is released at most
    /// once a period.
    fn release(&mut self, now: u64) {
        let period = self.period_us * 1000;
        self.periods += 1;
        self.r = now;
        if self.sporadic {
            self.t = self.r + period;
        } else if now >= self.t {
            let n = now - self.t;
            self.t = if n < period {
                self.t + period
            } else {
                now + period - n % period
            };
        }
        self.d = self.r + self.deadline_us * 1000;
        self.s = self.cost_us * 1000;
        self.past = false;
    }
}

/// edf.c testschedulability over (T, D, C) in µs: simulate releases and deadlines until
/// the demand is shown to fit (None) or not.
pub fn test_schedulability(tasks: &[(u64, u64, u64)]) -> Option<&'static str> {
    // (testtime, testtype: 0 deadline (Dl) before 1 release (Rl), task)
    let mut q: Vec<(u64, u8, usize)> = Vec::new();
    let enq = |q: &mut Vec<(u64, u8, usize)>, e: (u64, u8, usize)| {
        let at = q
            .iter()
            .position(|x| e.0 < x.0 || (e.0 == x.0 && e.1 < x.1))
            .unwrap_or(q.len());
        q.insert(at, e);
    };
    for i in 0..tasks.len() {
        enq(&mut q, (0, 1, i));
    }
    let (mut h, mut g) = (0u64, 0u64);
    for _ in 0..MAX_STEPS {
        if q.is_empty() {
            return None;
        }
        let (ticks, ty, i) = q.remove(0);
        let (t, d, c) = tasks[i];
        if ty == 0 {
            h += c;
            if h > ticks {
                return Some("not schedulable");
            }
            enq(&mut q, (ticks + (t - d), 1, i));
        } else {
            if ticks != 0 && g <= ticks {
                return None;
            }
            g += c;
            enq(&mut q, (ticks + d, 0, i));
        }
    }
    Some("probably not schedulable")
}

impl Machine {
    fn live_edf(&self) -> impl Iterator<Item = (Pid, &Edf)> + '_ {
        self.tasks
            .values()
            .filter(|t| !t.state.is_zombie())
            .filter_map(|t| t.p9.edf.as_ref().map(|e| (t.tid, e)))
    }

    /// edf.c edfstop: leave real-time scheduling (Expel).
    fn edf_stop(&mut self, pid: Pid) {
        let admitted = self
            .tasks
            .get_mut(&pid)
            .and_then(|t| t.p9.edf.as_mut())
            .is_some_and(|e| std::mem::replace(&mut e.admitted, false));
        if admitted {
            self.sched_event(pid, Etype::Expel);
        }
    }

    /// A real-time ctl message to `pid` (procctlreq; errors are devproc.c's and edfadmit's).
    pub fn edf_ctl(&mut self, pid: Pid, msg: RtMsg) -> Result<(), ProcError> {
        let now = self.k.clock.ns;
        let t = self.tasks.get_mut(&pid).ok_or(ProcError::Exited)?;
        if matches!(msg, RtMsg::Expel) {
            if t.p9.edf.is_some() {
                self.edf_stop(pid);
            }
            return Ok(());
        }
        if matches!(msg, RtMsg::Admit) {
            return self.edf_admit(pid, now);
        }
        let e = t.p9.edf.get_or_insert_with(Edf::default);
        match msg {
            RtMsg::Sporadic => e.sporadic = true,
            RtMsg::DeadlineNotes => e.sendnotes = true,
            RtMsg::Extra => e.extratime = true,
            RtMsg::Period(ns) | RtMsg::Deadline(ns) | RtMsg::Cost(ns) => {
                let us = ns / 1000;
                match msg {
                    RtMsg::Period(_) => e.period_us = us,
                    RtMsg::Deadline(_) => e.deadline_us = us,
                    _ => e.cost_us = us,
                }
                self.edf_stop(pid);
            }
            RtMsg::Admit | RtMsg::Expel => {}
        }
        Ok(())
    }

    /// edf.c edfadmit: check the parameters, run the admission test over every admitted
    /// process and this one, then release it now, or with another admitted process of
    /// the same period.
    fn edf_admit(&mut self, pid: Pid, now: u64) -> Result<(), ProcError> {
        let err = |s: &str| Err(ProcError::Other(s.to_string()));
        let others: Vec<(u64, u64, u64, u64)> = self
            .live_edf()
            .filter(|(p, e)| *p != pid && e.admitted)
            .map(|(_, e)| (e.period_us, e.deadline_us, e.cost_us, e.t))
            .collect();
        let Some(e) = self.tasks.get_mut(&pid).and_then(|t| t.p9.edf.as_mut()) else {
            return err("edf params");
        };
        if e.admitted {
            return err("task state");
        }
        if e.period_us == 0 {
            return err("T not set");
        }
        if e.cost_us == 0 {
            return err("C not set");
        }
        if e.deadline_us > e.period_us {
            return err("D > T");
        }
        if e.deadline_us == 0 {
            e.deadline_us = e.period_us;
        }
        if e.cost_us > e.deadline_us {
            return err("C > D");
        }
        let mut all: Vec<(u64, u64, u64)> = others.iter().map(|o| (o.0, o.1, o.2)).collect();
        all.push((e.period_us, e.deadline_us, e.cost_us));
        if let Some(why) = test_schedulability(&all) {
            return err(why);
        }
        e.admitted = true;
        match others.iter().find(|o| o.0 == e.period_us) {
            // Released in step with a process of the same period, at its next release.
            Some(o) => {
                e.t = o.3;
                e.d = now;
                e.s = 0;
                e.past = true;
                self.sched_event(pid, Etype::Admit);
            }
            None => {
                e.t = now;
                e.release(now);
                self.sched_event(pid, Etype::Admit);
                self.sched_event(pid, Etype::Release);
            }
        }
        Ok(())
    }

    /// Before a scheduling decision: deadlines reached (Deadline) and due releases
    /// (Release) of every admitted process, at the current virtual time.
    pub fn edf_update(&mut self) {
        let now = self.k.clock.ns;
        let mut events = Vec::new();
        for t in self.tasks.values_mut() {
            if t.state.is_zombie() {
                continue;
            }
            let Some(e) = t.p9.edf.as_mut().filter(|e| e.admitted) else {
                continue;
            };
            if !e.past && now >= e.d {
                e.past = true;
                if e.s > 0 {
                    e.missed += 1;
                }
                events.push((t.tid, Etype::Deadline));
            }
            if (e.past || e.s == 0) && now >= e.t {
                e.release(now);
                events.push((t.tid, Etype::Release));
            }
        }
        for (pid, ev) in events {
            self.sched_event(pid, ev);
        }
    }

    /// The runnable admitted process with budget and the earliest deadline (ties: lowest
    /// pid), if any: it runs before everything else. An EDF decision that changes who
    /// runs is an Edf event.
    pub fn edf_pick(&mut self) -> Option<Pid> {
        let now = self.k.clock.ns;
        let pick = self
            .tasks
            .values()
            .filter(|t| t.state.runnable())
            .filter_map(|t| {
                let e = t.p9.edf.as_ref()?;
                e.eligible(now).then_some((e.d, t.tid))
            })
            .min()
            .map(|(_, p)| p)?;
        if self.last_run != Some(pick) {
            self.sched_event(pick, Etype::Edf);
        }
        Some(pick)
    }

    /// Whether task `pid` waits for a release and may not run now.
    pub fn edf_waiting(&self, pid: Pid) -> bool {
        let now = self.k.clock.ns;
        self.tasks
            .get(&pid)
            .and_then(|t| t.p9.edf.as_ref())
            .is_some_and(|e| e.waiting(now))
    }

    /// The quantum (in blocks) task `pid` may run: `quantum`, cut so that it ends when
    /// its own budget runs out or deadline passes, or when another admitted process is
    /// due for release (so EDF decides on time, to the block).
    pub fn edf_quantum(&self, pid: Pid, quantum: u64) -> u64 {
        let now = self.k.clock.ns;
        let mut until: Option<u64> = None;
        let mut soon = |at: u64| until = Some(until.map_or(at, |u| u.min(at)));
        for (p, e) in self.live_edf().filter(|(_, e)| e.admitted) {
            if p == pid && e.eligible(now) {
                soon(now + e.s.min(e.d - now));
            } else if !e.eligible(now) && e.t > now {
                soon(e.t);
            }
        }
        match until {
            Some(u) => quantum.min((u - now).div_ceil(param::NS_PER_BLOCK).max(1)),
            None => quantum,
        }
    }

    /// edf.c edfrecord: charge `used` ns of virtual time that task `pid` just ran to its
    /// budget; a budget used up ends this period's slice (Slice) and the process waits for
    /// its next release. An admitted process past its budget with `extra` runs on at
    /// PriExtra (edfready).
    pub fn edf_charge(&mut self, pid: Pid, used: u64) {
        let now = self.k.clock.ns;
        let Some(t) = self.tasks.get_mut(&pid) else {
            return;
        };
        let Some(e) = t.p9.edf.as_mut().filter(|e| e.admitted) else {
            return;
        };
        if e.s == 0 {
            if e.extratime && t.p9.base_pri != PRI_EXTRA {
                t.p9.base_pri = PRI_EXTRA;
                t.p9.pri = PRI_EXTRA;
                t.p9.fixed_pri = true;
            }
            return;
        }
        if e.s <= used {
            e.s = 0;
            e.d = e.d.min(now);
            e.past = true;
            self.sched_event(pid, Etype::Slice);
        } else {
            e.s -= used;
        }
    }

    /// The earliest release of a process waiting for one (the idle machine jumps to it).
    pub fn edf_next_release(&self) -> Option<u64> {
        let now = self.k.clock.ns;
        self.live_edf()
            .filter(|(_, e)| e.waiting(now))
            .map(|(_, e)| e.t)
            .min()
    }

    /// The priority `status` shows for task `pid`: PriEdf while admitted and not on
    /// extra time (9front queues it on runq[PriEdf]), else its own.
    pub fn edf_shown_pri(&self, pid: Pid, pri: u32) -> u32 {
        let admitted = self
            .tasks
            .get(&pid)
            .and_then(|t| t.p9.edf.as_ref())
            .is_some_and(|e| e.admitted);
        if admitted && pri != PRI_EXTRA {
            PRI_EDF
        } else {
            pri
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedulability_fits_under_one_and_refuses_over() {
        assert_eq!(test_schedulability(&[(10_000, 10_000, 3000)]), None);
        assert_eq!(
            test_schedulability(&[(10_000, 10_000, 3000), (20_000, 20_000, 8000)]),
            None
        );
        assert_eq!(
            test_schedulability(&[(10_000, 10_000, 6000), (10_000, 10_000, 6000)]),
            Some("not schedulable")
        );
        // Utilization 1.0 exactly still fits.
        assert_eq!(
            test_schedulability(&[(10_000, 10_000, 5000), (10_000, 10_000, 5000)]),
            None
        );
        // Deadlines shorter than periods can fail below utilization 1.
        assert_eq!(
            test_schedulability(&[(10_000, 4000, 3000), (10_000, 4000, 3000)]),
            Some("not schedulable")
        );
    }

    #[test]
    fn release_stays_true_to_the_period() {
        let mut e = Edf {
            period_us: 10,
            deadline_us: 10,
            cost_us: 3,
            admitted: true,
            ..Edf::default()
        };
        e.t = 1000;
        e.release(1000);
        assert_eq!((e.r, e.d, e.t, e.s), (1000, 11_000, 11_000, 3000));
        // Released late: the next release keeps the phase.
        e.release(11_500);
        assert_eq!((e.r, e.d, e.t), (11_500, 21_500, 21_000));
        e.release(45_000);
        assert_eq!(e.t, 51_000);
    }
}
