//! Process-level system calls of the single-process kernel: arch_prctl(2), prlimit64(2),
//! uname(2), sysinfo(2), getrusage(2), times(2), rt_sigaction(2) and rt_sigprocmask(2)
//! (recorded; delivery comes with the multi-process kernel), getrandom(2), futex(2).

use crate::cpu::Arch;
use crate::errno::{Errno, SysResult};
use crate::machine::{Kernel, Process, SigAction};
use crate::param;
use crate::syscalls::time::cpu_ns;

pub fn arch_prctl(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    const ARCH_SET_FS: u64 = 0x1002;
    const ARCH_GET_FS: u64 = 0x1003;
    if p.cpu.arch != Arch::X86_64 {
        return Err(Errno::ENOSYS);
    }
    match a[0] {
        ARCH_SET_FS => {
            p.cpu.set_tls(a[1]);
            Ok(0)
        }
        ARCH_GET_FS => {
            let fs = p.cpu.tls();
            p.cpu.write_u64(a[1], fs)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// prlimit64(pid, resource, new, old): the old limits are written first, then the new ones
/// take effect (a soft limit above the hard one is EINVAL). The guest is root, so it may
/// raise its hard limits too.
pub fn prlimit64(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let res = usize::try_from(a[1]).map_err(|_| Errno::EINVAL)?;
    if res >= param::RLIM_NLIMITS {
        return Err(Errno::EINVAL);
    }
    let new = if a[2] != 0 {
        let b = p.cpu.read(a[2], 16)?;
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        };
        let (cur, max) = (word(0), word(1));
        if cur > max {
            return Err(Errno::EINVAL);
        }
        Some((cur, max))
    } else {
        None
    };
    if a[3] != 0 {
        let (cur, max) = p.rlimits[res];
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&cur.to_le_bytes());
        b[8..].copy_from_slice(&max.to_le_bytes());
        p.cpu.write(a[3], &b)?;
    }
    if let Some(l) = new {
        p.rlimits[res] = l;
    }
    Ok(0)
}

/// uname(2): struct utsname, six 65-byte fields.
pub fn uname(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let machine = crate::cpu::arch_name(p.cpu.arch);
    let mut b = vec![0u8; 65 * 6];
    for (i, s) in [
        param::UTS_SYSNAME,
        param::UTS_NODENAME,
        param::UTS_RELEASE,
        param::UTS_VERSION,
        machine,
        param::UTS_DOMAINNAME,
    ]
    .iter()
    .enumerate()
    {
        b[i * 65..i * 65 + s.len()].copy_from_slice(s.as_bytes());
    }
    p.cpu.write(a[0], &b)?;
    Ok(0)
}

/// sysinfo(2): struct sysinfo (112 bytes on 64-bit), a 1 GiB machine.
pub fn sysinfo(k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let mut b = vec![0u8; 112];
    let up = k.clock.ns / 1_000_000_000;
    b[0..8].copy_from_slice(&up.to_le_bytes());
    b[32..40].copy_from_slice(&(1u64 << 30).to_le_bytes()); // totalram
    b[40..48].copy_from_slice(&(1u64 << 29).to_le_bytes()); // freeram
    b[80..82].copy_from_slice(&1u16.to_le_bytes()); // procs
    b[104..108].copy_from_slice(&1u32.to_le_bytes()); // mem_unit
    p.cpu.write(a[0], &b)?;
    Ok(0)
}

fn timeval(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    b[8..].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_le_bytes());
    b
}

/// getrusage(2): struct rusage (144 bytes); user time is guest work, system time syscalls.
pub fn getrusage(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let mut b = vec![0u8; 144];
    b[..16].copy_from_slice(&timeval(p.blocks * param::NS_PER_BLOCK));
    b[16..32].copy_from_slice(&timeval(p.syscalls * param::NS_PER_SYSCALL));
    p.cpu.write(a[1], &b)?;
    Ok(0)
}

/// times(2): struct tms in clock ticks (100 Hz); returns ticks since boot.
pub fn times(k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let tick = 10_000_000;
    if a[0] != 0 {
        let mut b = vec![0u8; 32];
        b[..8].copy_from_slice(&(p.blocks * param::NS_PER_BLOCK / tick).to_le_bytes());
        b[8..16].copy_from_slice(&(p.syscalls * param::NS_PER_SYSCALL / tick).to_le_bytes());
        p.cpu.write(a[0], &b)?;
    }
    let _ = cpu_ns(p);
    Ok(k.clock.ns / tick)
}

/// rt_sigaction(sig, act, oact, sigsetsize): struct kernel_sigaction {handler, flags,
/// restorer, mask} on x86_64.
pub fn rt_sigaction(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let sig = a[0] as usize;
    if sig == 0 || sig > 64 || a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    // riscv has no sa_restorer field (asm-generic without SA_RESTORER): {handler, flags, mask};
    // x86_64 and arm64: {handler, flags, restorer, mask}.
    let with_restorer = p.cpu.arch != Arch::Riscv64;
    if a[2] != 0 {
        let o = p.sigactions[sig];
        let fields: &[u64] = if with_restorer {
            &[o.handler, o.flags, o.restorer, o.mask]
        } else {
            &[o.handler, o.flags, o.mask]
        };
        let b: Vec<u8> = fields.iter().flat_map(|v| v.to_le_bytes()).collect();
        p.cpu.write(a[2], &b)?;
    }
    if a[1] != 0 {
        const SIGKILL: usize = 9;
        const SIGSTOP: usize = 19;
        if sig == SIGKILL || sig == SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let b = p.cpu.read(a[1], if with_restorer { 32 } else { 24 })?;
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        p.sigactions[sig] = if with_restorer {
            SigAction {
                handler: w(0),
                flags: w(1),
                restorer: w(2),
                mask: w(3),
            }
        } else {
            SigAction {
                handler: w(0),
                flags: w(1),
                restorer: 0,
                mask: w(2),
            }
        };
    }
    Ok(0)
}

