//! The guest's file system: a host directory exposed read-only as `/`, with an in-memory
//! overlay that takes every guest write (the host is never touched), plus device nodes.
//! Path resolution follows Linux path_resolution(7): symlinks are followed inside the root
//! (an absolute target restarts at the guest root), `..` never climbs above `/`.
//! Everything a guest can observe is a function of the root's contents, never of the host:
//! listings are sorted, inode numbers are hashes of guest paths, times are fixed.

use crate::errno::{Errno, SysResult};
use crate::param;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Linux file type bits (include/uapi/linux/stat.h).
pub const S_IFMT: u32 = 0o170000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;

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

/// A file held in the overlay.
pub type MemFile = Rc<RefCell<Vec<u8>>>;

#[derive(Clone, Debug)]
enum OvNode {
    Dir,
    File(MemFile),
    Symlink(String),
    Dev(DevKind),
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
}

/// The guest-visible attributes of a file (what stat(2) reports).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStat {
    pub ino: u64,
    pub mode: u32,
    pub nlink: u32,
    pub size: u64,
    pub rdev: u64,
    pub mtime: i64,
}

/// A resolved path: its canonical guest path and what it names.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub path: String,
    pub node: Node,
}

/// One directory entry as getdents64 returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub ino: u64,
    /// DT_* type (include/linux/fs_types.h): DT_DIR 4, DT_REG 8, DT_LNK 10, DT_CHR 2.
    pub dtype: u8,
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
}

/// The inode part of an overlay file: what its hard links share.
#[derive(Clone, Copy, Debug)]
struct FileMeta {
    mode: u32,
    nlink: u32,
    /// The inode number every name shows: that of the path the file was created (or copied
    /// up) at, so a file never linked keeps its path-derived number.
    ino: u64,
}

fn file_key(f: &MemFile) -> usize {
    Rc::as_ptr(f) as usize
}

/// Split a guest path into its non-empty components.
fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".")
}

