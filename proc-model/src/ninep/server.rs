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
//! reader thread goes on receiving (so a Tflush can cancel the job). A read the tree calls
//! quick ([`Job::is_quick`]) may be run on the reader thread itself. Replies go to an
//! [`Outbox`] while the session's lock is held, so the order replies are written in is the
//! order the state changed in: a flushed request's reply (if any) always precedes its Rflush.
//!
//! Flushed requests: the job's [`Cancel`] is set; when the job ends, a *successful* reply is
//! still sent before the Rflush (flush(5): the client must honour it, since it may record a
//! state change such as a completed write), an Rerror is dropped.

use super::auth::{self, AuthKey, NONCE_LEN};
use super::errstr::*;
use super::fs::{
    Cancel, FileTree, NineError, Qid, Stat, DMDIR, OCEXEC, ORCLOSE, OREAD, OTRUNC, QTDIR,
};
use super::msg::*;
use super::wire::MAXWELEM;
use super::wire::{
    stat_wire_len, truncate_str, DecodeError, Fid, Tag, Wire, HEADER_LEN, IOHDRSZ, NOFID,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
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
/// How many fids (auth fids included) one connection may hold by default. A fid costs a few
/// hundred bytes here; 4096 of them, about a megabyte, is far more than a debugger or a
/// shell walking /proc uses (Plan 9's kernel mount driver keeps one per open channel).
pub const DEFAULT_MAX_FIDS: usize = 4096;
/// How many connections a listener serves at once by default; the next ones are accepted
/// and closed at once. Each costs a reader thread and its buffers.
pub const DEFAULT_MAX_CONNS: usize = 64;
/// Qid type of an auth file (intro(5) QTAUTH).
pub const QTAUTH: u8 = 0x08;
/// The version string we speak (version(5)).
pub const VERSION_9P2000: &str = "9P2000";
/// version(5): the answer to a version we do not understand.
pub const VERSION_UNKNOWN: &str = "unknown";

/// Server tunables.
#[derive(Clone, Debug)]
pub struct Config {
    /// The largest msize the server agrees to (clamped to at least 4096).
    pub max_msize: u32,
    /// Tread/Twrite requests in flight per connection. The transports stop reading the
    /// connection while this many are in flight (backpressure); the sans-IO core itself
    /// answers `too many outstanding requests` past it, which a transport never lets happen.
    pub max_outstanding: usize,
    /// Fids one connection may hold (auth fids included); past it, `too many fids`.
    pub max_fids: usize,
    /// Connections served at once by a listener (transport only); past it a new
    /// connection is accepted and closed at once, and the server goes on.
    pub max_conns: usize,
    /// When set, attaches need an auth fid that proved knowledge of this key
    /// ([`super::auth`]); when not, Tauth gets `authentication not required`.
    pub auth: Option<AuthKey>,
    /// Counts the fids alive across every session made with (clones of) this config.
    pub live_fids: FidGauge,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_msize: DEFAULT_MAX_MSIZE,
            max_outstanding: DEFAULT_MAX_OUTSTANDING,
            max_fids: DEFAULT_MAX_FIDS,
            max_conns: DEFAULT_MAX_CONNS,
            auth: None,
            live_fids: FidGauge::default(),
        }
    }
}

/// A shared count of live fids, for diagnostics and for tests that check a closed
/// connection's fid table is gone.
#[derive(Clone, Debug, Default)]
pub struct FidGauge(Arc<AtomicUsize>);

impl FidGauge {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    fn token(&self) -> GaugeToken {
        self.0.fetch_add(1, Ordering::SeqCst);
        GaugeToken(self.0.clone())
    }
}

/// One live fid on a [`FidGauge`]; dropping it counts the fid gone.
struct GaugeToken(Arc<AtomicUsize>);

impl Drop for GaugeToken {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
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
    /// Auth fids (attach(5) afid), in the same fid space as `fids`.
    afids: HashMap<Fid, AuthSlot>,
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
    _live: GaugeToken,
}