pub fn rt_sigprocmask(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let old = p.sigmask;
    if a[1] != 0 {
        let set = p.cpu.read_u64(a[1])?;
        // SIGKILL and SIGSTOP cannot be blocked.
        let unblockable = (1 << 8) | (1 << 18);
        p.sigmask = match a[0] {
            0 => old | set,
            1 => old & !set,
            2 => set,
            _ => return Err(Errno::EINVAL),
        } & !unblockable;
    }
    if a[2] != 0 {
        p.cpu.write_u64(a[2], old)?;
    }
    Ok(0)
}

pub fn sched_getaffinity(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    if a[1] < 8 {
        return Err(Errno::EINVAL);
    }
    p.cpu.write_u64(a[2], 1)?;
    Ok(8)
}

pub fn getrandom(k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let len = (a[1] as usize).min(1 << 25);
    let mut b = vec![0u8; len];
    k.rng.fill(&mut b);
    p.cpu.write(a[0], &b)?;
    Ok(len as u64)
}

/// futex(2) for a single-threaded process: a wait whose value differs returns EAGAIN; one
/// that would sleep could never be woken, so it times out at once if it has a timeout.
pub fn futex(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    // FUTEX_PRIVATE_FLAG (128) and FUTEX_CLOCK_REALTIME (256) modify the command.
    match a[1] & !(0x80 | 0x100) {
        0 | 9 => {
            let cur = u32::from_le_bytes(p.cpu.read(a[0], 4)?.try_into().unwrap_or([0; 4]));
            if cur != a[2] as u32 {
                Err(Errno::EAGAIN)
            } else {
                Err(Errno(110)) // ETIMEDOUT
            }
        }
        1 | 10 => Ok(0),
        _ => Err(Errno::ENOSYS),
    }
}

// ---------------------------------------------------------------------------------------
// Calls that act on the process table (fork, exec, wait, kill, exit), on pipes shared
// between processes, or that block: handled at the machine level.

use crate::fdtable::{Console, FileKind, OpenFile, O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_WRONLY};
use crate::machine::{ExitStatus, Machine, PState, Wait};
use crate::pipe::{self, PIPE_BUF};
use crate::signal::{self, bit, SIGCHLD, SIGPIPE};
use crate::syscalls::{Outcome, Sys};
use crate::vfs::DevKind;
use proc_model::machine::Pid;

const CLONE_VM: u64 = 0x100;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_SETTID: u64 = 0x0100_0000;
const WNOHANG: u64 = 1;
const WUNTRACED: u64 = 2;
const WCONTINUED: u64 = 8;
/// Longest argv+envp we copy (Linux ARG_MAX with the default stack limit is 2 MiB).
const ARG_MAX: usize = 2 << 20;
/// Longest single argument or environment string, NUL included (32 pages).
const MAX_ARG_STRLEN: usize = 32 * 4096;

fn err(e: Errno) -> Outcome {
    Outcome::from(Err::<u64, Errno>(e))
}

fn ok(v: u64) -> Outcome {
    Outcome::Ret(v)
}

/// `console_in`: whether a console read would return at once (always, unless /proc is
/// served and the reader thread has brought nothing yet).
fn ready_events(p: &Process, fd: i32, events: u16, console_in: bool) -> u16 {
    const POLLIN: u16 = 0x1;
    const POLLOUT: u16 = 0x4;
    const POLLERR: u16 = 0x8;
    const POLLHUP: u16 = 0x10;
    const POLLNVAL: u16 = 0x20;
    if fd < 0 {
        return 0;
    }
    let Ok(f) = p.fds.get(fd) else {
        return POLLNVAL;
    };
    let f = f.borrow();
    match &f.kind {
        FileKind::PipeRead(pp) => {
            let pp = pp.borrow();
            let mut r = 0;
            if !pp.buf.is_empty() {
                r |= events & POLLIN;
            }
            if pp.writers == 0 {
                r |= POLLHUP | (events & POLLIN);
            }
            r
        }
        FileKind::PipeWrite(pp) => {
            let pp = pp.borrow();
            if pp.readers == 0 {
                POLLERR | (events & POLLOUT)
            } else if pp.space() >= PIPE_BUF {
                events & POLLOUT
            } else {
                0
            }
        }
        FileKind::Console(Console::Stdin) | FileKind::Dev(DevKind::Tty) if !console_in => {
            events & POLLOUT
        }
        _ => events & (POLLIN | POLLOUT),
    }
}

