//! The sans-IO 9P2000 server core: one `Session` per connection owns the fids, the
//! negotiated msize and the outstanding tags, and turns requests into replies, following
//! intro(5), version(5), attach(5), walk(5), open(5), read(5), flush(5), clunk(5),
//! remove(5), stat(5) and the lib9p behaviour in docs/plan9-proc-9p.md §4.4.
//!
//! The core does no I/O. The transport feeds it frames (or decoded requests) with
//! [`Session::receive_frame`] / [`Session::receive`] in arrival order, on one thread. Every
//! request except Tread and Twrite is answered at once. A Tread or Twrite comes back as a
//! [`Job`], because the tree may block on it (a `wait` read, ctl `stop`): the transport runs
//! [`Job::run`] on a worker thread and hands the result to [`Session::complete`], while the
//! reader thread goes on receiving (so a Tflush can cancel the job). Replies go to an
//! [`Outbox`] while the session's lock is held, so the order replies are written in is the
//! order the state changed in: a flushed request's reply (if any) always precedes its Rflush.
//!
//! Flushed requests: the job's [`Cancel`] is set; when the job ends, a *successful* reply is
//! still sent before the Rflush (flush(5): the client must honour it, since it may record a
//! state change such as a completed write), an Rerror is dropped.

use super::errstr::*;
use super::fs::{Cancel, FileTree, NineError, Qid, Stat, DMDIR, ORCLOSE, OREAD, OTRUNC, QTDIR};
use super::msg::*;
use super::wire::MAXWELEM;
use super::wire::{
    stat_wire_len, truncate_str, DecodeError, Fid, Tag, Wire, HEADER_LEN, IOHDRSZ, NOFID,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The largest msize we offer: 1 MiB of data per Tread/Twrite plus the 24-byte I/O header
/// (IOHDRSZ), so a client asking for 1 MiB transfers, or for a 1 MiB msize, gets it.
pub const DEFAULT_MAX_MSIZE: u32 = 1024 * 1024 + IOHDRSZ;
/// lib9p sversion: an msize below this is refused with `version: message size too small`.
pub const MIN_MSIZE: u32 = 256;
/// Linux v9fs and QEMU refuse an msize below 4096; we never configure a maximum below it.
pub const MIN_MAX_MSIZE: u32 = 4096;
/// lib9p answers `unknown` versions with this msize.
const UNKNOWN_VERSION_MSIZE: u32 = 256;
/// How many Tread/Twrite jobs one connection may have in flight by default.
pub const DEFAULT_MAX_OUTSTANDING: usize = 256;
/// The version string we speak (version(5)).
pub const VERSION_9P2000: &str = "9P2000";
/// version(5): the answer to a version we do not understand.
pub const VERSION_UNKNOWN: &str = "unknown";

/// Server tunables.
#[derive(Clone, Debug)]
pub struct Config {
    /// The largest msize the server agrees to (clamped to at least 4096).
    pub max_msize: u32,
    /// Tread/Twrite requests in flight per connection; beyond it requests get Rerror.
    pub max_outstanding: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_msize: DEFAULT_MAX_MSIZE,
            max_outstanding: DEFAULT_MAX_OUTSTANDING,
        }
    }
}

/// Where the core puts replies. Called with the session locked, in reply order.
pub trait Outbox {
    fn reply(&mut self, tag: Tag, msg: Rmsg);
}

impl Outbox for Vec<(Tag, Rmsg)> {
    fn reply(&mut self, tag: Tag, msg: Rmsg) {
        self.push((tag, msg));
    }
}

/// What the transport must do after handing the core a frame.
pub enum Received<T: FileTree> {
    /// Everything owed has gone to the outbox.
    Done,
    /// Run this job (it may block) and give its result to [`Session::complete`].
    Job(Job<T>),
    /// The frame was garbage (shorter than a header, or larger than msize): close this
    /// connection.
    Close,
}

impl<T: FileTree> std::fmt::Debug for Received<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Received::Done => f.write_str("Done"),
            Received::Job(j) => write!(f, "Job(tag {})", j.tag),
            Received::Close => f.write_str("Close"),
        }
    }
}

type ReqId = u64;

/// One connection's 9P session.
pub struct Session<T: FileTree> {
    tree: Arc<T>,
    config: Config,
    state: Mutex<State<T>>,
}

