//! The Linux system-call layer: the arch-neutral call list (each arch's `cpu/<arch>.rs` maps
//! its numbers onto it), dispatch, and the handlers grouped by noun (file, mem, proc, time).
//! Handlers return `SysResult`; the errno becomes `-errno` in the result register only here.

pub mod file;
pub mod mem;
pub mod proc;
pub mod time;

use crate::errno::Errno;
use crate::machine::{Kernel, Process};

macro_rules! syscalls {
    ($($v:ident => $n:literal $argc:literal,)*) => {
        /// Every system call the kernel knows by name (whether or not it implements it).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Sys { $($v,)* }
        impl Sys {
            /// The Linux name of the call, as strace prints it.
            pub fn name(self) -> &'static str {
                match self { $(Sys::$v => $n,)* }
            }
            /// How many arguments the call takes (the trace records only those).
            pub fn argc(self) -> usize {
                match self { $(Sys::$v => $argc,)* }
            }
        }
    };
}

syscalls! {
    Read => "read" 3, Write => "write" 3, Open => "open" 3, Close => "close" 1, Stat => "stat" 2,
    Fstat => "fstat" 2, Lstat => "lstat" 2, Poll => "poll" 3, Lseek => "lseek" 3, Mmap => "mmap" 6,
    Mprotect => "mprotect" 3, Munmap => "munmap" 2, Brk => "brk" 1, RtSigaction => "rt_sigaction" 4,
    RtSigprocmask => "rt_sigprocmask" 4, RtSigreturn => "rt_sigreturn" 0, Ioctl => "ioctl" 3,
    Pread64 => "pread64" 4, Pwrite64 => "pwrite64" 4, Readv => "readv" 3, Writev => "writev" 3,
    Access => "access" 2, Pipe => "pipe" 1, Select => "select" 5, SchedYield => "sched_yield" 0,
    Mremap => "mremap" 5, Msync => "msync" 3, Mincore => "mincore" 3, Madvise => "madvise" 3,
    Dup => "dup" 1, Dup2 => "dup2" 2, Pause => "pause" 0, Nanosleep => "nanosleep" 2, Alarm => "alarm" 1,
    Setitimer => "setitimer" 3, Getpid => "getpid" 0, Socket => "socket" 3, Clone => "clone" 5,
    Fork => "fork" 0, Vfork => "vfork" 0, Execve => "execve" 3, Exit => "exit" 1, Wait4 => "wait4" 4,
    Kill => "kill" 2, Uname => "uname" 1, Fcntl => "fcntl" 3, Flock => "flock" 2, Fsync => "fsync" 1,
    Fdatasync => "fdatasync" 1, Truncate => "truncate" 2, Ftruncate => "ftruncate" 2,
    Getdents => "getdents" 3, Getcwd => "getcwd" 2, Chdir => "chdir" 1, Fchdir => "fchdir" 1,
    Rename => "rename" 2, Mkdir => "mkdir" 2, Rmdir => "rmdir" 1, Creat => "creat" 2, Link => "link" 2,
    Unlink => "unlink" 1, Symlink => "symlink" 2, Readlink => "readlink" 3, Chmod => "chmod" 2,
    Fchmod => "fchmod" 2, Chown => "chown" 3, Fchown => "fchown" 3, Lchown => "lchown" 3,
    Umask => "umask" 1, Gettimeofday => "gettimeofday" 2, Getrlimit => "getrlimit" 2,
    Getrusage => "getrusage" 2, Sysinfo => "sysinfo" 1, Times => "times" 1, Getuid => "getuid" 0,
    Getgid => "getgid" 0, Setuid => "setuid" 1, Setgid => "setgid" 1, Geteuid => "geteuid" 0,
    Getegid => "getegid" 0, Setpgid => "setpgid" 2, Getppid => "getppid" 0, Getpgrp => "getpgrp" 0,
    Setsid => "setsid" 0, Getgroups => "getgroups" 2, Getpgid => "getpgid" 1, Getsid => "getsid" 1,
    Sigaltstack => "sigaltstack" 2, Statfs => "statfs" 2, Fstatfs => "fstatfs" 2, Prctl => "prctl" 5,
    ArchPrctl => "arch_prctl" 2, Setrlimit => "setrlimit" 2, Gettid => "gettid" 0, Tkill => "tkill" 2,
    Time => "time" 1, Futex => "futex" 6, SchedGetaffinity => "sched_getaffinity" 3,
    Getdents64 => "getdents64" 3, SetTidAddress => "set_tid_address" 1,
    ClockGettime => "clock_gettime" 2, ClockGetres => "clock_getres" 2,
    ClockNanosleep => "clock_nanosleep" 4, ExitGroup => "exit_group" 1, Tgkill => "tgkill" 3,
    Waitid => "waitid" 5, Openat => "openat" 4, Mkdirat => "mkdirat" 3, Newfstatat => "newfstatat" 4,
    Unlinkat => "unlinkat" 3, Renameat => "renameat" 4, Linkat => "linkat" 5,
    Symlinkat => "symlinkat" 3, Readlinkat => "readlinkat" 4, Fchmodat => "fchmodat" 3,
    Faccessat => "faccessat" 3, Pselect6 => "pselect6" 6, Ppoll => "ppoll" 5,
    SetRobustList => "set_robust_list" 2, Utimensat => "utimensat" 4, Dup3 => "dup3" 3,
    Pipe2 => "pipe2" 2, Prlimit64 => "prlimit64" 4, Renameat2 => "renameat2" 5,
    Fchownat => "fchownat" 5,
    Getrandom => "getrandom" 3, Execveat => "execveat" 5, Statx => "statx" 5, Rseq => "rseq" 4,
    Clone3 => "clone3" 2, Faccessat2 => "faccessat2" 4, RtSigsuspend => "rt_sigsuspend" 2,
    Getitimer => "getitimer" 2, Sendfile => "sendfile" 4, RtSigpending => "rt_sigpending" 2,
}

