//! Open-file descriptions and per-process fd tables, with Linux sharing rules: dup'd fds
//! (and, later, fds inherited across fork) share one description, so they share its offset
//! and status flags; close-on-exec belongs to the fd (open(2), dup(2), fcntl(2)).

use crate::errno::{Errno, SysResult};
use crate::param;
use crate::pipe::PipeRef;
use crate::vfs::{DevKind, DirEntry, MemFile};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// open(2) flags (include/uapi/asm-generic/fcntl.h; x86_64, aarch64 and riscv64 agree on
/// these except O_DIRECTORY/O_NOFOLLOW on aarch64, which the arch layer translates).
pub const O_ACCMODE: u32 = 0o3;
pub const O_RDONLY: u32 = 0;
pub const O_WRONLY: u32 = 1;
pub const O_RDWR: u32 = 2;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_NOCTTY: u32 = 0o400;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_DIRECTORY: u32 = 0o200000;
pub const O_NOFOLLOW: u32 = 0o400000;
pub const O_CLOEXEC: u32 = 0o2000000;
pub const O_PATH: u32 = 0o10000000;

/// The host stream behind a console fd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Console {
    Stdin,
    Stdout,
    Stderr,
}

/// What an open-file description reads and writes.
#[derive(Debug)]
pub enum FileKind {
    /// A file of the host root, opened read-only.
    Host(std::fs::File),
    /// A file in the overlay.
    Mem(MemFile),
    /// A directory; entries are listed at open so getdents64 offsets are stable.
    Dir(Vec<DirEntry>),
    Dev(DevKind),
    Console(Console),
    PipeRead(PipeRef),
    PipeWrite(PipeRef),
    /// An epoll instance (epoll(7)): its interest list.
    Epoll(EpollRef),
}

/// One fd an epoll instance watches.
#[derive(Debug, Clone, Copy)]
pub struct EpollItem {
    /// EPOLLIN, EPOLLOUT, … with EPOLLET and EPOLLONESHOT.
    pub events: u32,
    pub data: u64,
    /// The readiness last seen, for edge-triggered items: only newly set bits are reported.
    pub last: u32,
}

/// An epoll instance's interest list, by fd.
#[derive(Debug, Default)]
pub struct Epoll {
    pub items: BTreeMap<i32, EpollItem>,
    /// Its anonymous inode's number (from the pipe counter: fixed by the run's history).
    pub id: u64,
}

pub type EpollRef = Rc<RefCell<Epoll>>;

#[derive(Debug)]
pub struct OpenFile {
    pub kind: FileKind,
    /// Canonical guest path (shown in /proc fd and readlink /proc/self/fd/N).
    pub path: String,
    /// Status flags: access mode, O_APPEND, O_NONBLOCK.
    pub flags: u32,
    pub offset: u64,
}

pub type FileRef = Rc<RefCell<OpenFile>>;

#[derive(Clone, Debug)]
pub struct FdEntry {
    pub file: FileRef,
    pub cloexec: bool,
}

#[derive(Clone, Debug, Default)]
pub struct FdTable {
    fds: BTreeMap<i32, FdEntry>,
    /// RLIMIT_NOFILE's soft limit when the guest has set one (else `param::MAX_FDS`):
    /// fds at or above it cannot be made.
    limit: Option<i32>,
}

/// The last reference to a pipe end going away closes that end.
impl Drop for OpenFile {
    fn drop(&mut self) {
        match &self.kind {
            FileKind::PipeRead(p) => p.borrow_mut().readers -= 1,
            FileKind::PipeWrite(p) => p.borrow_mut().writers -= 1,
            _ => {}
        }
    }
}

impl OpenFile {
    pub fn new(kind: FileKind, path: String, flags: u32) -> FileRef {
        Rc::new(RefCell::new(OpenFile {
            kind,
            path,
            flags,
            offset: 0,
        }))
    }

    pub fn readable(&self) -> bool {
        self.flags & O_ACCMODE != O_WRONLY
    }

    pub fn writable(&self) -> bool {
        self.flags & O_ACCMODE != O_RDONLY
    }
}