struct State<T: FileTree> {
    /// The negotiated msize; before Tversion, the largest frame we accept.
    msize: u32,
    versioned: bool,
    fids: HashMap<Fid, FidSlot<T>>,
    /// Tags of requests not yet answered: jobs, and Tflushes waiting for their target.
    tags: HashMap<Tag, Outstanding>,
    jobs: HashMap<ReqId, Pending>,
    next_id: ReqId,
}

enum Outstanding {
    Job(ReqId),
    Flush(ReqId),
}

struct Pending {
    tag: Tag,
    cancel: Cancel,
    flushed: bool,
    /// Tflush tags waiting for this job, in arrival order.
    flushers: Vec<Tag>,
}

struct FidSlot<T: FileTree> {
    node: T::Node,
    qid: Qid,
    uname: Arc<str>,
    /// The mode the fid was opened with; `None` until Topen succeeds.
    open_mode: Option<u8>,
    cell: Arc<OpenCell<T>>,
}

impl<T: FileTree> FidSlot<T> {
    fn new(tree: &Arc<T>, node: T::Node, qid: Qid, uname: Arc<str>) -> Self {
        let cell = Arc::new(OpenCell {
            tree: tree.clone(),
            state: Mutex::new(OpenState::Closed),
        });
        FidSlot {
            node,
            qid,
            uname,
            open_mode: None,
            cell,
        }
    }

    fn is_dir(&self) -> bool {
        self.qid.ty & QTDIR != 0
    }
}

/// A fid's open state, shared with in-flight jobs. When the last reference goes (the fid
/// clunked and no job still using it), the tree's `clunk` runs.
struct OpenCell<T: FileTree> {
    tree: Arc<T>,
    state: Mutex<OpenState<T>>,
}

enum OpenState<T: FileTree> {
    Closed,
    File(Option<T::Open>),
    Dir {
        open: Option<T::Open>,
        cursor: DirCursor,
    },
}

/// The directory read position (read(5)): the listing taken at offset 0 and how far into it
/// the client has read.
#[derive(Default)]
struct DirCursor {
    listing: Vec<Stat>,
    next: usize,
    offset: u64,
}

impl<T: FileTree> Drop for OpenCell<T> {
    fn drop(&mut self) {
        let state = std::mem::replace(&mut *lock(&self.state), OpenState::Closed);
        match state {
            OpenState::File(Some(open))
            | OpenState::Dir {
                open: Some(open), ..
            } => self.tree.clunk(open),
            _ => {}
        }
    }
}

/// A lock that survives a panic in another holder: the protected state stays usable.
fn lock<S>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

type Reply = Result<Rmsg, NineError>;

fn err(s: &str) -> NineError {
    NineError::new(s)
}

/// A Tread or Twrite to run off the reader thread.
pub struct Job<T: FileTree> {
    id: ReqId,
    tag: Tag,
    cancel: Cancel,
    cell: Arc<OpenCell<T>>,
    node: T::Node,
    op: JobOp,
}

enum JobOp {
    Read { offset: u64, count: u32 },
    Write { offset: u64, data: Vec<u8> },
}

/// A finished job's reply, for [`Session::complete`].
pub struct Done {
    id: ReqId,
    tag: Tag,
    reply: Rmsg,
}

impl Done {
    pub fn tag(&self) -> Tag {
        self.tag
    }
    pub fn reply(&self) -> &Rmsg {
        &self.reply
    }
}

impl<T: FileTree> Job<T> {
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// The job's cancellation, set by a Tflush naming its tag, a Tversion, or close.
    pub fn cancel(&self) -> &Cancel {
        &self.cancel
    }

    /// Run the tree operation; may block until the tree returns (or is cancelled). A panic
    /// in the tree becomes an Rerror rather than a lost reply.
    pub fn run(self) -> Done {
        let Job {
            id,
            tag,
            cancel,
            cell,
            node,
            op,
        } = self;
        let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            execute(&cell, &node, op, &cancel)
        }))
        .unwrap_or_else(|_| Err(err(EINTERNAL)));
        Done {
            id,
            tag,
            reply: reply.unwrap_or_else(|e| Rmsg::error(e.0)),
        }
    }
}

