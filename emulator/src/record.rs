//! Recording and replaying a run (issue 11; format in docs/recording.md): a run is a
//! function of its parameters, its root and what came from outside, so a recording keeps
//! exactly those — the header (parameters), the root's identity, console input and /proc
//! writes keyed by the moment they took effect — plus digest checkpoints that let a replay
//! say where it first went another way.
//!
//! A moment is `(step, t, ph)`: the scheduling steps completed so far, the virtual time, and
//! whether the machine had already found nothing to run at that step and time (`ph` 1) —
//! external changes arrive between steps, and an idle machine may take several at one step.

use crate::machine::{Machine, Request};
use crate::sched::RunReport;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};
use std::io::{BufRead, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The `format` field of every recording's header.
pub const FORMAT: &str = "glass-recording";
/// The version this build writes and the newest it reads (docs/recording.md "Versions").
pub const VERSION: u32 = 1;
/// Default virtual time between digest checkpoints: 20 ms keeps `glass demo`'s recording
/// well under 64 KiB (issue 11) while a divergence is still placed within 20 ms.
pub const CHECK_INTERVAL_NS: u64 = 20_000_000;

/// Glass's unicorn patches (tools/unicorn/): their hash is the engine's identity, since a
/// different patch set could translate guest code differently.
const UNICORN_PATCHES: &[&[u8]] = &[
    include_bytes!("../../tools/unicorn/0001-store-fast-path.patch"),
    include_bytes!("../../tools/unicorn/0002-inline-exit-check.patch"),
    include_bytes!("../../tools/unicorn/0003-build-rs-watch-paths.patch"),
    include_bytes!("../../tools/unicorn/0004-memop-exit-check-only-with-memory-hooks.patch"),
    include_bytes!("../../tools/unicorn/0005-inline-block-budget.patch"),
    include_bytes!("../../tools/unicorn/0006-ram-offset-without-gap-search.patch"),
];

/// `unicorn-engine 2.1.5+glass.<first 16 hex digits of the patches' SHA-256>`.
pub fn unicorn_identity() -> String {
    let mut h = Sha256::new();
    for p in UNICORN_PATCHES {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    format!("unicorn-engine 2.1.5+glass.{}", &hex(&h.finalize())[..16])
}

/// Errors of reading or writing a recording (host-side; never shown to a guest).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0} is not a Glass recording (its first line is not a recording header)")]
    NotRecording(PathBuf),
    #[error("{path} is a version {version} recording; this glass reads versions up to {VERSION}: use a newer glass")]
    Newer { path: PathBuf, version: u32 },
    #[error("{path}: record {line} is corrupt: {why}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        why: String,
    },
}

/// The first line of a recording: everything the run was made of except its inputs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The glass that recorded (crate version).
    pub glass: String,
    /// [`unicorn_identity`] of the recording glass.
    pub unicorn: String,
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub seed: u64,
    pub sched_seed: Option<u64>,
    pub quantum: u64,
    pub cpus: u32,
    pub hang: bool,
    pub eve: String,
    /// /proc was served: console input came through the reader thread (and a read of an
    /// empty console waited), and an idle machine waited for requests.
    pub served: bool,
    /// The host root directory of the recording run (informative only).
    pub root: String,
    /// Virtual nanoseconds between digest checkpoints.
    pub check_ns: u64,
    /// The virtual clock's start (`--epoch`), ns since the Unix epoch; absent in recordings
    /// made before the option existed, which all started at the default.
    #[serde(default = "default_epoch_ns")]
    pub epoch_ns: u64,
    /// `--root-times host`.
    #[serde(default)]
    pub root_times_host: bool,
    /// The limits a guest can run into (`--max-memory`, `--max-procs`, `--max-time`): they
    /// decide answers such as ENOMEM and EAGAIN, so a replay needs the same. 0 / None: the
    /// replaying glass's defaults.
    #[serde(default)]
    pub max_memory: u64,
    #[serde(default)]
    pub max_procs: u32,
    #[serde(default)]
    pub max_time_ns: Option<u64>,
}

fn default_epoch_ns() -> u64 {
    crate::param::EPOCH_BASE_SECS * 1_000_000_000
}

/// When a record took effect.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct At {
    /// Scheduling steps completed before it.
    pub step: u64,
    /// Virtual time, ns.
    pub t: u64,
    /// 1 when the machine had already found nothing to run at this step and time.
    #[serde(default)]
    pub ph: u8,
}

/// One record after the header.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "k", rename_all = "lowercase")]
pub enum Rec {
    /// A root file the run opened: path inside the root, SHA-256 of its content, and with
    /// `--record-root` the content itself (hex).
    File {
        path: String,
        sha256: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<String>,
    },
    /// Console input while /proc is served (the reader thread's chunk, hex), or its end.
    In {
        #[serde(flatten)]
        at: At,
        data: String,
    },
    Eof {
        #[serde(flatten)]
        at: At,
    },
    /// What one console read(2) returned when /proc was not served (hex; empty = end of
    /// input), during the step after `at.step`.
    Read {
        #[serde(flatten)]
        at: At,
        data: String,
    },
    /// A ctl message, as its text.
    Ctl {
        #[serde(flatten)]
        at: At,
        pid: u32,
        msg: String,
    },
    /// A write to `mem` (hex data).
    Mem {
        #[serde(flatten)]
        at: At,
        pid: u32,
        addr: u64,
        data: String,
    },
    /// A write to `regs`: the whole Ureg image after the write (hex).
    Regs {
        #[serde(flatten)]
        at: At,
        pid: u32,
        ureg: String,
    },
    /// A write to `fpregs`: the FPsave image (hex).
    Fpregs {
        #[serde(flatten)]
        at: At,
        pid: u32,
        image: String,
    },
    /// The watchpoint list after a write to `watchpt` (or an OTRUNC open): its text as
    /// `watchpt` reads.
    Watchpt {
        #[serde(flatten)]
        at: At,
        pid: u32,
        list: String,
    },
    /// A note written to `note`.
    Note {
        #[serde(flatten)]
        at: At,
        pid: u32,
        note: String,
    },
    /// A note written to `notepg`, to every process of `noteid` but `except`.
    Notepg {
        #[serde(flatten)]
        at: At,
        noteid: u32,
        note: String,
        except: Option<u32>,
    },
    /// A digest checkpoint: the run digest so far, the system calls traced so far and the
    /// last of them.
    Check {
        #[serde(flatten)]
        at: At,
        digest: String,
        calls: u64,
        pid: u32,
        sys: String,
    },
    /// The run's end: final digest and pid 1's shell-style status.
    End {
        #[serde(flatten)]
        at: At,
        digest: String,
        status: i32,
    },
}

