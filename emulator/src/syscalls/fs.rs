//! File system calls (Linux man-pages section 2: read, write, openat, lseek, stat, statx,
//! getdents64, ioctl, fcntl, dup, access, readlink, getcwd, chdir, mkdir, unlink, rename,
//! symlink, truncate, statfs, sendfile) over the guest file system and the console. Reads
//! and writes of a pipe go to `crate::pipe`.

use crate::cpu::{Cpu, Stat};
use crate::errno::{Errno, SysResult};
use crate::fdtable::*;
use crate::guestmem::GuestMem;
use crate::machine::{Group, Kernel};
use crate::param::PATH_MAX;
use crate::syscalls::{Cx, Outcome};
use crate::vfs::{self, DevKind, FileStat, Node, Resolved};
use std::io::Read as _;
use std::os::unix::fs::FileExt;

pub const AT_FDCWD: i32 = -100;
pub const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
pub const AT_REMOVEDIR: u64 = 0x200;
pub const AT_EMPTY_PATH: u64 = 0x1000;
/// creat(2) is open with O_CREAT|O_WRONLY|O_TRUNC.
pub const O_CREAT_WRONLY_TRUNC: u64 = (O_CREAT | O_WRONLY | O_TRUNC) as u64;

/// Largest single transfer we stage through host memory; longer requests return short
/// counts, which POSIX allows for reads and which glibc's write loops retry.
const MAX_IO: usize = 1 << 20;

pub fn fd_arg(a: u64) -> i32 {
    a as i32
}

pub fn guest_path(mem: &dyn GuestMem, addr: u64) -> SysResult<String> {
    if addr == 0 {
        return Err(Errno::EFAULT);
    }
    let b = mem.read_cstr(addr, PATH_MAX)?;
    // Any bytes but NUL name a file; held losslessly (vfs::from_guest).
    Ok(vfs::from_guest(&b))
}

/// The absolute guest path named by (dirfd, path).
pub fn at_path(g: &Group, dirfd: u64, path: &str) -> SysResult<String> {
    if path.starts_with('/') {
        return Ok(path.to_string());
    }
    let dirfd = fd_arg(dirfd);
    if dirfd == AT_FDCWD {
        return Ok(vfs::absolute(&g.cwd, path));
    }
    let f = g.fds.get(dirfd)?;
    let f = f.borrow();
    if !matches!(f.kind, FileKind::Dir(_)) {
        return Err(Errno::ENOTDIR);
    }
    Ok(vfs::absolute(&f.path, path))
}

/// Read up to `len` bytes at the description's offset (or `at` for pread).
pub fn do_read(
    k: &mut Kernel,
    f: &mut OpenFile,
    len: usize,
    at: Option<u64>,
) -> SysResult<Vec<u8>> {
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    let len = len.min(MAX_IO);
    let off = at.unwrap_or(f.offset);
    let data = match &f.kind {
        FileKind::Host(file) => {
            let mut buf = vec![0u8; len];
            let n = file.read_at(&mut buf, off).map_err(|_| Errno::EIO)?;
            buf.truncate(n);
            buf
        }
        FileKind::Mem(m) => m.borrow().read_at(off, len),
        FileKind::Dir(_) => return Err(Errno::EISDIR),
        FileKind::Dev(DevKind::Null) => Vec::new(),
        FileKind::Dev(DevKind::Zero | DevKind::Full) => vec![0u8; len],
        FileKind::Dev(DevKind::Random) => {
            let mut b = vec![0u8; len.min(1 << 16)];
            k.rng.fill(&mut b);
            b
        }
        FileKind::Dev(DevKind::Tty) | FileKind::Console(Console::Stdin) => {
            // Served: what the reader thread has brought (the machine made a read of an
            // empty console wait first, so empty here is the end of the input).
            if let Some(ci) = k.console_in.as_mut() {
                return Ok(ci.take(len.min(1 << 16)));
            }
            let mut buf = vec![0u8; len.min(1 << 16)];
            let n = loop {
                match k.console.stdin.read(&mut buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => return Err(Errno::EIO),
                }
            };
            buf.truncate(n);
            return Ok(buf);
        }
        FileKind::Console(_) => return Err(Errno::EBADF),
        FileKind::Epoll(_) => return Err(Errno::EINVAL),
        // Pipes are read by the machine (they may block); pread on one is ESPIPE.
        FileKind::PipeRead(_) | FileKind::PipeWrite(_) => return Err(Errno::ESPIPE),
    };
    if at.is_none() {
        f.offset += data.len() as u64;
    }
    Ok(data)
}

/// Write `data` at the description's offset (or `at` for pwrite); regular files may not
/// grow past `fsize` (the writer's RLIMIT_FSIZE, see [`write_limited`]).
pub fn do_write(
    k: &mut Kernel,
    f: &mut OpenFile,
    data: &[u8],
    at: Option<u64>,
    fsize: u64,
) -> SysResult<usize> {
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    match &f.kind {
        FileKind::Mem(mm) => {
            let mut m = mm.borrow_mut();
            let off = if f.flags & O_APPEND != 0 {
                m.len()
            } else {
                at.unwrap_or(f.offset)
            };
            // RLIMIT_FSIZE (setrlimit(2)): a write starting at or past the limit fails
            // with EFBIG (the caller raises SIGXFSZ); one crossing it is cut short there.
            if off >= fsize {
                return Err(Errno::EFBIG);
            }
            let n = (data.len() as u64).min(fsize - off) as usize;
            m.write_at(off, &data[..n])?;
            if at.is_none() {
                f.offset = off + n as u64;
            }
            drop(m);
            if n > 0 {
                k.vfs.touch_file(mm);
            }
            Ok(n)
        }
        FileKind::Dev(DevKind::Null | DevKind::Zero | DevKind::Random) => Ok(data.len()),
        FileKind::Dev(DevKind::Full) => Err(Errno::ENOSPC),
        FileKind::Dev(DevKind::Tty) | FileKind::Console(Console::Stdout) => {
            k.trace.output(1, data);
            let _ = k.console.stdout.write_all(data);
            let _ = k.console.stdout.flush();
            Ok(data.len())
        }
        FileKind::Console(Console::Stderr) => {
            k.trace.output(2, data);
            let _ = k.console.stderr.write_all(data);
            let _ = k.console.stderr.flush();
            Ok(data.len())
        }
        FileKind::Dir(_) => Err(Errno::EISDIR),
        FileKind::Epoll(_) => Err(Errno::EINVAL),
        FileKind::Host(_) | FileKind::Console(Console::Stdin) => Err(Errno::EBADF),
        FileKind::PipeRead(_) | FileKind::PipeWrite(_) => Err(Errno::ESPIPE),
    }
}

use std::io::Write as _;