/// What a system call did, beyond its result value.
#[derive(Debug)]
pub enum Outcome {
    /// Put this value in the result register and continue.
    Ret(u64),
    /// The process exits with this status (exit / exit_group).
    Exit(i32),
    /// Not implemented: ENOSYS, reported once per number.
    NoSys,
    /// The call must wait; it is dispatched again when the condition may hold.
    Block(crate::machine::Wait),
    /// The registers were replaced (execve, rt_sigreturn): set no result.
    NoReturn,
}

impl From<Result<u64, Errno>> for Outcome {
    fn from(r: Result<u64, Errno>) -> Self {
        match r {
            Ok(v) => Outcome::Ret(v),
            Err(e) => Outcome::Ret((-i64::from(e.0)) as u64),
        }
    }
}

/// Carry out one system call of process `p`.
pub fn dispatch(k: &mut Kernel, p: &mut Process, sys: Sys, a: [u64; 6]) -> Outcome {
    use Sys::*;
    let r = match sys {
        Read => file::read(k, p, a),
        Write => file::write(k, p, a),
        Pread64 => file::pread(k, p, a),
        Pwrite64 => file::pwrite(k, p, a),
        Readv => file::readv(k, p, a),
        Writev => file::writev(k, p, a),
        Open => file::openat(k, p, [file::AT_FDCWD as u64, a[0], a[1], a[2], 0, 0]),
        Creat => file::openat(k, p, [file::AT_FDCWD as u64, a[0], 0o1101, a[1], 0, 0]),
        Openat => file::openat(k, p, a),
        Close => file::close(k, p, a),
        Lseek => file::lseek(k, p, a),
        Stat => file::fstatat(k, p, [file::AT_FDCWD as u64, a[0], a[1], 0, 0, 0]),
        Lstat => file::fstatat(
            k,
            p,
            [
                file::AT_FDCWD as u64,
                a[0],
                a[1],
                file::AT_SYMLINK_NOFOLLOW,
                0,
                0,
            ],
        ),
        Fstat => file::fstatat(k, p, [a[0], 0, a[1], file::AT_EMPTY_PATH, 0, 0]),
        Newfstatat => file::fstatat(k, p, a),
        Statx => file::statx(k, p, a),
        Getdents64 => file::getdents64(k, p, a),
        Ioctl => file::ioctl(k, p, a),
        Fcntl => file::fcntl(k, p, a),
        Dup => file::dup(k, p, a),
        Dup2 => file::dup3(k, p, [a[0], a[1], 0, 0, 0, 0], true),
        Dup3 => file::dup3(k, p, a, false),
        Access => file::faccessat(k, p, [file::AT_FDCWD as u64, a[0], a[1], 0, 0, 0]),
        Faccessat | Faccessat2 => file::faccessat(k, p, a),
        Readlink => file::readlinkat(k, p, [file::AT_FDCWD as u64, a[0], a[1], a[2], 0, 0]),
        Readlinkat => file::readlinkat(k, p, a),
        Getcwd => file::getcwd(k, p, a),
        Chdir => file::chdir(k, p, a),
        Fchdir => file::fchdir(k, p, a),
        Mkdir => file::mkdirat(k, p, [file::AT_FDCWD as u64, a[0], a[1], 0, 0, 0]),
        Mkdirat => file::mkdirat(k, p, a),
        Unlink => file::unlinkat(k, p, [file::AT_FDCWD as u64, a[0], 0, 0, 0, 0]),
        Rmdir => file::unlinkat(
            k,
            p,
            [file::AT_FDCWD as u64, a[0], file::AT_REMOVEDIR, 0, 0, 0],
        ),
        Unlinkat => file::unlinkat(k, p, a),
        Rename => file::renameat(
            k,
            p,
            [
                file::AT_FDCWD as u64,
                a[0],
                file::AT_FDCWD as u64,
                a[1],
                0,
                0,
            ],
        ),
        Renameat | Renameat2 => file::renameat(k, p, a),
        Link => file::linkat(
            k,
            p,
            [
                file::AT_FDCWD as u64,
                a[0],
                file::AT_FDCWD as u64,
                a[1],
                0,
                0,
            ],
        ),
        Linkat => file::linkat(k, p, a),
        Symlink => file::symlinkat(k, p, [a[0], file::AT_FDCWD as u64, a[1], 0, 0, 0]),
        Symlinkat => file::symlinkat(k, p, a),
        Truncate => file::truncate(k, p, a),
        Ftruncate => file::ftruncate(k, p, a),
        Umask => {
            let old = p.umask;
            p.umask = (a[0] as u32) & 0o777;
            Ok(u64::from(old))
        }
        Chmod => file::fchmodat(k, p, [file::AT_FDCWD as u64, a[0], a[1], 0, 0, 0]),
        Fchmodat => file::fchmodat(k, p, a),
        Fchmod => file::fchmod(k, p, a),
        // Ownership is not modelled (the guest is root on its own overlay), but the file
        // must exist: `mv` across directories chowns each copy and reports a failure.
        Chown => file::fchownat(k, p, [file::AT_FDCWD as u64, a[0], a[1], a[2], 0, 0]),
        Lchown => file::fchownat(
            k,
            p,
            [
                file::AT_FDCWD as u64,
                a[0],
                a[1],
                a[2],
                file::AT_SYMLINK_NOFOLLOW,
                0,
            ],
        ),
        Fchownat => file::fchownat(k, p, a),
        Fchown => p.fds.get(file::fd_arg(a[0])).map(|_| 0),
        Fsync | Fdatasync | Flock | Msync => Ok(0),
        Utimensat => file::utimensat(k, p, a),
        Statfs | Fstatfs => file::statfs(k, p, a),
        Poll | Ppoll => file::poll(k, p, a),
        Brk => mem::brk(k, p, a),
        Mmap => mem::mmap(k, p, a),
        Munmap => mem::munmap(k, p, a),
        Mprotect => mem::mprotect(k, p, a),
        Mremap => mem::mremap(k, p, a),
        Madvise | Mincore => Ok(0),
        ArchPrctl => proc::arch_prctl(k, p, a),
        SetTidAddress => Ok(u64::from(p.pid.0)),
        SetRobustList => Ok(0),
        Rseq => Err(Errno::ENOSYS),
        Prlimit64 => proc::prlimit64(k, p, a),
        Getrlimit => proc::prlimit64(k, p, [0, a[0], 0, a[1], 0, 0]),
        Setrlimit => proc::prlimit64(k, p, [0, a[0], a[1], 0, 0, 0]),
        Uname => proc::uname(k, p, a),
        Getuid | Geteuid => Ok(u64::from(crate::param::GUEST_UID)),
        Getgid | Getegid => Ok(u64::from(crate::param::GUEST_GID)),
        Setuid | Setgid => Ok(0),
        Getgroups => Ok(0),
        Getpid | Gettid => Ok(u64::from(p.pid.0)),
        Getppid => Ok(u64::from(p.ppid.0)),
        Getpgrp => Ok(u64::from(p.pgid)),
        Getpgid => Ok(u64::from(p.pgid)),
        Getsid => Ok(u64::from(p.sid)),
        Setpgid | Setsid => Ok(u64::from(p.pgid)),
        Sysinfo => proc::sysinfo(k, p, a),
        Getrusage => proc::getrusage(k, p, a),
        Times => proc::times(k, p, a),
        RtSigaction => proc::rt_sigaction(k, p, a),
        RtSigprocmask => proc::rt_sigprocmask(k, p, a),
        Sigaltstack => Ok(0),
        RtSigpending => {
            if a[1] != 8 {
                Err(Errno::EINVAL)
            } else {
                p.cpu.write_u64(a[0], p.sig_pending & p.sigmask).map(|_| 0)
            }
        }
        Prctl => Err(Errno::EINVAL),
        SchedYield => Ok(0),
        SchedGetaffinity => proc::sched_getaffinity(k, p, a),
        Getrandom => proc::getrandom(k, p, a),
        ClockGettime => time::clock_gettime(k, p, a),
        ClockGetres => time::clock_getres(k, p, a),
        Gettimeofday => time::gettimeofday(k, p, a),
        Time => time::time(k, p, a),
        Nanosleep => time::nanosleep(k, p, [0, 0, a[0], a[1], 0, 0]),
        ClockNanosleep => time::nanosleep(k, p, a),
        Futex => proc::futex(k, p, a),
        Exit | ExitGroup => return Outcome::Exit((a[0] & 0xff) as i32),
        _ => return Outcome::NoSys,
    };
    r.into()
}