/// 9front Egreg: what a request gets if the tree panics while serving it.
pub const EINTERNAL: &str = "the front fell off";

fn execute<T: FileTree>(cell: &OpenCell<T>, node: &T::Node, op: JobOp, cancel: &Cancel) -> Reply {
    let tree = &cell.tree;
    let mut st = lock(&cell.state);
    match (&mut *st, op) {
        (OpenState::File(Some(open)), JobOp::Read { offset, count }) => {
            let mut data = tree.read(open, offset, count, cancel)?;
            data.truncate(count as usize);
            Ok(Rmsg::Read(Rread { data }))
        }
        (OpenState::File(Some(open)), JobOp::Write { offset, data }) => {
            let n = tree.write(open, offset, &data, cancel)?;
            Ok(Rmsg::Write(Rwrite {
                count: n.min(data.len() as u32),
            }))
        }
        (OpenState::Dir { cursor, .. }, JobOp::Read { offset, count }) => {
            dir_read(&**tree, node, cursor, offset, count)
        }
        _ => Err(err(EBOTCH)),
    }
}

/// read(5) on a directory: whole stat entries only; offset 0 starts a fresh listing, any
/// other offset must be where the previous read ended (lib9p `bad offset`); if not even one
/// entry fits, Eshort (port/dev.c devdirread).
fn dir_read<T: FileTree>(
    tree: &T,
    node: &T::Node,
    cur: &mut DirCursor,
    offset: u64,
    count: u32,
) -> Reply {
    if offset == 0 {
        *cur = DirCursor {
            listing: tree.readdir(node)?,
            next: 0,
            offset: 0,
        };
    } else if offset != cur.offset {
        return Err(err(EBADOFFSET));
    }
    let mut data = Vec::new();
    while let Some(st) = cur.listing.get(cur.next) {
        if data.len() + stat_wire_len(st) > count as usize {
            break;
        }
        st.encode(&mut data);
        cur.next += 1;
    }
    if data.is_empty() && cur.next < cur.listing.len() {
        return Err(err(ESHORT));
    }
    cur.offset += data.len() as u64;
    Ok(Rmsg::Read(Rread { data }))
}

/// version(5): the version we answer for `v`: `9P2000` for `9P2000`, any `9P2000.x`
/// dialect (we speak only the base protocol) and any later `9Pnnnn`; `None` for the rest.
fn negotiate_version(v: &str) -> Option<&'static str> {
    let base = v.split('.').next().unwrap_or(v);
    let digits = base.strip_prefix("9P")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits, so a parse failure can only be overflow: a very late version.
    let n = digits.parse::<u64>().unwrap_or(u64::MAX);
    (n >= 2000).then_some(VERSION_9P2000)
}

impl<T: FileTree> Session<T> {
    pub fn new(tree: Arc<T>, mut config: Config) -> Self {
        config.max_msize = config.max_msize.max(MIN_MAX_MSIZE);
        config.max_outstanding = config.max_outstanding.max(1);
        let state = State {
            msize: config.max_msize,
            versioned: false,
            fids: HashMap::new(),
            tags: HashMap::new(),
            jobs: HashMap::new(),
            next_id: 0,
        };
        Session {
            tree,
            config,
            state: Mutex::new(state),
        }
    }

    /// The largest frame the connection may send now: the negotiated msize, or before
    /// Tversion the configured maximum. A larger frame closes the connection.
    pub fn msize(&self) -> u32 {
        lock(&self.state).msize
    }

    /// Number of fids in use (for tests and diagnostics).
    pub fn fid_count(&self) -> usize {
        lock(&self.state).fids.len()
    }

    /// Number of requests not yet answered (jobs and waiting Tflushes).
    pub fn outstanding(&self) -> usize {
        lock(&self.state).tags.len()
    }

    fn emit(&self, st: &State<T>, out: &mut dyn Outbox, tag: Tag, msg: Rmsg) {
        let msize = st.msize as usize;
        let msg = match msg {
            Rmsg::Error(Rerror { ename }) => {
                let room = msize.saturating_sub(HEADER_LEN + 2);
                Rmsg::error(truncate_str(&ename, room))
            }
            Rmsg::Stat(ref r) if HEADER_LEN + 2 + stat_wire_len(&r.stat) > msize => {
                Rmsg::error(EREPLY_TOO_BIG)
            }
            m => m,
        };
        out.reply(tag, msg);
    }

