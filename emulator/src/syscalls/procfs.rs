//! The path calls (open, stat, statx, access, readlink, chdir: Linux man-pages section 2)
//! for names whose walk enters `/proc`: the Linux procfs of crate::linuxproc, which needs
//! the whole process table, so these calls are taken here, before the per-process
//! handlers of `fs` run. A path that never reaches `/proc` is left to `fs` untouched.

use super::fs::{self, AT_SYMLINK_NOFOLLOW};
use super::{cx_of, Outcome, Sys};
use crate::errno::{Errno, SysResult};
use crate::fdtable::{FileKind, OpenFile, O_ACCMODE, O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW};
use crate::fdtable::{O_PATH, O_RDONLY, O_TRUNC};
use crate::linuxproc::{self, Kind, Reopen, Target};
use crate::machine::{Machine, Pid};
use crate::vfs::{self, Resolved, Walk};
use std::cell::RefCell;
use std::rc::Rc;

/// Links followed across the two file systems in one walk (Linux MAXSYMLINKS).
const MAX_HOPS: usize = 40;

/// Where a path that entered /proc ends.
enum Hit {
    /// Back in the ordinary file system (through `exe`, `cwd`, an fd or `..`).
    File(Resolved),
    Proc(String, Kind),
}

/// Walk `full` for task `tid`: None if the walk never enters /proc.
fn resolve(m: &Machine, tid: Pid, full: &str, follow: bool) -> SysResult<Option<Hit>> {
    let mut path = full.to_string();
    let mut entered = false;
    for _ in 0..MAX_HOPS {
        // A walk that fails before reaching /proc is the ordinary handler's to answer (an
        // O_CREAT open below /dev/shm creates the file its walk did not find).
        let walked = match m.k.vfs.walk(&path, follow) {
            Err(_) if !entered => return Ok(None),
            w => w?,
        };
        match walked {
            Walk::Found(r) if entered => return Ok(Some(Hit::File(r))),
            Walk::Found(_) => return Ok(None),
            Walk::Proc(p) => {
                entered = true;
                match linuxproc::walk(m, tid, &p, follow)? {
                    Target::Proc(p, k) => return Ok(Some(Hit::Proc(p, k))),
                    Target::Elsewhere(p) => path = p,
                }
            }
        }
    }
    Err(Errno::ELOOP)
}

/// Carry out path call `sys` of task `tid` if its path enters /proc; None leaves it to
/// the ordinary handlers.
pub fn intercept(m: &mut Machine, tid: Pid, sys: Sys, a: [u64; 6]) -> Option<Outcome> {
    use Sys::*;
    const CWD: u64 = fs::AT_FDCWD as u64;
    let (dirfd, pathp) = match sys {
        Open | Creat | Stat | Lstat | Access | Readlink | Chdir => (CWD, a[0]),
        Openat | Newfstatat | Statx | Faccessat | Faccessat2 | Readlinkat => (a[0], a[1]),
        _ => return None,
    };
    let follow = match sys {
        Open | Openat => (a[if sys == Open { 1 } else { 2 }] as u32) & O_NOFOLLOW == 0,
        Lstat | Readlink | Readlinkat => false,
        Newfstatat => a[3] & AT_SYMLINK_NOFOLLOW == 0,
        Statx => a[2] & AT_SYMLINK_NOFOLLOW == 0,
        _ => true,
    };
    let full = {
        let cx = cx_of(m, tid)?;
        let path = fs::guest_path(cx.mem, pathp).ok()?;
        if path.is_empty() {
            return None;
        }
        fs::at_path(cx.g, dirfd, &path).ok()?
    };
    // Only a path that names /proc, or a /dev link into it, can enter it (the root's own
    // symlinks into /proc are not followed there).
    if !full.contains("/proc") && !full.contains("/dev/") && !full.starts_with("/dev") {
        return None;
    }
    let hit = match resolve(m, tid, &full, follow) {
        Ok(None) => return None,
        Ok(Some(h)) => h,
        Err(e) => return Some(e.into()),
    };
    let r = match sys {
        Open | Openat | Creat => {
            let (flags, mode) = match sys {
                Open => (a[1] as u32, a[2] as u32),
                Creat => (fs::O_CREAT_WRONLY_TRUNC as u32, a[1] as u32),
                _ => (a[2] as u32, a[3] as u32),
            };
            return Some(match open(m, tid, hit, flags, mode) {
                Ok(fd) => Outcome::Ret(fd),
                Err(o) => o,
            });
        }
        Stat | Lstat | Newfstatat | Statx => stat(m, hit).and_then(|st| {
            let mut cx = cx_of(m, tid).ok_or(Errno::ESRCH)?;
            match sys {
                Stat | Lstat => fs::put_stat(&mut cx, a[1], &st),
                Newfstatat => fs::put_stat(&mut cx, a[2], &st),
                _ => fs::put_statx(&mut cx, a[4], &st),
            }
        }),
        Access | Faccessat | Faccessat2 => {
            let mode = if sys == Access { a[1] } else { a[2] };
            stat(m, hit).and_then(|st| {
                const X_OK: u64 = 1;
                if mode & X_OK != 0 && st.mode & 0o111 == 0 {
                    Err(Errno::EACCES)
                } else {
                    Ok(0)
                }
            })
        }
        Readlink | Readlinkat => {
            let (buf, size) = if sys == Readlink {
                (a[1], a[2])
            } else {
                (a[2], a[3])
            };
            let target = match hit {
                Hit::Proc(_, Kind::Link(t, _)) => Ok(t),
                Hit::Proc(..) => Err(Errno::EINVAL),
                Hit::File(r) => m.k.vfs.readlink(&r),
            };
            target.and_then(|t| {
                let mut cx = cx_of(m, tid).ok_or(Errno::ESRCH)?;
                fs::put_link(&mut cx, &t, buf, size)
            })
        }
        Chdir => {
            let dir = match hit {
                Hit::Proc(p, Kind::Dir) => Ok(p),
                Hit::File(r) if matches!(r.node, vfs::Node::HostDir(_) | vfs::Node::MemDir) => {
                    Ok(r.path)
                }
                _ => Err(Errno::ENOTDIR),
            };
            dir.and_then(|d| {
                m.group_of_mut(tid).ok_or(Errno::ESRCH)?.cwd = d;
                Ok(0)
            })
        }
        _ => return None,
    };
    Some(r.into())
}

