//! The ctl state machine (proc(3) ctl; 9front devproc.c procctlreq; docs/plan9-proc-9p.md
//! §2.2 and §5.9): for one parsed ctl message and the target's state, what the machine must
//! do or which error it answers. It is the one copy of these rules: the emulator's adapter
//! and the tests' fake machine both ask [`ctl_effect`] and only carry out its answer, so
//! neither can grow semantics of its own.
//!
//! Glass's machine has one CPU, no swap, no profiling counters and no scheduling-event
//! trace, so `noswap`, `wired`, `trace` and `event` are accepted and change nothing.
//! `profile` starts counters over the text segment. `pri` and `fixedpri` set the base and
//! current priority (9front procpriority, clamped to 0…[`NPRIQ`]-1) and the scheduler
//! honours them; `interrupt` aborts a blocked system call or leaves the interrupt pending
//! (9front postnote with no note → procinterrupt).

use crate::machine::{CtlMsg, ProcError, ProcState};

/// PriNormal (9front port/portdat.h): the priority every Glass process has, shown in
/// `status`; raising a priority above it is eve's privilege (devproc.c procctlreq).
pub const PRI_NORMAL: u32 = 10;

/// Npriq (9front port/portdat.h): priorities run 0…Npriq-1; procpriority clamps to them.
pub const NPRIQ: u32 = 20;

/// Egreg (9front port/error.h): ctl `profile` of a process without a text segment.
pub const EGREG: &str = "the front fell off";

/// Where the target stands, as far as ctl cares (§2.2, §5.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtlState {
    /// Stopped by a request (`stop`, `hang`, a traced stop).
    Stopped,
    /// Died of an unhandled trap; kept for inspection, without an fd group (§2.2 Broken).
    Broken,
    /// Anything else: running, ready, or blocked inside a system call.
    Live,
}

impl CtlState {
    /// The ctl view of a `status` state.
    pub fn of(state: &ProcState) -> CtlState {
        match state {
            ProcState::Stopped => CtlState::Stopped,
            ProcState::Broken => CtlState::Broken,
            _ => CtlState::Live,
        }
    }
}

/// The target as [`ctl_effect`] needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtlTarget {
    pub state: CtlState,
    /// Notes are queued on the process (`nointerrupt` refuses then).
    pub notes_pending: bool,
}

/// How a Stopped process is resumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// `start`: runnable, untraced; the writer does not wait.
    Run,
    /// `startstop`: runnable, stopping before a pending note is delivered.
    StartStop,
    /// `startsyscall`: runnable, stopping at the next system-call entry and exit.
    StartSyscall,
    /// `step` (Glass): one instruction, then Stopped; the tracing mode stays as it was.
    Step,
}

impl Resume {
    /// Whether the writer waits until the process is Stopped again (or exits): every mode
    /// but `start` (§2.2, §5.4).
    pub fn waits(self) -> bool {
        self != Resume::Run
    }
}

/// What the machine does for one ctl message. Every effect but the waiting ones
/// ([`CtlEffect::Stop`], [`CtlEffect::WaitStop`], a waiting [`CtlEffect::Resume`]) answers
/// the writer at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtlEffect {
    /// Nothing to do: accepted, or already in the state asked for.
    Nothing,
    /// Ask the process to stop at its next return to user mode (a process blocked in a
    /// system call stops when the call completes), then wait until it is Stopped or Broken.
    Stop,
    /// Wait until the process is Stopped or Broken, changing nothing.
    WaitStop,
    /// Make the Stopped process runnable in this mode.
    Resume(Resume),
    /// The process exits with the exit string `Killed`.
    Kill,
    /// Release a Broken process so it finishes exiting.
    Release,
    /// Close this fd (nothing if it is not open).
    Close(u32),
    /// Close every fd.
    CloseFiles,
    /// Set (true) or clear the hang flag: stop after the next successful exec.
    Hang(bool),
    /// Mark the process private (mem, regs, fpregs … refuse to open).
    Private,
    /// Set the base and current priority (already clamped to 0…NPRIQ-1); `fixed` keeps
    /// the scheduler from changing it (9front procpriority).
    Pri { pri: u32, fixed: bool },
    /// Interrupt a blocked system call, or leave an interrupt pending for the next one
    /// (9front CMinterrupt: postnote(p, 0, nil, NUser)).
    Interrupt,
    /// Clear a pending interrupt (`nointerrupt` with no notes queued).
    ClearInterrupt,
    /// Start (or restart from zero) the profiling counters of the text segment; no text
    /// segment is [`EGREG`].
    Profile,
    /// A real-time message, for the machine's EDF scheduler (its errors are edf.c's).
    RealTime(crate::machine::RtMsg),
}

/// procpriority's clamp: below 0 is 0, Npriq or more is Npriq-1.
pub fn clamp_pri(n: i64) -> u32 {
    n.clamp(0, i64::from(NPRIQ - 1)) as u32
}