impl Machine {
    /// Calls handled here rather than by `syscalls::dispatch`; None for the others.
    pub fn machine_syscall(&mut self, i: usize, sys: Sys, a: [u64; 6]) -> Option<Outcome> {
        use Sys::*;
        Some(match sys {
            Fork => self.fork(i, u64::from(SIGCHLD as u32), 0, [0; 3]),
            Vfork => self.fork(i, CLONE_VM | CLONE_VFORK | SIGCHLD as u64, 0, [0; 3]),
            // x86_64 clone(flags, stack, parent_tid, child_tid, tls); asm-generic puts tls
            // before child_tid.
            Clone => match self.procs[i].cpu.arch {
                crate::cpu::Arch::X86_64 => self.fork(i, a[0], a[1], [a[2], a[3], a[4]]),
                _ => self.fork(i, a[0], a[1], [a[2], a[4], a[3]]),
            },
            // glibc falls back to clone when clone3 is missing.
            Clone3 => err(Errno::ENOSYS),
            Execve => self.execve(i, crate::syscalls::file::AT_FDCWD as u64, a[0], a[1], a[2]),
            Execveat => self.execve(i, a[0], a[1], a[2], a[3]),
            Wait4 => self.wait4(i, a[0] as i32, a[1], a[2]),
            Waitid => self.waitid(i, a),
            Kill => self.kill_sys(i, a[0] as i32, a[1] as i32),
            Tkill => self.kill_sys(i, a[0] as i32, a[1] as i32),
            Tgkill => self.kill_sys(i, a[1] as i32, a[2] as i32),
            Pipe => self.pipe(i, a[0], 0),
            Pipe2 => self.pipe(i, a[0], a[1]),
            Read | Readv | Write | Writev if self.is_pipe(i, a[0] as i32) => {
                self.pipe_io(i, sys, a)
            }
            Read | Readv if self.console_empty(i, a[0] as i32) => self.console_wait(i, a[0]),
            Sendfile if self.console_empty(i, a[1] as i32) => self.console_wait(i, a[1]),
            Sendfile => self.sendfile(i, a),
            Poll => self.poll(i, a[0], a[1], (a[2] as i32 >= 0).then(|| a[2] * 1_000_000)),
            Ppoll => {
                let t = if a[2] == 0 {
                    None
                } else {
                    let ts = self.procs[i].cpu.read(a[2], 16).ok()?;
                    let s = u64::from_le_bytes(ts[..8].try_into().ok()?);
                    let ns = u64::from_le_bytes(ts[8..].try_into().ok()?);
                    Some(s * 1_000_000_000 + ns)
                };
                self.poll(i, a[0], a[1], t)
            }
            RtSigreturn => {
                self.sigreturn(i);
                Outcome::NoReturn
            }
            Pause => Outcome::Block(Wait::Signal),
            RtSigsuspend => {
                let p = &mut self.procs[i];
                match p.cpu.read_u64(a[0]) {
                    Ok(m) => {
                        p.saved_mask = Some(p.sigmask);
                        p.sigmask = m & !signal::UNBLOCKABLE;
                        Outcome::Block(Wait::Signal)
                    }
                    Err(e) => err(e),
                }
            }
            Nanosleep => self.sleep(i, 0, 0, a[0]),
            ClockNanosleep => self.sleep(i, a[0], a[1], a[2]),
            Alarm => {
                let now = self.k.clock.ns;
                let p = &mut self.procs[i];
                let left = p
                    .alarm_ns
                    .map(|d| d.saturating_sub(now).div_ceil(1_000_000_000))
                    .unwrap_or(0);
                p.alarm_ns = (a[0] > 0).then(|| now + a[0] * 1_000_000_000);
                ok(left)
            }
            Setitimer => self.setitimer(i, a),
            Getitimer => self.setitimer(i, [a[0], 0, a[1], 0, 0, 0]),
            Setpgid => self.setpgid(i, a[0] as i32, a[1] as i32),
            Getpgid => self.getpgid(i, a[0] as i32, false),
            Getsid => self.getpgid(i, a[0] as i32, true),
            Setsid => {
                let pid = self.procs[i].pid.0;
                if self.procs.iter().any(|q| q.pgid == pid && q.pid.0 != pid) {
                    return Some(err(Errno::EPERM));
                }
                let p = &mut self.procs[i];
                p.sid = pid;
                p.pgid = pid;
                ok(u64::from(pid))
            }
            _ => return None,
        })
    }

    fn is_pipe(&self, i: usize, fd: i32) -> bool {
        self.procs[i].fds.get(fd).is_ok_and(|f| {
            matches!(
                f.borrow().kind,
                FileKind::PipeRead(_) | FileKind::PipeWrite(_)
            )
        })
    }

    fn fork(&mut self, i: usize, flags: u64, stack: u64, tids: [u64; 3]) -> Outcome {
        if flags & CLONE_THREAD != 0 {
            if !self.warned_threads {
                self.warned_threads = true;
                let _ = writeln!(
                    self.k.console.stderr,
                    "glass: threads (clone with CLONE_THREAD) are not supported yet; returning EINVAL"
                );
            }
            return err(Errno::EINVAL);
        }
        let parent = &self.procs[i];
        let (image, arch, text) = (
            parent.image.clone(),
            parent.cpu.arch,
            parent.vm.text_ranges(),
        );
        let reuse = if parent.cpu.text_pristine {
            self.take_engine(&image, arch, Some(&text))
        } else {
            None
        };
        let (mut cpu, kept) = match reuse {
            Some(x) => x,
            None => match crate::cpu::Cpu::new(arch) {
                Ok(c) => (c, Vec::new()),
                Err(_) => return err(Errno::ENOMEM),
            },
        };
        let parent = &self.procs[i];
        if parent.vm.copy_into(&parent.cpu, &mut cpu, &kept).is_err() {
            return err(Errno::ENOMEM);
        }
        cpu.copy_regs_from(&parent.cpu);
        let (lo, min) = parent.cpu.stack_bounds();
        cpu.set_stack_bounds(lo, min);
        cpu.set_syscall_ret(0);
        if stack != 0 {
            cpu.set_sp(stack);
        }
        if flags & CLONE_SETTLS != 0 {
            cpu.set_tls(tids[2]);
        }
        let pid = Pid(self.next_pid);
        self.next_pid += 1;
        let parent = &self.procs[i];
        let mut p9 = parent.p9.clone();
        p9.notes.clear();
        p9.args_text = None;
        p9.waitq.clear();
        p9.syscall_text.clear();
        p9.waiter = false;
        p9.trace = crate::debug::Trace::None;
        let child = Process {
            pid,
            ppid: parent.pid,
            pgid: parent.pgid,
            sid: parent.sid,
            name: parent.name.clone(),
            args: parent.args.clone(),
            exe: parent.exe.clone(),
            cpu,
            vm: parent.vm.clone(),
            fds: parent.fds.clone(),
            cwd: parent.cwd.clone(),
            umask: parent.umask,
            rlimits: parent.rlimits,
            state: PState::Ready,
            sigactions: parent.sigactions.clone(),
            sigmask: parent.sigmask,
            blocks: 0,
            syscalls: 0,
            start_ns: self.k.clock.ns,
            last_trap: 64,
            image: parent.image.clone(),
            p9,
            retry: None,
            sig_pending: 0,
            saved_mask: None,
            fp_stack: parent.fp_stack.clone(),
            stop_req: false,
            stop_unreported: None,
            in_vfork: flags & CLONE_VFORK != 0,
            alarm_ns: None,
            sys_entry: None,
        };
        let mut child = child;
        if flags & CLONE_CHILD_SETTID != 0 {
            let _ = child.cpu.write_u32(tids[1], pid.0);
        }
        if flags & CLONE_PARENT_SETTID != 0 {
            let _ = self.procs[i].cpu.write_u32(tids[0], pid.0);
        }
        let _ = flags & CLONE_VM; // vfork's child gets a copy; see README (vfork).
        self.procs.push(child);
        if flags & CLONE_VFORK != 0 {
            Outcome::Block(Wait::Vfork(pid))
        } else {
            ok(u64::from(pid.0))
        }
    }

