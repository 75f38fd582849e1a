//! The interface between the 9P2000 server core and a file tree: qids, stat records,
//! Plan 9 error strings and cancellation of blocking requests (intro(5), stat(5), flush(5)).

use std::sync::{Arc, Condvar, Mutex};

/// Qid type bits (intro(5)).
pub const QTDIR: u8 = 0x80;
pub const QTAPPEND: u8 = 0x40;
pub const QTEXCL: u8 = 0x20;
pub const QTFILE: u8 = 0x00;

/// Mode bits (stat(5)).
pub const DMDIR: u32 = 0x8000_0000;
pub const DMAPPEND: u32 = 0x4000_0000;
pub const DMEXCL: u32 = 0x2000_0000;

/// Open modes (open(5)).
pub const OREAD: u8 = 0;
pub const OWRITE: u8 = 1;
pub const ORDWR: u8 = 2;
pub const OEXEC: u8 = 3;
pub const OTRUNC: u8 = 0x10;
pub const ORCLOSE: u8 = 0x40;
/// OCEXEC (libc.h): close on exec; a client-kernel flag a server ignores.
pub const OCEXEC: u8 = 0x20;

/// A qid: the server's unique identification of a file (intro(5)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Qid {
    pub ty: u8,
    pub vers: u32,
    pub path: u64,
}

/// A stat record / directory entry (stat(5)). `size` is computed by the codec.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Stat {
    pub ty: u16,
    pub dev: u32,
    pub qid: Qid,
    pub mode: u32,
    pub atime: u32,
    pub mtime: u32,
    pub length: u64,
    pub name: String,
    pub uid: String,
    pub gid: String,
    pub muid: String,
}

/// A 9P error: the exact Plan 9 error string sent in Rerror (error(5)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NineError(pub String);

impl NineError {
    pub fn new(s: impl Into<String>) -> Self {
        NineError(s.into())
    }
}

impl std::fmt::Display for NineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NineError {}

pub type NineResult<T> = Result<T, NineError>;

/// Cancellation of one in-flight request, set when a Tflush names its tag (flush(5)) or the
/// connection closes. Blocking tree operations must return promptly once it is cancelled.
#[derive(Clone, Default)]
pub struct Cancel {
    inner: Arc<CancelInner>,
}

#[derive(Default)]
struct CancelInner {
    state: Mutex<CancelState>,
    cond: Condvar,
}

#[derive(Default)]
struct CancelState {
    cancelled: bool,
    callbacks: Vec<Box<dyn FnOnce() + Send>>,
}

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancel: runs every registered callback once and wakes every waiter.
    pub fn cancel(&self) {
        let callbacks = {
            let mut st = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
            if st.cancelled {
                return;
            }
            st.cancelled = true;
            std::mem::take(&mut st.callbacks)
        };
        self.inner.cond.notify_all();
        for cb in callbacks {
            cb();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .cancelled
    }

    /// Run `f` when this request is cancelled (at once if it already is).
    pub fn on_cancel(&self, f: impl FnOnce() + Send + 'static) {
        let mut st = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.cancelled {
            drop(st);
            f();
        } else {
            st.callbacks.push(Box::new(f));
        }
    }
}

/// The file tree a 9P server serves. The server core owns fids and sessions and calls these;
/// the tree owns qids, permissions and contents. Every method may be called from any
/// connection thread at once. Errors are Plan 9 strings sent as Rerror.
pub trait FileTree: Send + Sync + 'static {
    /// What a fid points at (a walked-to file, not yet open).
    type Node: Clone + Send + 'static;
    /// Per-open state kept by the server for an open fid (cursors for one-line-per-read
    /// files, the noteid remembered by notepg, ...).
    type Open: Send + 'static;

    /// Tattach: the root node for `uname` (the caller's user name) and `aname`.
    fn attach(&self, uname: &str, aname: &str) -> NineResult<(Self::Node, Qid)>;
    /// One step of Twalk from a directory node. `..` is passed through as a name.
    fn walk1(&self, uname: &str, dir: &Self::Node, name: &str) -> NineResult<(Self::Node, Qid)>;
    /// Tstat (no permission needed).
    fn stat(&self, node: &Self::Node) -> NineResult<Stat>;
    /// Tstat of an open fid whose open made it stand for another file (proc(3): an open of
    /// `text` is the executable's own channel, so its stat describes the binary). `None`, the
    /// default, means stat the walked node.
    fn stat_open(&self, _open: &Self::Open) -> Option<NineResult<Stat>> {
        None
    }
    /// Twstat.
    fn wstat(&self, uname: &str, node: &Self::Node, stat: &Stat) -> NineResult<()>;
    /// Topen of a non-directory node, or a directory with `OREAD` (permission checks
    /// included). Returns the open state, the qid for Ropen (may differ from the walked qid,
    /// e.g. `text`) and an iounit (0 = msize-24).
    fn open(&self, uname: &str, node: &Self::Node, mode: u8) -> NineResult<(Self::Open, Qid, u32)>;
    /// The entries of a directory node, in listing order; the server core packs whole
    /// entries into Rread and enforces the directory offset rule.
    fn readdir(&self, node: &Self::Node) -> NineResult<Vec<Stat>>;
    /// Tread of an open non-directory. May block (e.g. `wait`); must honour `cancel`.
    fn read(
        &self,
        open: &mut Self::Open,
        offset: u64,
        count: u32,
        cancel: &Cancel,
    ) -> NineResult<Vec<u8>>;
    /// Whether a Tread of `node` is quick and never waits for a state (no `wait`-like
    /// blocking): the transport may then run it on the connection's reader thread instead of
    /// handing it to a worker, one thread hop less per round trip. The default, false, keeps
    /// every read on a worker.
    fn quick_read(&self, _node: &Self::Node) -> bool {
        false
    }
    /// Twrite of an open non-directory. May block (e.g. ctl `stop`); must honour `cancel`.
    /// Returns the count written.
    fn write(
        &self,
        open: &mut Self::Open,
        offset: u64,
        data: &[u8],
        cancel: &Cancel,
    ) -> NineResult<u32>;
    /// Tclunk of an open fid (always succeeds from the client's view).
    fn clunk(&self, open: Self::Open);
    /// Tremove. The server clunks the fid whatever this returns.
    fn remove(&self, uname: &str, node: &Self::Node) -> NineResult<()>;
    /// True when the tree stands for a Plan 9 kernel device (proc(3)) rather than a lib9p
    /// file server, so the errors a client sees are the kernel's (docs/plan9-proc-9p.md
    /// §1.3, §1.5): undefined open-mode bits are `bad arg in system call` (sysfile.c
    /// openmode), a directory opened other than OREAD (OEXEC included) and Tcreate are
    /// `permission denied` (dev.c devopen, devcreate), a Twstat goes to the tree without
    /// lib9p's field checks (the device decides) and a malformed stat in it is
    /// `stat buffer too small` (Eshortstat).
    fn kernel_device(&self) -> bool {
        false
    }
}
