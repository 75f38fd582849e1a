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
    ($($v:ident => $n:literal,)*) => {
        /// Every system call the kernel knows by name (whether or not it implements it).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Sys { $($v,)* }
        impl Sys {
            /// The Linux name of the call, as strace prints it.
            pub fn name(self) -> &'static str {
                match self { $(Sys::$v => $n,)* }
            }
        }
    };
}

syscalls! {
    Read => "read", Write => "write", Open => "open", Close => "close", Stat => "stat",
    Fstat => "fstat", Lstat => "lstat", Poll => "poll", Lseek => "lseek", Mmap => "mmap",
    Mprotect => "mprotect", Munmap => "munmap", Brk => "brk", RtSigaction => "rt_sigaction",
    RtSigprocmask => "rt_sigprocmask", RtSigreturn => "rt_sigreturn", Ioctl => "ioctl",
    Pread64 => "pread64", Pwrite64 => "pwrite64", Readv => "readv", Writev => "writev",
    Access => "access", Pipe => "pipe", Select => "select", SchedYield => "sched_yield",
    Mremap => "mremap", Msync => "msync", Mincore => "mincore", Madvise => "madvise",
    Dup => "dup", Dup2 => "dup2", Pause => "pause", Nanosleep => "nanosleep", Alarm => "alarm",
    Setitimer => "setitimer", Getpid => "getpid", Socket => "socket", Clone => "clone",
    Fork => "fork", Vfork => "vfork", Execve => "execve", Exit => "exit", Wait4 => "wait4",
    Kill => "kill", Uname => "uname", Fcntl => "fcntl", Flock => "flock", Fsync => "fsync",
    Fdatasync => "fdatasync", Truncate => "truncate", Ftruncate => "ftruncate",
    Getdents => "getdents", Getcwd => "getcwd", Chdir => "chdir", Fchdir => "fchdir",
    Rename => "rename", Mkdir => "mkdir", Rmdir => "rmdir", Creat => "creat", Link => "link",
    Unlink => "unlink", Symlink => "symlink", Readlink => "readlink", Chmod => "chmod",
    Fchmod => "fchmod", Chown => "chown", Fchown => "fchown", Lchown => "lchown",
    Umask => "umask", Gettimeofday => "gettimeofday", Getrlimit => "getrlimit",
    Getrusage => "getrusage", Sysinfo => "sysinfo", Times => "times", Getuid => "getuid",
    Getgid => "getgid", Setuid => "setuid", Setgid => "setgid", Geteuid => "geteuid",
    Getegid => "getegid", Setpgid => "setpgid", Getppid => "getppid", Getpgrp => "getpgrp",
    Setsid => "setsid", Getgroups => "getgroups", Getpgid => "getpgid", Getsid => "getsid",
    Sigaltstack => "sigaltstack", Statfs => "statfs", Fstatfs => "fstatfs", Prctl => "prctl",
    ArchPrctl => "arch_prctl", Setrlimit => "setrlimit", Gettid => "gettid", Tkill => "tkill",
    Time => "time", Futex => "futex", SchedGetaffinity => "sched_getaffinity",
    Getdents64 => "getdents64", SetTidAddress => "set_tid_address",
    ClockGettime => "clock_gettime", ClockGetres => "clock_getres",
    ClockNanosleep => "clock_nanosleep", ExitGroup => "exit_group", Tgkill => "tgkill",
    Waitid => "waitid", Openat => "openat", Mkdirat => "mkdirat", Newfstatat => "newfstatat",
    Unlinkat => "unlinkat", Renameat => "renameat", Linkat => "linkat",
    Symlinkat => "symlinkat", Readlinkat => "readlinkat", Fchmodat => "fchmodat",
    Faccessat => "faccessat", Pselect6 => "pselect6", Ppoll => "ppoll",
    SetRobustList => "set_robust_list", Utimensat => "utimensat", Dup3 => "dup3",
    Pipe2 => "pipe2", Prlimit64 => "prlimit64", Renameat2 => "renameat2",
    Getrandom => "getrandom", Execveat => "execveat", Statx => "statx", Rseq => "rseq",
    Clone3 => "clone3", Faccessat2 => "faccessat2", RtSigsuspend => "rt_sigsuspend",
    Getitimer => "getitimer", Sendfile => "sendfile",
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
        Symlink => file::symlinkat(k, p, [a[0], file::AT_FDCWD as u64, a[1], 0, 0, 0]),
        Symlinkat => file::symlinkat(k, p, a),
        Truncate => file::truncate(k, p, a),
        Ftruncate => file::ftruncate(k, p, a),
        Umask => {
            let old = p.umask;
            p.umask = (a[0] as u32) & 0o777;
            Ok(u64::from(old))
        }
        // Permissions and ownership are not modelled (the guest is root on its own overlay).
        Chmod | Fchmod | Fchmodat | Chown | Fchown | Lchown | Utimensat | Fsync | Fdatasync
        | Flock | Msync => Ok(0),
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
        Setrlimit => Ok(0),
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
