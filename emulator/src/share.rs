//! The fair share of the machine thread for /proc work (docs/DESIGN.md "Threads", README
//! "Serving /proc"). While some guest task can run, requests from 9P connections are served
//! between quanta in arrival order (FIFO, so none starves) only while /proc has credit; the
//! credit grows by one nanosecond for every [`param::PROC_SHARE_DIV`] nanoseconds the machine
//! thread spends on anything else, up to [`param::PROC_CREDIT_MAX_NS`], and each request
//! served costs its own time on the machine thread, at least [`param::PROC_REQUEST_MIN_NS`]
//! (what a request makes the rest of the host do: the connection's threads, the socket, the
//! encoding). When nothing can run, /proc has the machine to itself.
//!
//! Host time here decides only *when* a request is served, which host timing decided already
//! (a request arrives when its client sends it); nothing a guest can see depends on it.

use crate::param;
use std::time::{Duration, Instant};

/// /proc's account with the machine thread.
#[derive(Debug)]
pub struct Share {
    /// Nanoseconds of machine-thread time /proc may still use (negative: in debt).
    credit_ns: i64,
    /// When /proc service last ended: the machine thread has worked for the guest since.
    mark: Option<Instant>,
}

impl Default for Share {
    fn default() -> Share {
        Share {
            credit_ns: param::PROC_CREDIT_MAX_NS,
            mark: None,
        }
    }
}

impl Share {
    /// Nobody can run: /proc may have the whole machine (a full credit, nothing owed).
    pub fn idle(&mut self) {
        self.credit_ns = param::PROC_CREDIT_MAX_NS;
        self.mark = None;
    }

    /// A service begins at `now`: credit /proc with its share of the work done since the last.
    pub fn begin(&mut self, now: Instant) {
        if let Some(m) = self.mark {
            let worked = i64::try_from(now.duration_since(m).as_nanos()).unwrap_or(i64::MAX);
            self.credit_ns = self
                .credit_ns
                .saturating_add(worked / param::PROC_SHARE_DIV)
                .min(param::PROC_CREDIT_MAX_NS);
        }
    }

    /// Whether /proc may be served now.
    pub fn has_credit(&self) -> bool {
        self.credit_ns > 0
    }

    /// A request took `spent` of the machine thread.
    pub fn charge(&mut self, spent: Duration) {
        let ns = i64::try_from(spent.as_nanos()).unwrap_or(i64::MAX);
        self.credit_ns = self
            .credit_ns
            .saturating_sub(ns.max(param::PROC_REQUEST_MIN_NS));
    }

    /// The service ended at `now`: from here the machine works for the guest again.
    pub fn end(&mut self, now: Instant) {
        self.mark = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_credit_grows_with_work_and_is_capped() {
        let mut s = Share::default();
        let t0 = Instant::now();
        // Spend the whole credit, then one more request: in debt.
        s.charge(Duration::from_nanos(param::PROC_CREDIT_MAX_NS as u64));
        assert!(!s.has_credit());
        s.end(t0);
        // The machine works PROC_SHARE_DIV ns per ns of credit.
        s.begin(t0 + Duration::from_nanos(param::PROC_SHARE_DIV as u64 * 1000));
        assert!(s.has_credit());
        assert_eq!(s.credit_ns, 1000);
        // Credit never exceeds its cap, however long the guest ran alone.
        s.end(t0);
        s.begin(t0 + Duration::from_secs(10));
        assert_eq!(s.credit_ns, param::PROC_CREDIT_MAX_NS);
    }

    #[test]
    fn share_request_charged_at_least_minimum() {
        let mut s = Share::default();
        s.charge(Duration::from_nanos(1));
        assert_eq!(
            s.credit_ns,
            param::PROC_CREDIT_MAX_NS - param::PROC_REQUEST_MIN_NS
        );
    }

    #[test]
    fn share_idle_restores_full_credit() {
        let mut s = Share::default();
        s.charge(Duration::from_secs(1));
        assert!(!s.has_credit());
        s.idle();
        assert!(s.has_credit());
    }
}