impl FdTable {
    /// The table of the first process: fds 0, 1, 2 on the console.
    pub fn with_console() -> FdTable {
        let mut t = FdTable::default();
        for (fd, c, f) in [
            (0, Console::Stdin, O_RDONLY),
            (1, Console::Stdout, O_WRONLY),
            (2, Console::Stderr, O_WRONLY),
        ] {
            let path = "/dev/tty".to_string();
            t.fds.insert(
                fd,
                FdEntry {
                    file: OpenFile::new(FileKind::Console(c), path, f),
                    cloexec: false,
                },
            );
        }
        t
    }

    pub fn get(&self, fd: i32) -> SysResult<FileRef> {
        self.fds
            .get(&fd)
            .map(|e| e.file.clone())
            .ok_or(Errno::EBADF)
    }

    pub fn entry(&self, fd: i32) -> SysResult<&FdEntry> {
        self.fds.get(&fd).ok_or(Errno::EBADF)
    }

    pub fn entry_mut(&mut self, fd: i32) -> SysResult<&mut FdEntry> {
        self.fds.get_mut(&fd).ok_or(Errno::EBADF)
    }

    /// Install at the lowest free fd ≥ `min` (open(2) and F_DUPFD semantics).
    pub fn install(&mut self, file: FileRef, cloexec: bool, min: i32) -> SysResult<i32> {
        let mut fd = min.max(0);
        while self.fds.contains_key(&fd) {
            fd += 1;
        }
        if fd >= self.limit() {
            return Err(Errno::EMFILE);
        }
        self.fds.insert(fd, FdEntry { file, cloexec });
        Ok(fd)
    }

    /// Install at exactly `fd`, closing what was there (dup2/dup3).
    pub fn install_at(&mut self, fd: i32, file: FileRef, cloexec: bool) -> SysResult<()> {
        if !(0..self.limit()).contains(&fd) {
            return Err(Errno::EBADF);
        }
        self.fds.insert(fd, FdEntry { file, cloexec });
        Ok(())
    }

    /// One more than the highest fd that may be made (RLIMIT_NOFILE's soft limit).
    pub fn limit(&self) -> i32 {
        self.limit.unwrap_or(param::MAX_FDS)
    }

    /// setrlimit(RLIMIT_NOFILE): fds already open above the new limit stay open, as on
    /// Linux; only new ones are refused.
    pub fn set_limit(&mut self, soft: u64) {
        self.limit = Some(soft.min(param::NR_OPEN) as i32);
    }

    pub fn close(&mut self, fd: i32) -> SysResult<FileRef> {
        self.fds.remove(&fd).map(|e| e.file).ok_or(Errno::EBADF)
    }

    /// Close every close-on-exec fd (execve).
    pub fn close_on_exec(&mut self) {
        self.fds.retain(|_, e| !e.cloexec);
    }

    pub fn iter(&self) -> impl Iterator<Item = (i32, &FdEntry)> {
        self.fds.iter().map(|(k, v)| (*k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn null() -> FileRef {
        OpenFile::new(FileKind::Dev(DevKind::Null), "/dev/null".into(), O_RDONLY)
    }

    #[test]
    fn fdtable_past_nofile_limit_is_emfile_and_ebadf() {
        let mut t = FdTable::with_console();
        t.set_limit(5);
        assert_eq!(t.install(null(), false, 0), Ok(3));
        assert_eq!(t.install(null(), false, 0), Ok(4));
        assert_eq!(t.install(null(), false, 0), Err(Errno::EMFILE));
        assert_eq!(t.install_at(5, null(), false), Err(Errno::EBADF));
        // Lowering the limit leaves open fds alone (setrlimit(2)).
        t.set_limit(2);
        assert!(t.get(4).is_ok());
        assert_eq!(t.install(null(), false, 0), Err(Errno::EMFILE));
    }

    #[test]
    fn fdtable_limit_inherited_by_clone() {
        let mut t = FdTable::default();
        t.set_limit(1);
        let c = t.clone();
        assert_eq!(c.limit(), 1);
        assert_eq!(FdTable::default().limit(), param::MAX_FDS);
    }
}
