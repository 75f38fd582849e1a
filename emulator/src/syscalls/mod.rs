//! The Linux system-call layer: the arch-neutral call list (each arch's `cpu/<arch>.rs` maps
//! its numbers onto it), the one table from call to handler ([`dispatch`]), and the handlers
//! grouped by noun: `fs` (files, directories, the console), `poll`, `mem`, `proc` (fork,
//! exec, wait, ids, limits, system information), `signal`, `time`, `sched`; pipes live in
//! `crate::pipe`. A handler that needs only its own process gets a [`Cx`] (the kernel, the
//! task, its group, and guest memory through `GuestMem`), so it can be unit-tested against
//! a fake memory; one that acts on the process table gets the machine and a tid. Handlers
//! return `SysResult` or an [`Outcome`]; an errno becomes `-errno` in the result register
//! only at the ABI boundary (sched.rs).

pub mod fs;
pub mod mem;
pub mod names;
pub mod poll;
pub mod proc;
pub mod procfs;
pub mod sched;
pub mod signal;
pub mod time;

use crate::cpu::Arch;
use crate::errno::Errno;
use crate::guestmem::GuestMem;
use crate::machine::{Group, Kernel, Machine, Pid, Task};
use crate::vm::AddressSpace;

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
    SchedSetaffinity => "sched_setaffinity" 3, Membarrier => "membarrier" 3,
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
    CloseRange => "close_range" 3, Getpriority => "getpriority" 2, Setpriority => "setpriority" 3,
    Setresuid => "setresuid" 3, Getresuid => "getresuid" 3, Setresgid => "setresgid" 3,
    Getresgid => "getresgid" 3, Fadvise64 => "fadvise64" 4, Mlock => "mlock" 2,
    Munlock => "munlock" 2, Mlockall => "mlockall" 1, Munlockall => "munlockall" 0,
    EpollCreate => "epoll_create" 1, EpollCreate1 => "epoll_create1" 1, EpollCtl => "epoll_ctl" 4,
    EpollWait => "epoll_wait" 4, EpollPwait => "epoll_pwait" 6, EpollPwait2 => "epoll_pwait2" 6,
    Mknod => "mknod" 3, Mknodat => "mknodat" 4,
    Setxattr => "setxattr" 5, Lsetxattr => "lsetxattr" 5, Fsetxattr => "fsetxattr" 5,
    Getxattr => "getxattr" 4, Lgetxattr => "lgetxattr" 4, Fgetxattr => "fgetxattr" 4,
    Listxattr => "listxattr" 3, Llistxattr => "llistxattr" 3, Flistxattr => "flistxattr" 3,
    Removexattr => "removexattr" 2, Lremovexattr => "lremovexattr" 2,
    Fremovexattr => "fremovexattr" 2, Getsockname => "getsockname" 3,
    Getpeername => "getpeername" 3,
}

/// What a system call did, beyond its result value.
#[derive(Debug)]
pub enum Outcome {
    /// Put this value in the result register and continue.
    Ret(u64),
    /// The process exits with this status (exit_group, or exit of its last thread).
    Exit(i32),
    /// This thread exits (exit).
    ThreadExit(i32),
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
            Err(e) => Outcome::Ret(e.ret()),
        }
    }
}

impl From<Errno> for Outcome {
    fn from(e: Errno) -> Self {
        Outcome::Ret(e.ret())
    }
}

/// What a handler of one process's call may touch: the kernel, the calling task, its
/// thread group, and its address space (memory and segments).
pub struct Cx<'a> {
    pub k: &'a mut Kernel,
    pub t: &'a mut Task,
    pub g: &'a mut Group,
    pub mem: &'a mut dyn GuestMem,
    pub vm: &'a mut AddressSpace,
    pub arch: Arch,
}

/// The [`Cx`] of task `tid`.
pub(crate) fn cx_of(m: &mut Machine, tid: Pid) -> Option<Cx<'_>> {
    let Machine {
        k,
        tasks,
        groups,
        spaces,
        ..
    } = m;
    let t = tasks.get_mut(&tid)?;
    let g = groups.get_mut(&t.tgid)?;
    let s = spaces.get_mut(&g.space)?;
    let arch = s.cpu.arch;
    Some(Cx {
        k,
        t,
        g,
        mem: &mut s.cpu,
        vm: &mut s.vm,
        arch,
    })
}