impl Rec {
    fn at(&self) -> Option<At> {
        match self {
            Rec::File { .. } => None,
            Rec::In { at, .. }
            | Rec::Eof { at }
            | Rec::Read { at, .. }
            | Rec::Ctl { at, .. }
            | Rec::Mem { at, .. }
            | Rec::Regs { at, .. }
            | Rec::Fpregs { at, .. }
            | Rec::Watchpt { at, .. }
            | Rec::Note { at, .. }
            | Rec::Notepg { at, .. }
            | Rec::Check { at, .. }
            | Rec::End { at, .. } => Some(*at),
        }
    }

    /// A short description for divergence reports.
    pub fn describe(&self) -> String {
        match self {
            Rec::File { path, .. } => format!("root file {path}"),
            Rec::In { data, .. } => format!("console input of {} bytes", data.len() / 2),
            Rec::Eof { .. } => "end of console input".into(),
            Rec::Read { data, .. } => format!("console read of {} bytes", data.len() / 2),
            Rec::Ctl { pid, msg, .. } => format!("ctl `{msg}` to pid {pid}"),
            Rec::Mem {
                pid, addr, data, ..
            } => {
                format!(
                    "mem write of {} bytes at {addr:#x} in pid {pid}",
                    data.len() / 2
                )
            }
            Rec::Regs { pid, .. } => format!("regs write to pid {pid}"),
            Rec::Fpregs { pid, .. } => format!("fpregs write to pid {pid}"),
            Rec::Watchpt { pid, .. } => format!("watchpt write to pid {pid}"),
            Rec::Note { pid, note, .. } => format!("note `{note}` to pid {pid}"),
            Rec::Notepg { noteid, note, .. } => format!("notepg `{note}` to group {noteid}"),
            Rec::Check { .. } => "checkpoint".into(),
            Rec::End { .. } => "end of run".into(),
        }
    }
}

/// Lowercase hex of `b`.
pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Bytes of lowercase or uppercase hex; None if it is not hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The text of a ctl message, as proc-model's parser reads it back.
pub fn ctl_text(m: &proc_model::machine::CtlMsg) -> String {
    use proc_model::machine::CtlMsg as C;
    match m {
        C::Stop => "stop".into(),
        C::Start => "start".into(),
        C::StartStop => "startstop".into(),
        C::StartSyscall => "startsyscall".into(),
        C::WaitStop => "waitstop".into(),
        C::Hang => "hang".into(),
        C::NoHang => "nohang".into(),
        C::Kill => "kill".into(),
        C::Close(n) => format!("close {n}"),
        C::CloseFiles => "closefiles".into(),
        C::Private => "private".into(),
        C::NoSwap => "noswap".into(),
        C::Pri(n) => format!("pri {n}"),
        C::FixedPri(n) => format!("fixedpri {n}"),
        C::Wired(n) => format!("wired {n}"),
        C::Profile => "profile".into(),
        C::Trace(None) => "trace".into(),
        C::Trace(Some(on)) => format!("trace {}", u8::from(*on)),
        C::Event => "event".into(),
        C::Interrupt => "interrupt".into(),
        C::NoInterrupt => "nointerrupt".into(),
        C::Step => "step".into(),
        C::RealTime(rt) => {
            use proc_model::machine::RtMsg as R;
            match rt {
                R::Period(ns) => format!("period {ns}ns"),
                R::Deadline(ns) => format!("deadline {ns}ns"),
                R::Cost(ns) => format!("cost {ns}ns"),
                R::Sporadic => "sporadic".into(),
                R::DeadlineNotes => "deadlinenotes".into(),
                R::Admit => "admit".into(),
                R::Extra => "extra".into(),
                R::Expel => "expel".into(),
            }
        }
    }
}

thread_local! {
    /// Host paths of root files opened on this thread while a recorder listens.
    static OPENED: RefCell<Option<Vec<PathBuf>>> = const { RefCell::new(None) };
}

/// The machine opened (or exec'd, or copied up) host file `hp` of its root: a recording
/// keeps its identity. A no-op unless a recorder listens on this thread.
pub fn note_opened(hp: &Path) {
    OPENED.with(|o| {
        if let Some(v) = o.borrow_mut().as_mut() {
            v.push(hp.to_path_buf());
        }
    });
}

fn take_opened() -> Vec<PathBuf> {
    OPENED.with(|o| {
        o.borrow_mut()
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    })
}

/// Console reads of a run without /proc, as the host returned them: the chunks the guest got.
type Chunks = Arc<Mutex<VecDeque<Vec<u8>>>>;

/// The host console, with every chunk it returns noted for the recording.
struct RecordingStdin {
    inner: Box<dyn Read + Send>,
    chunks: Chunks,
}

impl Read for RecordingStdin {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut c = self.chunks.lock().unwrap_or_else(|p| p.into_inner());
        c.push_back(buf[..n].to_vec());
        Ok(n)
    }
}

