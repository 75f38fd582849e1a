//! The /proc file tree (proc(3), 9front port/devproc.c) over a [`Machine`]: one table of
//! files, one generator of directory entries, one read/write switch on file kind. Qids,
//! modes, permissions, formats and error strings follow docs/plan9-proc-9p.md §1 and §5.
//!
//! Qid encoding (9front): the low 5 bits of `path` are the file type, above them a stable
//! per-process number standing in for slot+1; `vers` is the pid, so a fid whose process has
//! gone answers `process exited`. The root is path 0, `trace` path 1 with vers 0xFFFFFFFF.

pub mod ctl;
pub mod format;
pub mod watchpt;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use crate::ctlstate::PRI_NORMAL;
use crate::machine::{CtlMsg, Machine, Pid, ProcError, ProcInfo, ProcState, TextImage};
use crate::ninep::fs::{
    Cancel, FileTree, NineError, NineResult, Qid, Stat, DMDIR, OEXEC, ORDWR, OREAD, OWRITE, QTDIR,
    QTFILE,
};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Plan 9 error strings of devproc (port/error.h).
pub mod err {
    pub const EPROCDIED: &str = "process exited";
    pub const EPERM: &str = "permission denied";
    pub const ENONEXIST: &str = "file does not exist";
    pub const EBADCTL: &str = "bad process or channel control request";
    pub const EBADARG: &str = "bad arg in system call";
    pub const ENOREG: &str = "process has no saved registers";
    pub const ETOOBIG: &str = "read or write too large";
    pub const ETOOSMALL: &str = "read or write too small";
    pub const EINUSE: &str = "device or object already in use";
    pub const ENOCHILD: &str = "no living children";
    pub const ENONOTE: &str = "note not posted";
    pub const EPROFILE: &str = "profile is off";
    pub const EALREADY_OPEN: &str = "already open";
    pub const EISDIR: &str = "file is a directory";
    pub use crate::ninep::errstr::EINTR;
    pub const EBADFD: &str = "fd out of range or not open";
    pub const ENOTES_PENDING: &str = "notes pending";
}

/// The file types of a process directory, in 9front's enum order with KFPSTATE (pc64 and
/// arm64 define it): Qdir 0, Qtrace 1, Qargs 2 … Qfpregs 5, Qkfpregs 6, Qkregs 7 …
/// Qwatchpt 22 (§1.1). riscv64 (no 9front mainline port) keeps the same numbers and lists
/// no kfpregs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Q {
    Args = 2,
    Ctl,
    Fd,
    Fpregs,
    Kfpregs,
    Kregs,
    Mem,
    Note,
    Noteid,
    Notepg,
    Ns,
    Ppid,
    Proc,
    Regs,
    Segment,
    Status,
    Text,
    Wait,
    Profile,
    Syscall,
    Watchpt,
}

/// The per-process files in `procdir[]` order, with their table permission (0 = procmode).
pub const PROCDIR: &[(&str, Q, u32)] = &[
    ("args", Q::Args, 0o660),
    ("ctl", Q::Ctl, 0),
    ("fd", Q::Fd, 0o444),
    ("fpregs", Q::Fpregs, 0),
    ("kfpregs", Q::Kfpregs, 0o400),
    ("kregs", Q::Kregs, 0o400),
    ("mem", Q::Mem, 0),
    ("note", Q::Note, 0),
    ("noteid", Q::Noteid, 0o664),
    ("notepg", Q::Notepg, 0),
    ("ns", Q::Ns, 0o444),
    ("ppid", Q::Ppid, 0o444),
    ("proc", Q::Proc, 0o400),
    ("regs", Q::Regs, 0),
    ("segment", Q::Segment, 0o444),
    ("status", Q::Status, 0o444),
    ("text", Q::Text, 0),
    ("wait", Q::Wait, 0o400),
    ("profile", Q::Profile, 0o400),
    ("syscall", Q::Syscall, 0o400),
    ("watchpt", Q::Watchpt, 0o600),
];

/// Whether a process of `arch` has the file `q`: kfpregs exists where 9front defines
/// KFPSTATE (amd64, arm64).
fn has_file(arch: crate::machine::Arch, q: Q) -> bool {
    q != Q::Kfpregs || arch != crate::machine::Arch::Riscv64
}

fn entry(q: Q) -> (&'static str, Q, u32) {
    PROCDIR
        .iter()
        .copied()
        .find(|e| e.1 == q)
        .unwrap_or(("?", q, 0))
}