/// An auth fid: the nonce it hands out and whether the client answered it.
struct AuthSlot {
    uname: String,
    aname: String,
    nonce: [u8; NONCE_LEN],
    state: AuthState,
    _live: GaugeToken,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AuthState {
    Challenged,
    Verified,
    Failed,
}

impl<T: FileTree> FidSlot<T> {
    fn new(tree: &Arc<T>, node: T::Node, qid: Qid, uname: Arc<str>, live: &FidGauge) -> Self {
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
            _live: live.token(),
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
    quick: bool,
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

    /// A read the tree says is quick and never waits for a state ([`FileTree::quick_read`]):
    /// the transport may run it on the reader thread.
    pub fn is_quick(&self) -> bool {
        self.quick
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
            quick: _,
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
        config.max_fids = config.max_fids.max(1);
        let state = State {
            msize: config.max_msize,
            versioned: false,
            fids: HashMap::new(),
            afids: HashMap::new(),
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

    /// Number of fids in use, auth fids included (for tests and diagnostics).
    pub fn fid_count(&self) -> usize {
        let st = lock(&self.state);
        st.fids.len() + st.afids.len()
    }

    /// Number of Tread/Twrite jobs in flight (the count backpressure bounds).
    pub fn jobs(&self) -> usize {
        lock(&self.state).jobs.len()
    }

    /// The configuration this session runs with (limits clamped).
    pub fn config(&self) -> &Config {
        &self.config
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
                    (Some(Twstat::TYPE), _) if self.tree.kernel_device() => ESHORTSTAT,
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
            Tmsg::Auth(t) => self.auth(t),
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
            st.afids = HashMap::new();
            // Fresh maps, not cleared ones: the memory of a big fid table goes back now.
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
        st.afids = HashMap::new();
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

    /// Whether `fid` can be made a new fid: not NOFID, not in use, and room for one more.
    fn check_new_fid(&self, st: &State<T>, fid: Fid) -> Result<(), NineError> {
        if fid == NOFID {
            return Err(err(EBADFID));
        }
        if st.fids.contains_key(&fid) || st.afids.contains_key(&fid) {
            return Err(err(EDUPFID));
        }
        if st.fids.len() + st.afids.len() >= self.config.max_fids {
            return Err(err(ETOO_MANY_FIDS));
        }
        Ok(())
    }

    /// attach(5) auth: a Tauth makes an auth fid whose reads give a nonce (see [`auth`]).
    fn auth(&self, t: Tauth) -> Reply {
        if self.config.auth.is_none() {
            return Err(err(EAUTH_NOT_REQUIRED));
        }
        let mut st = lock(&self.state);
        self.check_new_fid(&st, t.afid)?;
        let nonce = auth::nonce().ok_or_else(|| err(EAUTH_NO_RANDOM))?;
        let slot = AuthSlot {
            uname: t.uname,
            aname: t.aname,
            nonce,
            state: AuthState::Challenged,
            _live: self.config.live_fids.token(),
        };
        st.afids.insert(t.afid, slot);
        Ok(Rmsg::Auth(Rauth {
            aqid: Qid {
                ty: QTAUTH,
                vers: 0,
                path: u64::from(t.afid.0),
            },
        }))
    }

    /// With a key: the afid must have been answered, for this uname and aname
    /// (plan9port lib9p authattach's checks and strings).
    fn check_auth(&self, st: &State<T>, t: &Tattach) -> Result<(), NineError> {
        if self.config.auth.is_none() {
            if t.afid != NOFID && !st.fids.contains_key(&t.afid) {
                return Err(err(EUNKNOWNFID));
            }
            return Ok(());
        }
        if t.afid == NOFID {
            return Err(err(ENOT_AUTHENTICATED));
        }
        let Some(a) = st.afids.get(&t.afid) else {
            return Err(err(if st.fids.contains_key(&t.afid) {
                ENOT_AUTH_FID
            } else {
                EUNKNOWNFID
            }));
        };
        if a.state != AuthState::Verified {
            return Err(err(EAUTH_FAILED));
        }
        if a.uname != t.uname {
            return Err(NineError::new(auth_uname_mismatch(&a.uname, &t.uname)));
        }
        if a.aname != t.aname {
            return Err(NineError::new(auth_aname_mismatch(&a.aname, &t.aname)));
        }
        Ok(())
    }

    fn attach(&self, t: Tattach) -> Reply {
        {
            let st = lock(&self.state);
            self.check_new_fid(&st, t.fid)?;
            self.check_auth(&st, &t)?;
        }
        let (node, qid) = self.tree.attach(&t.uname, &t.aname)?;
        let mut st = lock(&self.state);
        self.check_new_fid(&st, t.fid)?;
        let uname = Arc::from(t.uname.as_str());
        let slot = FidSlot::new(&self.tree, node, qid, uname, &self.config.live_fids);
        st.fids.insert(t.fid, slot);
        Ok(Rmsg::Attach(Rattach { qid }))
    }

    /// Read of an auth fid: the nonce, from `offset`.
    fn auth_read(a: &AuthSlot, offset: u64, count: u32) -> Reply {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(NONCE_LEN);
        let end = start.saturating_add(count as usize).min(NONCE_LEN);
        Ok(Rmsg::Read(Rread {
            data: a.nonce[start..end].to_vec(),
        }))
    }

    /// Write of an auth fid: the response. One try: a wrong one fails the afid for good.
    fn auth_write(&self, a: &mut AuthSlot, data: &[u8]) -> Reply {
        let Some(key) = &self.config.auth else {
            return Err(err(EAUTH_FAILED));
        };
        if a.state == AuthState::Challenged && key.verify(&a.nonce, &a.uname, &a.aname, data) {
            a.state = AuthState::Verified;
            return Ok(Rmsg::Write(Rwrite {
                count: data.len() as u32,
            }));
        }
        a.state = AuthState::Failed;
        Err(err(EAUTH_FAILED))
    }

    /// Give back the memory of a fid table that has shrunk a lot (a client that made many
    /// fids and clunked them).
    fn shrink(st: &mut State<T>) {
        if st.fids.capacity() > 64 && st.fids.len() * 4 < st.fids.capacity() {
            st.fids.shrink_to_fit();
        }
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
            if t.newfid != t.fid {
                self.check_new_fid(&st, t.newfid)?;
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
            if t.newfid != t.fid {
                self.check_new_fid(&st, t.newfid)?;
            }
            let slot = FidSlot::new(&self.tree, cur, cur_qid, uname, &self.config.live_fids);
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
        if self.tree.kernel_device() {
            // sysfile.c openmode first: any bit outside the defined ones is Ebadarg; then
            // devopen: a directory opens OREAD only (OEXEC, OTRUNC, ORCLOSE are Eperm).
            if t.mode & !(3 | OTRUNC | OCEXEC | ORCLOSE) != 0 {
                return Err(err(EBADARG_SYSCALL));
            }
            if is_dir && t.mode & !OCEXEC != OREAD {
                return Err(err(EPERM));
            }
        } else if is_dir {
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
        if self.tree.kernel_device() {
            // devcreate: every create in a kernel device is Eperm.
            return Err(err(EPERM));
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
        let quick = matches!(op, JobOp::Read { .. }) && cell.tree.quick_read(&node);
        Ok(Job {
            id,
            tag,
            cancel,
            cell,
            node,
            op,
            quick,
        })
    }

    /// read(5), checks in lib9p's order: unknown fid, negative offset (`bad offset`), fid
    /// not open for reading (`9P protocol botch`); the count is clipped to msize-24.
    fn read(&self, tag: Tag, t: Tread, out: &mut dyn Outbox) -> Received<T> {
        let mut st = lock(&self.state);
        if let Some(a) = st.afids.get(&t.fid) {
            let r = Self::auth_read(a, t.offset, t.count.min(st.msize - IOHDRSZ));
            self.emit(&st, out, tag, r.unwrap_or_else(|e| Rmsg::error(e.0)));
            return Received::Done;
        }
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
        if let Some(a) = st.afids.get_mut(&t.fid) {
            let r = self.auth_write(a, &t.data);
            self.emit(&st, out, tag, r.unwrap_or_else(|e| Rmsg::error(e.0)));
            return Received::Done;
        }
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
        let mut st = lock(&self.state);
        if st.afids.remove(&t.fid).is_some() {
            return Ok(Rmsg::Clunk(Rclunk {}));
        }
        let slot = st.fids.remove(&t.fid).ok_or_else(|| err(EUNKNOWNFID))?;
        Self::shrink(&mut st);
        drop(st);
        drop(slot); // outside the lock: may run the tree's clunk
        Ok(Rmsg::Clunk(Rclunk {}))
    }

    /// remove(5): the fid is clunked whether or not the removal succeeds.
    fn remove(&self, t: Tremove) -> Reply {
        let mut st = lock(&self.state);
        if st.afids.remove(&t.fid).is_some() {
            return Err(err(EPERM)); // clunked all the same, as remove(5) says
        }
        let slot = st.fids.remove(&t.fid).ok_or_else(|| err(EUNKNOWNFID))?;
        Self::shrink(&mut st);
        drop(st);
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
        if self.tree.kernel_device() {
            // The device's wstat decides alone (devproc procwstat).
            self.tree.wstat(&uname, &node, d)?;
            return Ok(Rmsg::Wstat(Rwstat {}));
        }
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