/// The console of a replay without /proc: each read gets the next recorded chunk.
struct ReplayStdin {
    chunks: Chunks,
}

impl Read for ReplayStdin {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut c = self.chunks.lock().unwrap_or_else(|p| p.into_inner());
        let Some(mut chunk) = c.pop_front() else {
            return Ok(0);
        };
        let n = chunk.len().min(buf.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        if n < chunk.len() {
            // Only after a divergence: the guest asked for less than it got before.
            chunk.drain(..n);
            c.push_front(chunk);
        }
        Ok(n)
    }
}

/// Where a replay must stop (`--until`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// Virtual time reaches this many ns.
    Time(u64),
    /// The machine's Nth system call has completed.
    Syscall(u64),
    /// Process `pid`'s Nth system call has completed.
    PidSyscall(u32, u64),
    /// Process `pid` has exited.
    Exit(u32),
    /// Process `pid` has exec'd (its program name changed).
    Exec(u32),
}

impl Until {
    /// `12.5ms`, `300us`, `1s`, `800ns`; `syscall:N`; `PID:syscall:N`; `PID:exit`;
    /// `PID:exec`.
    pub fn parse(s: &str) -> Result<Until, String> {
        let bad = || {
            format!(
                "bad moment {s:?}: want a virtual time (12.5ms, 300us, 2s, 800ns), syscall:N, PID:syscall:N, PID:exit or PID:exec"
            )
        };
        let parts: Vec<&str> = s.split(':').collect();
        let num = |x: &str| x.parse::<u64>().map_err(|_| bad());
        let pid = |x: &str| x.parse::<u32>().map_err(|_| bad());
        match parts.as_slice() {
            ["syscall", n] => Ok(Until::Syscall(num(n)?)),
            [p, "syscall", n] => Ok(Until::PidSyscall(pid(p)?, num(n)?)),
            [p, "exit"] => Ok(Until::Exit(pid(p)?)),
            [p, "exec"] => Ok(Until::Exec(pid(p)?)),
            [t] => {
                let (n, unit) = t
                    .find(|c: char| c.is_ascii_alphabetic())
                    .map(|i| t.split_at(i))
                    .ok_or_else(bad)?;
                let scale = match unit {
                    "ns" => 1.0,
                    "us" => 1e3,
                    "ms" => 1e6,
                    "s" => 1e9,
                    _ => return Err(bad()),
                };
                let v: f64 = n.parse().map_err(|_| bad())?;
                if !(v >= 0.0 && v.is_finite()) {
                    return Err(bad());
                }
                Ok(Until::Time((v * scale).round() as u64))
            }
            _ => Err(bad()),
        }
    }
}

/// How a replay ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Every checkpoint and the end matched.
    Matched { checks: u64 },
    /// The recording was cut short; the replay matched every checkpoint up to its last
    /// complete record at virtual time `t`.
    CutShort { checks: u64, t: u64 },
    /// The replay went another way at virtual time `t`.
    Diverged {
        t: u64,
        step: u64,
        pid: u32,
        sys: String,
        what: String,
    },
    /// `--until` was reached.
    Reached { t: u64, step: u64 },
    /// A `seek` through `/proc/time` asked for a moment already passed: the replay must
    /// start again and run to it ([`Machine::tape_take_carry`]).
    Seek(Until),
}

/// The answer to a `seek` written to `/proc/time`, sent once the machine is there.
pub type SeekReply = std::sync::mpsc::Sender<Result<(), proc_model::machine::ProcError>>;

/// The recording side.
struct Recorder {
    out: BufWriter<std::fs::File>,
    path: PathBuf,
    /// The first write error; the run goes on, the error is reported at the end.
    err: Option<std::io::Error>,
    chunks: Option<Chunks>,
    root: PathBuf,
    embed: bool,
    files: BTreeSet<PathBuf>,
}

impl Recorder {
    fn write(&mut self, r: &Rec) {
        if self.err.is_some() {
            return;
        }
        let res = serde_json::to_writer(&mut self.out, r)
            .map_err(std::io::Error::other)
            .and_then(|()| self.out.write_all(b"\n"));
        if let Err(e) = res {
            self.err = Some(e);
        }
    }

    /// Records of the root files opened since last time.
    fn files(&mut self) {
        for hp in take_opened() {
            if !self.files.insert(hp.clone()) {
                continue;
            }
            let Ok(rel) = hp.strip_prefix(&self.root) else {
                continue;
            };
            let Ok(data) = std::fs::read(&hp) else {
                continue;
            };
            let r = Rec::File {
                path: format!("/{}", rel.display()),
                sha256: hex(&Sha256::digest(&data)),
                data: self.embed.then(|| hex(&data)),
            };
            self.write(&r);
        }
    }
}

/// The replay side: the recording's records still to come.
struct Player {
    /// External changes, in order.
    events: VecDeque<Rec>,
    checks: VecDeque<Rec>,
    end: Option<Rec>,
    truncated: bool,
    /// The recorded console reads (without /proc), fed to the guest in order.
    chunks: Chunks,
    /// Keeps the replay's request queue open when the recording was served and this replay
    /// is not: the idle machine then behaves as it did, without a server.
    _tx: Option<std::sync::mpsc::Sender<Request>>,
    served_recording: bool,
    matched: u64,
    last_t: u64,
    until: Option<Until>,
}

enum Mode {
    Record(Box<Recorder>),
    Replay(Box<Player>),
}

/// A recording or a replay attached to a machine ([`Machine::tape`]).
pub struct Tape {
    mode: Mode,
    steps: u64,
    /// (step, t) at which the machine last found nothing to run.
    idle_at: Option<(u64, u64)>,
    interval: u64,
    next_check: u64,
    /// How the replay ended, once it has.
    pub outcome: Option<Outcome>,
    /// Whether a live /proc server is attached to the replay (it then waits for requests
    /// when idle, instead of ending).
    pub live_server: bool,
    /// A seek asked through `/proc/time`, not yet begun.
    pending_seek: Option<Until>,
    /// Who waits for the machine to reach the sought moment.
    seek_reply: Option<SeekReply>,
    /// The /proc request queue, kept for the next machine when a seek goes back.
    carry: Option<std::sync::mpsc::Receiver<Request>>,
}