/// A process as a fid names it: the pid (qid.vers) and its stable number (qid path bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcRef {
    pub pid: Pid,
    pub slot: u32,
}

/// What a fid points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Root,
    Trace,
    /// Glass extension: `/proc/time` of a replay (docs/recording.md).
    Time,
    Dir(ProcRef),
    File(ProcRef, Q),
}

/// Per-open state of a fid.
pub struct Open {
    node: Node,
    uname: String,
    /// The executable, for `text`.
    text: Option<TextImage>,
    /// The note group remembered at open, for `notepg`.
    noteid: u32,
    /// Where a reader of `fd` or `ns` is (9front's per-channel line cursor).
    lines: format::LineCursor,
}

/// The /proc tree of one machine.
pub struct ProcFs<M: Machine + ?Sized> {
    m: Arc<M>,
    /// atime and mtime of every entry: a fixed time, so listings are deterministic (the Glass
    /// epoch, 2025-01-01T00:00:00Z, the guest root's file times).
    time: u32,
    trace_open: Mutex<bool>,
    /// Processes whose `wait` file has a reader in progress: 9front takes `p->qwaitr` with
    /// canqlock, so a second reader gets `device or object already in use` (§1.4 wait).
    wait_readers: Mutex<HashSet<u32>>,
    /// Each process's watchpoint list as written to `watchpt` (9front p->watchpt).
    watchpts: Mutex<std::collections::HashMap<u32, Vec<watchpt::Watchpt>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn e(s: &str) -> NineError {
    NineError::new(s)
}

/// A machine error as its Plan 9 string.
pub fn proc_err(pe: ProcError) -> NineError {
    NineError::new(match pe {
        ProcError::Exited => err::EPROCDIED.to_string(),
        ProcError::BadArg => err::EBADARG.to_string(),
        ProcError::BadCtl => err::EBADCTL.to_string(),
        ProcError::NoRegs => err::ENOREG.to_string(),
        ProcError::NoteNotPosted => err::ENONOTE.to_string(),
        ProcError::InUse => err::EINUSE.to_string(),
        ProcError::NoChildren => err::ENOCHILD.to_string(),
        ProcError::Perm => err::EPERM.to_string(),
        ProcError::NotExist => err::ENONEXIST.to_string(),
        ProcError::Interrupted => err::EINTR.to_string(),
        ProcError::BadFd => err::EBADFD.to_string(),
        ProcError::NotesPending => err::ENOTES_PENDING.to_string(),
        ProcError::Other(s) => s,
    })
}

const ROOT_QID: Qid = Qid {
    ty: QTDIR,
    vers: 0,
    path: 0,
};
const TRACE_QID: Qid = Qid {
    ty: QTFILE,
    vers: u32::MAX,
    path: 1,
};

/// `/proc/time`: path 2, which no process file has (their slots start at 1).
const TIME_QID: Qid = Qid {
    ty: QTFILE,
    vers: 0,
    path: 2,
};

fn dir_qid(r: ProcRef) -> Qid {
    Qid {
        ty: QTDIR,
        vers: r.pid.0,
        path: u64::from(r.slot) << 5,
    }
}

fn file_qid(r: ProcRef, q: Q) -> Qid {
    Qid {
        ty: QTFILE,
        vers: r.pid.0,
        path: (u64::from(r.slot) << 5) | q as u64,
    }
}

/// The requested access of an open mode as owner bits (OREAD 0400, OWRITE 0200, ORDWR
/// 0600, OEXEC 0100).
fn access(mode: u8) -> u32 {
    match mode & 3 {
        OREAD => 0o400,
        OWRITE => 0o200,
        ORDWR => 0o600,
        _ => 0o100,
    }
}

impl<M: Machine + ?Sized> ProcFs<M> {
    pub fn new(m: Arc<M>) -> Self {
        ProcFs {
            m,
            time: crate::machine::GLASS_EPOCH_SECS,
            trace_open: Mutex::new(false),
            wait_readers: Mutex::new(HashSet::new()),
            watchpts: Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// The live process a fid names: its pid must still be there (`process exited`).
    fn live(&self, r: ProcRef) -> NineResult<ProcInfo> {
        match self.m.info(r.pid) {
            Ok(p) if p.slot == r.slot => Ok(p),
            _ => Err(e(err::EPROCDIED)),
        }
    }

    fn file_mode(p: &ProcInfo, q: Q) -> u32 {
        let perm = entry(q).2;
        if perm == 0 {
            p.procmode
        } else {
            perm | (p.procmode & 0o444)
        }
    }

    /// stat length (9front procgen): status 176, regs/kregs sizeof(Ureg), fpregs
    /// sizeof(FPsave), wait the number of queued records, everything else 0.
    fn file_length(&self, p: &ProcInfo, q: Q) -> u64 {
        match q {
            Q::Status => format::status(p).len() as u64,
            Q::Regs | Q::Kregs => format::ureg_size(p.arch) as u64,
            Q::Fpregs | Q::Kfpregs => format::fpsave_size(p.arch) as u64,
            Q::Profile => self
                .m
                .profile_counts(p.pid)
                .ok()
                .flatten()
                .map_or(0, |c| c.len() as u64 * 4),
            // lenwatchpt: 10 + 4*sizeof(uintptr) = 42 bytes per entry on 64-bit.
            Q::Watchpt => (self.watchpoints(p.pid).len() * watchpt::LINE_LEN) as u64,
            Q::Wait => self.m.wait_count(p.pid).unwrap_or(0),
            _ => 0,
        }
    }

    fn file_stat(&self, p: &ProcInfo, r: ProcRef, q: Q) -> Stat {
        Stat {
            ty: 0,
            dev: 0,
            qid: file_qid(r, q),
            mode: Self::file_mode(p, q),
            atime: self.time,
            mtime: self.time,
            length: self.file_length(p, q),
            name: entry(q).0.to_string(),
            uid: p.user.clone(),
            gid: self.m.eve(),
            muid: p.user.clone(),
        }
    }

    /// The stat of a file of a process that has gone: procgen has no pid check, so a fid
    /// walked before the exit still stats (§5.3). Glass has no slot to read a stale owner
    /// from, so eve owns it with the default procmode 0640 and length 0.
    fn gone_file_stat(&self, r: ProcRef, q: Q) -> Stat {
        let perm = entry(q).2;
        let mode = if perm == 0 {
            0o640
        } else {
            perm | (0o640 & 0o444)
        };
        Stat {
            length: 0,
            ..self.eve_stat(entry(q).0, file_qid(r, q), mode)
        }
    }

    fn eve_stat(&self, name: &str, qid: Qid, mode: u32) -> Stat {
        let eve = self.m.eve();
        Stat {
            ty: 0,
            dev: 0,
            qid,
            mode,
            atime: self.time,
            mtime: self.time,
            length: 0,
            name: name.to_string(),
            uid: eve.clone(),
            gid: eve.clone(),
            muid: eve,
        }
    }

    /// A pid directory as the root lists it: owned by the process's user.
    fn pid_dir_entry(&self, p: &ProcInfo) -> Stat {
        let r = ProcRef {
            pid: p.pid,
            slot: p.slot,
        };
        Stat {
            uid: p.user.clone(),
            muid: p.user.clone(),
            ..self.eve_stat(&p.pid.0.to_string(), dir_qid(r), DMDIR | 0o555)
        }
    }

    /// devpermcheck: owner bits for the file's user, group bits for eve (gid is eve), the
    /// other bits for everyone else; `none` may open only its own process's files (nonone),
    /// and a 9P client is never that process.
    fn permcheck(&self, uname: &str, owner: &str, mode: u32, omode: u8) -> NineResult<()> {
        let eve = self.m.eve();
        if uname == "none" && uname != eve {
            return Err(e(err::EPERM));
        }
        let want = access(omode);
        let have = if uname == owner {
            mode & 0o700
        } else if uname == eve {
            (mode & 0o070) << 3
        } else {
            (mode & 0o007) << 6
        };
        if want & have == want {
            Ok(())
        } else {
            Err(e(err::EPERM))
        }
    }

    /// The watchpoints of `pid`, in the order written.
    pub fn watchpoints(&self, pid: Pid) -> Vec<watchpt::Watchpt> {
        lock(&self.watchpts)
            .get(&pid.0)
            .cloned()
            .unwrap_or_default()
    }

    /// The segment holding `addr`, for `mem` I/O; an address in no segment is
    /// `bad arg in system call` (9front procctlmemio via seg()).
    fn mem_segment(&self, pid: Pid, addr: u64) -> NineResult<crate::machine::Segment> {
        self.m
            .segments(pid)
            .map_err(proc_err)?
            .into_iter()
            .find(|s| s.base.0 <= addr && addr < s.top.0)
            .ok_or_else(|| e(err::EBADARG))
    }

    fn regs_image(&self, p: &ProcInfo) -> NineResult<Vec<u8>> {
        if !p.has_regs {
            return Err(e(err::ENOREG));
        }
        let r = self.m.regs(p.pid).map_err(proc_err)?;
        Ok(format::ureg(&r))
    }

    /// One `wait` record (§1.4 wait): one reader at a time per process.
    fn read_wait(&self, pid: Pid, count: u32, cancel: &Cancel) -> NineResult<Vec<u8>> {
        if !lock(&self.wait_readers).insert(pid.0) {
            return Err(e(err::EINUSE));
        }
        let w = self.m.wait_record(pid, cancel);
        lock(&self.wait_readers).remove(&pid.0);
        // One record per read; the offset is ignored; a short buffer loses the rest.
        let mut b = format::wait_record(&w.map_err(proc_err)?).into_bytes();
        b.truncate(count as usize);
        Ok(b)
    }

    fn read_file(
        &self,
        o: &mut Open,
        r: ProcRef,
        q: Q,
        offset: u64,
        count: u32,
        cancel: &Cancel,
    ) -> NineResult<Vec<u8>> {
        let p = self.live(r)?;
        let pid = p.pid;
        let pe = proc_err;
        Ok(match q {
            Q::Args => {
                let text = match self.m.args_text(pid).map_err(pe)? {
                    Some(t) => format!("{} [{}]", p.name, t),
                    None => format::args(&p.args),
                };
                // procargs prints into a 1 KiB buffer, keeping its NUL: 1023 bytes at most.
                let mut b = text.into_bytes();
                b.truncate(format::ARGS_MAX - 1);
                format::readstr(offset, count, &b)
            }
            Q::Ctl => format::readstr(offset, count, format::readnum(pid.0.into()).as_bytes()),
            Q::Noteid => {
                format::readstr(offset, count, format::readnum(p.noteid.into()).as_bytes())
            }
            Q::Ppid => format::readstr(offset, count, format::readnum(p.ppid.0.into()).as_bytes()),
            Q::Fd => {
                // A process without an fd group (Broken) reads as empty.
                if p.state == ProcState::Broken {
                    return Ok(Vec::new());
                }
                let t = self.m.fds(pid).map_err(pe)?;
                format::cursor_read(&mut o.lines, offset, count, |n| format::fd_line_at(&t, n))
            }
            Q::Ns => {
                if p.state == ProcState::Broken {
                    return Err(e(err::EPROCDIED));
                }
                // A Linux guest has one name space, the machine's root: no binds or mounts
                // to list, only the current directory.
                let t = self.m.fds(pid).map_err(pe)?;
                let cd = format!("cd {}\n", format::quote(&t.cwd));
                format::cursor_read(&mut o.lines, offset, count, |n| {
                    (*n == 0).then(|| {
                        *n = 1;
                        cd.clone()
                    })
                })
            }
            Q::Fpregs => {
                if !p.has_fpregs {
                    return Err(e(err::ENOREG));
                }
                let img = self.m.fpregs(pid).map_err(pe)?;
                format::readstr(offset, count, &img)
            }
            // The kernel's FP save area: a Linux guest's process never has one saved.
            Q::Kfpregs => return Err(e(err::ENOREG)),
            Q::Watchpt => {
                let text: String = self.watchpoints(pid).iter().map(watchpt::line).collect();
                format::readstr(offset, count, text.as_bytes())
            }
            // The kernel pc and sp of the last context switch: a Linux guest has no Plan 9
            // kernel stack, so the image is all zeros.
            Q::Kregs => format::readstr(offset, count, &vec![0u8; format::ureg_size(p.arch)]),
            Q::Regs => format::readstr(offset, count, &self.regs_image(&p)?),
            Q::Mem => self
                .m
                .read_mem_in_segment(pid, crate::machine::GuestAddr(offset), count as usize)
                .map_err(pe)?,
            Q::Note => {
                if count < 1 {
                    return Err(e(err::ETOOSMALL));
                }
                match self.m.take_note(pid).map_err(pe)? {
                    None => Vec::new(),
                    Some(n) => {
                        // The note cut to count-1 bytes, plus its NUL (counted).
                        let mut b = n.into_bytes();
                        b.truncate(count as usize - 1);
                        b.push(0);
                        b
                    }
                }
            }
            Q::Notepg => return Err(e(err::EPERM)),
            // Kernel Proc structure: Glass has none to show.
            Q::Proc => Vec::new(),
            Q::Segment => {
                let segs = self.m.segments(pid).map_err(pe)?;
                format::readstr(offset, count, format::segments(&segs).as_bytes())
            }
            Q::Status => format::readstr(offset, count, format::status(&p).as_bytes()),
            Q::Text => Vec::new(),
            Q::Wait => self.read_wait(pid, count, cancel)?,
            // 4-byte counters, one per 8 bytes of text (LRESPROF 3), native byte order.
            Q::Profile => match self.m.profile_counts(pid).map_err(pe)? {
                None => return Err(e(err::EPROFILE)),
                Some(c) => {
                    let b: Vec<u8> = c.iter().flat_map(|v| v.to_le_bytes()).collect();
                    format::readstr(offset, count, &b)
                }
            },
            Q::Syscall => {
                let t = self.m.syscall_text(pid).map_err(pe)?;
                format::readstr(offset, count, t.as_bytes())
            }
        })
    }

    fn write_file(
        &self,
        o: &mut Open,
        r: ProcRef,
        q: Q,
        offset: u64,
        data: &[u8],
        cancel: &Cancel,
    ) -> NineResult<u32> {
        let n = data.len() as u32;
        if q == Q::Notepg {
            // To the note group remembered at open, even if the process has since changed
            // group or exited: 9front procwrite handles notepg before its pid check (§1.3).
            if data.len() >= format::ERRMAX {
                return Err(e(err::ETOOBIG));
            }
            let note = String::from_utf8_lossy(data);
            self.m
                .post_notepg(o.noteid, &note, None)
                .map_err(proc_err)?;
            return Ok(n);
        }
        let p = self.live(r)?;
        let pid = p.pid;
        let pe = proc_err;
        match q {
            Q::Args => {
                if offset != 0 || data.len() >= format::ERRMAX {
                    return Err(e(err::ETOOBIG));
                }
                let text = String::from_utf8_lossy(data).into_owned();
                self.m.set_args_text(pid, text).map_err(pe)?;
            }
            Q::Ctl => {
                let msg = ctl::parse(data).map_err(NineError)?;
                if let CtlMsg::Pri(v) | CtlMsg::FixedPri(v) = msg {
                    // Raising above PriNormal is eve's privilege.
                    if v > i64::from(PRI_NORMAL) && o.uname != self.m.eve() {
                        return Err(e(err::EPERM));
                    }
                }
                self.m.ctl(pid, &msg, cancel).map_err(pe)?;
            }
            Q::Mem => {
                if p.state != ProcState::Stopped {
                    return Err(e(err::EBADCTL));
                }
                let seg = self.mem_segment(pid, offset)?;
                let end = offset.checked_add(data.len() as u64);
                // A write that would cross the segment's end fails whole (9front).
                if !matches!(end, Some(end) if end <= seg.top.0) {
                    return Err(e(err::EBADARG));
                }
                self.m
                    .write_mem(pid, crate::machine::GuestAddr(offset), data)
                    .map_err(pe)?;
            }
            Q::Note => {
                if data.len() >= format::ERRMAX {
                    return Err(e(err::ETOOBIG));
                }
                let note = String::from_utf8_lossy(data);
                self.m.post_note(pid, &note).map_err(pe)?;
            }
            Q::Noteid => {
                if offset != 0 || data.len() >= format::ERRMAX {
                    return Err(e(err::ETOOBIG));
                }
                let v = ctl::atoi(&String::from_utf8_lossy(data));
                if v <= 0 || v > i64::from(u32::MAX) {
                    return Err(e(err::EBADARG));
                }
                let v = v as u32;
                if v != pid.0 {
                    // Joining a group: the first process in table order that is in it must
                    // have the same user (Eperm); no process in it at all is Ebadarg
                    // (9front procwrite Qnoteid).
                    let procs = self.m.processes();
                    match procs.iter().find(|q| q.noteid == v) {
                        None => return Err(e(err::EBADARG)),
                        Some(q) if q.user != p.user => return Err(e(err::EPERM)),
                        Some(_) => {}
                    }
                }
                self.m.set_noteid(pid, v).map_err(pe)?;
            }
            Q::Regs => {
                if !p.has_regs {
                    return Err(e(err::ENOREG));
                }
                let old = self.m.regs(pid).map_err(pe)?;
                let mut img = format::ureg(&old);
                let w = patch(&mut img, offset, data);
                let new = format::ureg_decode(&old, &img);
                self.m.set_regs(pid, new).map_err(pe)?;
                return Ok(w);
            }
            Q::Watchpt => {
                // At offset 0 the list is replaced, elsewhere appended; all or nothing.
                let mut list = if offset == 0 {
                    Vec::new()
                } else {
                    self.watchpoints(pid)
                };
                list.extend(watchpt::parse(data, watchpt::user_top(p.arch)).map_err(e)?);
                lock(&self.watchpts).insert(pid.0, list);
            }
            Q::Fpregs => {
                if !p.has_fpregs {
                    return Err(e(err::ENOREG));
                }
                let mut img = self.m.fpregs(pid).map_err(pe)?;
                img.resize(format::fpsave_size(p.arch), 0);
                let w = patch(&mut img, offset, data);
                self.m.set_fpregs(pid, img).map_err(pe)?;
                return Ok(w);
            }
            _ => return Err(e(err::EPERM)),
        }
        Ok(n)
    }
}

/// Copy `data` into `img` at `offset`, clipped to the image; the count copied.
fn patch(img: &mut [u8], offset: u64, data: &[u8]) -> u32 {
    let Ok(off) = usize::try_from(offset) else {
        return 0;
    };
    if off >= img.len() {
        return 0;
    }
    let n = data.len().min(img.len() - off);
    img[off..off + n].copy_from_slice(&data[..n]);
    n as u32
}

/// Parse a pid directory name: base-10, nonzero, all digits, and printing back the same.
fn parse_pid(name: &str) -> Option<Pid> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = name.parse().ok()?;
    (n != 0 && n.to_string() == name).then_some(Pid(n))
}

impl<M: Machine + ?Sized> FileTree for ProcFs<M> {
    type Node = Node;
    type Open = Open;