/// `AT_FDCWD` for the path calls that predate the *at variants.
const CWD: u64 = fs::AT_FDCWD as u64;

/// The one system-call table: carry out call `sys` of task `tid` with arguments `a`.
pub fn dispatch(m: &mut Machine, tid: Pid, sys: Sys, a: [u64; 6]) -> Outcome {
    use Sys::*;
    m.load(tid);
    // Files created or changed by this call take its time on the virtual wall clock.
    m.k.vfs.now = i64::try_from(crate::syscalls::time::realtime_ns(&m.k)).unwrap_or(i64::MAX);
    // Path calls whose path enters the Linux /proc, which is made from the process table.
    if let Some(o) = procfs::intercept(m, tid, sys, a) {
        return o;
    }
    // Calls that act on the process table, on other processes, or on the registers.
    match sys {
        Fork => return proc::fork(m, tid, proc::SIGCHLD_EXIT, 0, [0; 3]),
        Vfork => return proc::fork(m, tid, proc::VFORK_FLAGS, 0, [0; 3]),
        Clone => return proc::clone(m, tid, a),
        Clone3 => return proc::clone3(m, tid, a),
        Execve => return proc::execve(m, tid, a[0], a[1], a[2]),
        Execveat => return proc::execve(m, tid, a[1], a[2], a[3]),
        Wait4 => return proc::wait4(m, tid, a[0] as i32, a[1], a[2]),
        Waitid => return proc::waitid(m, tid, a),
        Kill => return signal::kill(m, tid, a[0] as i32, a[1] as i32),
        Tkill => return signal::tgkill(m, tid, None, a[0] as i32, a[1] as i32),
        Tgkill => return signal::tgkill(m, tid, Some(a[0] as i32), a[1] as i32, a[2] as i32),
        RtSigreturn => {
            m.sigreturn(tid);
            return Outcome::NoReturn;
        }
        ArchPrctl => return proc::arch_prctl(m, tid, a).into(),
        Setpgid => return proc::setpgid(m, tid, a[0] as i32, a[1] as i32),
        Getpgid => return proc::getpgid(m, tid, a[0] as i32, false),
        Getsid => return proc::getpgid(m, tid, a[0] as i32, true),
        Setsid => return proc::setsid(m, tid),
        Futex => return sched::futex(m, tid, a),
        Sigaltstack => return signal::sigaltstack(m, tid, a).into(),
        _ => {}
    }
    let Some(mut cx) = cx_of(m, tid) else {
        return Errno::ESRCH.into();
    };
    let cx = &mut cx;
    let r = match sys {
        Read => return fs::read(cx, a),
        Readv => return fs::readv(cx, a),
        Write => return fs::write(cx, a),
        Writev => return fs::writev(cx, a),
        Pread64 => fs::pread(cx, a),
        Pwrite64 => fs::pwrite(cx, a),
        Sendfile => return fs::sendfile(cx, a),
        Pipe => crate::pipe::pipe2(cx, a[0], 0),
        Pipe2 => crate::pipe::pipe2(cx, a[0], a[1]),
        Open => return fs::openat(cx, [CWD, a[0], a[1], a[2], 0, 0]),
        Creat => return fs::openat(cx, [CWD, a[0], fs::O_CREAT_WRONLY_TRUNC, a[1], 0, 0]),
        Openat => return fs::openat(cx, a),
        Close => fs::close(cx, a),
        Lseek => fs::lseek(cx, a),
        Stat => fs::fstatat(cx, [CWD, a[0], a[1], 0, 0, 0]),
        Lstat => fs::fstatat(cx, [CWD, a[0], a[1], fs::AT_SYMLINK_NOFOLLOW, 0, 0]),
        Fstat => fs::fstatat(cx, [a[0], 0, a[1], fs::AT_EMPTY_PATH, 0, 0]),
        Newfstatat => fs::fstatat(cx, a),
        Statx => fs::statx(cx, a),
        Getdents64 => fs::getdents64(cx, a),
        Ioctl => fs::ioctl(cx, a),
        Fcntl => fs::fcntl(cx, a),
        Dup => fs::dup(cx, a),
        Dup2 => fs::dup3(cx, [a[0], a[1], 0, 0, 0, 0], true),
        Dup3 => fs::dup3(cx, a, false),
        Access => fs::faccessat(cx, [CWD, a[0], a[1], 0, 0, 0]),
        Faccessat | Faccessat2 => fs::faccessat(cx, a),
        Readlink => fs::readlinkat(cx, [CWD, a[0], a[1], a[2], 0, 0]),
        Readlinkat => fs::readlinkat(cx, a),
        Getcwd => fs::getcwd(cx, a),
        Chdir => fs::chdir(cx, a),
        Fchdir => fs::fchdir(cx, a),
        Mkdir => fs::mkdirat(cx, [CWD, a[0], a[1], 0, 0, 0]),
        Mkdirat => fs::mkdirat(cx, a),
        Unlink => fs::unlinkat(cx, [CWD, a[0], 0, 0, 0, 0]),
        Rmdir => fs::unlinkat(cx, [CWD, a[0], fs::AT_REMOVEDIR, 0, 0, 0]),
        Unlinkat => fs::unlinkat(cx, a),
        Rename => fs::renameat(cx, [CWD, a[0], CWD, a[1], 0, 0]),
        Renameat | Renameat2 => fs::renameat(cx, a),
        Link => fs::linkat(cx, [CWD, a[0], CWD, a[1], 0, 0]),
        Linkat => fs::linkat(cx, a),
        Symlink => fs::symlinkat(cx, [a[0], CWD, a[1], 0, 0, 0]),
        Symlinkat => fs::symlinkat(cx, a),
        Truncate => fs::truncate(cx, a),
        Ftruncate => fs::ftruncate(cx, a),
        Umask => fs::umask(cx, a),
        Chmod => fs::fchmodat(cx, [CWD, a[0], a[1], 0, 0, 0]),
        Fchmodat => fs::fchmodat(cx, a),
        Fchmod => fs::fchmod(cx, a),
        Chown => fs::fchownat(cx, [CWD, a[0], a[1], a[2], 0, 0]),
        Lchown => fs::fchownat(cx, [CWD, a[0], a[1], a[2], fs::AT_SYMLINK_NOFOLLOW, 0]),
        Fchownat => fs::fchownat(cx, a),
        Fchown => fs::fchown(cx, a),
        Fsync | Fdatasync | Flock | Msync => Ok(0),
        Utimensat => fs::utimensat(cx, a),
        Mknod => fs::mknodat(cx, [CWD, a[0], a[1], a[2], 0, 0]),
        Mknodat => fs::mknodat(cx, a),
        Statfs | Fstatfs => fs::statfs(cx, a),
        // The timeout is an int of milliseconds: the register's upper half is not looked at
        // (it overflowed the product when the fuzzer set it).
        Poll => {
            let ms = a[2] as i32;
            return poll::poll(
                cx,
                a[0],
                a[1],
                u64::try_from(ms).ok().map(|t| t * 1_000_000),
            );
        }
        Listxattr => fs::xattr(cx, fs::XattrOn::Path { follow: true }, a, Ok(0)),
        Llistxattr => fs::xattr(cx, fs::XattrOn::Path { follow: false }, a, Ok(0)),
        Flistxattr => fs::xattr(cx, fs::XattrOn::Fd, a, Ok(0)),
        Getxattr | Setxattr | Removexattr => fs::xattr(
            cx,
            fs::XattrOn::Path { follow: true },
            a,
            Err(Errno::ENOTSUP),
        ),
        Lgetxattr | Lsetxattr | Lremovexattr => fs::xattr(
            cx,
            fs::XattrOn::Path { follow: false },
            a,
            Err(Errno::ENOTSUP),
        ),
        Fgetxattr | Fsetxattr | Fremovexattr => {
            fs::xattr(cx, fs::XattrOn::Fd, a, Err(Errno::ENOTSUP))
        }
        // The machine has no network and no socket families at all: every socket(2) is
        // refused as a kernel refuses a family it does not have (net/socket.c
        // __sock_create). glibc's static NSS asks for nscd's AF_UNIX socket on every
        // getpwuid (bash, zsh, gpgv do) and goes on without it.
        Socket => Err(Errno::EAFNOSUPPORT),
        // No fd is a socket (bash asks getpeername of its input to see whether it is a
        // network connection).
        Getsockname | Getpeername => cx.g.fds.get(fs::fd_arg(a[0])).and(Err(Errno::ENOTSOCK)),
        Ppoll => return poll::ppoll(cx, a),
        Select => return poll::select_timeval(cx, a),
        Pselect6 => return poll::pselect6(cx, a),
        EpollCreate if (a[0] as i32) <= 0 => Err(Errno::EINVAL),
        EpollCreate => poll::epoll_create1(cx, 0),
        EpollCreate1 => poll::epoll_create1(cx, a[0]),
        EpollCtl => poll::epoll_ctl(cx, a),
        EpollWait | EpollPwait => {
            let t = a[3] as i32;
            return poll::epoll_wait(cx, a, (t >= 0).then(|| t as u64 * 1_000_000));
        }
        EpollPwait2 => return poll::epoll_pwait2(cx, a),
        Brk => mem::brk(cx, a),
        Mmap => mem::mmap(cx, a),
        Munmap => mem::munmap(cx, a),
        Mprotect => mem::mprotect(cx, a),
        Mremap => mem::mremap(cx, a),
        Madvise => mem::madvise(cx, a),
        Mincore => Ok(0),
        SetTidAddress => proc::set_tid_address(cx, a),
        SetRobustList => proc::set_robust_list(cx, a),
        Rseq => Err(Errno::ENOSYS),
        Prlimit64 => proc::prlimit64(cx, a),
        Getrlimit => proc::prlimit64(cx, [0, a[0], 0, a[1], 0, 0]),
        Setrlimit => proc::prlimit64(cx, [0, a[0], a[1], 0, 0, 0]),
        Uname => proc::uname(cx, a),
        Getuid | Geteuid => Ok(u64::from(crate::param::GUEST_UID)),
        Getgid | Getegid => Ok(u64::from(crate::param::GUEST_GID)),
        Setuid | Setgid | Setresuid | Setresgid => Ok(0),
        Getresuid => proc::getres_ids(cx, a, crate::param::GUEST_UID),
        Getresgid => proc::getres_ids(cx, a, crate::param::GUEST_GID),
        Getpriority => proc::getpriority(cx, a),
        Setpriority => proc::setpriority(cx, a),
        CloseRange => fs::close_range(cx, a),
        Fadvise64 => fs::fadvise64(cx, a),
        Mlock | Munlock | Mlockall | Munlockall => Ok(0),
        Getgroups => Ok(0),
        Getpid => Ok(u64::from(cx.g.pid.0)),
        Gettid => Ok(u64::from(cx.t.tid.0)),
        Getppid => Ok(u64::from(cx.g.ppid.0)),
        Getpgrp => Ok(u64::from(cx.g.pgid)),
        Sysinfo => proc::sysinfo(cx, a),
        Getrusage => proc::getrusage(cx, a),
        Times => proc::times(cx, a),
        Getrandom => proc::getrandom(cx, a),
        RtSigaction => signal::rt_sigaction(cx, a),
        RtSigprocmask => signal::rt_sigprocmask(cx, a),
        RtSigpending => signal::rt_sigpending(cx, a),
        RtSigsuspend => return signal::rt_sigsuspend(cx, a),
        Pause => return Outcome::Block(crate::machine::Wait::Signal),
        Prctl => Err(Errno::EINVAL),
        SchedYield => Ok(0),
        SchedGetaffinity => sched::sched_getaffinity(cx, a),
        SchedSetaffinity => sched::sched_setaffinity(cx, a),
        Membarrier => sched::membarrier(a),
        ClockGettime => time::clock_gettime(cx, a),
        ClockGetres => time::clock_getres(cx, a),
        Gettimeofday => time::gettimeofday(cx, a),
        Time => time::time(cx, a),
        Nanosleep => return time::sleep(cx, 0, 0, a[0]),
        ClockNanosleep => return time::sleep(cx, a[0], a[1], a[2]),
        Alarm => time::alarm(cx, a),
        Setitimer => time::setitimer(cx, a),
        Getitimer => time::setitimer(cx, [a[0], 0, a[1], 0, 0, 0]),
        Exit => return Outcome::ThreadExit((a[0] & 0xff) as i32),
        ExitGroup => return Outcome::Exit((a[0] & 0xff) as i32),
        _ => return Outcome::NoSys,
    };
    r.into()
}