impl Drop for Tape {
    fn drop(&mut self) {
        if matches!(self.mode, Mode::Record(_)) {
            OPENED.with(|o| *o.borrow_mut() = None);
        }
    }
}

/// What the run loop does when nobody can run.
pub enum Idle {
    /// Go on as without a tape.
    Normal,
    /// Changes were applied: loop again.
    Applied,
    /// Stop the run here.
    Stop,
}

/// A parsed recording.
pub struct Recording {
    pub header: Header,
    pub recs: Vec<Rec>,
    /// The file ended inside a record, or without an `end` record.
    pub truncated: bool,
}

/// Read a recording: its header and every complete record. A last line without its
/// newline (the writer was killed mid-record) makes it truncated; a bad line before the end
/// is an error.
pub fn load(path: &Path) -> Result<Recording, RecordError> {
    let f = std::fs::File::open(path).map_err(|e| RecordError::Io(path.into(), e))?;
    let mut r = std::io::BufReader::new(f);
    let mut line = Vec::new();
    let io = |e| RecordError::Io(path.into(), e);
    r.read_until(b'\n', &mut line).map_err(io)?;
    let hv: serde_json::Value =
        serde_json::from_slice(&line).map_err(|_| RecordError::NotRecording(path.into()))?;
    if hv.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(RecordError::NotRecording(path.into()));
    }
    let version = hv.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version > u64::from(VERSION) {
        return Err(RecordError::Newer {
            path: path.into(),
            version: u32::try_from(version).unwrap_or(u32::MAX),
        });
    }
    if !line.ends_with(b"\n") {
        return Err(RecordError::Corrupt {
            path: path.into(),
            line: 1,
            why: "the header is cut short".into(),
        });
    }
    let header: Header = serde_json::from_value(hv).map_err(|e| RecordError::Corrupt {
        path: path.into(),
        line: 1,
        why: format!("header: {e}"),
    })?;
    let mut recs = Vec::new();
    let mut truncated = true;
    let mut n = 1;
    loop {
        line.clear();
        let got = r.read_until(b'\n', &mut line).map_err(io)?;
        if got == 0 {
            break;
        }
        n += 1;
        if !line.ends_with(b"\n") {
            // The host died while writing this record: the replay stops before it.
            truncated = true;
            break;
        }
        let rec: Rec = serde_json::from_slice(&line).map_err(|e| RecordError::Corrupt {
            path: path.into(),
            line: n,
            why: e.to_string(),
        })?;
        truncated = !matches!(rec, Rec::End { .. });
        recs.push(rec);
    }
    Ok(Recording {
        header,
        recs,
        truncated,
    })
}

/// The first recorded root file whose content in `root` differs (or is missing): Err with
/// its path and why.
pub fn check_root(root: &Path, recs: &[Rec]) -> Result<usize, String> {
    let mut n = 0;
    for r in recs {
        let Rec::File { path, sha256, .. } = r else {
            continue;
        };
        let hp = root.join(path.trim_start_matches('/'));
        match std::fs::read(&hp) {
            Ok(d) if hex(&Sha256::digest(&d)) == *sha256 => n += 1,
            Ok(_) => {
                return Err(format!(
                    "{path}: its content differs from the recorded run's"
                ))
            }
            Err(e) => return Err(format!("{path}: {e}")),
        }
    }
    Ok(n)
}

/// Write the root files embedded with `--record-root` under `dir`; how many there were.
pub fn extract_root(dir: &Path, recs: &[Rec]) -> Result<usize, String> {
    let mut n = 0;
    for r in recs {
        let Rec::File {
            path,
            data: Some(data),
            ..
        } = r
        else {
            continue;
        };
        let bytes = unhex(data).ok_or_else(|| format!("{path}: embedded content is not hex"))?;
        let rel = Path::new(path.trim_start_matches('/'));
        if rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(format!("{path}: not a plain path inside the root"));
        }
        let hp = dir.join(rel);
        if let Some(p) = hp.parent() {
            std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        std::fs::write(&hp, &bytes).map_err(|e| format!("{}: {e}", hp.display()))?;
        // Programs must stay executable; the recording does not keep modes, so every
        // extracted file may be run (the guest sees the root read-only anyway).
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&hp, std::fs::Permissions::from_mode(0o755));
        n += 1;
    }
    Ok(n)
}

/// Whether the recording embeds its root files.
pub fn has_embedded_root(recs: &[Rec]) -> bool {
    recs.iter()
        .any(|r| matches!(r, Rec::File { data: Some(_), .. }))
}