    fn reply(&self, out: &mut dyn Outbox, tag: Tag, r: Reply) {
        let st = lock(&self.state);
        self.emit(&st, out, tag, r.unwrap_or_else(|e| Rmsg::error(e.0)));
    }

    /// Handle one whole frame as read from the connection (size field included).
    pub fn receive_frame(&self, frame: &[u8], out: &mut dyn Outbox) -> Received<T> {
        if frame.len() < HEADER_LEN || frame.len() > self.msize() as usize {
            return Received::Close;
        }
        match Tmsg::decode_frame(frame) {
            Ok((tag, msg)) => self.receive(tag, msg, out),
            Err(FrameError {
                tag: Some(tag),
                ty,
                error,
            }) => {
                let ename = match (ty, error) {
                    (_, DecodeError::FrameSizeMismatch { .. }) => return Received::Close,
                    (_, DecodeError::UnknownType(_)) => EUNKNOWN_MESSAGE,
                    (Some(Twstat::TYPE), _) => EBADDIR,
                    _ => EBOTCH,
                };
                self.reply(out, tag, Err(err(ename)));
                Received::Done
            }
            Err(_) => Received::Close,
        }
    }

    /// Handle one decoded request. Call in arrival order from one thread.
    pub fn receive(&self, tag: Tag, msg: Tmsg, out: &mut dyn Outbox) -> Received<T> {
        if let Tmsg::Version(t) = msg {
            self.version(tag, t, out);
            return Received::Done;
        }
        {
            let st = lock(&self.state);
            if !st.versioned {
                self.emit(&st, out, tag, Rmsg::error(EBOTCH));
                return Received::Done;
            }
            if st.tags.contains_key(&tag) {
                self.emit(&st, out, tag, Rmsg::error(EDUPTAG));
                return Received::Done;
            }
        }
        let r = match msg {
            // Handled above; kept so the match stays exhaustive without a panic.
            Tmsg::Version(_) => Err(err(EBOTCH)),
            Tmsg::Flush(t) => {
                self.flush(tag, t, out);
                return Received::Done;
            }
            Tmsg::Read(t) => return self.read(tag, t, out),
            Tmsg::Write(t) => return self.write(tag, t, out),
            Tmsg::Auth(_) => Err(err(EAUTH_NOT_REQUIRED)),
            Tmsg::Attach(t) => self.attach(t),
            Tmsg::Walk(t) => self.walk(t),
            Tmsg::Open(t) => self.open(t),
            Tmsg::Create(t) => self.create(t),
            Tmsg::Clunk(t) => self.clunk(t),
            Tmsg::Remove(t) => self.remove(t),
            Tmsg::Stat(t) => self.stat(t),
            Tmsg::Wstat(t) => self.wstat(t),
        };
        self.reply(out, tag, r);
        Received::Done
    }

    /// A finished job: its reply (unless flushed and failed, or aborted by Tversion or
    /// close), then the Rflush of every Tflush that waited for it, in order.
    pub fn complete(&self, done: Done, out: &mut dyn Outbox) {
        let mut st = lock(&self.state);
        let Some(p) = st.jobs.remove(&done.id) else {
            return; // aborted by Tversion or close: the client no longer expects it
        };
        if matches!(st.tags.get(&p.tag), Some(Outstanding::Job(id)) if *id == done.id) {
            st.tags.remove(&p.tag);
        }
        if !p.flushed || !matches!(done.reply, Rmsg::Error(_)) {
            self.emit(&st, out, done.tag, done.reply);
        }
        for f in p.flushers {
            st.tags.remove(&f);
            self.emit(&st, out, f, Rmsg::Flush(Rflush {}));
        }
    }

    /// The connection is gone: cancel every job and clunk every fid.
    pub fn close(&self) {
        let fids = {
            let mut st = lock(&self.state);
            Self::abort_all(&mut st);
            st.versioned = false;
            std::mem::take(&mut st.fids)
        };
        drop(fids); // outside the lock: may run the tree's clunk
    }

    fn abort_all(st: &mut State<T>) {
        for p in st.jobs.values() {
            p.cancel.cancel();
        }
        st.jobs.clear();
        st.tags.clear();
    }