/// A unit-test bench for handlers: a kernel over an empty temporary root, one task and
/// its group, and a fake memory with one read-write region. No unicorn.
#[cfg(test)]
pub mod testing {
    use super::*;
    use crate::guestmem::FakeMem;
    use crate::machine::{ConsoleIo, Plan9State, SpaceId};
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Console output the test can read back.
    #[derive(Clone, Default)]
    pub struct Sink(pub Rc<RefCell<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    pub struct Bench {
        pub k: Kernel,
        pub t: Task,
        pub g: Group,
        pub mem: FakeMem,
        pub vm: AddressSpace,
        pub arch: Arch,
        pub out: Sink,
        _root: TempRoot,
    }

    /// An empty directory that is removed again.
    pub struct TempRoot(pub std::path::PathBuf);

    impl Default for TempRoot {
        fn default() -> TempRoot {
            TempRoot::new()
        }
    }

    impl TempRoot {
        pub fn new() -> TempRoot {
            use std::sync::atomic::{AtomicU64, Ordering};
            static N: AtomicU64 = AtomicU64::new(0);
            let dir = std::env::temp_dir().join(format!(
                "glass-unit-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).expect("temporary root");
            TempRoot(dir)
        }
    }

    impl Drop for TempRoot {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Where the bench's read-write memory starts, and its size.
    pub const MEM: u64 = 0x10000;
    pub const MEM_SIZE: u64 = 0x10000;

    impl Default for Bench {
        fn default() -> Bench {
            Bench::new()
        }
    }

    impl Bench {
        pub fn new() -> Bench {
            Bench::with_arch(Arch::X86_64)
        }

        pub fn with_arch(arch: Arch) -> Bench {
            let root = TempRoot::new();
            let out = Sink::default();
            let console = ConsoleIo {
                stdin: Box::new(std::io::empty()),
                stdout: Box::new(out.clone()),
                stderr: Box::new(out.clone()),
            };
            let k = Kernel::new(
                crate::vfs::Vfs::new(&root.0),
                0,
                console,
                crate::trace::Trace::digest_only(),
            );
            let pid = Pid(2);
            Bench {
                k,
                t: Task::new(pid, pid, 0, Plan9State::new("eve", pid.0, false)),
                g: Group::new(
                    pid,
                    Pid(1),
                    "/bin/t",
                    vec![],
                    std::sync::Arc::from(Vec::new()),
                    SpaceId(0),
                ),
                mem: FakeMem::with(MEM, MEM_SIZE),
                vm: AddressSpace::default(),
                arch,
                out,
                _root: root,
            }
        }

        pub fn cx(&mut self) -> Cx<'_> {
            Cx {
                k: &mut self.k,
                t: &mut self.t,
                g: &mut self.g,
                mem: &mut self.mem,
                vm: &mut self.vm,
                arch: self.arch,
            }
        }

        /// Put a NUL-terminated string in guest memory at `addr`.
        pub fn cstr(&mut self, addr: u64, s: &str) -> u64 {
            let mut b = s.as_bytes().to_vec();
            b.push(0);
            self.mem.write(addr, &b).expect("bench memory");
            addr
        }
    }
}