    fn read_str_array(p: &Process, mut addr: u64, total: &mut usize) -> Result<Vec<String>, Errno> {
        let mut out = Vec::new();
        if addr == 0 {
            return Ok(out);
        }
        loop {
            let ptr = p.cpu.read_u64(addr)?;
            if ptr == 0 {
                return Ok(out);
            }
            let s = p.cpu.read_cstr(ptr, ARG_MAX)?;
            // Linux (fs/exec.c): one string at most MAX_ARG_STRLEN, and the strings with
            // their pointers within a quarter of the stack limit.
            if s.len() + 1 > MAX_ARG_STRLEN {
                return Err(Errno::E2BIG);
            }
            *total += s.len() + 1 + 8;
            if *total > ARG_MAX {
                return Err(Errno::E2BIG);
            }
            out.push(String::from_utf8_lossy(&s).into_owned());
            addr += 8;
        }
    }

    fn execve(&mut self, i: usize, dirfd: u64, path: u64, argv: u64, envp: u64) -> Outcome {
        let p = &self.procs[i];
        let path = match crate::syscalls::file::guest_path(p, path) {
            Ok(s) => s,
            Err(e) => return err(e),
        };
        let mut total = 0;
        let (mut args, env) = match (
            Self::read_str_array(p, argv, &mut total),
            Self::read_str_array(p, envp, &mut total),
        ) {
            (Ok(a), Ok(e)) => (a, e),
            (Err(e), _) | (_, Err(e)) => return err(e),
        };
        if args.is_empty() {
            args.push(path.clone());
        }
        let _ = dirfd;
        let mut target = crate::vfs::absolute(&p.cwd, &path);
        // /proc/self/exe names the caller's own program (proc(5)); busybox's shell re-execs
        // itself through it to run an applet. Without this the exec failed with ENOENT and the
        // shell fell back to PATH, which can find another program (an arm64 busybox ran
        // /bin/busybox, the x86_64 one).
        let self_exe = target == "/proc/self/exe" || target == format!("/proc/{}/exe", p.pid.0);
        if self_exe {
            target = p.exe.clone();
        }
        // Follow `#!` interpreters (binfmt_script), at most a few levels.
        let mut image: std::sync::Arc<[u8]> = std::sync::Arc::from(Vec::new());
        let mut canon = String::new();
        for depth in 0..5 {
            let r = match self.k.vfs.resolve(&target, true) {
                Ok(r) => r,
                Err(e) => return err(e),
            };
            match &r.node {
                crate::vfs::Node::HostDir(_) | crate::vfs::Node::MemDir => {
                    return err(Errno::EACCES)
                }
                crate::vfs::Node::Dev(_) => return err(Errno::EACCES),
                _ => {}
            }
            // execve(2): EACCES when the file has no execute permission (root included). A
            // shell turns that into status 126; without the check a data file was read as a
            // script (ENOEXEC) and the shell ran its lines as commands (127).
            match self.k.vfs.stat(&r) {
                Ok(st) if st.mode & 0o111 != 0 => {}
                _ => return err(Errno::EACCES),
            }
            let (c, bytes) =
                match crate::machine::read_guest_file(&self.k.vfs, &mut self.k.images, &target) {
                    Ok(x) => x,
                    Err(_) => return err(Errno::EACCES),
                };
            if bytes.starts_with(b"#!") && depth < 4 {
                let line = bytes[2..].split(|&b| b == b'\n').next().unwrap_or(&[]);
                let line = String::from_utf8_lossy(line);
                let mut parts = line.trim().splitn(2, [' ', '\t']);
                let interp = parts.next().unwrap_or("").to_string();
                if interp.is_empty() {
                    return err(Errno::ENOEXEC);
                }
                let mut new_args = vec![interp.clone()];
                if let Some(arg) = parts.next().map(str::trim).filter(|s| !s.is_empty()) {
                    new_args.push(arg.to_string());
                }
                new_args.push(path.clone());
                new_args.extend(args.iter().skip(1).cloned());
                args = new_args;
                target = interp;
                continue;
            }
            image = bytes;
            canon = c;
            break;
        }
        let elf = match crate::loader::parse(&image) {
            Ok(e) => e,
            Err(e) => {
                if matches!(
                    e,
                    crate::loader::LoadError::Dynamic(_)
                        | crate::loader::LoadError::UnsupportedMachine(_)
                ) {
                    let _ = writeln!(self.k.console.stderr, "glass: exec {target}: {e}");
                }
                return err(Errno::ENOEXEC);
            }
        };
        // An engine that already holds this program's text: the caller's own when it execs
        // the program it runs, else one from the pool, else a new one.
        let (old_image, old_text) = (self.procs[i].image.clone(), self.procs[i].vm.text_ranges());
        let same = std::sync::Arc::ptr_eq(&old_image, &image)
            && self.procs[i].cpu.arch == elf.arch
            && self.procs[i].cpu.text_pristine;
        let fresh = if same {
            None
        } else {
            match self.take_engine(&image, elf.arch, None) {
                Some(x) => Some(x),
                None => match crate::cpu::Cpu::new(elf.arch) {
                    Ok(c) => Some((c, Vec::new())),
                    Err(e) => {
                        let _ = writeln!(self.k.console.stderr, "glass: exec {target}: {e}");
                        return err(Errno::ENOEXEC);
                    }
                },
            }
        };
        let mut vm = crate::vm::AddressSpace::default();
        let mut random = [0u8; 16];
        self.k.rng.fill(&mut random);
        match fresh {
            None => {
                // Same program: strip the caller's engine in place (past the point of no
                // return, as Linux's exec is once the old image is being torn down).
                let p = &mut self.procs[i];
                if p.cpu.strip_to(&old_text).is_err() {
                    return err(Errno::ENOMEM);
                }
                let start = match crate::loader::load(
                    &mut p.cpu, &mut vm, &elf, &image, &args, &env, &canon, &random, &old_text,
                ) {
                    Ok(s) => s,
                    Err(e) => {
                        // The old image is gone: no process to return to. Linux kills it
                        // with SIGSEGV here.
                        let _ = writeln!(self.k.console.stderr, "glass: exec {target}: {e}");
                        self.kill(i, ExitStatus::Signal(crate::sched::SIGSEGV));
                        return Outcome::NoReturn;
                    }
                };
                p.cpu.set_pc(start.entry);
                p.cpu.set_sp(start.sp);
            }
            Some((mut cpu, keep)) => {
                let start = match crate::loader::load(
                    &mut cpu, &mut vm, &elf, &image, &args, &env, &canon, &random, &keep,
                ) {
                    Ok(s) => s,
                    Err(_) => return err(Errno::ENOEXEC),
                };
                cpu.set_pc(start.entry);
                cpu.set_sp(start.sp);
                let old_cpu = std::mem::replace(&mut self.procs[i].cpu, cpu);
                self.retire(old_cpu, old_image, old_text);
            }
        }
        self.procs[i].vm = vm;
        let p = &mut self.procs[i];
        // The status name is the program's base name as exec'd; a re-exec through
        // /proc/self/exe (busybox running an applet) is named by its argv[0] instead, so
        // /proc shows `tr`, not `exe`.
        let shown = if self_exe {
            args.first().map(String::as_str).unwrap_or(&path)
        } else {
            path.as_str()
        };
        p.name = shown.rsplit('/').next().unwrap_or(shown).to_string();
        p.args = args;
        p.exe = canon;
        p.image = image;
        p.fds.close_on_exec();
        for a in p.sigactions.iter_mut() {
            if a.handler != 1 {
                *a = Default::default();
            }
        }
        p.fp_stack.clear();
        p.saved_mask = None;
        p.p9.args_text = None;
        p.p9.private = false;
        p.in_vfork = false;
        if p.p9.hang {
            // ctl hang: stop before the new program's first instruction.
            p.state = PState::Stopped;
        }
        Outcome::NoReturn
    }