/// read(2): a pipe may wait, an empty console read while /proc is served waits for input;
/// files return what there is.
pub fn read(cx: &mut Cx, a: [u64; 6]) -> Outcome {
    read_pieces(cx, a[0], vec![(a[1], a[2])])
}

/// readv(2): as read, into each iovec in turn.
pub fn readv(cx: &mut Cx, a: [u64; 6]) -> Outcome {
    match cx.mem.read_iovecs(a[1], a[2]) {
        Ok(pieces) => read_pieces(cx, a[0], pieces),
        Err(e) => e.into(),
    }
}

/// write(2).
pub fn write(cx: &mut Cx, a: [u64; 6]) -> Outcome {
    write_pieces(cx, a[0], vec![(a[1], a[2])])
}

/// writev(2).
pub fn writev(cx: &mut Cx, a: [u64; 6]) -> Outcome {
    match cx.mem.read_iovecs(a[1], a[2]) {
        Ok(pieces) => write_pieces(cx, a[0], pieces),
        Err(e) => e.into(),
    }
}

/// The open file behind `fd` for a read (`reading`) or a write: the description, whether
/// it is non-blocking, and the pipe if it is the right end of one (EBADF for the wrong end).
fn io_target(
    cx: &Cx,
    fd: u64,
    reading: bool,
) -> Result<(FileRef, bool, Option<crate::pipe::PipeRef>), Errno> {
    let f = cx.g.fds.get(fd_arg(fd))?;
    let (nonblock, pipe) = {
        let f = f.borrow();
        let pipe = match (&f.kind, reading) {
            (FileKind::PipeRead(pp), true) | (FileKind::PipeWrite(pp), false) => Some(pp.clone()),
            (FileKind::PipeRead(_) | FileKind::PipeWrite(_), _) => return Err(Errno::EBADF),
            _ => None,
        };
        (f.flags & O_NONBLOCK != 0, pipe)
    };
    Ok((f, nonblock, pipe))
}

fn read_pieces(cx: &mut Cx, fd: u64, pieces: Vec<(u64, u64)>) -> Outcome {
    let (f, nonblock, pipe) = match io_target(cx, fd, true) {
        Ok(x) => x,
        Err(e) => return e.into(),
    };
    if let Some(pp) = pipe {
        return crate::pipe::read(cx, &pp, nonblock, &pieces);
    }
    if console_empty(cx.k, &f.borrow()) {
        cx.k.start_console_reader();
        return if nonblock {
            Errno::EAGAIN.into()
        } else {
            Outcome::Block(crate::machine::Wait::Console)
        };
    }
    let mut total = 0u64;
    for (base, len) in pieces {
        if len == 0 {
            continue;
        }
        let got = do_read(cx.k, &mut f.borrow_mut(), len as usize, None)
            .and_then(|data| cx.mem.write(base, &data).map(|()| data.len() as u64));
        match got {
            Ok(n) => {
                total += n;
                if n < len {
                    break;
                }
            }
            Err(e) => return e.into(),
        }
    }
    Outcome::Ret(total)
}

fn write_pieces(cx: &mut Cx, fd: u64, pieces: Vec<(u64, u64)>) -> Outcome {
    let (f, nonblock, pipe) = match io_target(cx, fd, false) {
        Ok(x) => x,
        Err(e) => return e.into(),
    };
    if let Some(pp) = pipe {
        return crate::pipe::write(cx, &pp, nonblock, &pieces);
    }
    // Gather first so one writev is one write on the console (as on Linux for small ones).
    let mut data = Vec::new();
    for (base, len) in pieces {
        match cx.mem.read(base, (len as usize).min(MAX_IO)) {
            Ok(b) => data.extend_from_slice(&b),
            Err(e) => return e.into(),
        }
    }
    let r = write_limited(cx, &f, &data, None);
    r.map(|n| n as u64).into()
}

/// `f` reads the console, which is served by the reader thread and has nothing yet.
fn console_empty(k: &Kernel, f: &OpenFile) -> bool {
    let Some(ci) = &k.console_in else {
        return false;
    };
    !ci.readable()
        && f.readable()
        && matches!(
            f.kind,
            FileKind::Console(Console::Stdin) | FileKind::Dev(DevKind::Tty)
        )
}

/// sendfile(out, in, offset*, count): copy through the kernel; a pipe as `out` takes only
/// what fits, so nothing read is ever lost.
pub fn sendfile(cx: &mut Cx, a: [u64; 6]) -> Outcome {
    let (out_fd, in_fd, offp, count) = (a[0] as i32, a[1] as i32, a[2], a[3] as usize);
    let (Ok(out), Ok(inp)) = (cx.g.fds.get(out_fd), cx.g.fds.get(in_fd)) else {
        return Errno::EBADF.into();
    };
    if console_empty(cx.k, &inp.borrow()) {
        cx.k.start_console_reader();
        return if inp.borrow().flags & O_NONBLOCK != 0 {
            Errno::EAGAIN.into()
        } else {
            Outcome::Block(crate::machine::Wait::Console)
        };
    }
    let mut limit = count.min(MAX_IO);
    let out_pipe = match &out.borrow().kind {
        FileKind::PipeWrite(pp) => Some(pp.clone()),
        FileKind::PipeRead(_) => return Errno::EBADF.into(),
        _ => None,
    };
    if let Some(pp) = &out_pipe {
        limit = match crate::pipe::sendfile_room(cx, pp, limit) {
            Ok(n) => n,
            Err(o) => return o,
        };
    }
    if matches!(
        inp.borrow().kind,
        FileKind::PipeRead(_) | FileKind::PipeWrite(_)
    ) {
        return Errno::EINVAL.into();
    }
    let at = if offp != 0 {
        match cx.mem.read_u64(offp) {
            Ok(o) => Some(o),
            Err(e) => return e.into(),
        }
    } else {
        None
    };
    let data = match do_read(cx.k, &mut inp.borrow_mut(), limit, at) {
        Ok(d) => d,
        Err(e) => return e.into(),
    };
    if let Some(o) = at {
        let _ = cx.mem.write_u64(offp, o + data.len() as u64);
    }
    match out_pipe {
        Some(pp) => Outcome::Ret(crate::pipe::push(&pp, &data)),
        None => write_limited(cx, &out, &data, None)
            .map(|n| n as u64)
            .into(),
    }
}

/// close_range(first, last, flags) (close_range(2)): close every open fd in the range, or
/// with CLOSE_RANGE_CLOEXEC mark them close-on-exec; CLOSE_RANGE_UNSHARE has nothing to
/// unshare here (the table is the caller's group's).
pub fn close_range(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    const CLOSE_RANGE_UNSHARE: u64 = 1 << 1;
    const CLOSE_RANGE_CLOEXEC: u64 = 1 << 2;
    let (first, last, flags) = (a[0] as u32, a[1] as u32, a[2]);
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    let fds: Vec<i32> =
        cx.g.fds
            .iter()
            .map(|(fd, _)| fd)
            .filter(|&fd| (first..=last).contains(&(fd as u32)))
            .collect();
    for fd in fds {
        if flags & CLOSE_RANGE_CLOEXEC != 0 {
            if let Ok(e) = cx.g.fds.entry_mut(fd) {
                e.cloexec = true;
            }
        } else {
            let _ = cx.g.fds.close(fd);
        }
    }
    Ok(0)
}