impl Machine {
    /// Start recording this machine's run into `path` (after any /proc server is attached,
    /// so the header knows whether it was served). `embed` keeps root files' contents.
    pub fn record_to(
        &mut self,
        path: &Path,
        header: Header,
        embed: bool,
    ) -> Result<(), RecordError> {
        let f = std::fs::File::create(path).map_err(|e| RecordError::Io(path.into(), e))?;
        let mut header = header;
        header.served = self.requests.is_some();
        let interval = header.check_ns.max(1);
        let mut rec = Recorder {
            out: BufWriter::new(f),
            path: path.into(),
            err: None,
            chunks: None,
            root: self.k.vfs.host_root().to_path_buf(),
            embed,
            files: BTreeSet::new(),
        };
        serde_json::to_writer(&mut rec.out, &header)
            .map_err(|e| RecordError::Io(path.into(), std::io::Error::other(e)))?;
        rec.out
            .write_all(b"\n")
            .map_err(|e| RecordError::Io(path.into(), e))?;
        if self.k.console_in.is_none() {
            let chunks = Chunks::default();
            let inner = std::mem::replace(&mut self.k.console.stdin, Box::new(std::io::empty()));
            self.k.console.stdin = Box::new(RecordingStdin {
                inner,
                chunks: chunks.clone(),
            });
            rec.chunks = Some(chunks);
        }
        // The program exec'd by Machine::new was read before anyone listened.
        let mut first: Vec<PathBuf> = self.k.images.keys().cloned().collect();
        first.sort();
        OPENED.with(|o| *o.borrow_mut() = Some(first));
        rec.files();
        let _ = rec.out.flush();
        self.tape = Some(Box::new(Tape {
            mode: Mode::Record(Box::new(rec)),
            steps: 0,
            idle_at: None,
            interval,
            next_check: interval,
            outcome: None,
            live_server: false,
            pending_seek: None,
            seek_reply: None,
            carry: None,
        }));
        Ok(())
    }

    /// Replay `rec` on this machine, built from its header. `live_server`: a /proc server is
    /// already attached (time travel); otherwise, if the recording was served, the machine
    /// gets a request queue nobody sends on, so it idles as the served run did.
    pub fn replay_from(&mut self, rec: &Recording, until: Option<Until>) {
        let live_server = self.requests.is_some();
        let mut tx = None;
        if rec.header.served {
            if !live_server {
                let (t, r) = std::sync::mpsc::channel();
                self.requests = Some(r);
                tx = Some(t);
            }
            // Console input comes from the records, never from a reader thread.
            self.k.console_in = Some(crate::machine::ConsoleIn::default());
        } else {
            // A served replay of an unserved run reads the console as that run did.
            self.k.console_in = None;
        }
        let mut events = VecDeque::new();
        let mut checks = VecDeque::new();
        let mut end = None;
        let mut chunks = VecDeque::new();
        for r in &rec.recs {
            match r {
                Rec::File { .. } => {}
                Rec::Check { .. } => checks.push_back(r.clone()),
                Rec::End { .. } => end = Some(r.clone()),
                Rec::Read { data, .. } => chunks.push_back(unhex(data).unwrap_or_default()),
                _ => events.push_back(r.clone()),
            }
        }
        let chunks: Chunks = Arc::new(Mutex::new(chunks));
        if !rec.header.served {
            self.k.console.stdin = Box::new(ReplayStdin {
                chunks: chunks.clone(),
            });
        }
        let interval = rec.header.check_ns.max(1);
        self.tape = Some(Box::new(Tape {
            mode: Mode::Replay(Box::new(Player {
                events,
                checks,
                end,
                truncated: rec.truncated,
                chunks,
                _tx: tx,
                served_recording: rec.header.served,
                matched: 0,
                last_t: 0,
                until,
            })),
            steps: 0,
            idle_at: None,
            interval,
            next_check: interval,
            outcome: None,
            live_server,
            pending_seek: None,
            seek_reply: None,
            carry: None,
        }));
    }

    /// The moment now, for a record made now.
    fn tape_at(&self) -> Option<At> {
        let t = self.tape.as_ref()?;
        let now = (t.steps, self.k.clock.ns);
        Some(At {
            step: t.steps,
            t: now.1,
            ph: u8::from(t.idle_at == Some(now)),
        })
    }

    /// Record an external change that takes effect now (a no-op unless recording). The
    /// record is built only when it will be written.
    pub fn tape_log(&mut self, make: impl FnOnce(At) -> Rec) {
        let Some(at) = self.tape_at() else { return };
        if let Some(Tape {
            mode: Mode::Record(r),
            ..
        }) = self.tape.as_deref_mut()
        {
            r.write(&make(at));
            // Changes from outside are rare: each is on disk at once.
            if let Err(e) = r.out.flush() {
                r.err.get_or_insert(e);
            }
        }
    }

    /// Whether this machine is being replayed (/proc changes then come from the recording,
    /// and clients' writes are refused: they would make the replay go another way).
    pub fn replaying(&self) -> bool {
        matches!(
            self.tape.as_deref(),
            Some(Tape {
                mode: Mode::Replay(_),
                ..
            })
        )
    }

    /// Run-loop hook at the top of each round: apply the recorded changes due now.
    pub fn tape_top(&mut self) {
        self.apply_due(false);
    }

    /// Apply the replay's changes due at this moment; `idle`: the machine has just found
    /// nothing to run. Returns whether any was applied.
    fn apply_due(&mut self, idle: bool) -> bool {
        let Some(tape) = self.tape.as_deref_mut() else {
            return false;
        };
        let now = (tape.steps, self.k.clock.ns);
        if idle {
            tape.idle_at = Some(now);
        }
        let after_idle = tape.idle_at == Some(now);
        let Mode::Replay(p) = &mut tape.mode else {
            return false;
        };
        let mut due = Vec::new();
        while let Some(at) = p.events.front().and_then(Rec::at) {
            if (at.step, at.t) != now || (at.ph == 1 && !after_idle) {
                break;
            }
            if let Some(r) = p.events.pop_front() {
                due.push(r);
            }
        }
        let any = !due.is_empty();
        for r in due {
            self.apply(r);
        }
        any
    }