    fn version(&self, tag: Tag, t: Tversion, out: &mut dyn Outbox) {
        let mut st = lock(&self.state);
        if !t.version.starts_with("9P") {
            let r = Rversion {
                msize: t.msize.min(UNKNOWN_VERSION_MSIZE),
                version: VERSION_UNKNOWN.into(),
            };
            return self.emit(&st, out, tag, Rmsg::Version(r));
        }
        if t.msize < MIN_MSIZE {
            return self.emit(&st, out, tag, Rmsg::error(EMSIZE_TOO_SMALL));
        }
        let Some(version) = negotiate_version(&t.version) else {
            let r = Rversion {
                msize: t.msize.min(UNKNOWN_VERSION_MSIZE),
                version: VERSION_UNKNOWN.into(),
            };
            return self.emit(&st, out, tag, Rmsg::Version(r));
        };
        // version(5): a successful Tversion aborts all outstanding I/O and clunks every fid.
        Self::abort_all(&mut st);
        let fids = std::mem::take(&mut st.fids);
        st.msize = t.msize.min(self.config.max_msize);
        st.versioned = true;
        let r = Rversion {
            msize: st.msize,
            version: version.into(),
        };
        self.emit(&st, out, tag, Rmsg::Version(r));
        drop(st);
        drop(fids);
    }

    /// flush(5): Rflush at once if `oldtag` is not outstanding; otherwise cancel it and
    /// answer when it ends (after its reply, if that is sent at all).
    fn flush(&self, tag: Tag, t: Tflush, out: &mut dyn Outbox) {
        let mut st = lock(&self.state);
        let target = match st.tags.get(&t.oldtag) {
            Some(Outstanding::Job(id)) | Some(Outstanding::Flush(id)) => *id,
            None => return self.emit(&st, out, tag, Rmsg::Flush(Rflush {})),
        };
        let Some(p) = st.jobs.get_mut(&target) else {
            return self.emit(&st, out, tag, Rmsg::Flush(Rflush {}));
        };
        p.flushed = true;
        p.flushers.push(tag);
        p.cancel.cancel();
        st.tags.insert(tag, Outstanding::Flush(target));
    }

    fn attach(&self, t: Tattach) -> Reply {
        {
            let st = lock(&self.state);
            if st.fids.contains_key(&t.fid) {
                return Err(err(EDUPFID));
            }
            if t.afid != NOFID && !st.fids.contains_key(&t.afid) {
                return Err(err(EUNKNOWNFID));
            }
        }
        let (node, qid) = self.tree.attach(&t.uname, &t.aname)?;
        let mut st = lock(&self.state);
        if st.fids.contains_key(&t.fid) {
            return Err(err(EDUPFID));
        }
        let slot = FidSlot::new(&self.tree, node, qid, Arc::from(t.uname.as_str()));
        st.fids.insert(t.fid, slot);
        Ok(Rmsg::Attach(Rattach { qid }))
    }

    /// walk(5), checks in lib9p's order: unknown fid, open fid, walk from a non-directory,
    /// newfid in use. The first element failing is an Rerror; a later one, an Rwalk with
    /// fewer qids and no new fid.
    fn walk(&self, t: Twalk) -> Reply {
        let (node, qid, uname) = {
            let st = lock(&self.state);
            let slot = st.fids.get(&t.fid).ok_or_else(|| err(EUNKNOWNFID))?;
            if slot.open_mode.is_some() {
                return Err(err(ECLONE_OPEN));
            }
            if !t.wname.is_empty() && !slot.is_dir() {
                return Err(err(EWALK_NON_DIR));
            }
            if t.newfid != t.fid && st.fids.contains_key(&t.newfid) {
                return Err(err(EDUPFID));
            }
            (slot.node.clone(), slot.qid, slot.uname.clone())
        };
        debug_assert!(t.wname.len() <= MAXWELEM);
        let (mut cur, mut cur_qid) = (node, qid);
        let mut wqid = Vec::with_capacity(t.wname.len());
        for name in &t.wname {
            let step = if cur_qid.ty & QTDIR == 0 {
                Err(err(EWALK_NON_DIR))
            } else {
                self.tree.walk1(&uname, &cur, name)
            };
            match step {
                Ok((n, q)) => {
                    cur = n;
                    cur_qid = q;
                    wqid.push(q);
                }
                Err(e) if wqid.is_empty() => return Err(e),
                Err(_) => break,
            }
        }
        if wqid.len() == t.wname.len() {
            let mut st = lock(&self.state);
            if t.newfid != t.fid && st.fids.contains_key(&t.newfid) {
                return Err(err(EDUPFID));
            }
            let slot = FidSlot::new(&self.tree, cur, cur_qid, uname);
            let old = st.fids.insert(t.newfid, slot);
            drop(st);
            drop(old);
        }
        Ok(Rmsg::Walk(Rwalk { wqid }))
    }