/// fadvise64(fd, offset, len, advice): a hint; the fd must be open and the advice known.
pub fn fadvise64(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let f = cx.g.fds.get(fd_arg(a[0]))?;
    if matches!(
        f.borrow().kind,
        FileKind::PipeRead(_) | FileKind::PipeWrite(_)
    ) {
        return Err(Errno::ESPIPE);
    }
    if a[3] > 5 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// Which file an extended-attribute call names: a path (`l*` calls do not follow a final
/// symlink) or an open fd (`f*` calls).
#[derive(Clone, Copy)]
pub enum XattrOn {
    Path { follow: bool },
    Fd,
}

/// The extended-attribute calls (fs/xattr.c) on a file system that keeps none, answered as
/// Linux answers for inodes without xattr handlers: `*listxattr` gives an empty list (0),
/// `*getxattr`, `*setxattr` and `*removexattr` fail with EOPNOTSUPP (`answer`). The file is
/// looked up first, so a missing path is still ENOENT and a closed fd EBADF.
pub fn xattr(cx: &mut Cx, on: XattrOn, a: [u64; 6], answer: SysResult<u64>) -> SysResult<u64> {
    match on {
        XattrOn::Path { follow } => {
            let flags = if follow { 0 } else { AT_SYMLINK_NOFOLLOW };
            stat_of(cx, AT_FDCWD as u64, a[0], flags)?;
        }
        XattrOn::Fd => {
            cx.g.fds.get(fd_arg(a[0]))?;
        }
    }
    answer
}

/// umask(2): set the mask, return the old one.
pub fn umask(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let old = cx.g.umask;
    cx.g.umask = (a[0] as u32) & 0o777;
    Ok(u64::from(old))
}

/// fchown(2): ownership is not modelled (the guest is root on its own overlay), but the fd
/// must be open.
pub fn fchown(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    cx.g.fds.get(fd_arg(a[0])).map(|_| 0)
}

pub fn pread(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let f = cx.g.fds.get(fd_arg(a[0]))?;
    if matches!(
        f.borrow().kind,
        FileKind::Console(_) | FileKind::Dev(DevKind::Tty)
    ) {
        return Err(Errno::ESPIPE);
    }
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let data = do_read(cx.k, &mut f.borrow_mut(), a[2] as usize, Some(a[3]))?;
    cx.mem.write(a[1], &data)?;
    Ok(data.len() as u64)
}

pub fn pwrite(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let f = cx.g.fds.get(fd_arg(a[0]))?;
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let data = cx.mem.read(a[1], (a[2] as usize).min(MAX_IO))?;
    let n = write_limited(cx, &f, &data, Some(a[3]))?;
    Ok(n as u64)
}

/// [`do_write`] under the caller's RLIMIT_FSIZE: EFBIG comes with SIGXFSZ to the writer,
/// as Linux's generic_write_check_limits does.
fn write_limited(
    cx: &mut Cx,
    f: &crate::fdtable::FileRef,
    data: &[u8],
    at: Option<u64>,
) -> SysResult<usize> {
    let fsize = cx.g.rlimits[RLIMIT_FSIZE].0;
    let r = do_write(cx.k, &mut f.borrow_mut(), data, at, fsize);
    if r == Err(Errno::EFBIG) && fsize != u64::MAX {
        crate::signal::post(cx.t, cx.g, crate::signal::SIGXFSZ);
    }
    r
}

/// RLIMIT_FSIZE's number (asm-generic/resource.h).
const RLIMIT_FSIZE: usize = 1;

/// openat(2); open of a FIFO may wait for its partner (fifo(7)).
pub fn openat(cx: &mut Cx, a: [u64; 6]) -> Outcome {
    match open_inner(cx, a) {
        Ok(fd) => Outcome::Ret(fd),
        Err(o) => o,
    }
}

fn open_inner(cx: &mut Cx, a: [u64; 6]) -> Result<u64, Outcome> {
    let path = guest_path(cx.mem, a[1])?;
    if path.is_empty() {
        return Err(Errno::ENOENT.into());
    }
    let full = at_path(cx.g, a[0], &path)?;
    open_path(cx, &full, a[2] as u32, a[3] as u32)
}

/// Open the absolute guest path `full` with open(2) `flags` (creating with `mode`).
pub fn open_path(cx: &mut Cx, full: &str, flags: u32, mode: u32) -> Result<u64, Outcome> {
    let full = full.to_string();
    let acc = flags & O_ACCMODE;
    let wants_write = acc != O_RDONLY || flags & O_TRUNC != 0;
    let follow = flags & O_NOFOLLOW == 0;

    let resolved = match cx.k.vfs.resolve(&full, follow) {
        Ok(r) => {
            if flags & O_CREAT != 0 && flags & O_EXCL != 0 {
                return Err(Errno::EEXIST.into());
            }
            r
        }
        Err(Errno::ENOENT) if flags & O_CREAT != 0 => {
            let (_, canon) = cx.k.vfs.resolve_parent(&full)?;
            // A dangling symlink as the last component: create its target.
            let f = cx.k.vfs.create_file(&canon, mode & !cx.g.umask);
            Resolved {
                path: canon,
                node: Node::MemFile(f),
            }
        }
        Err(e) => return Err(e.into()),
    };
    let is_dir = matches!(resolved.node, Node::HostDir(_) | Node::MemDir);
    if flags & O_DIRECTORY != 0 && !is_dir {
        return Err(Errno::ENOTDIR.into());
    }
    let kind = match &resolved.node {
        Node::HostDir(_) | Node::MemDir => {
            if acc != O_RDONLY {
                return Err(Errno::EISDIR.into());
            }
            FileKind::Dir(cx.k.vfs.list_dir(&resolved)?)
        }
        Node::HostFile(hp) if !wants_write => {
            crate::record::note_opened(hp);
            FileKind::Host(std::fs::File::open(hp).map_err(|_| Errno::EACCES)?)
        }
        Node::HostFile(_) | Node::MemFile(_) => {
            let m = cx.k.vfs.copy_up(&resolved)?;
            if flags & O_TRUNC != 0 && acc != O_RDONLY {
                m.borrow_mut().set_len(0)?;
                cx.k.vfs.touch_file(&m);
            }
            FileKind::Mem(m)
        }
        Node::Dev(d) => FileKind::Dev(*d),
        Node::Fifo(fifo) => return open_fifo(cx, fifo, resolved.path.clone(), flags),
        Node::HostSymlink(_) | Node::MemSymlink(_) => {
            if flags & O_PATH != 0 {
                FileKind::Dev(DevKind::Null)
            } else {
                return Err(Errno::ELOOP.into());
            }
        }
    };
    let status = flags & (O_ACCMODE | O_APPEND | O_NONBLOCK);
    let file = OpenFile::new(kind, resolved.path, status);
    Ok(cx.g.fds.install(file, flags & O_CLOEXEC != 0, 0)? as u64)
}

/// Open a FIFO (fifo(7), Linux fs/pipe.c fifo_open): a reader (or a writer) counts as an
/// end at once, then waits until the other end has been opened since; O_NONBLOCK reads
/// open at once, O_NONBLOCK writes with no reader fail with ENXIO. Data then goes through
/// the FIFO's pipe as through any pipe. O_RDWR opens at once as a reader (Linux counts it
/// as both ends; a description here is one end).
fn open_fifo(cx: &mut Cx, fifo: &vfs::FifoRef, path: String, flags: u32) -> Result<u64, Outcome> {
    let tid = cx.t.tid.0;
    let reading = flags & O_ACCMODE != O_WRONLY;
    let nonblock = flags & O_NONBLOCK != 0 || flags & O_ACCMODE == O_RDWR;
    let mut fi = fifo.borrow_mut();
    let pp = fi.pipe.clone();
    let partner = |fi: &vfs::Fifo| if reading { fi.w_counter } else { fi.r_counter };
    let wait = |seen| {
        Outcome::Block(crate::machine::Wait::FifoOpen {
            fifo: fifo.clone(),
            reading,
            seen,
        })
    };
    let again = fi.waiting.get(&tid).filter(|w| w.0 == reading).map(|w| w.1);
    if let Some(seen) = again {
        // Run again after waiting: this task is already one of the ends.
        if partner(&fi) == seen {
            return Err(wait(seen));
        }
        fi.waiting.remove(&tid);
    } else {
        let partners = if reading {
            pp.borrow().writers
        } else {
            pp.borrow().readers
        };
        if !reading && partners == 0 && nonblock {
            return Err(Errno::ENXIO.into());
        }
        if reading {
            pp.borrow_mut().readers += 1;
            fi.r_counter += 1;
        } else {
            pp.borrow_mut().writers += 1;
            fi.w_counter += 1;
        }
        if partners == 0 && !nonblock {
            let seen = partner(&fi);
            fi.waiting.insert(tid, (reading, seen));
            return Err(wait(seen));
        }
    }
    drop(fi);
    let kind = if reading {
        FileKind::PipeRead(pp)
    } else {
        FileKind::PipeWrite(pp)
    };
    // The description owns the end counted above: closing it gives the end back.
    let file = OpenFile::new(kind, path, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
    Ok(cx.g.fds.install(file, flags & O_CLOEXEC != 0, 0)? as u64)
}

/// mknodat(dirfd, path, mode, dev) (mknod(2)): a FIFO or a regular file in the overlay;
/// device nodes need CAP_MKNOD, which the guest is not given (EPERM, as for an
/// unprivileged Linux user), and sockets are not modelled (EPERM too); an unknown type is
/// EINVAL.
pub fn mknodat(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let path = guest_path(cx.mem, a[1])?;
    let mode = a[2] as u32;
    let (_, full) = cx.k.vfs.resolve_parent(&at_path(cx.g, a[0], &path)?)?;
    if cx.k.vfs.exists(&full) {
        return Err(Errno::EEXIST);
    }
    let perm = mode & 0o7777 & !cx.g.umask;
    match mode & vfs::S_IFMT {
        0 | vfs::S_IFREG => {
            cx.k.vfs.create_file(&full, perm);
            Ok(0)
        }
        vfs::S_IFIFO => {
            let id = cx.k.next_pipe;
            cx.k.next_pipe += 1;
            cx.k.vfs.mkfifo(&full, perm, id)?;
            Ok(0)
        }
        // An unprivileged Linux user gets EPERM for devices and directories (checked
        // natively); a socket would be made, but sockets are not modelled.
        vfs::S_IFCHR | vfs::S_IFBLK | vfs::S_IFDIR | vfs::S_IFSOCK => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

pub fn close(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    cx.g.fds.close(fd_arg(a[0]))?;
    Ok(0)
}

pub fn lseek(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let f = cx.g.fds.get(fd_arg(a[0]))?;
    let mut f = f.borrow_mut();
    let size = match &f.kind {
        FileKind::Host(h) => h.metadata().map(|m| m.len()).unwrap_or(0),
        FileKind::Mem(m) => m.borrow().len(),
        FileKind::Dir(e) => e.len() as u64,
        FileKind::Dev(DevKind::Tty) | FileKind::Console(_) => return Err(Errno::ESPIPE),
        FileKind::PipeRead(_) | FileKind::PipeWrite(_) | FileKind::Epoll(_) => {
            return Err(Errno::ESPIPE)
        }
        FileKind::Dev(_) => 0,
    };
    let off = a[1] as i64;
    let base = match a[2] {
        0 => 0i64,
        1 => f.offset as i64,
        2 => size as i64,
        _ => return Err(Errno::EINVAL),
    };
    let new = base.checked_add(off).ok_or(Errno::EINVAL)?;
    if new < 0 {
        return Err(Errno::EINVAL);
    }
    f.offset = new as u64;
    Ok(new as u64)
}

/// The console's device number: major 5, minor 1 (/dev/console), as `makedev` packs it.
pub const CONSOLE_RDEV: u64 = (5 << 8) | 1;

/// Attributes of an open file.
pub fn fstat_file(k: &Kernel, f: &OpenFile) -> SysResult<FileStat> {
    if crate::linuxproc::is_proc_path(&f.path) {
        // A file of the Linux procfs: its contents were made at open, its attributes
        // follow from what it is.
        let kind = match f.kind {
            FileKind::Dir(_) => crate::linuxproc::Kind::Dir,
            _ => crate::linuxproc::Kind::File,
        };
        return Ok(crate::linuxproc::stat(&f.path, &kind));
    }
    match &f.kind {
        // An anonymous inode: no type bits, as Linux shows an epoll fd.
        FileKind::Epoll(e) => Ok(FileStat {
            ino: e.borrow().id,
            mode: 0o600,
            nlink: 1,
            size: 0,
            rdev: 0,
            times: vfs::Times::at(crate::param::FILE_TIME * 1_000_000_000),
        }),
        // A named pipe shows its file while the name is there; an unnamed one (path
        // `pipe:[N]`) the pipe.
        FileKind::PipeRead(_) | FileKind::PipeWrite(_)
            if f.path.starts_with('/')
                && k.vfs
                    .resolve(&f.path, false)
                    .is_ok_and(|r| matches!(r.node, Node::Fifo(_))) =>
        {
            let r = k.vfs.resolve(&f.path, false)?;
            k.vfs.stat(&r)
        }
        FileKind::PipeRead(p) | FileKind::PipeWrite(p) => Ok(FileStat {
            ino: p.borrow().id,
            mode: vfs::S_IFIFO | 0o600,
            nlink: 1,
            size: 0,
            rdev: 0,
            times: vfs::Times::at(crate::param::FILE_TIME * 1_000_000_000),
        }),
        // A character device that is not a terminal: the machine's console (5:1,
        // Documentation/admin-guide/devices.txt), which answers TCGETS with ENOTTY. Not a
        // pty major (136-143): glibc's _IO_file_doallocate line-buffers a stream on such a
        // device without asking isatty (DEV_TTY_P), one write per line where a native run
        // into a file or a pipe buffers whole blocks.
        FileKind::Console(_) => Ok(FileStat {
            ino: vfs::path_ino("/dev/tty"),
            mode: vfs::S_IFCHR | 0o620,
            nlink: 1,
            size: 0,
            rdev: CONSOLE_RDEV,
            times: vfs::Times::at(crate::param::FILE_TIME * 1_000_000_000),
        }),
        _ => {
            let r = k.vfs.resolve(&f.path, false)?;
            let mut st = k.vfs.stat(&r)?;
            if let FileKind::Mem(m) = &f.kind {
                st.size = m.borrow().len();
            }
            Ok(st)
        }
    }
}

fn stat_of(cx: &mut Cx, dirfd: u64, pathp: u64, flags: u64) -> SysResult<FileStat> {
    let path = if pathp == 0 {
        String::new()
    } else {
        guest_path(cx.mem, pathp)?
    };
    if path.is_empty() {
        if flags & AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        if fd_arg(dirfd) == AT_FDCWD {
            let r = cx.k.vfs.resolve(&cx.g.cwd, true)?;
            return cx.k.vfs.stat(&r);
        }
        let f = cx.g.fds.get(fd_arg(dirfd))?;
        let f = f.borrow();
        return fstat_file(cx.k, &f);
    }
    let full = at_path(cx.g, dirfd, &path)?;
    let r = cx.k.vfs.resolve(&full, flags & AT_SYMLINK_NOFOLLOW == 0)?;
    cx.k.vfs.stat(&r)
}

/// A file's status as `struct stat` holds it; the CPU lays it out for the arch. The device
/// is one made-up number (0x2a) for the whole root, the owner root, the block size a page.
fn linux_stat(st: &FileStat) -> Stat {
    Stat {
        dev: 0x2a,
        ino: st.ino,
        mode: st.mode,
        nlink: st.nlink,
        uid: 0,
        gid: 0,
        rdev: st.rdev,
        size: st.size,
        blksize: 4096,
        blocks: st.size.div_ceil(512),
        atime: vfs::split_ns(st.times.atime),
        mtime: vfs::split_ns(st.times.mtime),
        ctime: vfs::split_ns(st.times.ctime),
    }
}

pub fn fstatat(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let st = stat_of(cx, a[0], a[1], a[3])?;
    put_stat(cx, a[2], &st)
}

/// Write `st` as the arch's `struct stat` at `addr`.
pub fn put_stat(cx: &mut Cx, addr: u64, st: &FileStat) -> SysResult<u64> {
    let bytes = Cpu::encode_stat(cx.arch, &linux_stat(st));
    cx.mem.write(addr, &bytes)?;
    Ok(0)
}

/// statx(2): struct statx (include/uapi/linux/stat.h, 256 bytes).
pub fn statx(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let st = stat_of(cx, a[0], a[1], a[2])?;
    put_statx(cx, a[4], &st)
}

/// Write `st` as `struct statx` at `addr`.
pub fn put_statx(cx: &mut Cx, addr: u64, st: &FileStat) -> SysResult<u64> {
    let mut b = vec![0u8; 256];
    let put = |b: &mut Vec<u8>, off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
    const STATX_BASIC_STATS: u32 = 0x7ff;
    put(&mut b, 0, &STATX_BASIC_STATS.to_le_bytes());
    put(&mut b, 4, &4096u32.to_le_bytes());
    put(&mut b, 16, &st.nlink.to_le_bytes());
    put(&mut b, 28, &(st.mode as u16).to_le_bytes());
    put(&mut b, 32, &st.ino.to_le_bytes());
    put(&mut b, 40, &st.size.to_le_bytes());
    put(&mut b, 48, &st.size.div_ceil(512).to_le_bytes());
    // struct statx_timestamp {s64 tv_sec; u32 tv_nsec; s32 pad}: atime, btime (birth: the
    // status-change time stands in), ctime, mtime.
    let t = &st.times;
    for (off, ns) in [(64, t.atime), (80, t.ctime), (96, t.ctime), (112, t.mtime)] {
        let (sec, nsec) = vfs::split_ns(ns);
        put(&mut b, off, &sec.to_le_bytes());
        put(&mut b, off + 8, &(nsec as u32).to_le_bytes());
    }
    put(&mut b, 128, &((st.rdev >> 8) as u32).to_le_bytes());
    put(&mut b, 132, &((st.rdev & 0xff) as u32).to_le_bytes());
    put(&mut b, 140, &0x2au32.to_le_bytes());
    cx.mem.write(addr, &b)?;
    Ok(0)
}

/// getdents64(2): struct linux_dirent64 records; the file offset is the entry index.
pub fn getdents64(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let f = cx.g.fds.get(fd_arg(a[0]))?;
    let mut f = f.borrow_mut();
    let start = f.offset as usize;
    let FileKind::Dir(entries) = &f.kind else {
        return Err(Errno::ENOTDIR);
    };
    let cap = a[2] as usize;
    let mut out = Vec::new();
    let mut idx = start;
    while let Some(e) = entries.get(idx) {
        let name = vfs::to_guest(&e.name);
        let reclen = (19 + name.len() + 1).div_ceil(8) * 8;
        if out.len() + reclen > cap {
            break;
        }
        let rec_start = out.len();
        out.extend_from_slice(&e.ino.to_le_bytes());
        out.extend_from_slice(&((idx + 1) as u64).to_le_bytes());
        out.extend_from_slice(&(reclen as u16).to_le_bytes());
        out.push(e.dtype);
        out.extend_from_slice(&name);
        out.resize(rec_start + reclen, 0);
        idx += 1;
    }
    if out.is_empty() && idx < entries.len() {
        return Err(Errno::EINVAL);
    }
    f.offset = idx as u64;
    drop(f);
    cx.mem.write(a[1], &out)?;
    Ok(out.len() as u64)
}

pub fn ioctl(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let fd = fd_arg(a[0]);
    let f = cx.g.fds.get(fd)?;
    const FIONCLEX: u64 = 0x5450;
    const FIOCLEX: u64 = 0x5451;
    const FIONBIO: u64 = 0x5421;
    match a[1] {
        FIOCLEX | FIONCLEX => {
            cx.g.fds.entry_mut(fd)?.cloexec = a[1] == FIOCLEX;
            Ok(0)
        }
        FIONBIO => {
            let on = cx.mem.read(a[2], 4)?.iter().any(|&b| b != 0);
            let mut f = f.borrow_mut();
            if on {
                f.flags |= O_NONBLOCK
            } else {
                f.flags &= !O_NONBLOCK
            }
            Ok(0)
        }
        // The console is not a terminal to the guest (TCGETS, TIOCGWINSZ, ... answer ENOTTY),
        // so programs behave the same whether glass's own stdout is a tty or a pipe.
        _ => Err(Errno::ENOTTY),
    }
}

pub fn fcntl(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let fd = fd_arg(a[0]);
    let f = cx.g.fds.get(fd)?;
    const F_DUPFD: u64 = 0;
    const F_GETFD: u64 = 1;
    const F_SETFD: u64 = 2;
    const F_GETFL: u64 = 3;
    const F_SETFL: u64 = 4;
    const F_GETLK: u64 = 5;
    const F_SETLK: u64 = 6;
    const F_SETLKW: u64 = 7;
    const F_DUPFD_CLOEXEC: u64 = 1030;
    match a[1] {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let min = a[2] as i32;
            if !(0..cx.g.fds.limit()).contains(&min) {
                return Err(Errno::EINVAL);
            }
            Ok(cx.g.fds.install(f, a[1] == F_DUPFD_CLOEXEC, min)? as u64)
        }
        F_GETFD => Ok(u64::from(cx.g.fds.entry(fd)?.cloexec)),
        F_SETFD => {
            cx.g.fds.entry_mut(fd)?.cloexec = a[2] & 1 != 0;
            Ok(0)
        }
        F_GETFL => Ok(u64::from(f.borrow().flags)),
        F_SETFL => {
            let mut f = f.borrow_mut();
            let settable = O_APPEND | O_NONBLOCK;
            f.flags = (f.flags & !settable) | (a[2] as u32 & settable);
            Ok(0)
        }
        F_GETLK | F_SETLK | F_SETLKW => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

pub fn dup(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let f = cx.g.fds.get(fd_arg(a[0]))?;
    Ok(cx.g.fds.install(f, false, 0)? as u64)
}

/// dup2 (`legacy`: same fd is a no-op returning it) and dup3 (same fd is EINVAL).
pub fn dup3(cx: &mut Cx, a: [u64; 6], legacy: bool) -> SysResult<u64> {
    let (old, new) = (fd_arg(a[0]), fd_arg(a[1]));
    let f = cx.g.fds.get(old)?;
    if old == new {
        return if legacy {
            Ok(new as u64)
        } else {
            Err(Errno::EINVAL)
        };
    }
    if a[2] & !(u64::from(O_CLOEXEC)) != 0 {
        return Err(Errno::EINVAL);
    }
    cx.g.fds
        .install_at(new, f, a[2] & u64::from(O_CLOEXEC) != 0)?;
    Ok(new as u64)
}

pub fn faccessat(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let path = guest_path(cx.mem, a[1])?;
    let full = at_path(cx.g, a[0], &path)?;
    let r = cx.k.vfs.resolve(&full, true)?;
    let st = cx.k.vfs.stat(&r)?;
    const X_OK: u64 = 1;
    if a[2] & X_OK != 0 && st.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

pub fn readlinkat(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let path = guest_path(cx.mem, a[1])?;
    let full = at_path(cx.g, a[0], &path)?;
    let r = cx.k.vfs.resolve(&full, false)?;
    let target = cx.k.vfs.readlink(&r)?;
    put_link(cx, &target, a[2], a[3])
}

/// readlink's answer: as much of `target` (as guest bytes) as fits in the buffer, no NUL.
pub fn put_link(cx: &mut Cx, target: &str, buf: u64, size: u64) -> SysResult<u64> {
    let target = vfs::to_guest(target);
    let n = target.len().min(size as usize);
    cx.mem.write(buf, &target[..n])?;
    Ok(n as u64)
}

pub fn getcwd(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let mut b = vfs::to_guest(&cx.g.cwd);
    b.push(0);
    // Linux builds the path in a PATH_MAX buffer (fs/d_path.c): a longer one is
    // ENAMETOOLONG whatever the caller's buffer, a shorter one ERANGE if it does not fit.
    if b.len() > PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if b.len() > a[1] as usize {
        return Err(Errno::ERANGE);
    }
    cx.mem.write(a[0], &b)?;
    Ok(b.len() as u64)
}

pub fn chdir(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let path = guest_path(cx.mem, a[0])?;
    let r = cx.k.vfs.resolve(&vfs::absolute(&cx.g.cwd, &path), true)?;
    if !matches!(r.node, Node::HostDir(_) | Node::MemDir) {
        return Err(Errno::ENOTDIR);
    }
    cx.g.cwd = r.path;
    Ok(0)
}

pub fn fchdir(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let f = cx.g.fds.get(fd_arg(a[0]))?;
    let f = f.borrow();
    if !matches!(f.kind, FileKind::Dir(_)) {
        return Err(Errno::ENOTDIR);
    }
    cx.g.cwd = f.path.clone();
    Ok(0)
}

pub fn mkdirat(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let path = guest_path(cx.mem, a[1])?;
    let (_, full) = cx.k.vfs.resolve_parent(&at_path(cx.g, a[0], &path)?)?;
    cx.k.vfs.mkdir(&full, (a[2] as u32) & !cx.g.umask)?;
    Ok(0)
}

/// utimensat(dirfd, path, times[2], flags) (utimensat(2)): set a file's access and
/// modification times; `times` NULL sets both to now, a tv_nsec of UTIME_NOW sets that one
/// to now and UTIME_OMIT leaves it. A NULL path is futimens(dirfd). The status-change time
/// becomes now. Times are the virtual clock's.
pub fn utimensat(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    // include/uapi/linux/stat.h.
    const UTIME_NOW: u64 = (1 << 30) - 1;
    const UTIME_OMIT: u64 = (1 << 30) - 2;
    let now = cx.k.vfs.now;
    let (atime, mtime) = if a[2] == 0 {
        (Some(now), Some(now))
    } else {
        let b = cx.mem.read(a[2], 32)?;
        let one = |o: usize| -> SysResult<Option<i64>> {
            let sec = crate::guestmem::le64(&b[o..o + 8]) as i64;
            match crate::guestmem::le64(&b[o + 8..o + 16]) {
                UTIME_NOW => Ok(Some(now)),
                UTIME_OMIT => Ok(None),
                n if n < 1_000_000_000 => Ok(Some(
                    sec.checked_mul(1_000_000_000)
                        .and_then(|s| s.checked_add(n as i64))
                        .ok_or(Errno::EINVAL)?,
                )),
                _ => Err(Errno::EINVAL),
            }
        };
        (one(0)?, one(16)?)
    };
    if a[3] & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = if a[1] == 0 {
        String::new()
    } else {
        guest_path(cx.mem, a[1])?
    };
    let r = if a[1] == 0 || (path.is_empty() && a[3] & AT_EMPTY_PATH != 0) {
        let f = cx.g.fds.get(fd_arg(a[0]))?;
        let f = f.borrow();
        match &f.kind {
            FileKind::Mem(m) => Resolved {
                path: f.path.clone(),
                node: Node::MemFile(m.clone()),
            },
            FileKind::Host(_) | FileKind::Dir(_) | FileKind::Dev(_) => {
                cx.k.vfs.resolve(&f.path, false)?
            }
            FileKind::PipeRead(_) | FileKind::PipeWrite(_) if f.path.starts_with('/') => {
                cx.k.vfs.resolve(&f.path, false)?
            }
            // Unnamed pipes, the console, epoll: anonymous inodes whose times are fixed.
            _ => return Ok(0),
        }
    } else {
        let full = at_path(cx.g, a[0], &path)?;
        cx.k.vfs.resolve(&full, a[3] & AT_SYMLINK_NOFOLLOW == 0)?
    };
    if atime.is_some() || mtime.is_some() {
        cx.k.vfs.set_times(&r, atime, mtime);
    }
    Ok(0)
}

/// fchownat(dirfd, path, owner, group, flags): ownership is not modelled (every file shows
/// the guest's root), so this only checks that the file exists.
pub fn fchownat(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let path = guest_path(cx.mem, a[1])?;
    if path.is_empty() && a[4] & AT_EMPTY_PATH != 0 {
        cx.g.fds.get(fd_arg(a[0]))?;
        return Ok(0);
    }
    let full = at_path(cx.g, a[0], &path)?;
    cx.k.vfs.resolve(&full, a[4] & AT_SYMLINK_NOFOLLOW == 0)?;
    Ok(0)
}

/// fchmodat(dirfd, path, mode): the file's permission bits from now on.
pub fn fchmodat(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let path = guest_path(cx.mem, a[1])?;
    let r = cx.k.vfs.resolve(&at_path(cx.g, a[0], &path)?, true)?;
    cx.k.vfs.chmod(&r, a[2] as u32);
    Ok(0)
}

/// fchmod(fd, mode).
pub fn fchmod(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let f = cx.g.fds.get(fd_arg(a[0]))?;
    let path = f.borrow().path.clone();
    if let Ok(r) = cx.k.vfs.resolve(&path, true) {
        cx.k.vfs.chmod(&r, a[1] as u32);
    }
    Ok(0)
}

pub fn unlinkat(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let path = guest_path(cx.mem, a[1])?;
    let (_, full) = cx.k.vfs.resolve_parent(&at_path(cx.g, a[0], &path)?)?;
    cx.k.vfs.remove(&full, a[2] & AT_REMOVEDIR != 0)?;
    Ok(0)
}

pub fn renameat(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let from = guest_path(cx.mem, a[1])?;
    let to = guest_path(cx.mem, a[3])?;
    let (_, from) = cx.k.vfs.resolve_parent(&at_path(cx.g, a[0], &from)?)?;
    let (_, to) = cx.k.vfs.resolve_parent(&at_path(cx.g, a[2], &to)?)?;
    cx.k.vfs.rename(&from, &to)?;
    Ok(0)
}

/// linkat(olddirfd, oldpath, newdirfd, newpath, flags): a hard link (AT_SYMLINK_FOLLOW
/// links a final symlink's target instead of the symlink).
pub fn linkat(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    const AT_SYMLINK_FOLLOW: u64 = 0x400;
    let from = guest_path(cx.mem, a[1])?;
    let to = guest_path(cx.mem, a[3])?;
    let from =
        cx.k.vfs
            .resolve(&at_path(cx.g, a[0], &from)?, a[4] & AT_SYMLINK_FOLLOW != 0)?;
    let (_, to) = cx.k.vfs.resolve_parent(&at_path(cx.g, a[2], &to)?)?;
    cx.k.vfs.link(&from, &to)?;
    Ok(0)
}

pub fn symlinkat(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let target = guest_path(cx.mem, a[0])?;
    let path = guest_path(cx.mem, a[2])?;
    let (_, full) = cx.k.vfs.resolve_parent(&at_path(cx.g, a[1], &path)?)?;
    cx.k.vfs.symlink(&target, &full)?;
    Ok(0)
}

fn resize(m: &crate::vfs::MemFile, len: u64) -> SysResult<u64> {
    m.borrow_mut().set_len(len)?;
    Ok(0)
}

pub fn truncate(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let path = guest_path(cx.mem, a[0])?;
    let r = cx.k.vfs.resolve(&vfs::absolute(&cx.g.cwd, &path), true)?;
    let m = cx.k.vfs.copy_up(&r)?;
    resize(&m, a[1])?;
    cx.k.vfs.touch_file(&m);
    Ok(0)
}

pub fn ftruncate(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let f = cx.g.fds.get(fd_arg(a[0]))?;
    let f = f.borrow();
    match &f.kind {
        FileKind::Mem(m) if f.writable() => {
            resize(m, a[1])?;
            cx.k.vfs.touch_file(m);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// statfs/fstatfs: one tmpfs-like file system (struct statfs, 120 bytes on 64-bit).
pub fn statfs(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    const TMPFS_MAGIC: u64 = 0x0102_1994;
    let vals: [u64; 15] = [
        TMPFS_MAGIC,
        4096,
        1 << 20,
        1 << 19,
        1 << 19,
        1 << 16,
        1 << 15,
        0,
        255,
        4096,
        0,
        0,
        0,
        0,
        0,
    ];
    let mut b = Vec::with_capacity(120);
    for v in vals {
        b.extend_from_slice(&v.to_le_bytes());
    }
    cx.mem.write(a[1], &b)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::testing::Bench;

    const PATH: u64 = 0x10000;

    fn open(b: &mut Bench, flags: u32) -> Outcome {
        openat(
            &mut b.cx(),
            [AT_FDCWD as u64, PATH, u64::from(flags), 0, 0, 0],
        )
    }

    /// fifo(7), checked natively: a non-blocking writer with no reader is ENXIO, a
    /// non-blocking reader opens at once, then a non-blocking writer opens too; a blocking
    /// reader with no writer waits.
    #[test]
    fn fifo_open_waits_or_fails_as_fifo7_says() {
        let mut b = Bench::new();
        b.cstr(PATH, "/tmp/p");
        let mode = u64::from(vfs::S_IFIFO | 0o644);
        let mk = |b: &mut Bench| mknodat(&mut b.cx(), [AT_FDCWD as u64, PATH, mode, 0, 0, 0]);
        assert_eq!(mk(&mut b), Ok(0));
        assert_eq!(mk(&mut b), Err(Errno::EEXIST));
        let ret = |o: Outcome| match o {
            Outcome::Ret(v) => v as i64,
            o => panic!("not a return: {o:?}"),
        };
        assert_eq!(
            ret(open(&mut b, O_WRONLY | O_NONBLOCK)),
            -i64::from(Errno::ENXIO.0)
        );
        assert!(matches!(
            open(&mut b, O_RDONLY),
            Outcome::Block(crate::machine::Wait::FifoOpen { reading: true, .. })
        ));
        // The waiting reader counts as a reader: a writer (another task) opens at once.
        let reader = b.t.tid;
        b.t.tid = crate::machine::Pid(reader.0 + 1);
        assert_eq!(ret(open(&mut b, O_WRONLY | O_NONBLOCK)), 3);
        // Run again, the waiting open finds its partner.
        b.t.tid = reader;
        assert_eq!(ret(open(&mut b, O_RDONLY)), 4);
        assert_eq!(ret(open(&mut b, O_RDONLY | O_NONBLOCK)), 5);
        let st = |b: &mut Bench, fd: i32| {
            let f = b.g.fds.get(fd).expect("open fd");
            let f = f.borrow();
            fstat_file(&b.k, &f).expect("fstat").mode
        };
        assert_eq!(st(&mut b, 3), vfs::S_IFIFO | 0o644);
    }

    /// Native mknod(2) as an unprivileged user: devices and directories EPERM, a regular
    /// file made.
    #[test]
    fn mknod_devices_are_eperm_and_regular_files_made() {
        let mut b = Bench::new();
        for (name, ty, want) in [
            ("/tmp/c", vfs::S_IFCHR, Err(Errno::EPERM)),
            ("/tmp/b", vfs::S_IFBLK, Err(Errno::EPERM)),
            ("/tmp/d", vfs::S_IFDIR, Err(Errno::EPERM)),
            ("/tmp/r", vfs::S_IFREG, Ok(0)),
            ("/tmp/z", 0, Ok(0)),
        ] {
            b.cstr(PATH, name);
            let a = [AT_FDCWD as u64, PATH, u64::from(ty | 0o600), 0x103, 0, 0];
            assert_eq!(mknodat(&mut b.cx(), a), want, "{name}");
        }
        let r = b.k.vfs.resolve("/tmp/z", true).expect("made");
        assert_eq!(b.k.vfs.stat(&r).expect("stat").mode, vfs::S_IFREG | 0o600);
    }

    /// utimensat(2): UTIME_OMIT keeps a time, UTIME_NOW takes the clock's, a bad tv_nsec
    /// is EINVAL; stat reports the nanoseconds.
    #[test]
    fn utimensat_sets_omits_and_takes_now() {
        let mut b = Bench::new();
        b.cstr(PATH, "/tmp/f");
        let fd = ret_of(openat(
            &mut b.cx(),
            [
                AT_FDCWD as u64,
                PATH,
                u64::from(O_CREAT | O_WRONLY),
                0o644,
                0,
                0,
            ],
        ));
        assert_eq!(fd, 3);
        b.k.vfs.now = 2_000_000_000_123;
        const TIMES: u64 = PATH + 0x1000;
        let ts = |b: &mut Bench, a: (i64, u64), m: (i64, u64)| {
            let mut v = Vec::new();
            for (s, n) in [a, m] {
                v.extend_from_slice(&s.to_le_bytes());
                v.extend_from_slice(&n.to_le_bytes());
            }
            b.mem.write(TIMES, &v).expect("bench memory");
        };
        const NOW: u64 = (1 << 30) - 1;
        const OMIT: u64 = (1 << 30) - 2;
        ts(&mut b, (7, 5), (0, OMIT));
        let call = |b: &mut Bench| utimensat(&mut b.cx(), [AT_FDCWD as u64, PATH, TIMES, 0, 0, 0]);
        assert_eq!(call(&mut b), Ok(0));
        let times = |b: &Bench| {
            let r = b.k.vfs.resolve("/tmp/f", true).expect("resolve");
            b.k.vfs.stat(&r).expect("stat").times
        };
        let t = times(&b);
        assert_eq!((t.atime, t.ctime), (7_000_000_005, 2_000_000_000_123));
        assert_eq!(t.mtime, 1_735_689_600 * 1_000_000_000, "mtime was omitted");
        ts(&mut b, (0, OMIT), (0, NOW));
        assert_eq!(call(&mut b), Ok(0));
        assert_eq!(times(&b).mtime, 2_000_000_000_123);
        assert_eq!(times(&b).atime, 7_000_000_005);
        ts(&mut b, (0, 1_000_000_000), (0, 0));
        assert_eq!(call(&mut b), Err(Errno::EINVAL));
        // futimens: a NULL path names the fd; NULL times is now for both.
        b.k.vfs.now += 1;
        assert_eq!(utimensat(&mut b.cx(), [3, 0, 0, 0, 0, 0]), Ok(0));
        assert_eq!(times(&b), vfs::Times::at(2_000_000_000_124));
    }

    fn ret_of(o: Outcome) -> u64 {
        match o {
            Outcome::Ret(v) => v,
            o => panic!("not a return: {o:?}"),
        }
    }

    use crate::syscalls::testing::MEM;

    #[test]
    fn xattr_list_is_empty_get_is_enotsup_missing_path_is_enoent() {
        let mut b = Bench::new();
        let root = b.cstr(MEM, "/");
        let missing = b.cstr(MEM + 64, "/no/such/file");
        let follow = XattrOn::Path { follow: true };
        let nofollow = XattrOn::Path { follow: false };
        let a = |p: u64| [p, MEM + 128, 64, 0, 0, 0];
        assert_eq!(xattr(&mut b.cx(), follow, a(root), Ok(0)), Ok(0));
        assert_eq!(xattr(&mut b.cx(), nofollow, a(root), Ok(0)), Ok(0));
        assert_eq!(
            xattr(&mut b.cx(), follow, a(root), Err(Errno::ENOTSUP)),
            Err(Errno::ENOTSUP)
        );
        assert_eq!(
            xattr(&mut b.cx(), follow, a(missing), Ok(0)),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            xattr(
                &mut b.cx(),
                XattrOn::Fd,
                [77, MEM + 128, 64, 0, 0, 0],
                Ok(0)
            ),
            Err(Errno::EBADF)
        );
    }
}