    /// Carry out one recorded change.
    fn apply(&mut self, r: Rec) {
        use crate::proc_adapter as pa;
        use proc_model::machine::Pid;
        match r {
            Rec::In { data, .. } => {
                if let Some(c) = self.k.console_in.as_mut() {
                    c.buf.extend(unhex(&data).unwrap_or_default());
                }
            }
            Rec::Eof { .. } => {
                if let Some(c) = self.k.console_in.as_mut() {
                    c.eof = true;
                }
            }
            Rec::Ctl { pid, msg, .. } => {
                if let Ok(m) = proc_model::procfs::ctl::parse(msg.as_bytes()) {
                    pa::apply_ctl(self, Pid(pid), m);
                }
            }
            Rec::Mem {
                pid, addr, data, ..
            } => {
                let _ =
                    pa::apply_write_mem(self, Pid(pid), addr, &unhex(&data).unwrap_or_default());
            }
            Rec::Regs { pid, ureg, .. } => {
                let _ = pa::apply_set_ureg(self, Pid(pid), &unhex(&ureg).unwrap_or_default());
            }
            Rec::Fpregs { pid, image, .. } => {
                let _ = pa::apply_set_fpregs(self, Pid(pid), unhex(&image).unwrap_or_default());
            }
            Rec::Watchpt { pid, list, .. } => pa::apply_set_watchpts(self, Pid(pid), &list),
            Rec::Note { pid, note, .. } => {
                let _ = pa::apply_post_note(self, Pid(pid), note);
            }
            Rec::Notepg {
                noteid,
                note,
                except,
                ..
            } => pa::apply_post_notepg(self, noteid, &note, except.map(Pid)),
            Rec::File { .. } | Rec::Read { .. } | Rec::Check { .. } | Rec::End { .. } => {}
        }
    }

    /// Run-loop hook after each scheduling step: note console reads and opened files,
    /// take or compare a checkpoint, check `--until`; a replay served at a moment holds the
    /// machine there until a seek through `/proc/time`. True: stop the run here.
    pub fn tape_stepped(&mut self) -> bool {
        let Some(mut tape) = self.tape.take() else {
            return false;
        };
        let stop = self.tape_stepped_with(&mut tape);
        let live = tape.live_server;
        self.tape = Some(tape);
        if !live {
            return stop;
        }
        loop {
            let Some(t) = self.tape.as_deref_mut() else {
                return stop;
            };
            if let Some(u) = t.pending_seek.take() {
                return self.begin_seek(u);
            }
            if !matches!(t.outcome, Some(Outcome::Reached { .. })) {
                return stop;
            }
            // Time travel: the whole machine stays at this moment, /proc answering.
            if let Some(r) = t.seek_reply.take() {
                let _ = r.send(Ok(()));
            }
            // One write, so a filter on the stream sees the whole line.
            let line = format!(
                "glass: held at {} ns of virtual time with /proc served\n",
                self.k.clock.ns
            );
            let _ = self.k.console.stderr.write_all(line.as_bytes());
            let _ = self.k.console.stderr.flush();
            loop {
                if !self.service(true) {
                    return true;
                }
                if self
                    .tape
                    .as_deref()
                    .is_some_and(|t| t.pending_seek.is_some())
                {
                    break;
                }
            }
        }
    }

    /// Go to moment `u`: on from here if it is ahead, else stop this run so a new machine
    /// replays from the start to it. Returns whether to stop the run.
    fn begin_seek(&mut self, u: Until) -> bool {
        let behind = self.reached(u);
        let carry = if behind { self.requests.take() } else { None };
        let Some(t) = self.tape.as_deref_mut() else {
            return true;
        };
        if behind {
            t.outcome = Some(Outcome::Seek(u));
            t.carry = carry;
            return true;
        }
        t.outcome = None;
        if let Mode::Replay(p) = &mut t.mode {
            p.until = Some(u);
        }
        false
    }

    /// The current moment, as `/proc/time` reads (a replay served by a live server only).
    pub fn tape_time(&self) -> Option<String> {
        let t = self.tape.as_deref()?;
        if !(t.live_server && matches!(t.mode, Mode::Replay(_))) {
            return None;
        }
        Some(format!(
            "{} ns step {} syscalls {}\n",
            self.k.clock.ns, t.steps, self.k.trace.calls
        ))
    }

    /// A `seek` through `/proc/time`: `reply` is answered when the machine is at `u`.
    pub fn tape_seek(&mut self, u: Until, reply: SeekReply) {
        match self.tape.as_deref_mut() {
            Some(t) if t.live_server => {
                if let Some(old) = t.seek_reply.replace(reply) {
                    let _ = old.send(Err(proc_model::machine::ProcError::Interrupted));
                }
                t.pending_seek = Some(u);
            }
            _ => {
                let _ = reply.send(Err(proc_model::machine::ProcError::Perm));
            }
        }
    }

    /// After a run that ended in [`Outcome::Seek`]: the /proc request queue and the waiting
    /// seek's reply, for the machine that replays to the moment.
    pub fn tape_take_carry(
        &mut self,
    ) -> Option<(std::sync::mpsc::Receiver<Request>, Option<SeekReply>)> {
        let t = self.tape.as_deref_mut()?;
        Some((t.carry.take()?, t.seek_reply.take()))
    }

    /// Hand a waiting seek's reply to this (new) machine's replay.
    pub fn tape_set_seek_reply(&mut self, reply: Option<SeekReply>) {
        if let Some(t) = self.tape.as_deref_mut() {
            t.seek_reply = reply;
        }
    }

