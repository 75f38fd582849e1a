//! The run's syscall trace (`--trace FILE`: one JSON line per system call) and its digest:
//! a SHA-256 over everything the guest made observable — console output, each traced call,
//! exit statuses — so two hosts can compare runs by one line (docs/DESIGN.md determinism contract).

use sha2::{Digest, Sha256};
use std::io::{BufWriter, Write};
use std::path::Path;

pub struct Trace {
    file: Option<BufWriter<std::fs::File>>,
    hash: Sha256,
    line: String,
    /// System calls traced so far (checkpoints and `--until syscall:N`).
    pub calls: u64,
    /// The last traced call: pid, name, result.
    last_pid: u32,
    last_name: String,
    pub last_ret: i64,
    /// The `--timeline` being written, if any (timeline.rs).
    pub timeline: Option<crate::timeline::Timeline>,
}

/// One record of the trace.
pub struct Event<'a> {
    pub ns: u64,
    pub pid: u32,
    pub name: &'a str,
    pub nr: u64,
    /// The arguments the call takes (all six for an unknown call).
    pub args: &'a [u64],
    pub ret: i64,
}

impl Trace {
    pub fn digest_only() -> Trace {
        Trace {
            file: None,
            hash: Sha256::new(),
            line: String::new(),
            calls: 0,
            last_pid: 0,
            last_name: String::new(),
            last_ret: 0,
            timeline: None,
        }
    }

    pub fn to_file(path: &Path) -> std::io::Result<Trace> {
        let f = std::fs::File::create(path)?;
        Ok(Trace {
            file: Some(BufWriter::new(f)),
            ..Trace::digest_only()
        })
    }

    pub fn syscall(&mut self, e: &Event) {
        use std::fmt::Write as _;
        self.line.clear();
        let _ = write!(
            self.line,
            "{{\"t\":{},\"pid\":{},\"sys\":\"{}\",\"nr\":{},\"args\":[",
            e.ns, e.pid, e.name, e.nr
        );
        for (k, a) in e.args.iter().enumerate() {
            let _ = write!(self.line, "{}{a}", if k == 0 { "" } else { "," });
        }
        let _ = writeln!(self.line, "],\"ret\":{}}}", e.ret);
        self.calls += 1;
        self.last_pid = e.pid;
        self.last_name.clear();
        self.last_name.push_str(e.name);
        self.last_ret = e.ret;
        self.hash.update(b"S");
        self.hash.update(self.line.as_bytes());
        if let Some(f) = &mut self.file {
            let _ = f.write_all(self.line.as_bytes());
        }
        if let Some(tl) = &mut self.timeline {
            tl.call_end(e.pid, e.name, e.ns, &e.ret.to_string());
        }
    }

    /// Console output of fd `fd`'s stream (1 or 2).
    pub fn output(&mut self, stream: u8, bytes: &[u8]) {
        self.hash.update([b'O', stream]);
        self.hash.update((bytes.len() as u64).to_le_bytes());
        self.hash.update(bytes);
    }

    /// An exit: pid and shell-style status.
    pub fn exit(&mut self, pid: u32, status: i32) {
        self.hash.update(b"X");
        self.hash.update(pid.to_le_bytes());
        self.hash.update(status.to_le_bytes());
    }

    /// The digest of everything so far, without ending the run (a recording's checkpoint).
    pub fn digest_so_far(&self) -> String {
        let d = self.hash.clone().finalize();
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The last traced system call: pid and name (0 and "" before the first).
    pub fn last_call(&self) -> (u32, &str) {
        (self.last_pid, &self.last_name)
    }

    /// Finish: flush the file and return the hex digest.
    pub fn finish(&mut self) -> String {
        if let Some(f) = &mut self.file {
            let _ = f.flush();
        }
        if let Some(mut tl) = self.timeline.take() {
            tl.finish();
        }
        let d = std::mem::take(&mut self.hash).finalize();
        d.iter().map(|b| format!("{b:02x}")).collect()
    }
}
