//! The guest's file system: a host directory exposed read-only as `/`, with an in-memory
//! overlay that takes every guest write (the host is never touched), plus device nodes.
//! Path resolution follows Linux path_resolution(7): symlinks are followed inside the root
//! (an absolute target restarts at the guest root), `..` never climbs above `/`.
//! Everything a guest can observe is a function of the root's contents and the guest's own
//! actions, never of the host: listings are sorted, inode numbers are hashes of guest paths,
//! root files have a fixed time (unless `--root-times host`), and what the guest writes takes
//! its times from the virtual clock (stat(2) field semantics: inode(7)).
//!
//! Guest names are bytes (Linux file names are any bytes but `/` and NUL). They are held as
//! Rust `String`s through a lossless mapping ([`from_guest`] / [`to_guest`]) so that every
//! byte string survives the round trip; the host root is reached through the same bytes.

use crate::budget::Budget;
use crate::errno::{Errno, SysResult};
use crate::param;
use crate::sparse::SparseFile;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::ops::Bound;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// First of the 256 code points that stand for single guest bytes which are not (part of)
/// valid UTF-8: byte `b` is held as `ESCAPE_BASE + b`. These are the last 256 code points of
/// plane 16 (a private-use plane); a guest string that really holds one of them in UTF-8 has
/// each of its four bytes escaped, so the mapping stays one-to-one.
const ESCAPE_BASE: u32 = 0x10_FF00;

/// A guest byte string (path, argv or environment string) as held inside the machine.
pub fn from_guest(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    let escape = |out: &mut String, bytes: &[u8]| {
        for &x in bytes {
            out.push(char::from_u32(ESCAPE_BASE + u32::from(x)).unwrap_or('\u{fffd}'));
        }
    };
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            if u32::from(c) >= ESCAPE_BASE {
                let mut buf = [0u8; 4];
                escape(&mut out, c.encode_utf8(&mut buf).as_bytes());
            } else {
                out.push(c);
            }
        }
        escape(&mut out, chunk.invalid());
    }
    out
}

/// The guest bytes a string held by the machine stands for (inverse of [`from_guest`]).
pub fn to_guest(s: &str) -> Vec<u8> {
    if s.is_ascii() {
        return s.as_bytes().to_vec();
    }
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        let u = u32::from(c);
        if u >= ESCAPE_BASE {
            out.push((u - ESCAPE_BASE) as u8);
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    out
}

/// The guest string as text for a reader (9P text files, messages): escaped bytes shown as
/// U+FFFD, as a lossy UTF-8 decoding of the guest bytes would.
pub fn guest_display(s: &str) -> String {
    String::from_utf8_lossy(&to_guest(s)).into_owned()
}

/// How long the guest bytes of `s` are.
fn guest_len(s: &str) -> usize {
    s.chars()
        .map(|c| {
            if u32::from(c) >= ESCAPE_BASE {
                1
            } else {
                c.len_utf8()
            }
        })
        .sum()
}

/// Linux file type bits (include/uapi/linux/stat.h).
pub const S_IFMT: u32 = 0o170000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFSOCK: u32 = 0o140000;

/// Nanoseconds in a second.
const NS: i64 = 1_000_000_000;

/// Maximum symlinks followed in one resolution (Linux MAXSYMLINKS).
const MAX_SYMLINKS: usize = 40;

/// Character devices the machine provides under /dev.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevKind {
    Null,
    Zero,
    /// /dev/full: reads zeros, every write fails with ENOSPC (what scripts test write errors with).
    Full,
    Random,
    Tty,
}

impl DevKind {
    /// Linux device numbers (Documentation/admin-guide/devices.txt): mem 1,3 / 1,5 / 1,7 /
    /// 1,9, tty 5,0.
    fn rdev(self) -> u64 {
        let (major, minor) = match self {
            DevKind::Null => (1, 3),
            DevKind::Zero => (1, 5),
            DevKind::Full => (1, 7),
            DevKind::Random => (1, 9),
            DevKind::Tty => (5, 0),
        };
        (major << 8) | minor
    }
}

/// A file held in the overlay: sparse pages charged to the machine's memory budget.
pub type MemFile = Rc<RefCell<SparseFile>>;

/// A named pipe (fifo(7)): the pipe its openers share, and the counts of opens of each end
/// ever made, which an opener waiting for its partner watches (Linux fs/pipe.c r_counter,
/// w_counter).
#[derive(Debug)]
pub struct Fifo {
    pub pipe: crate::pipe::PipeRef,
    pub r_counter: u64,
    pub w_counter: u64,
    /// Tasks inside a blocking open, by tid: whether they open it for reading, and the
    /// partner counter they saw when they began. A task found here when its open is run
    /// again has already been counted as an end.
    pub waiting: BTreeMap<u32, (bool, u64)>,
}

pub type FifoRef = Rc<RefCell<Fifo>>;

/// Access, modification and status-change times of a file, in nanoseconds since the Unix
/// epoch (stat(2) st_atim, st_mtim, st_ctim).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Times {
    pub atime: i64,
    pub mtime: i64,
    pub ctime: i64,
}

impl Times {
    /// All three times at one instant.
    pub fn at(ns: i64) -> Times {
        Times {
            atime: ns,
            mtime: ns,
            ctime: ns,
        }
    }
}

/// A time in nanoseconds as (seconds, nanoseconds) with the nanoseconds in 0..1e9, as a
/// struct timespec holds it (negative times round the seconds down).
pub fn split_ns(ns: i64) -> (i64, u64) {
    (ns.div_euclid(NS), ns.rem_euclid(NS) as u64)
}

#[derive(Clone, Debug)]
enum OvNode {
    Dir,
    File(MemFile),
    Symlink(String),
    Dev(DevKind),
    Fifo(FifoRef),
    /// The host object at this path was deleted by the guest.
    Deleted,
}

/// What a resolved path names.
#[derive(Clone, Debug)]
pub enum Node {
    HostFile(PathBuf),
    HostDir(PathBuf),
    HostSymlink(PathBuf),
    MemFile(MemFile),
    MemDir,
    MemSymlink(String),
    Dev(DevKind),
    Fifo(FifoRef),
}

/// The guest-visible attributes of a file (what stat(2) reports).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStat {
    pub ino: u64,
    pub mode: u32,
    pub nlink: u32,
    pub size: u64,
    pub rdev: u64,
    pub times: Times,
}

/// A resolved path: its canonical guest path and what it names.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub path: String,
    pub node: Node,
}

/// Where a walk ends: at a node of this file system, or at a path below `/proc`.
#[derive(Clone, Debug)]
pub enum Walk {
    Found(Resolved),
    /// `/proc` followed by the components still to walk (`/proc/self/fd/0`).
    Proc(String),
}

/// One directory entry as getdents64 returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub ino: u64,
    /// DT_* type (include/linux/fs_types.h): DT_DIR 4, DT_REG 8, DT_LNK 10, DT_CHR 2,
    /// DT_FIFO 1.
    pub dtype: u8,
}