    fn open(&self, t: Topen) -> Reply {
        let (node, qid, uname, cell, msize) = {
            let st = lock(&self.state);
            let slot = st.fids.get(&t.fid).ok_or_else(|| err(EUNKNOWNFID))?;
            if slot.open_mode.is_some() {
                return Err(err(EBOTCH));
            }
            (
                slot.node.clone(),
                slot.qid,
                slot.uname.clone(),
                slot.cell.clone(),
                st.msize,
            )
        };
        let is_dir = qid.ty & QTDIR != 0;
        if is_dir {
            if t.mode & 3 != OREAD {
                return Err(err(EISDIR));
            }
            if t.mode & (OTRUNC | ORCLOSE) != 0 {
                return Err(err(EPERM));
            }
        }
        let (open, rqid, iounit) = self.tree.open(&uname, &node, t.mode)?;
        let max_io = msize - IOHDRSZ;
        let iounit = if iounit == 0 {
            max_io
        } else {
            iounit.min(max_io)
        };
        *lock(&cell.state) = if is_dir {
            OpenState::Dir {
                open: Some(open),
                cursor: DirCursor::default(),
            }
        } else {
            OpenState::File(Some(open))
        };
        let mut st = lock(&self.state);
        if let Some(slot) = st.fids.get_mut(&t.fid) {
            if Arc::ptr_eq(&slot.cell, &cell) {
                slot.open_mode = Some(t.mode);
            }
        }
        Ok(Rmsg::Open(Ropen { qid: rqid, iounit }))
    }

    fn create(&self, t: Tcreate) -> Reply {
        let st = lock(&self.state);
        let slot = st.fids.get(&t.fid).ok_or_else(|| err(EUNKNOWNFID))?;
        if slot.open_mode.is_some() {
            return Err(err(EBOTCH));
        }
        if !slot.is_dir() {
            return Err(err(ECREATE_NON_DIR));
        }
        Err(err(ENOCREATE))
    }

    /// Register a job for `tag`, or refuse it when too many are in flight.
    fn start_job(
        &self,
        st: &mut State<T>,
        tag: Tag,
        cell: Arc<OpenCell<T>>,
        node: T::Node,
        op: JobOp,
    ) -> Result<Job<T>, NineError> {
        if st.jobs.len() >= self.config.max_outstanding {
            return Err(err(ETOO_MANY_REQUESTS));
        }
        let id = st.next_id;
        st.next_id += 1;
        let cancel = Cancel::new();
        let pending = Pending {
            tag,
            cancel: cancel.clone(),
            flushed: false,
            flushers: Vec::new(),
        };
        st.jobs.insert(id, pending);
        st.tags.insert(tag, Outstanding::Job(id));
        Ok(Job {
            id,
            tag,
            cancel,
            cell,
            node,
            op,
        })
    }

    /// read(5), checks in lib9p's order: unknown fid, negative offset (`bad offset`), fid
    /// not open for reading (`9P protocol botch`); the count is clipped to msize-24.
    fn read(&self, tag: Tag, t: Tread, out: &mut dyn Outbox) -> Received<T> {
        let mut st = lock(&self.state);
        let job = (|| {
            let slot = st.fids.get(&t.fid).ok_or_else(|| err(EUNKNOWNFID))?;
            if t.offset > i64::MAX as u64 {
                return Err(err(EBADOFFSET));
            }
            match slot.open_mode.map(|m| m & 3) {
                Some(m) if m != super::fs::OWRITE => {}
                _ => return Err(err(EBOTCH)),
            }
            let count = t.count.min(st.msize - IOHDRSZ);
            let (cell, node) = (slot.cell.clone(), slot.node.clone());
            let op = JobOp::Read {
                offset: t.offset,
                count,
            };
            self.start_job(&mut st, tag, cell, node, op)
        })();
        match job {
            Ok(job) => Received::Job(job),
            Err(e) => {
                self.emit(&st, out, tag, Rmsg::error(e.0));
                Received::Done
            }
        }
    }

