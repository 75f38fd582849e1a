//! The ctl conformance table: what every ctl message must do to a Stopped, a Broken and a
//! live process, written out by hand from docs/plan9-proc-9p.md (§2.1 parsing, §2.2
//! messages, §5.3, §5.4, §5.9, §5.15 error strings) and Glass's documented extensions (the
//! README's /proc section; [`crate::ctlstate`] module comment). It is an oracle, not an
//! implementation: it works on the text a client writes, not on [`crate::ctlstate`]'s
//! table, and it is run both against the tests' fake machine (procfs tests) and against a
//! real glass machine over 9P (tests/tests/ctl_table.rs), so the two cannot drift apart.
//! The writer is the machine's owner, eve.

use crate::ctlstate::CtlState;

/// The state the target is in after a message that succeeded, as a client sees it in
/// `status` (or not at all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    Stopped,
    Broken,
    /// Not Stopped or Broken: running, ready, or blocked in a system call.
    Live,
    /// Gone: its directory no longer walks (`file does not exist`).
    Exited,
}

/// What a client sees when it writes one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The write succeeds (at once, or once the process reached the state asked for).
    Ok(After),
    /// The write fails with exactly this string; nothing changes.
    Err(&'static str),
    /// The write blocks (the process never gets to the state asked for) until flushed.
    Waits,
}

/// Every ctl message of §2.2 with the arguments the table uses, then parse errors (§2.1).
pub const MESSAGES: &[&str] = &[
    "stop",
    "start",
    "startstop",
    "startsyscall",
    "step",
    "waitstop",
    "hang",
    "nohang",
    "kill",
    "close 0",
    "close -1",
    "closefiles",
    "private",
    "noswap",
    "pri 5",
    "pri 20",
    "fixedpri 5",
    "wired 0",
    "profile",
    "trace",
    "trace 1",
    "event",
    "interrupt",
    "nointerrupt",
    "",
    "frob",
    "stop now",
    "close",
    "trace 1 2",
];

/// The states of the table.
pub const STATES: [CtlState; 3] = [CtlState::Live, CtlState::Stopped, CtlState::Broken];

const EBADCTL: &str = "bad process or channel control request";
const EPROCDIED: &str = "process exited";

/// The expected outcome of writing `msg` to the ctl file of a process in `state`, with no
/// notes queued. The workload must let a resumed process reach its next stop: a trap for
/// `startstop`, a system call for `startsyscall`, one instruction for `step`.
pub fn expected(state: CtlState, msg: &str) -> Expect {
    use CtlState::{Broken, Live, Stopped};
    let same = match state {
        Stopped => After::Stopped,
        Broken => After::Broken,
        Live => After::Live,
    };
    match (msg, state) {
        // §2.1: parse errors come before any state.
        ("", _) => Expect::Err("empty control message"),
        ("frob", _) => Expect::Err("unknown control message \"frob\""),
        ("stop now", _) => Expect::Err("wrong #args in control message \"stop now\""),
        ("close", _) => Expect::Err("wrong #args in control message \"close\""),
        ("trace 1 2", _) => Expect::Err("args"),
        // §2.2 stop: returns at once if Stopped or Broken; a runnable process stops.
        ("stop", Live) => Expect::Ok(After::Stopped),
        // §5.9: start, startstop, startsyscall need Stopped; so does Glass's step.
        ("start" | "startstop" | "startsyscall" | "step", Live | Broken) => Expect::Err(EBADCTL),
        ("start", Stopped) => Expect::Ok(After::Live),
        // Each runs to its next stop and returns then, Stopped again.
        ("startstop" | "startsyscall" | "step", Stopped) => Expect::Ok(After::Stopped),
        // §2.2 waitstop: at once if Stopped or Broken; else blocks until Stopped (§5.4).
        ("waitstop", Live) => Expect::Waits,
        // §2.2 kill: a Broken process is released, any other exits `Killed`.
        ("kill", _) => Expect::Ok(After::Exited),
        // §2.2 close: a negative fd first; a Broken process has no fd group (§2.2 Broken).
        ("close -1", _) => Expect::Err("fd out of range or not open"),
        ("close 0" | "closefiles", Broken) => Expect::Err(EPROCDIED),
        // Flags and, in Glass, messages accepted without effect (one CPU, no swap, no
        // priorities, no trace events); `pri 20` is allowed because eve writes.
        _ => Expect::Ok(same),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctlstate::{ctl_effect, CtlEffect, CtlTarget};
    use crate::machine::ProcError;
    use crate::procfs::{ctl, proc_err};

    /// The table and the conformance oracle agree on every error string and on which
    /// messages wait: a check of the table alone, before any machine carries it out.
    #[test]
    fn ctl_effect_every_message_every_state_matches_oracle() {
        for &state in &STATES {
            for &msg in MESSAGES {
                let target = CtlTarget {
                    state,
                    notes_pending: false,
                };
                // Err(string), or Ok(whether the writer waits for a state never reached).
                let got: Result<bool, String> = ctl::parse(msg.as_bytes()).and_then(|m| {
                    ctl_effect(target, &m)
                        .map(|e| e == CtlEffect::WaitStop)
                        .map_err(|e: ProcError| proc_err(e).0)
                });
                let want = match expected(state, msg) {
                    Expect::Err(e) => Err(e.to_string()),
                    Expect::Waits => Ok(true),
                    Expect::Ok(_) => Ok(false),
                };
                assert_eq!(got, want, "{state:?} {msg:?}");
            }
        }
    }
}
