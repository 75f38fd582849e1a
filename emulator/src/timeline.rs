//! `--timeline FILE`: the run as a Chrome trace-event JSON timeline (the "Trace Event
//! Format" document: a `traceEvents` array of events with `ph`, `ts` in microseconds,
//! `pid`/`tid`), which Perfetto and chrome://tracing open. One process track per guest
//! process and one thread track per task; system calls and blocked spans are complete
//! (`X`) slices, fork/exec/exit are instants (`i`), and fork and pipe transfers are flow
//! arrows (`s` → `f`). Events are written as the run goes, so a long run does not keep them
//! in memory; every time is virtual, so a run and its replay write the same bytes.

use crate::schedtrace::{Etype, Record, REASONS};
use std::collections::BTreeMap;
use std::io::Write;

/// One task as the timeline knows it.
#[derive(Debug, Default)]
struct Track {
    tgid: u32,
    /// Start of the system call in progress.
    call: Option<u64>,
    /// Start and reason of the blocked (or stopped) span in progress.
    blocked: Option<(u64, u16)>,
}

/// A pipe write whose bytes a read has not taken yet: it ends at `end` bytes of the
/// pipe's total, and was made by `tid` of `tgid` at virtual time `ns`.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    pub end: u64,
    pub tid: u32,
    pub tgid: u32,
    pub ns: u64,
}

pub struct Timeline {
    out: Box<dyn Write>,
    tracks: BTreeMap<u32, Track>,
    next_flow: u64,
    first: bool,
    line: String,
}

/// Virtual nanoseconds as trace-event microseconds, exact (three decimals).
fn us(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

/// A JSON string literal.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"?\"".into())
}