fn join(parts: &[String]) -> String {
    if parts.is_empty() {
        "/".to_string()
    } else {
        let mut s = String::new();
        for p in parts {
            s.push('/');
            s.push_str(p);
        }
        s
    }
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
        for d in ["/dev", "/tmp", "/proc", "/proc/self"] {
            overlay.insert(d.to_string(), OvNode::Dir);
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
        }
    }

    pub fn host_root(&self) -> &Path {
        &self.host_root
    }

    fn host_path(&self, guest: &str) -> PathBuf {
        let mut p = self.host_root.clone();
        for c in components(guest) {
            p.push(c);
        }
        p
    }

    /// Look up one canonical path (no symlink following) in overlay then host.
    fn lookup(&self, path: &str) -> Option<Node> {
        if let Some(n) = self.overlay.get(path) {
            return match n {
                OvNode::Dir => Some(Node::MemDir),
                OvNode::File(f) => Some(Node::MemFile(f.clone())),
                OvNode::Symlink(t) => Some(Node::MemSymlink(t.clone())),
                OvNode::Dev(d) => Some(Node::Dev(*d)),
                OvNode::Deleted => None,
            };
        }
        // A deleted ancestor hides the host subtree.
        if self.ancestor_deleted(path) {
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
                .map(|t| t.to_string_lossy().into_owned()),
            Node::MemSymlink(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Resolve `path` (absolute guest path). `follow_last` follows a final symlink.
    pub fn resolve(&self, path: &str, follow_last: bool) -> SysResult<Resolved> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        // path_resolution(7): a trailing slash means the last component must be a directory
        // (a symlink there is followed). Shells glob `dir/*/` by lstat-ing each `name/`; when
        // that succeeded for regular files, the glob listed them too.
        let must_be_dir = path.ends_with('/');
        let follow_last = follow_last || must_be_dir;
        let mut done: Vec<String> = Vec::new();
        let mut todo: Vec<String> = components(path).rev().map(str::to_string).collect();
        let mut links = 0;
        let mut node = Node::HostDir(self.host_root.clone());
        if let Some(n) = self.lookup("/") {
            node = n;
        }
        while let Some(c) = todo.pop() {
            if c == ".." {
                done.pop();
                let p = join(&done);
                node = self.lookup(&p).ok_or(Errno::ENOENT)?;
                continue;
            }
            if !matches!(node, Node::HostDir(_) | Node::MemDir) {
                return Err(Errno::ENOTDIR);
            }
            if c.len() > 255 {
                return Err(Errno::ENAMETOOLONG);
            }
            done.push(c);
            let p = join(&done);
            let n = self.lookup(&p).ok_or(Errno::ENOENT)?;
            let is_link = matches!(n, Node::HostSymlink(_) | Node::MemSymlink(_));
            if is_link && (follow_last || !todo.is_empty()) {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                let target = Self::read_link_node(&n)?;
                done.pop();
                if target.starts_with('/') {
                    done.clear();
                }
                for t in components(&target).rev() {
                    todo.push(t.to_string());
                }
                node = self.lookup(&join(&done)).ok_or(Errno::ENOENT)?;
                continue;
            }
            node = n;
        }
        if must_be_dir && !matches!(node, Node::HostDir(_) | Node::MemDir) {
            return Err(Errno::ENOTDIR);
        }
        Ok(Resolved {
            path: join(&done),
            node,
        })
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
    /// overlay file shows them: they belong to the file).
    pub fn chmod(&mut self, r: &Resolved, mode: u32) {
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
        Ok(st)
    }

    /// A new overlay file whose first name is `path`.
    fn new_file(&mut self, path: &str, data: Vec<u8>, mode: u32) -> MemFile {
        let f: MemFile = Rc::new(RefCell::new(data));
        self.files.insert(
            file_key(&f),
            FileMeta {
                mode: mode & 0o7777,
                nlink: 1,
                ino: path_ino(path),
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
        if let Some(OvNode::File(old)) = self.overlay.insert(path.to_string(), node) {
            let key = file_key(&old);
            if let Some(m) = self.files.get_mut(&key) {
                m.nlink = m.nlink.saturating_sub(1);
                if m.nlink == 0 {
                    self.files.remove(&key);
                }
            }
        }
    }

    fn stat_default(&self, r: &Resolved) -> SysResult<FileStat> {
        let ino = self.ino_of(&r.path, &r.node);
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
                    mtime: param::FILE_TIME,
                }
            }
            Node::HostDir(_) | Node::MemDir => FileStat {
                ino,
                mode: S_IFDIR | 0o755,
                nlink: 2,
                size: 4096,
                rdev: 0,
                mtime: param::FILE_TIME,
            },
            Node::HostSymlink(_) | Node::MemSymlink(_) => {
                let t = Self::read_link_node(&r.node)?;
                FileStat {
                    ino,
                    mode: S_IFLNK | 0o777,
                    nlink: 1,
                    size: t.len() as u64,
                    rdev: 0,
                    mtime: param::FILE_TIME,
                }
            }
            Node::MemFile(f) => FileStat {
                ino,
                mode: S_IFREG | 0o644,
                nlink: self.files.get(&file_key(f)).map_or(1, |m| m.nlink.max(1)),
                size: f.borrow().len() as u64,
                rdev: 0,
                mtime: param::FILE_TIME,
            },
            Node::Dev(d) => FileStat {
                ino,
                mode: S_IFCHR | 0o666,
                nlink: 1,
                size: 0,
                rdev: d.rdev(),
                mtime: param::FILE_TIME,
            },
        };
        Ok(st)
    }

    pub fn readlink(&self, r: &Resolved) -> SysResult<String> {
        Self::read_link_node(&r.node)
    }

    /// Entries of a directory, sorted by name, with `.` and `..` first.
    pub fn list_dir(&self, r: &Resolved) -> SysResult<Vec<DirEntry>> {
        let mut names: BTreeMap<String, ()> = BTreeMap::new();
        match &r.node {
            Node::HostDir(hp) => {
                if let Ok(rd) = std::fs::read_dir(hp) {
                    for e in rd.flatten() {
                        names.insert(e.file_name().to_string_lossy().into_owned(), ());
                    }
                }
            }
            Node::MemDir => {}
            _ => return Err(Errno::ENOTDIR),
        }
        let prefix = if r.path == "/" {
            "/".to_string()
        } else {
            format!("{}/", r.path)
        };
        for (k, v) in self.overlay.range(prefix.clone()..) {
            let Some(rest) = k.strip_prefix(&prefix) else {
                break;
            };
            if rest.is_empty() || rest.contains('/') {
                continue;
            }
            if matches!(v, OvNode::Deleted) {
                names.remove(rest);
            } else {
                names.insert(rest.to_string(), ());
            }
        }
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
        for name in names.into_keys() {
            let full = format!("{prefix}{name}");
            let Some(node) = self.lookup(&full) else {
                continue;
            };
            let dtype = match node {
                Node::HostDir(_) | Node::MemDir => 4,
                Node::HostSymlink(_) | Node::MemSymlink(_) => 10,
                Node::Dev(_) => 2,
                _ => 8,
            };
            out.push(DirEntry {
                ino: self.ino_of(&full, &node),
                name,
                dtype,
            });
        }
        Ok(out)
    }

    /// Create (or truncate) a regular file in the overlay at canonical `full`.
    /// A new empty overlay file with permission bits `mode` (already masked by the umask).
    pub fn create_file(&mut self, full: &str, mode: u32) -> MemFile {
        let f = self.new_file(full, Vec::new(), mode);
        self.set_entry(full, OvNode::File(f.clone()));
        f
    }

    /// Copy a host file up into the overlay so it can be written; returns the overlay file.
    pub fn copy_up(&mut self, r: &Resolved) -> SysResult<MemFile> {
        match &r.node {
            Node::MemFile(f) => Ok(f.clone()),
            Node::HostFile(hp) => {
                // The copy keeps the host file's permission bits (an overlay file defaults
                // to 0644, which would drop the execute bits of a program written to).
                let mode = self.stat(r)?.mode & 0o7777;
                crate::record::note_opened(hp);
                let data = std::fs::read(hp).map_err(|_| Errno::EIO)?;
                let f = self.new_file(&r.path, data, mode);
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
        self.overlay.insert(full.to_string(), OvNode::Dir);
        Ok(())
    }

    pub fn symlink(&mut self, target: &str, full: &str) -> SysResult<()> {
        if self.exists(full) {
            return Err(Errno::EEXIST);
        }
        self.overlay
            .insert(full.to_string(), OvNode::Symlink(target.to_string()));
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
        let ov = match &from.node {
            Node::HostFile(_) | Node::MemFile(_) => {
                let f = self.copy_up(from)?;
                if let Some(m) = self.files.get_mut(&file_key(&f)) {
                    m.nlink += 1;
                }
                OvNode::File(f)
            }
            Node::HostSymlink(_) | Node::MemSymlink(_) => {
                OvNode::Symlink(Self::read_link_node(&from.node)?)
            }
            Node::Dev(d) => {
                self.modes.insert(to.to_string(), mode);
                OvNode::Dev(*d)
            }
            Node::HostDir(_) | Node::MemDir => return Err(Errno::EPERM),
        };
        self.set_entry(to, ov);
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
        self.set_entry(full, OvNode::Deleted);
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
        // path): `chmod +x f; mv f g` must leave g executable.
        let mode = self
            .stat(&Resolved {
                path: from.to_string(),
                node: node.clone(),
            })?
            .mode
            & 0o7777;
        let ov = match node {
            Node::HostFile(_) | Node::MemFile(_) => {
                let r = Resolved {
                    path: from.to_string(),
                    node,
                };
                OvNode::File(self.copy_up(&r)?)
            }
            Node::MemSymlink(t) => OvNode::Symlink(t),
            Node::HostSymlink(hp) => OvNode::Symlink(
                std::fs::read_link(hp)
                    .map_err(|_| Errno::EIO)?
                    .to_string_lossy()
                    .into_owned(),
            ),
            Node::Dev(d) => OvNode::Dev(d),
            // Renaming whole directories would need a subtree copy; not needed yet.
            Node::HostDir(_) | Node::MemDir => return Err(Errno::EXDEV),
        };
        let is_file = matches!(ov, OvNode::File(_));
        // The file keeps its count: `from` gives up the name `to` takes.
        if let OvNode::File(f) = &ov {
            if let Some(m) = self.files.get_mut(&file_key(f)) {
                m.nlink += 1;
            }
        }
        self.set_entry(from, OvNode::Deleted);
        self.set_entry(to, ov);
        self.modes.remove(from);
        if is_file {
            self.modes.remove(to);
        } else {
            self.modes.insert(to.to_string(), mode);
        }
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
        f.borrow_mut().extend_from_slice(b" world");
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
        v.copy_up(&b).expect("copy up").borrow_mut().push(b'!');
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
}