    fn tape_stepped_with(&mut self, tape: &mut Tape) -> bool {
        let at = At {
            step: tape.steps,
            t: self.k.clock.ns,
            ph: 0,
        };
        tape.steps += 1;
        let check_due = self.k.clock.ns >= tape.next_check;
        if check_due {
            tape.next_check = (self.k.clock.ns / tape.interval + 1) * tape.interval;
        }
        let now = At {
            step: tape.steps,
            t: self.k.clock.ns,
            ph: 0,
        };
        match &mut tape.mode {
            Mode::Record(r) => {
                if let Some(c) = &r.chunks {
                    let got: Vec<Vec<u8>> = c
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .drain(..)
                        .collect();
                    for data in got {
                        r.write(&Rec::Read {
                            at,
                            data: hex(&data),
                        });
                    }
                }
                r.files();
                if check_due {
                    let c = self.checkpoint(now);
                    r.write(&c);
                    // A host killed mid-run leaves everything up to here.
                    if let Err(e) = r.out.flush() {
                        r.err.get_or_insert(e);
                    }
                }
                false
            }
            Mode::Replay(p) => {
                if check_due {
                    let mine = self.checkpoint(now);
                    match p.checks.pop_front() {
                        Some(theirs) => {
                            if let Some(what) = differs(&theirs, &mine) {
                                tape.outcome = Some(self.diverged(now, what));
                                return true;
                            }
                            p.matched += 1;
                            p.last_t = now.t;
                        }
                        None if p.truncated => {
                            tape.outcome = Some(Outcome::CutShort {
                                checks: p.matched,
                                t: p.last_t,
                            });
                            return true;
                        }
                        None => {
                            tape.outcome = Some(self.diverged(
                                now,
                                "the replay reached a checkpoint after the recorded run's last one".into(),
                            ));
                            return true;
                        }
                    }
                }
                if let Some(u) = p.until {
                    if self.reached(u) {
                        tape.outcome = Some(Outcome::Reached {
                            t: now.t,
                            step: now.step,
                        });
                        return true;
                    }
                }
                false
            }
        }
    }

    /// Whether `--until` holds now.
    fn reached(&self, u: Until) -> bool {
        use proc_model::machine::Pid;
        match u {
            Until::Time(t) => self.k.clock.ns >= t,
            Until::Syscall(n) => self.k.trace.calls >= n,
            Until::PidSyscall(pid, n) => self.tasks.get(&Pid(pid)).is_some_and(|t| t.syscalls >= n),
            // Born (pids are handed out in order) and now ended or reaped.
            Until::Exit(pid) => {
                pid < self.next_pid
                    && self
                        .tasks
                        .get(&Pid(pid))
                        .is_none_or(|t| t.state.is_zombie())
            }
            Until::Exec(pid) => {
                let (p, sys) = self.k.trace.last_call();
                p == pid && sys.starts_with("execve") && self.k.trace.last_ret == 0
            }
        }
    }

    /// A checkpoint of the run so far.
    fn checkpoint(&self, at: At) -> Rec {
        let (pid, sys) = self.k.trace.last_call();
        Rec::Check {
            at,
            digest: self.k.trace.digest_so_far(),
            calls: self.k.trace.calls,
            pid,
            sys: sys.to_string(),
        }
    }

    fn diverged(&self, at: At, what: String) -> Outcome {
        let (pid, sys) = self.k.trace.last_call();
        Outcome::Diverged {
            t: at.t,
            step: at.step,
            pid,
            sys: sys.to_string(),
            what,
        }
    }

    /// Run-loop hook when nobody can run and no one sleeps: a replay applies the changes
    /// that arrived while the recorded machine was idle, or ends when none will come.
    pub fn tape_idle(&mut self) -> Idle {
        if self.apply_due(true) {
            return Idle::Applied;
        }
        let Some(tape) = self.tape.as_deref_mut() else {
            return Idle::Normal;
        };
        let now = At {
            step: tape.steps,
            t: self.k.clock.ns,
            ph: 1,
        };
        let live = self.tasks.values().any(|t| !t.state.is_zombie());
        let Mode::Replay(p) = &mut tape.mode else {
            return Idle::Normal;
        };
        if let Some(next) = p.events.front() {
            let what = format!(
                "the machine is idle, but the recording has a {} at step {} and {} ns still to come",
                next.describe(),
                next.at().map_or(0, |a| a.step),
                next.at().map_or(0, |a| a.t)
            );
            let o = self.diverged(now, what);
            if let Some(t) = self.tape.as_deref_mut() {
                t.outcome = Some(o);
            }
            return Idle::Stop;
        }
        if tape.live_server || !live {
            return Idle::Normal;
        }
        if p.truncated {
            tape.outcome = Some(Outcome::CutShort {
                checks: p.matched,
                t: p.last_t,
            });
            return Idle::Stop;
        }
        if p.served_recording {
            // The recorded machine waited here for a request that never came before the
            // recording ended: there is nothing more to replay.
            tape.outcome = Some(Outcome::CutShort {
                checks: p.matched,
                t: self.k.clock.ns,
            });
            return Idle::Stop;
        }
        Idle::Normal
    }

    /// Console input (`Some`) or its end (`None`) reached the machine while /proc is served.
    pub fn tape_console(&mut self, got: Option<&[u8]>) {
        self.tape_log(|at| match got {
            Some(b) => Rec::In { at, data: hex(b) },
            None => Rec::Eof { at },
        });
    }

    /// Run-loop hook at the end of the run: a recording writes its end; a replay compares
    /// its end with the recorded one.
    pub fn tape_finish(&mut self, report: &RunReport) {
        let Some(tape) = self.tape.as_deref_mut() else {
            return;
        };
        let at = At {
            step: tape.steps,
            t: self.k.clock.ns,
            ph: 0,
        };
        let status = report.status.shell_code();
        let (pid, sys) = self.k.trace.last_call();
        match &mut tape.mode {
            Mode::Record(r) => {
                r.files();
                r.write(&Rec::End {
                    at,
                    digest: report.digest.clone(),
                    status,
                });
                if let Err(e) = r.out.flush() {
                    r.err.get_or_insert(e);
                }
            }
            Mode::Replay(p) => {
                if tape.outcome.is_some() {
                    return;
                }
                let mine = Rec::End {
                    at,
                    digest: report.digest.clone(),
                    status,
                };
                tape.outcome = Some(match &p.end {
                    _ if !p.events.is_empty() => Outcome::Diverged {
                        t: at.t,
                        step: at.step,
                        pid,
                        sys: sys.to_string(),
                        what: format!(
                            "the replay ended, but the recording has {} more changes from outside, the next a {}",
                            p.events.len(),
                            p.events.front().map_or(String::new(), Rec::describe)
                        ),
                    },
                    _ if !p.checks.is_empty() => Outcome::Diverged {
                        t: at.t,
                        step: at.step,
                        pid,
                        sys: sys.to_string(),
                        what: format!(
                            "the replay ended, but the recording has {} more checkpoints",
                            p.checks.len()
                        ),
                    },
                    Some(theirs) => match differs(theirs, &mine) {
                        None => Outcome::Matched { checks: p.matched },
                        Some(what) => Outcome::Diverged {
                            t: at.t,
                            step: at.step,
                            pid,
                            sys: sys.to_string(),
                            what,
                        },
                    },
                    None => Outcome::CutShort {
                        checks: p.matched,
                        t: p.last_t,
                    },
                });
            }
        }
    }