/// The rule of §2.2 for `msg` sent to `target`. The parse errors (§2.1) and the eve-only
/// check of `pri`/`fixedpri` above [`PRI_NORMAL`] come earlier, in procfs.
pub fn ctl_effect(target: CtlTarget, msg: &CtlMsg) -> Result<CtlEffect, ProcError> {
    use CtlState::{Broken, Live, Stopped};
    let state = target.state;
    let resume = |mode| {
        // start, startstop, startsyscall (and step) need Stopped (§5.9).
        if state == Stopped {
            Ok(CtlEffect::Resume(mode))
        } else {
            Err(ProcError::BadCtl)
        }
    };
    Ok(match msg {
        // Returns at once if already Stopped or Broken.
        CtlMsg::Stop if state == Live => CtlEffect::Stop,
        CtlMsg::WaitStop if state == Live => CtlEffect::WaitStop,
        CtlMsg::Stop | CtlMsg::WaitStop => CtlEffect::Nothing,
        CtlMsg::Start => resume(Resume::Run)?,
        CtlMsg::StartStop => resume(Resume::StartStop)?,
        CtlMsg::StartSyscall => resume(Resume::StartSyscall)?,
        CtlMsg::Step => resume(Resume::Step)?,
        CtlMsg::Kill if state == Broken => CtlEffect::Release,
        CtlMsg::Kill => CtlEffect::Kill,
        // procctlclosefiles: a negative fd first, then a missing fd group (Broken).
        CtlMsg::Close(n) => {
            let fd = u32::try_from(*n).map_err(|_| ProcError::BadFd)?;
            if state == Broken {
                return Err(ProcError::Exited);
            }
            CtlEffect::Close(fd)
        }
        CtlMsg::CloseFiles if state == Broken => return Err(ProcError::Exited),
        CtlMsg::CloseFiles => CtlEffect::CloseFiles,
        CtlMsg::Hang => CtlEffect::Hang(true),
        CtlMsg::NoHang => CtlEffect::Hang(false),
        CtlMsg::Private => CtlEffect::Private,
        CtlMsg::NoInterrupt if target.notes_pending => return Err(ProcError::NotesPending),
        CtlMsg::Pri(n) => CtlEffect::Pri {
            pri: clamp_pri(*n),
            fixed: false,
        },
        CtlMsg::FixedPri(n) => CtlEffect::Pri {
            pri: clamp_pri(*n),
            fixed: true,
        },
        CtlMsg::Interrupt => CtlEffect::Interrupt,
        // One CPU, no swap, no trace events (module comment).
        CtlMsg::NoInterrupt => CtlEffect::ClearInterrupt,
        CtlMsg::NoSwap | CtlMsg::Wired(_) | CtlMsg::Trace(_) | CtlMsg::Event => CtlEffect::Nothing,
        CtlMsg::Profile => CtlEffect::Profile,
        CtlMsg::RealTime(rt) => CtlEffect::RealTime(*rt),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(state: CtlState) -> CtlTarget {
        CtlTarget {
            state,
            notes_pending: false,
        }
    }

    #[test]
    fn ctl_effect_resume_outside_stopped_bad_ctl() {
        for s in [CtlState::Live, CtlState::Broken] {
            for m in [
                CtlMsg::Start,
                CtlMsg::StartStop,
                CtlMsg::StartSyscall,
                CtlMsg::Step,
            ] {
                assert_eq!(ctl_effect(at(s), &m), Err(ProcError::BadCtl), "{s:?} {m:?}");
            }
        }
        assert_eq!(
            ctl_effect(at(CtlState::Stopped), &CtlMsg::Start),
            Ok(CtlEffect::Resume(Resume::Run))
        );
        assert!(!Resume::Run.waits() && Resume::StartStop.waits() && Resume::Step.waits());
    }

    #[test]
    fn ctl_effect_close_negative_before_missing_fd_group() {
        let broken = at(CtlState::Broken);
        assert_eq!(
            ctl_effect(broken, &CtlMsg::Close(-1)),
            Err(ProcError::BadFd)
        );
        assert_eq!(
            ctl_effect(broken, &CtlMsg::Close(0)),
            Err(ProcError::Exited)
        );
        assert_eq!(
            ctl_effect(at(CtlState::Live), &CtlMsg::Close(3)),
            Ok(CtlEffect::Close(3))
        );
    }

    #[test]
    fn ctl_effect_nointerrupt_with_notes_notes_pending() {
        let t = CtlTarget {
            state: CtlState::Live,
            notes_pending: true,
        };
        assert_eq!(
            ctl_effect(t, &CtlMsg::NoInterrupt),
            Err(ProcError::NotesPending)
        );
        assert_eq!(
            ctl_effect(at(CtlState::Live), &CtlMsg::NoInterrupt),
            Ok(CtlEffect::ClearInterrupt)
        );
    }

    #[test]
    fn ctl_effect_pri_clamped_to_npriq() {
        // 9front procpriority: pri >= Npriq → Npriq-1, pri < 0 → 0.
        let live = at(CtlState::Live);
        assert_eq!(
            ctl_effect(live, &CtlMsg::Pri(25)),
            Ok(CtlEffect::Pri {
                pri: 19,
                fixed: false
            })
        );
        assert_eq!(
            ctl_effect(live, &CtlMsg::FixedPri(-3)),
            Ok(CtlEffect::Pri {
                pri: 0,
                fixed: true
            })
        );
        assert_eq!(
            ctl_effect(live, &CtlMsg::Interrupt),
            Ok(CtlEffect::Interrupt)
        );
    }

    #[test]
    fn ctl_effect_kill_broken_releases() {
        assert_eq!(
            ctl_effect(at(CtlState::Broken), &CtlMsg::Kill),
            Ok(CtlEffect::Release)
        );
        assert_eq!(
            ctl_effect(at(CtlState::Stopped), &CtlMsg::Kill),
            Ok(CtlEffect::Kill)
        );
    }
}