    fn attach(&self, _uname: &str, _aname: &str) -> NineResult<(Node, Qid)> {
        Ok((Node::Root, ROOT_QID))
    }

    fn walk1(&self, _uname: &str, dir: &Node, name: &str) -> NineResult<(Node, Qid)> {
        if name == ".." {
            return Ok((Node::Root, ROOT_QID));
        }
        if name == "." {
            // devwalk accepts `.` with the directory's own qid.
            let qid = match dir {
                Node::Root => ROOT_QID,
                Node::Dir(r) => dir_qid(*r),
                _ => return Err(e(err::ENONEXIST)),
            };
            return Ok((dir.clone(), qid));
        }
        match dir {
            Node::Root => {
                if name == "trace" {
                    return Ok((Node::Trace, TRACE_QID));
                }
                if name == "time" && self.m.time().is_some() {
                    return Ok((Node::Time, TIME_QID));
                }
                let pid = parse_pid(name).ok_or_else(|| e(err::ENONEXIST))?;
                let p = self.m.info(pid).map_err(|_| e(err::ENONEXIST))?;
                let r = ProcRef { pid, slot: p.slot };
                Ok((Node::Dir(r), dir_qid(r)))
            }
            Node::Dir(r) => {
                let (_, q, _) = PROCDIR
                    .iter()
                    .copied()
                    .find(|(n, _, _)| *n == name)
                    .ok_or_else(|| e(err::ENONEXIST))?;
                if let Ok(p) = self.live(*r) {
                    if !has_file(p.arch, q) {
                        return Err(e(err::ENONEXIST));
                    }
                }
                // procgen has no pid check: a walk from a pid-directory fid made before the
                // process exited still succeeds; opening the file then fails (§5.3).
                Ok((Node::File(*r, q), file_qid(*r, q)))
            }
            _ => Err(e(err::ENONEXIST)),
        }
    }