    /// The recording's write error, if any (the run itself went on).
    pub fn tape_error(&self) -> Option<String> {
        match self.tape.as_deref() {
            Some(Tape {
                mode: Mode::Record(r),
                ..
            }) => r.err.as_ref().map(|e| format!("{}: {e}", r.path.display())),
            _ => None,
        }
    }

    /// How the replay ended (None while recording or before the end).
    pub fn tape_outcome(&self) -> Option<Outcome> {
        self.tape.as_deref().and_then(|t| t.outcome.clone())
    }

    /// The recorded console reads not yet taken by the replay (a check for tests).
    pub fn tape_reads_left(&self) -> usize {
        match self.tape.as_deref() {
            Some(Tape {
                mode: Mode::Replay(p),
                ..
            }) => p.chunks.lock().unwrap_or_else(|p| p.into_inner()).len(),
            _ => 0,
        }
    }
}

/// What differs between a recorded checkpoint (or end) and the replay's, or None.
fn differs(theirs: &Rec, mine: &Rec) -> Option<String> {
    match (theirs, mine) {
        (
            Rec::Check {
                at: a1,
                digest: d1,
                calls: c1,
                pid: p1,
                sys: s1,
            },
            Rec::Check {
                at: a2,
                digest: d2,
                calls: c2,
                pid: p2,
                sys: s2,
            },
        ) => {
            if (a1.step, a1.t) != (a2.step, a2.t) {
                return Some(format!(
                    "the recorded checkpoint was at step {} and {} ns, the replay's at step {} and {} ns",
                    a1.step, a1.t, a2.step, a2.t
                ));
            }
            if c1 != c2 {
                return Some(format!(
                    "{c1} system calls were traced by then in the recorded run, {c2} in the replay"
                ));
            }
            if (p1, s1) != (p2, s2) {
                return Some(format!(
                    "the last system call was pid {p1} {s1} in the recorded run, pid {p2} {s2} in the replay"
                ));
            }
            (d1 != d2).then(|| {
                format!("the digest differs: recorded {d1}, replayed {d2} (same number of system calls: an argument, a result or the output differs)")
            })
        }
        (
            Rec::End {
                digest: d1,
                status: s1,
                ..
            },
            Rec::End {
                digest: d2,
                status: s2,
                ..
            },
        ) => {
            if s1 != s2 {
                return Some(format!("exit status {s1} recorded, {s2} replayed"));
            }
            (d1 != d2).then(|| format!("the final digest differs: recorded {d1}, replayed {d2}"))
        }
        _ => Some("record kinds differ".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_parse_forms_give_moments() {
        assert_eq!(Until::parse("12.5ms"), Ok(Until::Time(12_500_000)));
        assert_eq!(Until::parse("800ns"), Ok(Until::Time(800)));
        assert_eq!(Until::parse("2s"), Ok(Until::Time(2_000_000_000)));
        assert_eq!(Until::parse("syscall:1200"), Ok(Until::Syscall(1200)));
        assert_eq!(Until::parse("3:syscall:40"), Ok(Until::PidSyscall(3, 40)));
        assert_eq!(Until::parse("4:exit"), Ok(Until::Exit(4)));
        assert_eq!(Until::parse("4:exec"), Ok(Until::Exec(4)));
        assert!(Until::parse("12parsecs").is_err());
        assert!(Until::parse("-1ms").is_err());
        assert!(Until::parse("x:syscall:1").is_err());
    }

    #[test]
    fn hex_roundtrip_and_bad_hex_is_none() {
        assert_eq!(
            unhex(&hex(&[0, 1, 0xfe, 0xff])),
            Some(vec![0, 1, 0xfe, 0xff])
        );
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn ctl_text_parses_back_to_the_same_message() {
        use proc_model::machine::CtlMsg as C;
        for m in [
            C::Stop,
            C::Start,
            C::StartStop,
            C::StartSyscall,
            C::WaitStop,
            C::Hang,
            C::NoHang,
            C::Kill,
            C::Close(7),
            C::CloseFiles,
            C::Private,
            C::NoSwap,
            C::Pri(3),
            C::FixedPri(4),
            C::Wired(1),
            C::Profile,
            C::Event,
            C::Interrupt,
            C::NoInterrupt,
            C::Step,
        ] {
            let back = proc_model::procfs::ctl::parse(ctl_text(&m).as_bytes());
            assert_eq!(back, Ok(m.clone()), "{}", ctl_text(&m));
        }
    }

    #[test]
    fn rec_json_has_kind_tag_and_flat_moment() {
        let r = Rec::Mem {
            at: At {
                step: 3,
                t: 40,
                ph: 1,
            },
            pid: 2,
            addr: 0x1000,
            data: "ff".into(),
        };
        let s = serde_json::to_string(&r).expect("json");
        assert_eq!(
            s,
            r#"{"k":"mem","step":3,"t":40,"ph":1,"pid":2,"addr":4096,"data":"ff"}"#
        );
        assert_eq!(serde_json::from_str::<Rec>(&s).ok(), Some(r));
    }
}