    /// Does a child of slot `i` match wait4's pid selector?
    fn child_matches(&self, i: usize, c: &Process, sel: i32) -> bool {
        let me = &self.procs[i];
        c.ppid == me.pid
            && match sel {
                -1 => true,
                0 => c.pgid == me.pgid,
                s if s > 0 => c.pid.0 == s as u32,
                s => c.pgid == s.unsigned_abs(),
            }
    }

    /// Find a reportable child: (slot, status word, reap?).
    fn reportable_child(
        &self,
        i: usize,
        sel: i32,
        options: u64,
    ) -> Result<Option<(usize, u32, bool)>, Errno> {
        let mut any = false;
        for (ci, c) in self.procs.iter().enumerate() {
            if !self.child_matches(i, c, sel) {
                continue;
            }
            any = true;
            match c.state {
                PState::Zombie(ExitStatus::Code(code)) => {
                    return Ok(Some((ci, ((code as u32) & 0xff) << 8, true)))
                }
                PState::Zombie(ExitStatus::Signal(s)) => {
                    return Ok(Some((ci, (s as u32) & 0x7f, true)))
                }
                _ => {}
            }
            match c.stop_unreported {
                Some(signal::SIGCONT) if options & WCONTINUED != 0 => {
                    return Ok(Some((ci, 0xffff, false)))
                }
                Some(s) if s != signal::SIGCONT && options & WUNTRACED != 0 => {
                    return Ok(Some((ci, ((s as u32) << 8) | 0x7f, false)))
                }
                _ => {}
            }
        }
        if any {
            Ok(None)
        } else {
            Err(Errno::ECHILD)
        }
    }

    fn wait4(&mut self, i: usize, sel: i32, status: u64, options: u64) -> Outcome {
        match self.reportable_child(i, sel, options) {
            Err(e) => err(e),
            Ok(None) if options & WNOHANG != 0 => ok(0),
            Ok(None) => Outcome::Block(Wait::Child),
            Ok(Some((ci, word, reap))) => {
                let cpid = self.procs[ci].pid.0;
                if status != 0 && self.procs[i].cpu.write_u32(status, word).is_err() {
                    return err(Errno::EFAULT);
                }
                if reap {
                    self.reap(ci);
                } else {
                    self.procs[ci].stop_unreported = None;
                }
                ok(u64::from(cpid))
            }
        }
    }