    fn stat(&self, node: &Node) -> NineResult<Stat> {
        match node {
            Node::Root => Ok(self.eve_stat("/", ROOT_QID, DMDIR | 0o555)),
            Node::Trace => Ok(self.eve_stat("trace", TRACE_QID, 0o400)),
            Node::Time => Ok(self.eve_stat("time", TIME_QID, 0o600)),
            // devstat of the directory itself: eve owns it (proc(3) §1.2).
            // Stat of a walked fid needs no live process (procgen has no pid check, §5.3).
            Node::Dir(r) => Ok(self.eve_stat(&r.pid.0.to_string(), dir_qid(*r), DMDIR | 0o555)),
            Node::File(r, q) => Ok(match self.live(*r) {
                Ok(p) => self.file_stat(&p, *r, *q),
                Err(_) => self.gone_file_stat(*r, *q),
            }),
        }
    }

    fn stat_open(&self, o: &Open) -> Option<NineResult<Stat>> {
        // An open `text` is the executable's channel (acid's checkqid compares its qid).
        let t = o.text.as_ref()?;
        let eve = self.m.eve();
        Some(Ok(Stat {
            ty: 0,
            dev: 0,
            qid: t.qid,
            mode: 0o755,
            atime: self.time,
            mtime: self.time,
            length: t.bytes.len() as u64,
            name: t.name.rsplit('/').next().unwrap_or(&t.name).to_string(),
            uid: eve.clone(),
            gid: eve.clone(),
            muid: eve,
        }))
    }