/// The DT_* type getdents64 shows for a node.
fn dtype_of(node: &Node) -> u8 {
    match node {
        Node::HostDir(_) | Node::MemDir => 4,
        Node::HostSymlink(_) | Node::MemSymlink(_) => 10,
        Node::Dev(_) => 2,
        Node::Fifo(_) => 1,
        Node::HostFile(_) | Node::MemFile(_) => 8,
    }
}

pub struct Vfs {
    host_root: PathBuf,
    overlay: BTreeMap<String, OvNode>,
    /// Permission bits set by the guest (creation under its umask, chmod) of directories,
    /// by path; paths not here show the defaults (0755 directories and executables).
    modes: BTreeMap<String, u32>,
    /// What all the names of one overlay file share (its inode): permission bits and link
    /// count, by the address of its contents. Each entry lives while the file has a name,
    /// and a name holds the contents, so no address is reused while its entry is here.
    files: std::collections::HashMap<usize, FileMeta>,
    /// Times of everything but overlay files (which keep theirs in [`FileMeta`]) that the
    /// guest changed, by path; paths not here show [`Vfs::root_times`].
    times: BTreeMap<String, Times>,
    /// The virtual wall-clock time of the system call in progress, in nanoseconds since the
    /// Unix epoch: what files created or changed now are stamped with.
    pub now: i64,
    /// Root files show their host file's modification time (`--root-times host`) instead of
    /// the fixed [`param::FILE_TIME`].
    pub host_times: bool,
    /// What overlay file contents are charged to (the machine's `--max-memory`).
    budget: Rc<Budget>,
    /// How many overlay entries are [`OvNode::Deleted`]: while none is, no lookup needs to
    /// look for a deleted ancestor.
    deleted: usize,
    /// The directory the last walk ended at (canonical path, node): a walk of a path that
    /// begins with it (a cwd-relative path made absolute) starts there instead of at `/`,
    /// so a lookup in a deep directory costs the components below it, not the whole depth.
    /// Every prefix of it named a directory when it was stored; [`Vfs::set_entry`] (through
    /// which every removal and rename goes) forgets it when it changes one of them, and
    /// nothing else can change how those components resolve (creations only add names
    /// that did not exist).
    last_dir: RefCell<Option<(String, Node)>>,
}

/// The inode part of an overlay file: what its hard links share.
#[derive(Clone, Copy, Debug)]
struct FileMeta {
    mode: u32,
    nlink: u32,
    /// The inode number every name shows: that of the path the file was created (or copied
    /// up) at, so a file never linked keeps its path-derived number.
    ino: u64,
    times: Times,
}

fn file_key(f: &MemFile) -> usize {
    Rc::as_ptr(f) as usize
}

/// Split a guest path into its non-empty components.
fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".")
}

/// Stable inode number for a guest path (FNV-1a), so stat is the same on every host.
pub fn path_ino(path: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h >> 16) | 1
}

/// Make `path` absolute against `cwd` (both guest paths).
pub fn absolute(cwd: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else if cwd.ends_with('/') {
        format!("{cwd}{path}")
    } else {
        format!("{cwd}/{path}")
    }
}

impl Vfs {
    pub fn new(host_root: &Path) -> Vfs {
        let mut overlay = BTreeMap::new();
        // Directories and devices every Linux program expects, whatever the root holds.
        for d in ["/dev", "/tmp", "/proc"] {
            overlay.insert(d.to_string(), OvNode::Dir);
        }
        // The fd links of Linux's udev/devtmpfs setup: symlinks into the per-task /proc
        // (served by crate::linuxproc, which every walk below /proc is handed to).
        for (name, target) in [
            ("/dev/fd", "/proc/self/fd"),
            ("/dev/stdin", "/proc/self/fd/0"),
            ("/dev/stdout", "/proc/self/fd/1"),
            ("/dev/stderr", "/proc/self/fd/2"),
        ] {
            overlay.insert(name.into(), OvNode::Symlink(target.into()));
        }
        overlay.insert("/dev/null".into(), OvNode::Dev(DevKind::Null));
        overlay.insert("/dev/zero".into(), OvNode::Dev(DevKind::Zero));
        overlay.insert("/dev/full".into(), OvNode::Dev(DevKind::Full));
        overlay.insert("/dev/random".into(), OvNode::Dev(DevKind::Random));
        overlay.insert("/dev/urandom".into(), OvNode::Dev(DevKind::Random));
        overlay.insert("/dev/tty".into(), OvNode::Dev(DevKind::Tty));
        Vfs {
            host_root: host_root.to_path_buf(),
            overlay,
            modes: BTreeMap::new(),
            files: Default::default(),
            times: BTreeMap::new(),
            now: param::FILE_TIME * NS,
            host_times: false,
            budget: Rc::new(Budget::default()),
            deleted: 0,
            last_dir: RefCell::new(None),
        }
    }

    /// The budget overlay files are charged to (shared with the kernel).
    pub fn budget(&self) -> &Rc<Budget> {
        &self.budget
    }

    pub fn host_root(&self) -> &Path {
        &self.host_root
    }

    fn host_path(&self, guest: &str) -> PathBuf {
        // One push of the whole relative path (a push per component copies the path so far
        // each time in a deep tree).
        let mut rel = Vec::with_capacity(guest.len());
        for c in components(guest) {
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(&to_guest(c));
        }
        let mut p = self.host_root.clone();
        if !rel.is_empty() {
            p.push(OsStr::from_bytes(&rel));
        }
        p
    }

    /// Look up one canonical path (no symlink following) in overlay then host.
    fn lookup(&self, path: &str) -> Option<Node> {
        self.lookup_with(path, true)
    }

    /// [`Vfs::lookup`]; `check_ancestors` false skips the search for a deleted ancestor,
    /// for a walk that has just found every ancestor (a deleted one it would not have).
    fn lookup_with(&self, path: &str, check_ancestors: bool) -> Option<Node> {
        if let Some(n) = self.overlay.get(path) {
            return match n {
                OvNode::Dir => Some(Node::MemDir),
                OvNode::File(f) => Some(Node::MemFile(f.clone())),
                OvNode::Symlink(t) => Some(Node::MemSymlink(t.clone())),
                OvNode::Dev(d) => Some(Node::Dev(*d)),
                OvNode::Fifo(f) => Some(Node::Fifo(f.clone())),
                OvNode::Deleted => None,
            };
        }
        // A deleted ancestor hides the host subtree.
        if check_ancestors && self.ancestor_deleted(path) {
            return None;
        }
        let hp = self.host_path(path);
        let md = std::fs::symlink_metadata(&hp).ok()?;
        let ft = md.file_type();
        if ft.is_symlink() {
            Some(Node::HostSymlink(hp))
        } else if ft.is_dir() {
            Some(Node::HostDir(hp))
        } else if ft.is_file() {
            Some(Node::HostFile(hp))
        } else {
            None
        }
    }