    /// waitid(idtype, id, infop, options): P_ALL 0, P_PID 1, P_PGID 2; WEXITED 4.
    fn waitid(&mut self, i: usize, a: [u64; 6]) -> Outcome {
        let sel = match a[0] {
            0 => -1,
            1 => a[1] as i32,
            2 => -(a[1] as i32),
            _ => return err(Errno::EINVAL),
        };
        let options = a[3];
        let wuntraced = if options & 2 != 0 { WUNTRACED } else { 0 };
        match self.reportable_child(i, sel, wuntraced | (options & WCONTINUED)) {
            Err(e) => err(e),
            Ok(None) if options & WNOHANG != 0 => {
                if a[2] != 0 {
                    let _ = self.procs[i].cpu.write(a[2], &[0u8; 128]);
                }
                ok(0)
            }
            Ok(None) => Outcome::Block(Wait::Child),
            Ok(Some((ci, word, reap))) => {
                let c = &self.procs[ci];
                // siginfo_t for SIGCHLD: signo, errno, code (CLD_EXITED 1, CLD_KILLED 2,
                // CLD_STOPPED 5, CLD_CONTINUED 6), pid, uid, status.
                let (code, st) = match c.state {
                    PState::Zombie(ExitStatus::Code(x)) => (1, x),
                    PState::Zombie(ExitStatus::Signal(s)) => (2, s),
                    _ if word == 0xffff => (6, signal::SIGCONT),
                    _ => (5, (word >> 8) as i32),
                };
                let mut info = [0u8; 128];
                info[0..4].copy_from_slice(&SIGCHLD.to_le_bytes());
                info[8..12].copy_from_slice(&i32::to_le_bytes(code));
                info[16..20].copy_from_slice(&c.pid.0.to_le_bytes());
                info[24..28].copy_from_slice(&st.to_le_bytes());
                if a[2] != 0 && self.procs[i].cpu.write(a[2], &info).is_err() {
                    return err(Errno::EFAULT);
                }
                const WNOWAIT: u64 = 0x0100_0000;
                if options & WNOWAIT == 0 {
                    if reap {
                        self.reap(ci);
                    } else {
                        self.procs[ci].stop_unreported = None;
                    }
                }
                ok(0)
            }
        }
    }

    /// Remove a zombie from the process table.
    pub fn reap(&mut self, ci: usize) {
        let p = self.procs.remove(ci);
        if let Some(p) = self.keep_broken(p) {
            let text = p.vm.text_ranges();
            self.retire(p.cpu, p.image, text);
        }
        if self.cursor > ci {
            self.cursor -= 1;
        }
    }

    fn kill_sys(&mut self, i: usize, pid: i32, sig: i32) -> Outcome {
        if !(0..=64).contains(&sig) {
            return err(Errno::EINVAL);
        }
        let me = &self.procs[i];
        let (my_pid, my_pgid) = (me.pid.0, me.pgid);
        let targets: Vec<usize> = self
            .procs
            .iter()
            .enumerate()
            .filter(|(_, q)| !q.state.is_zombie())
            .filter(|(_, q)| match pid {
                p if p > 0 => q.pid.0 == p as u32,
                0 => q.pgid == my_pgid,
                -1 => q.pid.0 != 1 && q.pid.0 != my_pid,
                p => q.pgid == p.unsigned_abs(),
            })
            .map(|(ti, _)| ti)
            .collect();
        if targets.is_empty() {
            return err(Errno::ESRCH);
        }
        if sig != 0 {
            for t in targets {
                self.post_signal(t, sig);
            }
        }
        ok(0)
    }