    fn wstat(&self, uname: &str, node: &Node, st: &Stat) -> NineResult<()> {
        let (r, q) = match node {
            Node::File(r, q) => (*r, *q),
            _ => return Err(e(err::EPERM)),
        };
        if q == Q::Notepg {
            return Err(e(err::EPERM));
        }
        // The server hands a malformed stat over as an error before this (Eshortstat);
        // procwstat checks the pid first.
        let p = self.live(r)?;
        let eve = self.m.eve();
        let is_eve = uname == eve;
        if uname != p.user && !is_eve {
            return Err(e(err::EPERM));
        }
        if uname == "none" && !is_eve {
            return Err(e(err::EPERM));
        }
        if !st.uid.is_empty() && st.uid != p.user {
            // Only eve may give a process to anyone but `none`.
            if st.uid != "none" && !is_eve {
                return Err(e(err::EPERM));
            }
        }
        if !st.uid.is_empty() && st.uid != p.user {
            self.m.set_user(p.pid, &st.uid).map_err(proc_err)?;
        }
        if st.mode != u32::MAX {
            self.m
                .set_procmode(p.pid, st.mode & 0o777)
                .map_err(proc_err)?;
        }
        Ok(())
    }

    fn open(&self, uname: &str, node: &Node, mode: u8) -> NineResult<(Open, Qid, u32)> {
        let mk = |node: Node, text: Option<TextImage>, noteid: u32| Open {
            node,
            uname: uname.to_string(),
            text,
            noteid,
            lines: format::LineCursor::default(),
        };
        match node {
            Node::Root => {
                if mode & 3 != OREAD {
                    return Err(e(err::EPERM));
                }
                Ok((mk(Node::Root, None, 0), ROOT_QID, 0))
            }
            Node::Trace => {
                if uname != self.m.eve() || mode & 3 != OREAD {
                    return Err(e(err::EPERM));
                }
                let mut open = self.trace_open.lock().unwrap_or_else(|p| p.into_inner());
                if *open {
                    return Err(e(err::EALREADY_OPEN));
                }
                *open = true;
                self.m.trace_open(true);
                Ok((mk(Node::Trace, None, 0), TRACE_QID, 0))
            }
            Node::Time => {
                if uname != self.m.eve() || mode & 3 == OEXEC {
                    return Err(e(err::EPERM));
                }
                Ok((mk(Node::Time, None, 0), TIME_QID, 0))
            }
            Node::Dir(r) => {
                self.live(*r)?;
                if mode & 3 != OREAD {
                    return Err(e(err::EPERM));
                }
                Ok((mk(node.clone(), None, 0), dir_qid(*r), 0))
            }
            Node::File(r, q) => {
                let p = self.live(*r)?;
                // sysfile.c openmode: OEXEC is a read open (it needs read permission).
                let omode = match mode & 3 {
                    OEXEC => OREAD,
                    m => m,
                };
                let mut noteid = 0;
                let qid = file_qid(*r, *q);
                match q {
                    Q::Text => {
                        if omode != OREAD {
                            return Err(e(err::EPERM));
                        }
                        // No permission check beyond the mode and `none` (§1.3 text).
                        if uname == "none" && uname != self.m.eve() {
                            return Err(e(err::EPERM));
                        }
                        let t = self.m.text(p.pid).map_err(|_| e(err::ENONEXIST))?;
                        let tq = t.qid;
                        return Ok((mk(node.clone(), Some(t), 0), tq, 0));
                    }
                    Q::Status
                    | Q::Ppid
                    | Q::Proc
                    | Q::Kfpregs
                    | Q::Kregs
                    | Q::Segment
                    | Q::Ns
                    | Q::Fd => {
                        if omode != OREAD {
                            return Err(e(err::EPERM));
                        }
                    }
                    Q::Notepg => {
                        if omode != OWRITE {
                            return Err(e(err::EPERM));
                        }
                        noteid = p.noteid;
                    }
                    Q::Mem | Q::Regs | Q::Fpregs | Q::Profile | Q::Syscall | Q::Watchpt => {
                        if p.private {
                            return Err(e(err::EPERM));
                        }
                    }
                    Q::Ctl | Q::Args | Q::Wait | Q::Noteid | Q::Note => {}
                }
                self.permcheck(uname, &p.user, Self::file_mode(&p, *q), omode)?;
                if *q == Q::Watchpt && mode & crate::ninep::fs::OTRUNC != 0 {
                    // procopen: watchpt opened with OTRUNC clears every watchpoint.
                    lock(&self.watchpts).remove(&p.pid.0);
                }
                Ok((mk(node.clone(), None, noteid), qid, 0))
            }
        }
    }