    /// write(5): unknown fid, negative offset and a fid not open for writing are refused
    /// as lib9p does; data beyond msize-24 is not written (Rwrite reports the count).
    fn write(&self, tag: Tag, t: Twrite, out: &mut dyn Outbox) -> Received<T> {
        let mut st = lock(&self.state);
        let job = (|| {
            let slot = st.fids.get(&t.fid).ok_or_else(|| err(EUNKNOWNFID))?;
            if t.offset > i64::MAX as u64 {
                return Err(err(EBOTCH));
            }
            match slot.open_mode.map(|m| m & 3) {
                Some(super::fs::OWRITE) | Some(super::fs::ORDWR) => {}
                _ => return Err(err(EBOTCH)),
            }
            let mut data = t.data;
            data.truncate((st.msize - IOHDRSZ) as usize);
            let (cell, node) = (slot.cell.clone(), slot.node.clone());
            let op = JobOp::Write {
                offset: t.offset,
                data,
            };
            self.start_job(&mut st, tag, cell, node, op)
        })();
        match job {
            Ok(job) => Received::Job(job),
            Err(e) => {
                self.emit(&st, out, tag, Rmsg::error(e.0));
                Received::Done
            }
        }
    }

    /// clunk(5): the fid is released even when the reply is an error.
    fn clunk(&self, t: Tclunk) -> Reply {
        let slot = lock(&self.state)
            .fids
            .remove(&t.fid)
            .ok_or_else(|| err(EUNKNOWNFID))?;
        drop(slot); // outside the lock: may run the tree's clunk
        Ok(Rmsg::Clunk(Rclunk {}))
    }

    /// remove(5): the fid is clunked whether or not the removal succeeds.
    fn remove(&self, t: Tremove) -> Reply {
        let slot = lock(&self.state)
            .fids
            .remove(&t.fid)
            .ok_or_else(|| err(EUNKNOWNFID))?;
        let r = self.tree.remove(&slot.uname, &slot.node);
        drop(slot);
        r.map(|()| Rmsg::Remove(Rremove {}))
    }

    fn stat(&self, t: Tstat) -> Reply {
        let (node, cell) = {
            let st = lock(&self.state);
            let slot = st.fids.get(&t.fid).ok_or_else(|| err(EUNKNOWNFID))?;
            (slot.node.clone(), slot.cell.clone())
        };
        // An open fid may stand for another file (proc(3) `text` becomes the executable).
        let opened = match &*lock(&cell.state) {
            OpenState::File(Some(open)) => self.tree.stat_open(open),
            _ => None,
        };
        let stat = match opened {
            Some(r) => r?,
            None => self.tree.stat(&node)?,
        };
        Ok(Rmsg::Stat(Rstat { stat }))
    }

    /// stat(5) wstat, with lib9p's refusals of fields that may not change; "don't touch"
    /// is ~0 for numbers and "" for strings.
    fn wstat(&self, t: Twstat) -> Reply {
        let (node, qid, uname) = {
            let st = lock(&self.state);
            let slot = st.fids.get(&t.fid).ok_or_else(|| err(EUNKNOWNFID))?;
            (slot.node.clone(), slot.qid, slot.uname.clone())
        };
        let d = &t.stat;
        if d.ty != u16::MAX {
            return Err(err(EWSTAT_TYPE));
        }
        if d.dev != u32::MAX {
            return Err(err(EWSTAT_DEV));
        }
        if d.qid.ty != u8::MAX || d.qid.vers != u32::MAX || d.qid.path != u64::MAX {
            return Err(err(EWSTAT_QID));
        }
        if !d.muid.is_empty() {
            return Err(err(EWSTAT_MUID));
        }
        if d.mode != u32::MAX && ((d.mode & DMDIR) >> 24) as u8 != qid.ty & QTDIR {
            return Err(err(EWSTAT_DMDIR));
        }
        self.tree.wstat(&uname, &node, d)?;
        Ok(Rmsg::Wstat(Rwstat {}))
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