impl Timeline {
    /// A timeline written to `out`; the JSON is complete once [`Timeline::finish`] ran.
    pub fn new(mut out: Box<dyn Write>) -> Timeline {
        let _ = out.write_all(b"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
        Timeline {
            out,
            tracks: BTreeMap::new(),
            next_flow: 1,
            first: true,
            line: String::new(),
        }
    }

    pub fn to_file(path: &std::path::Path) -> std::io::Result<Timeline> {
        let f = std::fs::File::create(path)?;
        Ok(Timeline::new(Box::new(std::io::BufWriter::new(f))))
    }

    fn emit(&mut self, event: std::fmt::Arguments) {
        use std::fmt::Write as _;
        self.line.clear();
        if !self.first {
            self.line.push_str(",\n");
        }
        self.first = false;
        let _ = self.line.write_fmt(event);
        let _ = self.out.write_all(self.line.as_bytes());
    }

    fn tgid(&self, tid: u32) -> u32 {
        self.tracks.get(&tid).map_or(tid, |t| t.tgid)
    }

    /// A new task `tid` of process `tgid` running `name`, made by `from` (tid, tgid) at `ns`.
    pub fn task(&mut self, tid: u32, tgid: u32, name: &str, from: Option<(u32, u32)>, ns: u64) {
        self.tracks.insert(
            tid,
            Track {
                tgid,
                ..Track::default()
            },
        );
        let name = q(name);
        if tid == tgid {
            self.emit(format_args!(
                "{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{tgid},\"tid\":{tid},\"args\":{{\"name\":{name}}}}}"
            ));
        }
        self.emit(format_args!(
            "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{tgid},\"tid\":{tid},\"args\":{{\"name\":{name}}}}}"
        ));
        let Some((ptid, ptgid)) = from else { return };
        let what = if tid == tgid { "fork" } else { "thread" };
        self.emit(format_args!(
            "{{\"ph\":\"i\",\"s\":\"t\",\"name\":\"{what}\",\"cat\":\"proc\",\"ts\":{},\"pid\":{tgid},\"tid\":{tid},\"args\":{{\"parent\":{ptid}}}}}",
            us(ns)
        ));
        self.flow(what, (ptid, ptgid, ns), (tid, tgid, ns + 1));
    }

    /// A flow arrow from inside the call `from` ended at its `ns` to the slice at `to`'s
    /// `ns`: the start sits 1 ns before the end of the source call, so it binds to that
    /// call's slice; the finish binds to the enclosing slice (`bp` `e`).
    fn flow(&mut self, name: &str, from: (u32, u32, u64), to: (u32, u32, u64)) {
        let id = self.next_flow;
        self.next_flow += 1;
        let (ftid, fpid, fns) = from;
        let (ttid, tpid, tns) = to;
        self.emit(format_args!(
            "{{\"ph\":\"s\",\"name\":\"{name}\",\"cat\":\"flow\",\"id\":{id},\"ts\":{},\"pid\":{fpid},\"tid\":{ftid}}}",
            us(fns.saturating_sub(1))
        ));
        self.emit(format_args!(
            "{{\"ph\":\"f\",\"bp\":\"e\",\"name\":\"{name}\",\"cat\":\"flow\",\"id\":{id},\"ts\":{},\"pid\":{tpid},\"tid\":{ttid}}}",
            us(tns.saturating_sub(1))
        ));
    }

    /// Task `tid` exec'd `name` at `ns`.
    pub fn exec(&mut self, tid: u32, tgid: u32, name: &str, ns: u64) {
        let name = q(name);
        self.emit(format_args!(
            "{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{tgid},\"tid\":{tid},\"args\":{{\"name\":{name}}}}}"
        ));
        self.emit(format_args!(
            "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{tgid},\"tid\":{tid},\"args\":{{\"name\":{name}}}}}"
        ));
        self.emit(format_args!(
            "{{\"ph\":\"i\",\"s\":\"t\",\"name\":\"exec\",\"cat\":\"proc\",\"ts\":{},\"pid\":{tgid},\"tid\":{tid},\"args\":{{\"program\":{name}}}}}",
            us(ns)
        ));
    }

    /// Task `tid` enters a system call at `ns` (a call retried after blocking keeps the
    /// start of its first attempt).
    pub fn call_start(&mut self, tid: u32, ns: u64) {
        if let Some(t) = self.tracks.get_mut(&tid) {
            t.call.get_or_insert(ns);
        }
    }

    /// Task `tid`'s system call `name` ends at `ns` with `ret`.
    pub fn call_end(&mut self, tid: u32, name: &str, ns: u64, ret: &str) {
        self.end_blocked(tid, ns);
        let Some(t) = self.tracks.get_mut(&tid) else {
            return;
        };
        let start = t.call.take().unwrap_or(ns);
        let tgid = t.tgid;
        self.emit(format_args!(
            "{{\"ph\":\"X\",\"name\":\"{name}\",\"cat\":\"syscall\",\"ts\":{},\"dur\":{},\"pid\":{tgid},\"tid\":{tid},\"args\":{{\"ret\":{ret}}}}}",
            us(start),
            us(ns - start)
        ));
    }

    /// Close task `tid`'s blocked span at `ns`.
    fn end_blocked(&mut self, tid: u32, ns: u64) {
        let Some(t) = self.tracks.get_mut(&tid) else {
            return;
        };
        let Some((start, why)) = t.blocked.take() else {
            return;
        };
        let tgid = t.tgid;
        let why = REASONS.get(usize::from(why)).copied().unwrap_or("");
        self.emit(format_args!(
            "{{\"ph\":\"X\",\"name\":\"blocked ({why})\",\"cat\":\"blocked\",\"ts\":{},\"dur\":{},\"pid\":{tgid},\"tid\":{tid}}}",
            us(start),
            us(ns - start)
        ));
    }

    /// A scheduling event: a Sleep opens a blocked span, the next Ready, Run or Dead
    /// closes it; Dead also closes a call cut short and marks the exit.
    pub fn sched(&mut self, r: &Record) {
        let tid = r.pid;
        match r.etype {
            Etype::Sleep => {
                if let Some(t) = self.tracks.get_mut(&tid) {
                    if t.blocked.is_none() {
                        t.blocked = Some((r.ns, r.reason));
                    }
                }
            }
            Etype::Ready | Etype::Run => self.end_blocked(tid, r.ns),
            Etype::Dead => {
                if self.tracks.get(&tid).is_some_and(|t| t.call.is_some()) {
                    self.call_end(tid, "(killed)", r.ns, "null");
                }
                self.end_blocked(tid, r.ns);
                let tgid = self.tgid(tid);
                self.emit(format_args!(
                    "{{\"ph\":\"i\",\"s\":\"t\",\"name\":\"exit\",\"cat\":\"proc\",\"ts\":{},\"pid\":{tgid},\"tid\":{tid}}}",
                    us(r.ns)
                ));
                self.tracks.remove(&tid);
            }
            _ => {}
        }
    }

    /// A read by `tid` at `ns` took bytes written by the write `m`: an arrow from that
    /// write to this read.
    pub fn pipe_flow(&mut self, m: &Mark, tid: u32, ns: u64) {
        let tgid = self.tgid(tid);
        self.flow("pipe", (m.tid, m.tgid, m.ns), (tid, tgid, ns));
    }

    /// Close the JSON and flush.
    pub fn finish(&mut self) {
        let _ = self.out.write_all(b"\n]}\n");
        let _ = self.out.flush();
    }
}