    fn readdir(&self, node: &Node) -> NineResult<Vec<Stat>> {
        match node {
            Node::Root => {
                let mut v = vec![self.eve_stat("trace", TRACE_QID, 0o400)];
                if self.m.time().is_some() {
                    v.push(self.eve_stat("time", TIME_QID, 0o600));
                }
                v.extend(self.m.processes().iter().map(|p| self.pid_dir_entry(p)));
                Ok(v)
            }
            Node::Dir(r) => {
                let p = self.live(*r)?;
                Ok(PROCDIR
                    .iter()
                    .filter(|&&(_, q, _)| has_file(p.arch, q))
                    .map(|&(_, q, _)| self.file_stat(&p, *r, q))
                    .collect())
            }
            _ => Err(e(err::ENONEXIST)),
        }
    }

    fn read(&self, o: &mut Open, offset: u64, count: u32, cancel: &Cancel) -> NineResult<Vec<u8>> {
        match o.node.clone() {
            // devproc.c procread Qtrace: whole 16-byte records, as many as fit and are
            // there; none is an empty read at once (the offset is ignored).
            Node::Trace => Ok(self.m.trace_read(count as usize / 16)),
            // `text` is the executable's own channel: it reads on after the process exits.
            Node::File(_, Q::Text) => Ok(match &o.text {
                Some(t) => format::readstr(offset, count, &t.bytes),
                None => Vec::new(),
            }),
            Node::Time => {
                let text = self.m.time().unwrap_or_default().into_bytes();
                let start = (offset as usize).min(text.len());
                let end = (start + count as usize).min(text.len());
                Ok(text[start..end].to_vec())
            }
            Node::File(r, q) => self.read_file(o, r, q, offset, count, cancel),
            _ => Err(e(err::EISDIR)),
        }
    }