    fn ancestor_deleted(&self, path: &str) -> bool {
        if self.deleted == 0 {
            return false;
        }
        let mut p = path;
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if p.is_empty() {
                break;
            }
            if matches!(self.overlay.get(p), Some(OvNode::Deleted)) {
                return true;
            }
        }
        false
    }

    fn read_link_node(node: &Node) -> SysResult<String> {
        match node {
            Node::HostSymlink(hp) => std::fs::read_link(hp)
                .map_err(|_| Errno::EIO)
                .map(|t| from_guest(t.as_os_str().as_bytes())),
            Node::MemSymlink(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Resolve `path` (absolute guest path). `follow_last` follows a final symlink.
    /// A path that leads below `/proc` (the Linux procfs, served by crate::linuxproc from
    /// the machine's state) names nothing here but `/proc` itself.
    pub fn resolve(&self, path: &str, follow_last: bool) -> SysResult<Resolved> {
        match self.walk(path, follow_last)? {
            Walk::Found(r) => Ok(r),
            Walk::Proc(p) if p == "/proc" => Ok(Resolved {
                path: p,
                node: Node::MemDir,
            }),
            Walk::Proc(_) => Err(Errno::ENOENT),
        }
    }

    /// [`Vfs::resolve`], stopping where the walk enters `/proc`: then the answer is the
    /// rest of the path below `/proc` (symlinks before it followed, `..` and the trailing
    /// slash kept), for crate::linuxproc to go on with.
    pub fn walk(&self, path: &str, follow_last: bool) -> SysResult<Walk> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        // path_resolution(7): a trailing slash means the last component must be a directory
        // (a symlink there is followed). Shells glob `dir/*/` by lstat-ing each `name/`; when
        // that succeeded for regular files, the glob listed them too.
        let must_be_dir = path.ends_with('/');
        let follow_last = follow_last || must_be_dir;
        // The canonical path walked so far ("" for `/`), built in place: `marks` holds its
        // length before each component, so `..` and a symlink cut it back without
        // rebuilding it (each step costs its component, not the depth).
        let mut done = String::new();
        let mut marks: Vec<usize> = Vec::new();
        let mut node = Node::HostDir(self.host_root.clone());
        let mut rest = path;
        let cached = self.last_dir.borrow().clone();
        match cached {
            Some((dir, n))
                if dir != "/"
                    && path.starts_with(dir.as_str())
                    && matches!(path.as_bytes().get(dir.len()), None | Some(b'/')) =>
            {
                marks.extend(dir.match_indices('/').map(|(i, _)| i));
                rest = &path[dir.len()..];
                done = dir;
                node = n;
            }
            _ => {
                if let Some(n) = self.lookup("/") {
                    node = n;
                }
            }
        }
        let mut todo: Vec<String> = components(rest).rev().map(str::to_string).collect();
        let mut links = 0;
        let here = |done: &str| -> String {
            if done.is_empty() {
                "/".to_string()
            } else {
                done.to_string()
            }
        };
        while let Some(c) = todo.pop() {
            if c == ".." {
                if let Some(m) = marks.pop() {
                    done.truncate(m);
                }
                node = self.lookup_with(&here(&done), false).ok_or(Errno::ENOENT)?;
                continue;
            }
            if !matches!(node, Node::HostDir(_) | Node::MemDir) {
                return Err(Errno::ENOTDIR);
            }
            if guest_len(&c) > 255 {
                return Err(Errno::ENAMETOOLONG);
            }
            marks.push(done.len());
            done.push('/');
            done.push_str(&c);
            if done == "/proc" {
                let mut rest = done;
                for c in todo.iter().rev() {
                    rest.push('/');
                    rest.push_str(c);
                }
                if must_be_dir {
                    rest.push('/');
                }
                return Ok(Walk::Proc(rest));
            }
            let n = self.lookup_with(&done, false).ok_or(Errno::ENOENT)?;
            let is_link = matches!(n, Node::HostSymlink(_) | Node::MemSymlink(_));
            if is_link && (follow_last || !todo.is_empty()) {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                let target = Self::read_link_node(&n)?;
                if let Some(m) = marks.pop() {
                    done.truncate(m);
                }
                if target.starts_with('/') {
                    done.clear();
                    marks.clear();
                }
                for t in components(&target).rev() {
                    todo.push(t.to_string());
                }
                node = self.lookup_with(&here(&done), false).ok_or(Errno::ENOENT)?;
                continue;
            }
            node = n;
        }
        if must_be_dir && !matches!(node, Node::HostDir(_) | Node::MemDir) {
            return Err(Errno::ENOTDIR);
        }
        let path = here(&done);
        if matches!(node, Node::HostDir(_) | Node::MemDir) {
            *self.last_dir.borrow_mut() = Some((path.clone(), node.clone()));
        }
        Ok(Walk::Found(Resolved { path, node }))
    }

    /// Resolve the parent directory of `path` and return (parent canonical path, last name).
    pub fn resolve_parent(&self, path: &str) -> SysResult<(String, String)> {
        let trimmed = path.trim_end_matches('/');
        let (dir, name) = match trimmed.rfind('/') {
            Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
            None => ("", trimmed),
        };
        if name.is_empty() || name == "." || name == ".." {
            return Err(Errno::EEXIST);
        }
        let parent = self.resolve(if dir.is_empty() { "/" } else { dir }, true)?;
        if !matches!(parent.node, Node::HostDir(_) | Node::MemDir) {
            return Err(Errno::ENOTDIR);
        }
        let full = if parent.path == "/" {
            format!("/{name}")
        } else {
            format!("{}/{name}", parent.path)
        };
        Ok((parent.path, full))
    }

    /// chmod(2) of a resolved file: its permission bits from now on (every name of an
    /// overlay file shows them: they belong to the file). The status-change time moves.
    pub fn chmod(&mut self, r: &Resolved, mode: u32) {
        self.touch(r, false);
        if let Node::MemFile(f) = &r.node {
            if let Some(m) = self.files.get_mut(&file_key(f)) {
                m.mode = mode & 0o7777;
                return;
            }
        }
        self.modes.insert(r.path.clone(), mode & 0o7777);
    }

    pub fn stat(&self, r: &Resolved) -> SysResult<FileStat> {
        let mut st = self.stat_default(r)?;
        let set = match &r.node {
            Node::MemFile(f) => self.files.get(&file_key(f)).map(|m| m.mode),
            _ => self.modes.get(&r.path).copied(),
        };
        if let Some(m) = set {
            if st.mode & S_IFMT != S_IFLNK {
                st.mode = (st.mode & S_IFMT) | m;
            }
        }
        st.times = self.times_of(r);
        Ok(st)
    }

    /// The times a file of the root shows until the guest changes them: the fixed
    /// [`param::FILE_TIME`], or with [`Vfs::host_times`] the host file's own (not followed
    /// through a symlink) — the status-change and access times too, so that nothing of the
    /// host's reading of the root shows.
    fn root_times(&self, r: &Resolved) -> Times {
        let host = match &r.node {
            Node::HostFile(hp) | Node::HostDir(hp) | Node::HostSymlink(hp) => Some(hp),
            _ => None,
        };
        if let (true, Some(hp)) = (self.host_times, host) {
            if let Ok(md) = std::fs::symlink_metadata(hp) {
                use std::os::unix::fs::MetadataExt;
                return Times::at(md.mtime() * NS + md.mtime_nsec());
            }
        }
        Times::at(param::FILE_TIME * NS)
    }

    /// The times of a resolved file.
    pub fn times_of(&self, r: &Resolved) -> Times {
        if let Node::MemFile(f) = &r.node {
            if let Some(m) = self.files.get(&file_key(f)) {
                return m.times;
            }
        }
        self.times
            .get(&r.path)
            .copied()
            .unwrap_or_else(|| self.root_times(r))
    }

    /// Change the times of a resolved file with `f` (an overlay file's belong to all its
    /// names; anything else's are kept by path).
    fn update_times(&mut self, r: &Resolved, f: impl FnOnce(&mut Times)) {
        if let Node::MemFile(file) = &r.node {
            if let Some(m) = self.files.get_mut(&file_key(file)) {
                f(&mut m.times);
                return;
            }
        }
        let mut t = self.times_of(r);
        f(&mut t);
        self.times.insert(r.path.clone(), t);
    }

    /// The file changed now: its status-change time, and with `data` its modification time
    /// (inode(7): write, truncate and directory-entry changes move both; chmod, link and
    /// rename move only the status-change time).
    pub fn touch(&mut self, r: &Resolved, data: bool) {
        let now = self.now;
        self.update_times(r, |t| {
            t.ctime = now;
            if data {
                t.mtime = now;
            }
        });
    }

    /// An open overlay file was written or truncated now.
    pub fn touch_file(&mut self, f: &MemFile) {
        let now = self.now;
        if let Some(m) = self.files.get_mut(&file_key(f)) {
            m.times.mtime = now;
            m.times.ctime = now;
        }
    }

    /// The directory holding `full` gained or lost an entry now.
    fn touch_parent(&mut self, full: &str) {
        let dir = parent_of(full).to_string();
        if let Some(node) = self.lookup(&dir) {
            self.touch(&Resolved { path: dir, node }, true);
        }
    }

    /// utimensat(2): set the access and modification times (None leaves one as it is,
    /// UTIME_OMIT); the status-change time becomes now.
    pub fn set_times(&mut self, r: &Resolved, atime: Option<i64>, mtime: Option<i64>) {
        let now = self.now;
        self.update_times(r, |t| {
            if let Some(a) = atime {
                t.atime = a;
            }
            if let Some(m) = mtime {
                t.mtime = m;
            }
            t.ctime = now;
        });
    }

    /// A new overlay file whose first name is `path`.
    fn new_file(&mut self, path: &str, data: SparseFile, mode: u32, times: Times) -> MemFile {
        let f: MemFile = Rc::new(RefCell::new(data));
        self.files.insert(
            file_key(&f),
            FileMeta {
                mode: mode & 0o7777,
                nlink: 1,
                ino: path_ino(path),
                times,
            },
        );
        f
    }

    /// The inode number of `node` found at `path`.
    fn ino_of(&self, path: &str, node: &Node) -> u64 {
        match node {
            Node::MemFile(f) => self.files.get(&file_key(f)).map(|m| m.ino),
            _ => None,
        }
        .unwrap_or_else(|| path_ino(path))
    }

    /// Point `path` at `node` in the overlay, taking the name from the overlay file it named
    /// before (if any): its link count drops, and its inode goes with its last name.
    fn set_entry(&mut self, path: &str, node: OvNode) {
        // A change at a prefix of the remembered directory changes how it resolves.
        let forget = matches!(&*self.last_dir.borrow(), Some((dir, _))
            if dir.starts_with(path)
                && matches!(dir.as_bytes().get(path.len()), None | Some(b'/')));
        if forget {
            *self.last_dir.borrow_mut() = None;
        }
        if matches!(node, OvNode::Deleted) {
            self.deleted += 1;
        }
        let old = self.overlay.insert(path.to_string(), node);
        if matches!(old, Some(OvNode::Deleted)) {
            self.deleted -= 1;
        }
        if let Some(OvNode::File(old)) = old {
            let key = file_key(&old);
            if let Some(m) = self.files.get_mut(&key) {
                m.nlink = m.nlink.saturating_sub(1);
                m.times.ctime = self.now;
                if m.nlink == 0 {
                    self.files.remove(&key);
                }
            }
        }
    }

    /// Take the name `path` away: a [`OvNode::Deleted`] marker hides what the host root has
    /// there; where it has nothing, the entry goes altogether (so a tree made and removed in
    /// the overlay leaves no markers for lookups and listings to step over).
    fn unname(&mut self, path: &str) {
        self.set_entry(path, OvNode::Deleted);
        if std::fs::symlink_metadata(self.host_path(path)).is_err() {
            self.overlay.remove(path);
            self.deleted -= 1;
        }
    }

    fn stat_default(&self, r: &Resolved) -> SysResult<FileStat> {
        let ino = self.ino_of(&r.path, &r.node);
        let times = Times::at(param::FILE_TIME * NS);
        let st = match &r.node {
            Node::HostFile(hp) => {
                let md = std::fs::metadata(hp).map_err(|_| Errno::EIO)?;
                use std::os::unix::fs::PermissionsExt;
                let exec = md.permissions().mode() & 0o111 != 0;
                FileStat {
                    ino,
                    mode: S_IFREG | if exec { 0o755 } else { 0o644 },
                    nlink: 1,
                    size: md.len(),
                    rdev: 0,
                    times,
                }
            }
            Node::HostDir(_) | Node::MemDir => FileStat {
                ino,
                mode: S_IFDIR | 0o755,
                // Linux: a directory's `.`, its name in its parent, and each subdirectory's
                // `..` (ext4 and tmpfs count so; find(1) relies on it).
                nlink: 2 + self.subdirs(r)?,
                size: 4096,
                rdev: 0,
                times,
            },
            Node::HostSymlink(_) | Node::MemSymlink(_) => {
                let t = Self::read_link_node(&r.node)?;
                FileStat {
                    ino,
                    mode: S_IFLNK | 0o777,
                    nlink: 1,
                    size: guest_len(&t) as u64,
                    rdev: 0,
                    times,
                }
            }
            Node::MemFile(f) => FileStat {
                ino,
                mode: S_IFREG | 0o644,
                nlink: self.files.get(&file_key(f)).map_or(1, |m| m.nlink.max(1)),
                size: f.borrow().len(),
                rdev: 0,
                times,
            },
            Node::Dev(d) => FileStat {
                ino,
                mode: S_IFCHR | 0o666,
                nlink: 1,
                size: 0,
                rdev: d.rdev(),
                times,
            },
            Node::Fifo(_) => FileStat {
                ino,
                mode: S_IFIFO | 0o644,
                nlink: 1,
                size: 0,
                rdev: 0,
                times,
            },
        };
        Ok(st)
    }

    pub fn readlink(&self, r: &Resolved) -> SysResult<String> {
        Self::read_link_node(&r.node)
    }

    /// Names in directory `r` with the host root's and the overlay's entries merged (minus
    /// those the guest deleted), sorted: the host directory under an overlay directory (the
    /// root's /tmp under the machine's) shows through, as its files still open by path.
    fn dir_names(&self, r: &Resolved) -> SysResult<Vec<String>> {
        let mut names: BTreeMap<String, ()> = BTreeMap::new();
        let host = match &r.node {
            Node::HostDir(hp) => Some(hp.clone()),
            Node::MemDir if !self.ancestor_deleted(&r.path) => Some(self.host_path(&r.path)),
            Node::MemDir => None,
            _ => return Err(Errno::ENOTDIR),
        };
        if let Some(hp) = host {
            if let Ok(rd) = std::fs::read_dir(hp) {
                for e in rd.flatten() {
                    names.insert(from_guest(e.file_name().as_bytes()), ());
                }
            }
        }
        let prefix = if r.path == "/" {
            "/".to_string()
        } else {
            format!("{}/", r.path)
        };
        // The overlay entries right in this directory, in key order. The entries below a
        // child (its whole subtree) are skipped by seeking past them: every key under
        // `prefix + name + "/"` sorts before `prefix + name + "0"` ('/' + 1), so listing a
        // directory costs its children, not its descendants.
        let mut from = prefix.clone();
        let mut after = false;
        loop {
            let lower = if after {
                Bound::Excluded(from.as_str())
            } else {
                Bound::Included(from.as_str())
            };
            let Some((k, v)) = self
                .overlay
                .range::<str, _>((lower, Bound::Unbounded))
                .next()
            else {
                break;
            };
            let Some(rest) = k.strip_prefix(&prefix) else {
                break;
            };
            if let Some(i) = rest.find('/') {
                from = format!("{prefix}{}0", &rest[..i]);
                after = false;
                continue;
            }
            if !rest.is_empty() {
                if matches!(v, OvNode::Deleted) {
                    names.remove(rest);
                } else {
                    names.insert(rest.to_string(), ());
                }
            }
            from = k.clone();
            after = true;
        }
        Ok(names.into_keys().collect())
    }

    /// How many subdirectories directory `r` holds (its link count less 2).
    fn subdirs(&self, r: &Resolved) -> SysResult<u32> {
        let prefix = if r.path == "/" {
            "/".to_string()
        } else {
            format!("{}/", r.path)
        };
        let n = self
            .dir_names(r)?
            .into_iter()
            .filter(|name| {
                matches!(
                    self.lookup(&format!("{prefix}{name}")),
                    Some(Node::HostDir(_) | Node::MemDir)
                )
            })
            .count();
        Ok(n as u32)
    }

    /// Entries of a directory, sorted by name, with `.` and `..` first.
    pub fn list_dir(&self, r: &Resolved) -> SysResult<Vec<DirEntry>> {
        let names = self.dir_names(r)?;
        let prefix = if r.path == "/" {
            "/".to_string()
        } else {
            format!("{}/", r.path)
        };
        let mut out = vec![
            DirEntry {
                name: ".".into(),
                ino: path_ino(&r.path),
                dtype: 4,
            },
            DirEntry {
                name: "..".into(),
                ino: path_ino(parent_of(&r.path)),
                dtype: 4,
            },
        ];
        for name in names {
            let full = format!("{prefix}{name}");
            let Some(node) = self.lookup(&full) else {
                continue;
            };
            out.push(DirEntry {
                ino: self.ino_of(&full, &node),
                dtype: dtype_of(&node),
                name,
            });
        }
        Ok(out)
    }

    /// Create (or truncate) a regular file in the overlay at canonical `full`.
    /// A new empty overlay file with permission bits `mode` (already masked by the umask).
    pub fn create_file(&mut self, full: &str, mode: u32) -> MemFile {
        let f = self.new_file(
            full,
            SparseFile::new(self.budget.clone()),
            mode,
            Times::at(self.now),
        );
        self.set_entry(full, OvNode::File(f.clone()));
        self.touch_parent(full);
        f
    }

    /// mknod(2) of a FIFO at canonical `full` with permission bits `mode` (umask applied).
    pub fn mkfifo(&mut self, full: &str, mode: u32, id: u64) -> SysResult<()> {
        if self.exists(full) {
            return Err(Errno::EEXIST);
        }
        let mut pipe = crate::pipe::new_pipe(id);
        // Nobody has it open yet: each open makes an end (fifo(7)).
        {
            let p = Rc::get_mut(&mut pipe).map(RefCell::get_mut);
            if let Some(p) = p {
                p.readers = 0;
                p.writers = 0;
            }
        }
        let fifo = Rc::new(RefCell::new(Fifo {
            pipe,
            r_counter: 0,
            w_counter: 0,
            waiting: BTreeMap::new(),
        }));
        self.set_entry(full, OvNode::Fifo(fifo));
        self.modes.insert(full.to_string(), mode & 0o7777);
        self.times.insert(full.to_string(), Times::at(self.now));
        self.touch_parent(full);
        Ok(())
    }

    /// Copy a host file up into the overlay so it can be written; returns the overlay file.
    pub fn copy_up(&mut self, r: &Resolved) -> SysResult<MemFile> {
        match &r.node {
            Node::MemFile(f) => Ok(f.clone()),
            Node::HostFile(hp) => {
                // The copy keeps the host file's permission bits (an overlay file defaults
                // to 0644, which would drop the execute bits of a program written to) and
                // its times.
                let mode = self.stat(r)?.mode & 0o7777;
                let times = self.times_of(r);
                crate::record::note_opened(hp);
                let data = std::fs::read(hp).map_err(|_| Errno::EIO)?;
                let data = SparseFile::from_bytes(&data, self.budget.clone())?;
                let f = self.new_file(&r.path, data, mode, times);
                self.times.remove(&r.path);
                self.set_entry(&r.path, OvNode::File(f.clone()));
                Ok(f)
            }
            Node::HostDir(_) | Node::MemDir => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    pub fn exists(&self, full: &str) -> bool {
        self.lookup(full).is_some()
    }

    pub fn mkdir(&mut self, full: &str, mode: u32) -> SysResult<()> {
        if self.exists(full) {
            return Err(Errno::EEXIST);
        }
        self.modes.insert(full.to_string(), mode & 0o7777);
        self.set_entry(full, OvNode::Dir);
        self.times.insert(full.to_string(), Times::at(self.now));
        self.touch_parent(full);
        Ok(())
    }

    pub fn symlink(&mut self, target: &str, full: &str) -> SysResult<()> {
        if self.exists(full) {
            return Err(Errno::EEXIST);
        }
        self.set_entry(full, OvNode::Symlink(target.to_string()));
        self.times.insert(full.to_string(), Times::at(self.now));
        self.touch_parent(full);
        Ok(())
    }

    /// link(2): `to` becomes a second name for the file `from` names (a symlink itself is
    /// linked, not its target). Both names share one overlay file, so a write through either
    /// shows through the other and the data lives until the last name and open file go.
    pub fn link(&mut self, from: &Resolved, to: &str) -> SysResult<()> {
        if self.exists(to) {
            return Err(Errno::EEXIST);
        }
        let mode = self.stat(from)?.mode & 0o7777;
        let times = self.times_of(from);
        let ov = match &from.node {
            Node::HostFile(_) | Node::MemFile(_) => {
                let f = self.copy_up(from)?;
                if let Some(m) = self.files.get_mut(&file_key(&f)) {
                    m.nlink += 1;
                    m.times.ctime = self.now;
                }
                OvNode::File(f)
            }
            Node::HostSymlink(_) | Node::MemSymlink(_) => {
                self.times.insert(to.to_string(), times);
                OvNode::Symlink(Self::read_link_node(&from.node)?)
            }
            Node::Dev(d) => {
                self.modes.insert(to.to_string(), mode);
                self.times.insert(to.to_string(), times);
                OvNode::Dev(*d)
            }
            Node::Fifo(f) => {
                self.modes.insert(to.to_string(), mode);
                self.times.insert(to.to_string(), times);
                OvNode::Fifo(f.clone())
            }
            Node::HostDir(_) | Node::MemDir => return Err(Errno::EPERM),
        };
        self.set_entry(to, ov);
        self.touch_parent(to);
        Ok(())
    }

    /// Remove a non-directory (unlink) or an empty directory (rmdir).
    pub fn remove(&mut self, full: &str, dir: bool) -> SysResult<()> {
        let r = Resolved {
            path: full.to_string(),
            node: self.lookup(full).ok_or(Errno::ENOENT)?,
        };
        let is_dir = matches!(r.node, Node::HostDir(_) | Node::MemDir);
        if dir && !is_dir {
            return Err(Errno::ENOTDIR);
        }
        if !dir && is_dir {
            return Err(Errno::EISDIR);
        }
        if is_dir && self.list_dir(&r)?.len() > 2 {
            return Err(Errno::ENOTEMPTY);
        }
        self.unname(full);
        self.times.remove(full);
        self.touch_parent(full);
        Ok(())
    }

    /// Rename within the overlay (copying a host file or symlink up first).
    pub fn rename(&mut self, from: &str, to: &str) -> SysResult<()> {
        let node = self.lookup(from).ok_or(Errno::ENOENT)?;
        // Two names of one file: rename does nothing (rename(2)).
        if let (Node::MemFile(a), Some(Node::MemFile(b))) = (&node, self.lookup(to)) {
            if Rc::ptr_eq(a, &b) {
                return Ok(());
            }
        }
        // The permission bits go with the file (a file's in its inode, anything else's by
        // path): `chmod +x f; mv f g` must leave g executable. So do its times.
        let from_r = Resolved {
            path: from.to_string(),
            node: node.clone(),
        };
        let mode = self.stat(&from_r)?.mode & 0o7777;
        let mut times = self.times_of(&from_r);
        times.ctime = self.now;
        let ov = match node {
            Node::HostFile(_) | Node::MemFile(_) => OvNode::File(self.copy_up(&from_r)?),
            Node::MemSymlink(t) => OvNode::Symlink(t),
            Node::HostSymlink(hp) => OvNode::Symlink(from_guest(
                std::fs::read_link(hp)
                    .map_err(|_| Errno::EIO)?
                    .as_os_str()
                    .as_bytes(),
            )),
            Node::Dev(d) => OvNode::Dev(d),
            Node::Fifo(f) => OvNode::Fifo(f),
            // Renaming whole directories would need a subtree copy; not needed yet.
            Node::HostDir(_) | Node::MemDir => return Err(Errno::EXDEV),
        };
        let is_file = matches!(ov, OvNode::File(_));
        // The file keeps its count: `from` gives up the name `to` takes.
        if let OvNode::File(f) = &ov {
            if let Some(m) = self.files.get_mut(&file_key(f)) {
                m.nlink += 1;
                m.times = times;
            }
        }
        self.unname(from);
        self.set_entry(to, ov);
        self.modes.remove(from);
        self.times.remove(from);
        if is_file {
            self.modes.remove(to);
            self.times.remove(to);
        } else {
            self.modes.insert(to.to_string(), mode);
            self.times.insert(to.to_string(), times);
        }
        self.touch_parent(from);
        self.touch_parent(to);
        Ok(())
    }
}

/// The parent of a canonical guest path (`/` for `/`).
pub fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp_root() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "glass-vfs-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("bin")).expect("mkdir");
        std::fs::create_dir_all(d.join("data/sub")).expect("mkdir");
        std::fs::write(d.join("bin/busybox"), b"ELF").expect("write");
        std::os::unix::fs::symlink("busybox", d.join("bin/cat")).expect("symlink");
        std::os::unix::fs::symlink("/bin/busybox", d.join("bin/abs")).expect("symlink");
        std::os::unix::fs::symlink("../../../../etc/passwd", d.join("data/escape"))
            .expect("symlink");
        std::fs::write(d.join("data/a.txt"), b"hello").expect("write");
        d
    }

    #[test]
    fn resolve_relative_symlink_follows_inside_root() {
        let v = Vfs::new(&tmp_root());
        let r = v.resolve("/bin/cat", true).expect("resolve");
        assert_eq!(r.path, "/bin/busybox");
        let r = v.resolve("/bin/abs", true).expect("resolve");
        assert_eq!(r.path, "/bin/busybox");
        let r = v.resolve("/bin/cat", false).expect("resolve");
        assert!(matches!(r.node, Node::HostSymlink(_)));
    }

    #[test]
    fn walk_into_proc_hands_over_the_rest_of_the_path() {
        let v = Vfs::new(&tmp_root());
        let w = |p: &str, follow: bool| match v.walk(p, follow).expect("walk") {
            Walk::Proc(rest) => rest,
            Walk::Found(r) => panic!("{p} stayed in the root: {}", r.path),
        };
        assert_eq!(w("/proc/self/fd/../stat", true), "/proc/self/fd/../stat");
        assert_eq!(w("/bin/../proc/1/", false), "/proc/1/");
        // The /dev links lead into /proc, followed or not at their end as asked.
        assert_eq!(w("/dev/stdin", true), "/proc/self/fd/0");
        assert_eq!(w("/dev/fd/3", false), "/proc/self/fd/3");
        assert!(matches!(
            v.walk("/dev/stdin", false).expect("walk"),
            Walk::Found(Resolved {
                node: Node::MemSymlink(_),
                ..
            })
        ));
        // Below /proc the plain resolver finds nothing; /proc itself is a directory.
        assert_eq!(v.resolve("/proc/1/stat", true).err(), Some(Errno::ENOENT));
        assert!(matches!(
            v.resolve("/proc", true).expect("proc").node,
            Node::MemDir
        ));
    }

    #[test]
    fn resolve_trailing_slash_needs_a_directory() {
        let v = Vfs::new(&tmp_root());
        assert_eq!(v.resolve("/data/a.txt/", false).err(), Some(Errno::ENOTDIR));
        assert_eq!(v.resolve("/bin/cat/", true).err(), Some(Errno::ENOTDIR));
        assert_eq!(
            v.resolve("/data/sub/", false).expect("dir").path,
            "/data/sub"
        );
        assert_eq!(v.resolve("/", false).expect("root").path, "/");
    }

    #[test]
    fn resolve_dotdot_symlink_never_escapes_root() {
        let v = Vfs::new(&tmp_root());
        // ../../../../etc/passwd from /data clamps at / and names /etc/passwd of the guest.
        assert_eq!(v.resolve("/data/escape", true).err(), Some(Errno::ENOENT));
        assert_eq!(
            v.resolve("/../../data/a.txt", true).expect("resolve").path,
            "/data/a.txt"
        );
    }

    #[test]
    fn overlay_write_never_touches_host() {
        let root = tmp_root();
        let mut v = Vfs::new(&root);
        let r = v.resolve("/data/a.txt", true).expect("resolve");
        let f = v.copy_up(&r).expect("copy up");
        f.borrow_mut().write_at(5, b" world").expect("write");
        assert_eq!(
            std::fs::read(root.join("data/a.txt")).expect("read"),
            b"hello"
        );
        let r = v.resolve("/data/a.txt", true).expect("resolve");
        assert_eq!(v.stat(&r).expect("stat").size, 11);
        v.remove("/data/a.txt", false).expect("unlink");
        assert!(v.resolve("/data/a.txt", true).is_err());
        assert!(root.join("data/a.txt").exists());
    }

    #[test]
    fn list_dir_sorted_merged_with_overlay() {
        let mut v = Vfs::new(&tmp_root());
        v.create_file("/data/0new", 0o644);
        let r = v.resolve("/data", true).expect("resolve");
        let names: Vec<_> = v
            .list_dir(&r)
            .expect("list")
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, [".", "..", "0new", "a.txt", "escape", "sub"]);
    }

    #[test]
    fn link_host_file_shares_contents_and_counts_names() {
        let root = tmp_root();
        let mut v = Vfs::new(&root);
        let a = v.resolve("/data/a.txt", true).expect("resolve");
        v.link(&a, "/data/b.txt").expect("link");
        assert_eq!(v.link(&a, "/data/b.txt"), Err(Errno::EEXIST));
        let b = v.resolve("/data/b.txt", true).expect("resolve");
        v.copy_up(&b)
            .expect("copy up")
            .borrow_mut()
            .write_at(5, b"!")
            .expect("write");
        let a = v.resolve("/data/a.txt", true).expect("resolve");
        let st = v.stat(&a).expect("stat");
        assert_eq!((st.size, st.nlink), (6, 2));
        v.remove("/data/a.txt", false).expect("unlink");
        let b = v.resolve("/data/b.txt", true).expect("resolve");
        assert_eq!(v.stat(&b).expect("stat").nlink, 1);
        let d = v.resolve("/data/sub", true).expect("resolve");
        assert_eq!(v.link(&d, "/data/sub2"), Err(Errno::EPERM));
        assert!(!root.join("data/b.txt").exists());
    }

    #[test]
    fn hard_links_share_permission_bits_and_count() {
        let mut v = Vfs::new(&tmp_root());
        drop(v.create_file("/tmp/a", 0o644));
        let a = v.resolve("/tmp/a", true).expect("resolve");
        v.link(&a, "/tmp/b").expect("link");
        let b = v.resolve("/tmp/b", true).expect("resolve");
        v.chmod(&b, 0o700);
        let a = v.resolve("/tmp/a", true).expect("resolve");
        let st = v.stat(&a).expect("stat");
        assert_eq!((st.mode & 0o7777, st.nlink), (0o700, 2));
        assert_eq!(
            v.stat(&b).expect("stat").ino,
            st.ino,
            "links share the inode number"
        );
        // A rename keeps the count; renaming onto another name of the same file does nothing.
        v.rename("/tmp/b", "/tmp/c").expect("rename");
        v.rename("/tmp/c", "/tmp/a").expect("rename onto itself");
        let c = v.resolve("/tmp/c", true).expect("still there");
        assert_eq!(v.stat(&c).expect("stat").nlink, 2);
        // Renaming over another file takes that file's name away.
        drop(v.create_file("/tmp/d", 0o600));
        v.rename("/tmp/c", "/tmp/d").expect("rename over d");
        let d = v.resolve("/tmp/d", true).expect("resolve");
        let st = v.stat(&d).expect("stat");
        assert_eq!((st.mode & 0o7777, st.nlink), (0o700, 2));
        v.remove("/tmp/a", false).expect("unlink");
        v.remove("/tmp/d", false).expect("unlink");
        assert!(v.files.is_empty(), "an inode outlived its last name");
    }

    #[test]
    fn rename_and_copy_up_keep_permission_bits() {
        let mut v = Vfs::new(&tmp_root());
        let f = v.create_file("/data/x", 0o600);
        drop(f);
        let r = v.resolve("/data/x", true).expect("resolve");
        v.chmod(&r, 0o751);
        v.rename("/data/x", "/data/y").expect("rename");
        let r = v.resolve("/data/y", true).expect("resolve");
        assert_eq!(v.stat(&r).expect("stat").mode & 0o7777, 0o751);
        // A host executable written to (copied up) stays executable.
        let exe = v.resolve("/bin/busybox", true).expect("resolve");
        let host_mode = v.stat(&exe).expect("stat").mode;
        v.copy_up(&exe).expect("copy up");
        let exe = v.resolve("/bin/busybox", true).expect("resolve");
        assert_eq!(v.stat(&exe).expect("stat").mode, host_mode);
    }

    #[test]
    fn guest_bytes_round_trip_through_strings() {
        // Invalid UTF-8, valid UTF-8, and the UTF-8 of a code point the escapes use.
        let cases: [&[u8]; 5] = [
            b"a\xffb",
            "caf\u{e9}/\u{1f600}".as_bytes(),
            "\u{10ff41}".as_bytes(),
            b"\xc3(\xf4\x8f\xbc",
            b"",
        ];
        for b in cases {
            let s = from_guest(b);
            assert_eq!(to_guest(&s), b, "{s:?}");
            assert_eq!(guest_len(&s), b.len());
        }
        assert_ne!(from_guest(b"\xff"), from_guest("\u{fffd}".as_bytes()));
        assert_eq!(guest_display(&from_guest(b"a\xffb")), "a\u{fffd}b");
    }

    #[test]
    fn byte_name_is_created_listed_and_found_on_the_host() {
        let root = tmp_root();
        std::fs::write(root.join(OsStr::from_bytes(b"data/h\xff")), b"host").expect("write");
        let mut v = Vfs::new(&root);
        let name = from_guest(b"/data/o\xfe");
        drop(v.create_file(&name, 0o644));
        let r = v.resolve("/data", true).expect("resolve");
        let names: Vec<Vec<u8>> = v
            .list_dir(&r)
            .expect("list")
            .into_iter()
            .map(|e| to_guest(&e.name))
            .collect();
        assert!(names.contains(&b"h\xff".to_vec()), "{names:?}");
        assert!(names.contains(&b"o\xfe".to_vec()), "{names:?}");
        let h = v
            .resolve(&from_guest(b"/data/h\xff"), true)
            .expect("host file");
        assert!(matches!(h.node, Node::HostFile(_)));
        assert!(v.resolve(&name, true).is_ok());
    }

    #[test]
    fn list_dir_overlay_dir_shows_the_root_dir_under_it() {
        let root = tmp_root();
        std::fs::create_dir_all(root.join("tmp")).expect("mkdir");
        std::fs::write(root.join("tmp/from-root"), b"x").expect("write");
        let mut v = Vfs::new(&root);
        drop(v.create_file("/tmp/mine", 0o644));
        let r = v.resolve("/tmp", true).expect("resolve");
        let names: Vec<_> = v
            .list_dir(&r)
            .expect("list")
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, [".", "..", "from-root", "mine"]);
        v.remove("/tmp/from-root", false).expect("unlink");
        let r = v.resolve("/tmp", true).expect("resolve");
        assert_eq!(v.list_dir(&r).expect("list").len(), 3);
    }

    #[test]
    fn dir_link_count_is_two_plus_subdirectories() {
        let mut v = Vfs::new(&tmp_root());
        let nlink = |v: &Vfs, p: &str| {
            v.stat(&v.resolve(p, true).expect("resolve"))
                .expect("stat")
                .nlink
        };
        // /data holds the host's sub/ and files.
        assert_eq!(nlink(&v, "/data"), 3);
        v.mkdir("/data/new", 0o755).expect("mkdir");
        v.mkdir("/data/new/x", 0o755).expect("mkdir");
        assert_eq!((nlink(&v, "/data"), nlink(&v, "/data/new")), (4, 3));
        v.remove("/data/sub", true).expect("rmdir");
        assert_eq!(nlink(&v, "/data"), 3);
    }

    #[test]
    fn times_follow_the_clock_and_utimensat() {
        let mut v = Vfs::new(&tmp_root());
        let fixed = param::FILE_TIME * NS;
        let t = |v: &Vfs, p: &str| v.times_of(&v.resolve(p, true).expect("resolve"));
        assert_eq!(t(&v, "/data/a.txt"), Times::at(fixed));
        v.now = fixed + 5 * NS + 7;
        let f = v.create_file("/data/new", 0o644);
        assert_eq!(t(&v, "/data/new"), Times::at(fixed + 5 * NS + 7));
        assert_eq!(
            t(&v, "/data").mtime,
            fixed + 5 * NS + 7,
            "the parent changed"
        );
        v.now += NS;
        v.touch_file(&f);
        let w = t(&v, "/data/new");
        assert_eq!(
            (w.atime, w.mtime, w.ctime),
            (fixed + 5 * NS + 7, v.now, v.now)
        );
        // utimensat: one time set, the other left (UTIME_OMIT); ctime is now.
        v.now += NS;
        let r = v.resolve("/data/a.txt", true).expect("resolve");
        v.set_times(&r, None, Some(-NS / 2));
        let a = t(&v, "/data/a.txt");
        assert_eq!((a.atime, a.mtime, a.ctime), (fixed, -NS / 2, v.now));
        assert_eq!(split_ns(a.mtime), (-1, 500_000_000));
        // A copy-up (a write to a root file) keeps the times set on it.
        let r = v.resolve("/data/a.txt", true).expect("resolve");
        v.copy_up(&r).expect("copy up");
        assert_eq!(t(&v, "/data/a.txt").mtime, -NS / 2);
    }

    #[test]
    fn mkfifo_makes_a_fifo_nobody_has_open() {
        let mut v = Vfs::new(&tmp_root());
        v.mkfifo("/data/p", 0o600, 9).expect("mkfifo");
        assert_eq!(v.mkfifo("/data/p", 0o600, 10), Err(Errno::EEXIST));
        let r = v.resolve("/data/p", true).expect("resolve");
        let st = v.stat(&r).expect("stat");
        assert_eq!(st.mode, S_IFIFO | 0o600);
        let Node::Fifo(f) = &r.node else {
            panic!("not a fifo: {:?}", r.node)
        };
        let p = f.borrow().pipe.clone();
        assert_eq!(
            (p.borrow().readers, p.borrow().writers, p.borrow().id),
            (0, 0, 9)
        );
        let d = v.resolve("/data", true).expect("resolve");
        let e = v.list_dir(&d).expect("list");
        assert_eq!(e.iter().find(|e| e.name == "p").map(|e| e.dtype), Some(1));
    }

    #[test]
    fn walk_from_the_last_directory_sees_removals_and_symlinks() {
        let mut v = Vfs::new(&tmp_root());
        v.mkdir("/tmp/a", 0o755).expect("mkdir");
        v.mkdir("/tmp/a/b", 0o755).expect("mkdir");
        v.mkdir("/tmp/c", 0o755).expect("mkdir");
        assert_eq!(v.resolve("/tmp/a/b", true).expect("b").path, "/tmp/a/b");
        // Walked from the remembered /tmp/a/b.
        assert_eq!(v.resolve("/tmp/a/b/..", true).expect("..").path, "/tmp/a");
        v.create_file("/tmp/a/b/f", 0o644);
        assert!(v.resolve("/tmp/a/b/f", true).is_ok());
        // The remembered directory goes away with a name above it.
        assert!(v.resolve("/tmp/a/b", true).is_ok());
        v.remove("/tmp/a/b/f", false).expect("unlink");
        v.remove("/tmp/a/b", true).expect("rmdir");
        assert_eq!(v.resolve("/tmp/a/b", true).err(), Some(Errno::ENOENT));
        assert_eq!(v.resolve("/tmp/a/b/f", true).err(), Some(Errno::ENOENT));
        // A symlink where the directory was is followed, not the old directory.
        v.symlink("/tmp/c", "/tmp/a/b").expect("symlink");
        assert_eq!(v.resolve("/tmp/a/b/", true).expect("link").path, "/tmp/c");
        assert_eq!(v.resolve("/tmp/a/b/..", true).expect("..").path, "/tmp");
    }

    #[test]
    fn removed_overlay_tree_leaves_no_markers_but_host_names_stay_hidden() {
        let mut v = Vfs::new(&tmp_root());
        let mut p = "/tmp".to_string();
        for _ in 0..50 {
            p.push_str("/d");
            v.mkdir(&p, 0o755).expect("mkdir");
        }
        // The listing of /tmp shows its child only, not the subtree below it.
        let tmp = v.resolve("/tmp", true).expect("tmp");
        let names: Vec<String> = v
            .list_dir(&tmp)
            .expect("list")
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, [".", "..", "d"]);
        assert_eq!(
            v.stat(&v.resolve("/tmp/d", true).expect("d"))
                .expect("stat")
                .nlink,
            3
        );
        while p != "/tmp" {
            v.remove(&p, true).expect("rmdir");
            p.truncate(p.len() - 2);
        }
        assert_eq!(v.deleted, 0);
        assert!(!v.overlay.keys().any(|k| k.starts_with("/tmp/d")));
        v.remove("/data/a.txt", false).expect("unlink host file");
        assert_eq!(v.deleted, 1);
        assert_eq!(v.resolve("/data/a.txt", true).err(), Some(Errno::ENOENT));
        let data = v.resolve("/data", true).expect("data");
        assert!(!v
            .list_dir(&data)
            .expect("list")
            .iter()
            .any(|e| e.name == "a.txt"));
    }
}