    fn pipe(&mut self, i: usize, fds: u64, flags: u64) -> Outcome {
        if flags & !(u64::from(O_CLOEXEC | O_NONBLOCK)) != 0 {
            return err(Errno::EINVAL);
        }
        let id = self.next_pipe;
        self.next_pipe += 1;
        let pp = pipe::new_pipe(id);
        let nb = flags as u32 & O_NONBLOCK;
        let r = OpenFile::new(
            FileKind::PipeRead(pp.clone()),
            format!("pipe:[{id}]"),
            O_RDONLY | nb,
        );
        let w = OpenFile::new(
            FileKind::PipeWrite(pp),
            format!("pipe:[{id}]"),
            O_WRONLY | nb,
        );
        let p = &mut self.procs[i];
        let cloexec = flags & u64::from(O_CLOEXEC) != 0;
        let rfd = match p.fds.install(r, cloexec, 0) {
            Ok(fd) => fd,
            Err(e) => return err(e),
        };
        let wfd = match p.fds.install(w, cloexec, 0) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = p.fds.close(rfd);
                return err(e);
            }
        };
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&rfd.to_le_bytes());
        b[4..].copy_from_slice(&wfd.to_le_bytes());
        match p.cpu.write(fds, &b) {
            Ok(()) => ok(0),
            Err(e) => err(e),
        }
    }

    /// `fd` reads the console, which is served by the reader thread and has nothing yet.
    fn console_empty(&self, i: usize, fd: i32) -> bool {
        let Some(ci) = &self.k.console_in else {
            return false;
        };
        if ci.readable() {
            return false;
        }
        self.procs[i].fds.get(fd).is_ok_and(|f| {
            let f = f.borrow();
            f.readable()
                && matches!(
                    f.kind,
                    FileKind::Console(Console::Stdin) | FileKind::Dev(DevKind::Tty)
                )
        })
    }

    /// A read of the empty console: wait for input like a pipe read (EAGAIN if O_NONBLOCK).
    fn console_wait(&mut self, i: usize, fd: u64) -> Outcome {
        self.start_console_reader();
        match self.procs[i].fds.get(fd as i32) {
            Ok(f) if f.borrow().flags & O_NONBLOCK != 0 => err(Errno::EAGAIN),
            _ => Outcome::Block(Wait::Console),
        }
    }

    /// read/readv/write/writev on a pipe: may block (or EAGAIN with O_NONBLOCK).
    fn pipe_io(&mut self, i: usize, sys: Sys, a: [u64; 6]) -> Outcome {
        let p = &mut self.procs[i];
        let Ok(f) = p.fds.get(a[0] as i32) else {
            return err(Errno::EBADF);
        };
        let f = f.borrow();
        let nonblock = f.flags & O_NONBLOCK != 0;
        // (address, length) pieces of the user buffer.
        let pieces: Vec<(u64, u64)> = match sys {
            Sys::Read | Sys::Write => vec![(a[1], a[2])],
            _ => {
                if a[2] > 1024 {
                    return err(Errno::EINVAL);
                }
                let raw = match p.cpu.read(a[1], a[2] as usize * 16) {
                    Ok(r) => r,
                    Err(e) => return err(e),
                };
                raw.chunks_exact(16)
                    .map(|c| {
                        let w =
                            |o: usize| u64::from_le_bytes(c[o..o + 8].try_into().unwrap_or([0; 8]));
                        (w(0), w(8))
                    })
                    .collect()
            }
        };
        let want: u64 = pieces.iter().map(|x| x.1).sum();
        match (&f.kind, sys) {
            (FileKind::PipeRead(pp), Sys::Read | Sys::Readv) => {
                let mut pp = pp.borrow_mut();
                if want == 0 {
                    return ok(0);
                }
                if pp.buf.is_empty() {
                    if pp.writers == 0 {
                        return ok(0);
                    }
                    if nonblock {
                        return err(Errno::EAGAIN);
                    }
                    return Outcome::Block(Wait::PipeRead(match &f.kind {
                        FileKind::PipeRead(x) => x.clone(),
                        _ => return err(Errno::EBADF),
                    }));
                }
                let mut done = 0u64;
                for (addr, len) in pieces {
                    let n = (len as usize).min(pp.buf.len());
                    let bytes: Vec<u8> = pp.buf.drain(..n).collect();
                    if let Err(e) = p.cpu.write(addr, &bytes) {
                        return if done > 0 { ok(done) } else { err(e) };
                    }
                    done += n as u64;
                    if pp.buf.is_empty() {
                        break;
                    }
                }
                ok(done)
            }
            (FileKind::PipeWrite(pp), Sys::Write | Sys::Writev) => {
                let mut pp_ = pp.borrow_mut();
                if pp_.readers == 0 {
                    drop(pp_);
                    drop(f);
                    self.post_signal(i, SIGPIPE);
                    return err(Errno::EPIPE);
                }
                let space = pp_.space();
                // Writes of at most PIPE_BUF are atomic: wait for room for all of them.
                let need = if want as usize <= PIPE_BUF {
                    want as usize
                } else {
                    1
                };
                if space < need {
                    if nonblock {
                        return err(Errno::EAGAIN);
                    }
                    return Outcome::Block(Wait::PipeWrite(pp.clone()));
                }
                let mut done = 0usize;
                for (addr, len) in pieces {
                    let n = (len as usize).min(space - done);
                    match p.cpu.read(addr, n) {
                        Ok(bytes) => pp_.buf.extend(bytes),
                        Err(e) => return if done > 0 { ok(done as u64) } else { err(e) },
                    }
                    done += n;
                    if done == space {
                        break;
                    }
                }
                ok(done as u64)
            }
            _ => err(Errno::EBADF),
        }
    }

    /// sendfile(out, in, offset*, count): copy through the kernel; a pipe as `out` takes
    /// only what fits, so nothing read is ever lost.
    fn sendfile(&mut self, i: usize, a: [u64; 6]) -> Outcome {
        let (out_fd, in_fd, offp, count) = (a[0] as i32, a[1] as i32, a[2], a[3] as usize);
        let p = &mut self.procs[i];
        let (Ok(out), Ok(inp)) = (p.fds.get(out_fd), p.fds.get(in_fd)) else {
            return err(Errno::EBADF);
        };
        let mut limit = count.min(1 << 20);
        let out_pipe = match &out.borrow().kind {
            FileKind::PipeWrite(pp) => Some(pp.clone()),
            FileKind::PipeRead(_) => return err(Errno::EBADF),
            _ => None,
        };
        if let Some(pp) = &out_pipe {
            let (readers, space) = (pp.borrow().readers, pp.borrow().space());
            if readers == 0 {
                self.post_signal(i, SIGPIPE);
                return err(Errno::EPIPE);
            }
            if space == 0 {
                return Outcome::Block(Wait::PipeWrite(pp.clone()));
            }
            limit = limit.min(space);
        }
        if matches!(
            inp.borrow().kind,
            FileKind::PipeRead(_) | FileKind::PipeWrite(_)
        ) {
            return err(Errno::EINVAL);
        }
        let p = &mut self.procs[i];
        let at = if offp != 0 {
            match p.cpu.read_u64(offp) {
                Ok(o) => Some(o),
                Err(e) => return err(e),
            }
        } else {
            None
        };
        let data =
            match crate::syscalls::file::do_read(&mut self.k, &mut inp.borrow_mut(), limit, at) {
                Ok(d) => d,
                Err(e) => return err(e),
            };
        if let (Some(o), true) = (at, offp != 0) {
            let _ = p.cpu.write_u64(offp, o + data.len() as u64);
        }
        match out_pipe {
            Some(pp) => {
                pp.borrow_mut().buf.extend(data.iter().copied());
                ok(data.len() as u64)
            }
            None => match crate::syscalls::file::do_write(
                &mut self.k,
                &mut out.borrow_mut(),
                &data,
                None,
            ) {
                Ok(n) => ok(n as u64),
                Err(e) => err(e),
            },
        }
    }

    fn poll(&mut self, i: usize, fds: u64, n: u64, timeout_ns: Option<u64>) -> Outcome {
        if n > 1024 {
            return err(Errno::EINVAL);
        }
        // The set may hold the console, which needs its reader running to become ready.
        if self.k.console_in.is_some() {
            self.start_console_reader();
        }
        let console_in = self.k.console_in.as_ref().is_none_or(|c| c.readable());
        let p = &mut self.procs[i];
        let mut raw = match p.cpu.read(fds, n as usize * 8) {
            Ok(r) => r,
            Err(e) => return err(e),
        };
        let mut ready = 0;
        let mut set = Vec::new();
        for c in raw.chunks_exact_mut(8) {
            let fd = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let events = u16::from_le_bytes([c[4], c[5]]);
            let re = ready_events(p, fd, events, console_in);
            c[6..8].copy_from_slice(&re.to_le_bytes());
            if re != 0 {
                ready += 1;
            }
            set.push((fd, events));
        }
        if ready > 0 || timeout_ns == Some(0) {
            return match p.cpu.write(fds, &raw) {
                Ok(()) => ok(ready),
                Err(e) => err(e),
            };
        }
        let deadline = timeout_ns.map(|t| self.k.clock.ns + t);
        Outcome::Block(Wait::Poll(set, deadline))
    }

    /// Is any fd of a blocked poll ready?
    pub fn poll_ready(&self, i: usize, set: &[(i32, u16)]) -> bool {
        let console_in = self.k.console_in.as_ref().is_none_or(|c| c.readable());
        set.iter()
            .any(|&(fd, ev)| ready_events(&self.procs[i], fd, ev, console_in) != 0)
    }

    fn sleep(&mut self, i: usize, clock: u64, flags: u64, req: u64) -> Outcome {
        let p = &self.procs[i];
        let b = match p.cpu.read(req, 16) {
            Ok(b) => b,
            Err(e) => return err(e),
        };
        let sec = i64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
        let nsec = i64::from_le_bytes(b[8..].try_into().unwrap_or([0; 8]));
        if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
            return err(Errno::EINVAL);
        }
        let dur = (sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(nsec as u64);
        let now = match crate::syscalls::time::clock_ns(&self.k, p, clock) {
            Ok(n) => n,
            Err(e) => return err(e),
        };
        const TIMER_ABSTIME: u64 = 1;
        let wait = if flags & TIMER_ABSTIME != 0 {
            dur.saturating_sub(now)
        } else {
            dur
        };
        if wait == 0 {
            return ok(0);
        }
        Outcome::Block(Wait::Until(self.k.clock.ns.saturating_add(wait)))
    }

    /// setitimer(which, new, old) for ITIMER_REAL (0): one-shot alarms on virtual time
    /// (the interval is not re-armed).
    fn setitimer(&mut self, i: usize, a: [u64; 6]) -> Outcome {
        if a[0] != 0 {
            return err(Errno::EINVAL);
        }
        let now = self.k.clock.ns;
        let p = &mut self.procs[i];
        if a[2] != 0 {
            let left = p.alarm_ns.map(|d| d.saturating_sub(now)).unwrap_or(0);
            let mut b = [0u8; 32];
            b[16..24].copy_from_slice(&(left / 1_000_000_000).to_le_bytes());
            b[24..32].copy_from_slice(&((left % 1_000_000_000) / 1000).to_le_bytes());
            if let Err(e) = p.cpu.write(a[2], &b) {
                return err(e);
            }
        }
        if a[1] != 0 {
            let b = match p.cpu.read(a[1], 32) {
                Ok(b) => b,
                Err(e) => return err(e),
            };
            let s = u64::from_le_bytes(b[16..24].try_into().unwrap_or([0; 8]));
            let us = u64::from_le_bytes(b[24..32].try_into().unwrap_or([0; 8]));
            let ns = s * 1_000_000_000 + us * 1000;
            p.alarm_ns = (ns > 0).then(|| now + ns);
        }
        ok(0)
    }

    fn setpgid(&mut self, i: usize, pid: i32, pgid: i32) -> Outcome {
        if pgid < 0 {
            return err(Errno::EINVAL);
        }
        let me = self.procs[i].pid;
        let target = if pid == 0 { me.0 } else { pid as u32 };
        let Some(ti) = self
            .procs
            .iter()
            .position(|q| q.pid.0 == target && !q.state.is_zombie())
        else {
            return err(Errno::ESRCH);
        };
        if target != me.0 && self.procs[ti].ppid != me {
            return err(Errno::ESRCH);
        }
        self.procs[ti].pgid = if pgid == 0 { target } else { pgid as u32 };
        ok(0)
    }

    fn getpgid(&mut self, i: usize, pid: i32, sid: bool) -> Outcome {
        let target = if pid == 0 {
            self.procs[i].pid.0
        } else {
            pid as u32
        };
        match self.procs.iter().find(|q| q.pid.0 == target) {
            Some(q) => ok(u64::from(if sid { q.sid } else { q.pgid })),
            None => err(Errno::ESRCH),
        }
    }

    /// Alarms that have come due raise SIGALRM.
    pub fn fire_alarms(&mut self) {
        let now = self.k.clock.ns;
        for i in 0..self.procs.len() {
            if self.procs[i].alarm_ns.is_some_and(|d| d <= now) {
                self.procs[i].alarm_ns = None;
                self.post_signal(i, signal::SIGALRM);
            }
        }
    }

    /// Signals pending for the guest that a wait4 caller may want to know about.
    pub fn has_pending(&self, i: usize, sig: i32) -> bool {
        self.procs[i].sig_pending & bit(sig) != 0
    }
}

use std::io::Write as _;