    fn quick_read(&self, node: &Node) -> bool {
        // One trip to the machine at most, answered between quanta. `wait` waits for a
        // child; `mem` reads are large and a client may have several in flight, which
        // workers hand to the machine together.
        !matches!(node, Node::File(_, Q::Wait | Q::Mem))
    }

    fn write(&self, o: &mut Open, offset: u64, data: &[u8], cancel: &Cancel) -> NineResult<u32> {
        match o.node.clone() {
            Node::File(r, q) => self.write_file(o, r, q, offset, data, cancel),
            Node::Trace => Err(e(err::EPERM)),
            Node::Time => {
                // `seek WHEN`: returns once the machine is at that moment.
                let text = String::from_utf8_lossy(data);
                let f = ctl::tokenize(text.trim_end_matches('\n'));
                match f.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                    ["seek", when] => {
                        self.m.seek(when, cancel).map_err(proc_err)?;
                        Ok(data.len() as u32)
                    }
                    _ => Err(e(&format!(
                        "unknown control message \"{}\"",
                        text.trim_end()
                    ))),
                }
            }
            _ => Err(e(err::EISDIR)),
        }
    }

    fn clunk(&self, open: Open) {
        if open.node == Node::Trace {
            *self.trace_open.lock().unwrap_or_else(|p| p.into_inner()) = false;
            self.m.trace_open(false);
        }
    }

    fn remove(&self, _uname: &str, _node: &Node) -> NineResult<()> {
        Err(e(err::EPERM))
    }

    fn kernel_device(&self) -> bool {
        true
    }
}