/// Attributes of what a walk found (a followed fd link: those of the open file).
fn stat(m: &Machine, hit: Hit) -> SysResult<vfs::FileStat> {
    match hit {
        Hit::File(r) => m.k.vfs.stat(&r),
        Hit::Proc(_, Kind::Fd(tgid, fd)) => {
            let f = linuxproc::fd_of(m, tgid, fd)?;
            let f = f.borrow();
            fs::fstat_file(&m.k, &f)
        }
        Hit::Proc(p, k) => Ok(linuxproc::stat(&p, &k)),
    }
}

/// openat(2) of what a walk found.
fn open(m: &mut Machine, tid: Pid, hit: Hit, flags: u32, mode: u32) -> Result<u64, Outcome> {
    let cloexec = flags & O_CLOEXEC != 0;
    let status = flags & (O_ACCMODE | crate::fdtable::O_APPEND | crate::fdtable::O_NONBLOCK);
    let wants_write = flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0;
    let (path, kind) = match hit {
        Hit::File(r) => {
            let mut cx = cx_of(m, tid).ok_or(Outcome::from(Errno::ESRCH))?;
            return fs::open_path(&mut cx, &r.path, flags, mode);
        }
        Hit::Proc(p, k) => (p, k),
    };
    let file = match kind {
        Kind::Fd(tgid, fd) => match linuxproc::reopen(m, tgid, fd, flags)? {
            Reopen::File(f) => {
                if flags & O_DIRECTORY != 0 {
                    return Err(Errno::ENOTDIR.into());
                }
                f
            }
            Reopen::Path(p) => {
                let mut cx = cx_of(m, tid).ok_or(Outcome::from(Errno::ESRCH))?;
                return fs::open_path(&mut cx, &p, flags, mode);
            }
        },
        Kind::Dir => {
            if flags & O_ACCMODE != O_RDONLY {
                return Err(Errno::EISDIR.into());
            }
            // Listed once installed, so an fd/ listing shows the fd that reads it.
            OpenFile::new(FileKind::Dir(Vec::new()), path.clone(), status)
        }
        Kind::File => {
            if flags & O_DIRECTORY != 0 {
                return Err(Errno::ENOTDIR.into());
            }
            if wants_write {
                return Err(Errno::EACCES.into());
            }
            let bytes = linuxproc::render(m, tid, &path)?;
            let data = crate::sparse::SparseFile::from_bytes(&bytes, m.k.vfs.budget().clone())?;
            OpenFile::new(
                FileKind::Mem(Rc::new(RefCell::new(data))),
                path.clone(),
                status,
            )
        }
        Kind::Link(..) => {
            if flags & O_PATH == 0 {
                return Err(Errno::ELOOP.into());
            }
            OpenFile::new(
                FileKind::Dev(crate::vfs::DevKind::Null),
                path.clone(),
                status,
            )
        }
    };
    let is_dir = matches!(file.borrow().kind, FileKind::Dir(_));
    let fd = m
        .group_of_mut(tid)
        .ok_or(Errno::ESRCH)?
        .fds
        .install(file.clone(), cloexec, 0)?;
    if is_dir {
        match linuxproc::list(m, &path) {
            Ok(entries) => file.borrow_mut().kind = FileKind::Dir(entries),
            Err(e) => {
                if let Some(g) = m.group_of_mut(tid) {
                    let _ = g.fds.close(fd);
                }
                return Err(e.into());
            }
        }
    }
    Ok(fd as u64)
}
