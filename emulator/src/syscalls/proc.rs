//! Process system calls: fork, vfork and clone (processes; threads answer EINVAL), execve
//! (static ELF programs of any of the three arches, `#!` scripts), wait4 and waitid with
//! reaping, process groups and sessions, arch_prctl, resource limits (prlimit64(2)) and
//! system information (uname(2), sysinfo(2), getrusage(2), times(2), getrandom(2)).

use crate::cpu::{Arch, Cpu};
use crate::errno::{Errno, SysResult};
use crate::guestmem::{le64, GuestMem};
use crate::machine::{ExitStatus, Group, Kernel, Machine, PState, Pid, Space, Task, Wait};
use crate::param;
use crate::signal::{SIGCHLD, SIGCONT, SIGSEGV};
use crate::syscalls::{Cx, Outcome};
use std::io::Write as _;
use std::sync::Arc;

/// clone(2) flags (include/uapi/linux/sched.h).
const CSIGNAL: u64 = 0xff;
const CLONE_VM: u64 = 0x100;
const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_SYSVSEM: u64 = 0x40000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_DETACHED: u64 = 0x400000;
const CLONE_CHILD_SETTID: u64 = 0x0100_0000;
/// The flags a new thread may carry (glibc's pthread_create, Go's newosproc, musl).
const THREAD_FLAGS: u64 = CLONE_VM
    | CLONE_FS
    | CLONE_FILES
    | CLONE_SIGHAND
    | CLONE_THREAD
    | CLONE_SYSVSEM
    | CLONE_SETTLS
    | CLONE_PARENT_SETTID
    | CLONE_CHILD_CLEARTID
    | CLONE_CHILD_SETTID
    | CLONE_DETACHED;
/// fork(2) is clone with SIGCHLD as the exit signal.
pub const SIGCHLD_EXIT: u64 = SIGCHLD as u64;
/// vfork(2) is clone(CLONE_VM | CLONE_VFORK | SIGCHLD).
pub const VFORK_FLAGS: u64 = CLONE_VM | CLONE_VFORK | SIGCHLD as u64;
const WNOHANG: u64 = 1;
const WUNTRACED: u64 = 2;
const WCONTINUED: u64 = 8;
const WNOWAIT: u64 = 0x0100_0000;
/// waitid idtypes (P_ALL, P_PID, P_PGID) and its WSTOPPED option.
const P_ALL: u64 = 0;
const P_PID: u64 = 1;
const P_PGID: u64 = 2;
const WSTOPPED: u64 = 2;
/// siginfo si_code of SIGCHLD (asm-generic/siginfo.h).
const CLD_EXITED: i32 = 1;
const CLD_KILLED: i32 = 2;
const CLD_STOPPED: i32 = 5;
const CLD_CONTINUED: i32 = 6;
/// The status word of a continued child (WIFCONTINUED).
const WCONTINUED_WORD: u32 = 0xffff;
/// Longest argv+envp we copy (Linux ARG_MAX with the default stack limit is 2 MiB).
const ARG_MAX: usize = 2 << 20;
/// Longest single argument or environment string, NUL included (32 pages).
const MAX_ARG_STRLEN: usize = 32 * 4096;
/// arch_prctl codes (arch/x86/include/uapi/asm/prctl.h).
const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;

/// arch_prctl(code, addr) on x86_64: set or read FS_BASE (the TLS pointer).
pub fn arch_prctl(m: &mut Machine, tid: Pid, a: [u64; 6]) -> SysResult<u64> {
    let cpu = m.cpu_of(tid).ok_or(Errno::ESRCH)?;
    if cpu.arch != Arch::X86_64 {
        return Err(Errno::ENOSYS);
    }
    match a[0] {
        ARCH_SET_FS => {
            cpu.set_tls(a[1]);
            Ok(0)
        }
        ARCH_GET_FS => {
            let fs = cpu.tls();
            cpu.write_u64(a[1], fs)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// prlimit64(pid, resource, new, old): the old limits are written first, then the new ones
/// take effect (a soft limit above the hard one is EINVAL). The guest is root, so it may
/// raise its hard limits too.
pub fn prlimit64(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let res = usize::try_from(a[1]).map_err(|_| Errno::EINVAL)?;
    if res >= param::RLIM_NLIMITS {
        return Err(Errno::EINVAL);
    }
    let new = if a[2] != 0 {
        let b = cx.mem.read(a[2], 16)?;
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
        let (cur, max) = cx.g.rlimits[res];
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&cur.to_le_bytes());
        b[8..].copy_from_slice(&max.to_le_bytes());
        cx.mem.write(a[3], &b)?;
    }
    if let Some(l) = new {
        // RLIMIT_NOFILE may not exceed fs.nr_open (setrlimit(2): EPERM).
        if res == crate::limits::RLIMIT_NOFILE && l.1 > param::NR_OPEN {
            return Err(Errno::EPERM);
        }
        cx.g.rlimits[res] = l;
        if res == crate::limits::RLIMIT_NOFILE {
            cx.g.fds.set_limit(l.0);
        }
    }
    Ok(0)
}

/// uname(2): struct utsname, six 65-byte fields.
pub fn uname(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let machine = crate::cpu::arch_name(cx.arch);
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
    cx.mem.write(a[0], &b)?;
    Ok(0)
}

/// sysinfo(2): struct sysinfo (112 bytes on 64-bit), a 1 GiB machine.
pub fn sysinfo(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let mut b = vec![0u8; 112];
    let up = cx.k.clock.ns / 1_000_000_000;
    b[0..8].copy_from_slice(&up.to_le_bytes());
    b[32..40].copy_from_slice(&param::MEM_TOTAL.to_le_bytes()); // totalram
    b[40..48].copy_from_slice(&param::MEM_FREE.to_le_bytes()); // freeram
    b[80..82].copy_from_slice(&1u16.to_le_bytes()); // procs
    b[104..108].copy_from_slice(&1u32.to_le_bytes()); // mem_unit
    cx.mem.write(a[0], &b)?;
    Ok(0)
}

fn timeval(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    b[8..].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_le_bytes());
    b
}

/// getrusage(2): struct rusage (144 bytes); user time is guest work, system time syscalls.
pub fn getrusage(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let mut b = vec![0u8; 144];
    b[..16].copy_from_slice(&timeval(cx.t.blocks * param::NS_PER_BLOCK));
    b[16..32].copy_from_slice(&timeval(cx.t.syscalls * param::NS_PER_SYSCALL));
    cx.mem.write(a[1], &b)?;
    Ok(0)
}

/// times(2): struct tms in clock ticks (100 Hz); returns ticks since boot.
pub fn times(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let tick = 10_000_000;
    if a[0] != 0 {
        let mut b = vec![0u8; 32];
        b[..8].copy_from_slice(&(cx.t.blocks * param::NS_PER_BLOCK / tick).to_le_bytes());
        b[8..16].copy_from_slice(&(cx.t.syscalls * param::NS_PER_SYSCALL / tick).to_le_bytes());
        cx.mem.write(a[0], &b)?;
    }
    Ok(cx.k.clock.ns / tick)
}

pub fn getrandom(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let len = (a[1] as usize).min(1 << 25);
    let mut b = vec![0u8; len];
    cx.k.rng.fill(&mut b);
    cx.mem.write(a[0], &b)?;
    Ok(len as u64)
}

/// clone(flags, stack, …): x86_64 passes (parent_tid, child_tid, tls); asm-generic puts
/// tls before child_tid.
pub fn clone(m: &mut Machine, tid: Pid, a: [u64; 6]) -> Outcome {
    match m.arch_of(tid) {
        Some(Arch::X86_64) => fork(m, tid, a[0], a[1], [a[2], a[3], a[4]]),
        _ => fork(m, tid, a[0], a[1], [a[2], a[4], a[3]]),
    }
}

/// clone3(args*, size): struct clone_args (include/uapi/linux/sched.h) {flags, pidfd,
/// child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
/// cgroup}; the same new process or thread as clone. pidfds, set_tid and cgroups are not
/// supported (EINVAL), and bytes past the fields known here must be zero (E2BIG).
pub fn clone3(m: &mut Machine, tid: Pid, a: [u64; 6]) -> Outcome {
    const CLONE_ARGS_SIZE_VER0: u64 = 64;
    const KNOWN: usize = 88;
    const CLONE_PIDFD: u64 = 0x1000;
    let (addr, size) = (a[0], a[1]);
    if size < CLONE_ARGS_SIZE_VER0 {
        return Errno::EINVAL.into();
    }
    if size > crate::param::PAGE_SIZE {
        return Errno::E2BIG.into();
    }
    let Some(cpu) = m.cpu_of(tid) else {
        return Errno::ESRCH.into();
    };
    let raw = match cpu.read(addr, size as usize) {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    if raw.iter().skip(KNOWN).any(|&b| b != 0) {
        return Errno::E2BIG.into();
    }
    let mut f = [0u64; 11];
    for (i, w) in f.iter_mut().enumerate() {
        *w = raw.get(i * 8..i * 8 + 8).map_or(0, le64);
    }
    let [flags, _pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup] =
        f;
    if flags & (CLONE_PIDFD | CSIGNAL) != 0
        || exit_signal > CSIGNAL
        || set_tid != 0
        || set_tid_size != 0
        || cgroup != 0
    {
        return Errno::EINVAL.into();
    }
    if (stack == 0) != (stack_size == 0) {
        return Errno::EINVAL.into();
    }
    let sp = if stack == 0 {
        0
    } else {
        stack.wrapping_add(stack_size)
    };
    fork(
        m,
        tid,
        flags | exit_signal,
        sp,
        [parent_tid, child_tid, tls],
    )
}

/// fork/vfork/clone of a new process: a copy of the caller's address space (vfork's child
/// too: its writes before exec are not seen by the parent, see the README), fd table,
/// dispositions and mask. `tids` are (parent_tid, child_tid, tls).
pub fn fork(m: &mut Machine, tid: Pid, flags: u64, stack: u64, tids: [u64; 3]) -> Outcome {
    if flags & CLONE_THREAD != 0 {
        return thread(m, tid, flags, stack, tids);
    }
    if let Err(e) = m.check_new_task(tid) {
        return e.into();
    }
    if flags & CLONE_VM != 0 {
        return sharing(m, tid, flags, stack, tids);
    }
    m.load(tid);
    let Some(parent) = m.parts_ref(tid) else {
        return Errno::ESRCH.into();
    };
    // The copy must fit the machine's memory (fork(2): ENOMEM).
    let copy = parent.s.vm.charge() + crate::limits::ENGINE_CHARGE;
    if let Err(e) = m.k.vfs.budget().check_guest(copy) {
        return e.into();
    }
    let Some(parent) = m.parts_ref(tid) else {
        return Errno::ESRCH.into();
    };
    let (image, arch, text) = (
        parent.g.image.clone(),
        parent.s.cpu.arch,
        parent.s.vm.text_ranges(),
    );
    let reuse = if parent.s.cpu.text_pristine {
        m.take_engine(&image, arch, Some(&text))
    } else {
        None
    };
    let (mut cpu, kept) = match reuse {
        Some(x) => x,
        None => match Cpu::new(arch) {
            Ok(c) => (c, Vec::new()),
            Err(_) => return Errno::ENOMEM.into(),
        },
    };
    let Some(parent) = m.parts_ref(tid) else {
        return Errno::ESRCH.into();
    };
    if parent
        .s
        .vm
        .copy_into(&parent.s.cpu, &mut cpu, &kept)
        .is_err()
    {
        return Errno::ENOMEM.into();
    }
    cpu.copy_regs_from(&parent.s.cpu);
    let (lo, min) = parent.s.cpu.stack_bounds();
    cpu.set_stack_bounds(lo, min);
    cpu.set_syscall_ret(0);
    if stack != 0 {
        cpu.set_sp(stack);
    }
    if flags & CLONE_SETTLS != 0 {
        cpu.set_tls(tids[2]);
    }
    let vm = parent.s.vm.clone();
    let parent_pid = parent.g.pid;
    let mut group = parent.g.clone();
    let mut task = Task::new(Pid(0), Pid(0), m.k.clock.ns, parent.t.p9.forked());
    task.sigmask = parent.t.sigmask;
    task.fp_stack = parent.t.fp_stack.clone();
    task.altstack = parent.t.altstack;
    let pid = m.alloc_pid();
    if flags & CLONE_CHILD_SETTID != 0 {
        let _ = cpu.write_u32(tids[1], pid.0);
    }
    let space = m.add_space(Space {
        cpu,
        vm,
        loaded: pid,
    });
    m.recharge(space);
    (task.tid, task.tgid) = (pid, pid);
    group.pid = pid;
    group.ppid = parent_pid;
    group.space = space;
    group.alarm_ns = None;
    group.stop_unreported = None;
    group.xcpu_next = 0;
    group.in_vfork = flags & CLONE_VFORK != 0;
    m.tasks.insert(pid, task);
    m.groups.insert(pid, group);
    if flags & CLONE_PARENT_SETTID != 0 {
        if let Some(cpu) = m.cpu_of(tid) {
            let _ = cpu.write_u32(tids[0], pid.0);
        }
    }
    if flags & CLONE_VFORK != 0 {
        Outcome::Block(Wait::Vfork(pid))
    } else {
        Outcome::Ret(u64::from(pid.0))
    }
}

/// clone of a new thread in the caller's group: it shares the address space (and its
/// engine: each thread's registers are saved while another runs), fds, dispositions, cwd;
/// it starts at the clone's return with 0 in the result register, on `stack`.
fn thread(m: &mut Machine, tid: Pid, flags: u64, stack: u64, tids: [u64; 3]) -> Outcome {
    if let Err(e) = m.check_new_task(tid) {
        return e.into();
    }
    // clone(2): CLONE_THREAD needs CLONE_SIGHAND, which needs CLONE_VM.
    let extra = flags & !(THREAD_FLAGS | CSIGNAL);
    if flags & (CLONE_SIGHAND | CLONE_VM) != CLONE_SIGHAND | CLONE_VM || extra != 0 {
        if !m.warned_threads {
            m.warned_threads = true;
            let _ = writeln!(
                m.k.console.stderr,
                "glass: clone flags {flags:#x} are not supported (unsupported bits {extra:#x}); returning EINVAL"
            );
        }
        return Errno::EINVAL.into();
    }
    let new = m.alloc_pid();
    let now = m.k.clock.ns;
    let Some(p) = m.parts(tid) else {
        return Errno::ESRCH.into();
    };
    let child = match child_regs(&mut p.s.cpu, new, flags, stack, tids) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let mut t = Task::new(new, p.t.tgid, now, p.t.p9.forked());
    t.sigmask = p.t.sigmask;
    t.regs = child;
    if flags & CLONE_CHILD_CLEARTID != 0 {
        t.clear_tid = tids[1];
    }
    m.tasks.insert(new, t);
    Outcome::Ret(u64::from(new.0))
}

/// The registers of a task that starts in the caller's address space (a thread, or a
/// vfork/CLONE_VM child): the caller's, with the clone's result 0, its stack and TLS; built
/// in the engine and saved, then the caller's are put back. The parent/child tid words are
/// written too (CLONE_PARENT_SETTID, CLONE_CHILD_SETTID: the same memory for both).
fn child_regs(
    cpu: &mut Cpu,
    new: Pid,
    flags: u64,
    stack: u64,
    tids: [u64; 3],
) -> Result<Option<crate::cpu::RegCtx>, Errno> {
    let mut caller = None;
    let mut child = None;
    cpu.save_regs(&mut caller).map_err(|_| Errno::ENOMEM)?;
    cpu.set_syscall_ret(0);
    if stack != 0 {
        cpu.set_sp(stack);
    }
    if flags & CLONE_SETTLS != 0 {
        cpu.set_tls(tids[2]);
    }
    let saved = cpu.save_regs(&mut child);
    if let Some(c) = &caller {
        let _ = cpu.load_regs(c);
    }
    saved.map_err(|_| Errno::ENOMEM)?;
    if flags & CLONE_PARENT_SETTID != 0 {
        cpu.write_u32(tids[0], new.0)?;
    }
    if flags & CLONE_CHILD_SETTID != 0 {
        cpu.write_u32(tids[1], new.0)?;
    }
    Ok(child)
}

/// A new process that shares the caller's address space (CLONE_VM without CLONE_THREAD:
/// vfork, glibc's posix_spawn): its own group (a copy of the caller's fds, dispositions,
/// cwd) on the same engine, until it execs (and gets an address space of its own) or exits.
/// Its writes are seen by the parent, as on Linux.
fn sharing(m: &mut Machine, tid: Pid, flags: u64, stack: u64, tids: [u64; 3]) -> Outcome {
    let new = m.alloc_pid();
    let now = m.k.clock.ns;
    let Some(p) = m.parts(tid) else {
        return Errno::ESRCH.into();
    };
    let regs = match child_regs(&mut p.s.cpu, new, flags, stack, tids) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let mut task = Task::new(new, new, now, p.t.p9.forked());
    task.sigmask = p.t.sigmask;
    task.altstack = p.t.altstack;
    task.regs = regs;
    if flags & CLONE_CHILD_CLEARTID != 0 {
        task.clear_tid = tids[1];
    }
    let mut group = p.g.clone();
    group.pid = new;
    group.ppid = p.g.pid;
    group.alarm_ns = None;
    group.stop_unreported = None;
    group.xcpu_next = 0;
    group.in_vfork = flags & CLONE_VFORK != 0;
    m.tasks.insert(new, task);
    m.groups.insert(new, group);
    if flags & CLONE_VFORK != 0 {
        Outcome::Block(Wait::Vfork(new))
    } else {
        Outcome::Ret(u64::from(new.0))
    }
}

/// getresuid/getresgid(real*, effective*, saved*): the guest runs as `id` throughout.
pub fn getres_ids(cx: &mut Cx, a: [u64; 6], id: u32) -> SysResult<u64> {
    for &p in &a[..3] {
        cx.mem.write_u32(p, id)?;
    }
    Ok(0)
}

/// PRIO_PROCESS, PRIO_PGRP, PRIO_USER (include/uapi/linux/resource.h).
const PRIO_PROCESS: u64 = 0;
const PRIO_USER: u64 = 2;

/// getpriority(which, who): the raw call returns 20 - nice (1 to 40), which libc turns
/// back into the nice value. Only the caller's own process is known here (who 0 or its
/// pid); a process group or user answers for the caller too.
pub fn getpriority(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    if a[0] > PRIO_USER {
        return Err(Errno::EINVAL);
    }
    if a[0] == PRIO_PROCESS && a[1] != 0 && a[1] != u64::from(cx.g.pid.0) {
        return Err(Errno::ESRCH);
    }
    Ok((20 - cx.g.nice) as u64)
}

/// setpriority(which, who, nice): clamped to -20..19, as Linux does; the guest is root,
/// so it may lower the value too. The scheduler does not use it.
pub fn setpriority(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    getpriority(cx, a)?;
    cx.g.nice = (a[2] as i32).clamp(-20, 19);
    Ok(0)
}

/// set_tid_address(tidptr): zeroed and futex-woken when the thread ends; returns the tid.
pub fn set_tid_address(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    cx.t.clear_tid = a[0];
    Ok(u64::from(cx.t.tid.0))
}

/// set_robust_list(head, len): `len` is the size of struct robust_list_head (24 bytes).
pub fn set_robust_list(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    if a[1] != 24 {
        return Err(Errno::EINVAL);
    }
    cx.t.robust_list = a[0];
    Ok(0)
}

/// argv or envp: a NULL-terminated array of string pointers, within Linux's limits
/// (fs/exec.c: one string at most MAX_ARG_STRLEN, all with their pointers within ARG_MAX).
fn read_str_array(
    mem: &dyn GuestMem,
    mut addr: u64,
    total: &mut usize,
) -> Result<Vec<String>, Errno> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    loop {
        let ptr = mem.read_u64(addr)?;
        if ptr == 0 {
            return Ok(out);
        }
        let s = mem.read_cstr(ptr, ARG_MAX)?;
        if s.len() + 1 > MAX_ARG_STRLEN {
            return Err(Errno::E2BIG);
        }
        *total += s.len() + 1 + 8;
        if *total > ARG_MAX {
            return Err(Errno::E2BIG);
        }
        // Any bytes but NUL, held losslessly (vfs::from_guest).
        out.push(crate::vfs::from_guest(&s));
        addr = addr.checked_add(8).ok_or(Errno::EFAULT)?;
    }
}

/// What execve runs: the canonical path, the program's bytes and the argv to pass.
pub type ExecTarget = (String, Arc<[u8]>, Vec<String>);

/// The program to run for execve of `target` (and for the machine's first program):
/// `#!` interpreters followed as binfmt_script does; the final target's canonical path and
/// bytes, and the argv to pass. Linux lets five scripts interpret one another before the
/// program (fs/exec.c exec_binprm: `depth > 5` is ELOOP), so a `#!` loop is ELOOP.
pub fn exec_target(
    k: &mut Kernel,
    mut target: String,
    path: &str,
    mut args: Vec<String>,
) -> Result<ExecTarget, Errno> {
    /// fs/exec.c: at most this many interpreter rewrites before the program itself.
    const MAX_SCRIPT_DEPTH: usize = 5;
    for depth in 0..=MAX_SCRIPT_DEPTH {
        let r = k.vfs.resolve(&target, true)?;
        if matches!(
            r.node,
            crate::vfs::Node::HostDir(_) | crate::vfs::Node::MemDir | crate::vfs::Node::Dev(_)
        ) {
            return Err(Errno::EACCES);
        }
        // execve(2): EACCES when the file has no execute permission (root included). A
        // shell turns that into status 126; without the check a data file was read as a
        // script (ENOEXEC) and the shell ran its lines as commands (127).
        match k.vfs.stat(&r) {
            Ok(st) if st.mode & 0o111 != 0 => {}
            _ => return Err(Errno::EACCES),
        }
        let (canon, bytes) = crate::machine::read_guest_file(&k.vfs, &mut k.images, &target)
            .map_err(|_| Errno::EACCES)?;
        if !bytes.starts_with(b"#!") {
            return Ok((canon, bytes, args));
        }
        if depth == MAX_SCRIPT_DEPTH {
            break;
        }
        let line = bytes[2..].split(|&b| b == b'\n').next().unwrap_or(&[]);
        let line = crate::vfs::from_guest(line);
        let mut parts = line.trim().splitn(2, [' ', '\t']);
        let interp = parts.next().unwrap_or("").to_string();
        if interp.is_empty() {
            return Err(Errno::ENOEXEC);
        }
        let mut new_args = vec![interp.clone()];
        if let Some(arg) = parts.next().map(str::trim).filter(|s| !s.is_empty()) {
            new_args.push(arg.to_string());
        }
        new_args.push(path.to_string());
        new_args.extend(args.iter().skip(1).cloned());
        args = new_args;
        target = interp;
    }
    Err(Errno::ELOOP)
}

/// execve(path, argv, envp) (and execveat with the dirfd ignored: paths are absolute or
/// relative to the cwd).
pub fn execve(m: &mut Machine, tid: Pid, path: u64, argv: u64, envp: u64) -> Outcome {
    let Some(p) = m.parts_ref(tid) else {
        return Errno::ESRCH.into();
    };
    let path = match crate::syscalls::fs::guest_path(&p.s.cpu, path) {
        Ok(s) => s,
        Err(e) => return e.into(),
    };
    let mut total = 0;
    let (mut args, env) = match (
        read_str_array(&p.s.cpu, argv, &mut total),
        read_str_array(&p.s.cpu, envp, &mut total),
    ) {
        (Ok(a), Ok(e)) => (a, e),
        (Err(e), _) | (_, Err(e)) => return e.into(),
    };
    if args.is_empty() {
        args.push(path.clone());
    }
    let mut target = crate::vfs::absolute(&p.g.cwd, &path);
    // /proc/self/exe names the caller's own program (proc(5)); busybox's shell re-execs
    // itself through it to run an applet. Without this the exec failed with ENOENT and the
    // shell fell back to PATH, which can find another program (an arm64 busybox ran
    // /bin/busybox, the x86_64 one).
    let self_exe = target == "/proc/self/exe" || target == format!("/proc/{}/exe", p.g.pid.0);
    if self_exe {
        target = p.g.exe.clone();
    }
    let (canon, image, args) = match exec_target(&mut m.k, target.clone(), &path, args) {
        Ok(x) => x,
        Err(e) => return e.into(),
    };
    let elf = match crate::loader::parse(&image) {
        Ok(e) => e,
        Err(e) => {
            if matches!(
                e,
                crate::loader::LoadError::Dynamic(_)
                    | crate::loader::LoadError::UnsupportedMachine(_)
            ) {
                let _ = writeln!(m.k.console.stderr, "glass: exec {target}: {e}");
            }
            return Errno::ENOEXEC.into();
        }
    };
    let Some(p) = m.parts_ref(tid) else {
        return Errno::ESRCH.into();
    };
    // The new image must fit RLIMIT_AS and the machine's memory with the old one gone
    // (unless another process keeps it): ENOMEM, the old image intact, as Linux answers
    // before its point of no return.
    let need = elf.map_bytes() + crate::param::STACK_INITIAL;
    let old = if m.space_shared(p.g.space) {
        0
    } else {
        p.s.vm.charge()
    };
    if need > crate::limits::soft(p.g, crate::limits::RLIMIT_AS)
        || !m.k.vfs.budget().fits(
            need.saturating_sub(old)
                .saturating_add(crate::limits::ENGINE_CHARGE),
        )
    {
        return Errno::ENOMEM.into();
    }
    let Some(p) = m.parts_ref(tid) else {
        return Errno::ESRCH.into();
    };
    let stack_max = crate::param::STACK_TOP - crate::limits::stack_limit(p.g);
    // An engine that already holds this program's text: the caller's own when it execs
    // the program it runs, else one from the pool, else a new one.
    let (old_image, old_text) = (p.g.image.clone(), p.s.vm.text_ranges());
    // An address space shared with another process (a vfork child's) is left to it: the
    // exec gets a new one.
    let shared = m.space_shared(p.g.space);
    let same = !shared
        && Arc::ptr_eq(&old_image, &image)
        && p.s.cpu.arch == elf.arch
        && p.s.cpu.text_pristine;
    let fresh = if same {
        None
    } else {
        match m.take_engine(&image, elf.arch, None) {
            Some(x) => Some(x),
            None => match Cpu::new(elf.arch) {
                Ok(c) => Some((c, Vec::new())),
                Err(e) => {
                    let _ = writeln!(m.k.console.stderr, "glass: exec {target}: {e}");
                    return Errno::ENOEXEC.into();
                }
            },
        }
    };
    let tid = m.only_thread(tid);
    let mut vm = crate::vm::AddressSpace::default();
    let mut random = [0u8; 16];
    m.k.rng.fill(&mut random);
    match fresh {
        None => {
            // Same program: strip the caller's engine in place (past the point of no
            // return, as Linux's exec is once the old image is being torn down).
            let Some(cpu) = m.cpu_of(tid) else {
                return Errno::ESRCH.into();
            };
            if cpu.strip_to(&old_text).is_err() {
                return Errno::ENOMEM.into();
            }
            let start = match crate::loader::load(
                cpu, &mut vm, &elf, &image, &args, &env, &canon, &random, &old_text,
            ) {
                Ok(s) => s,
                Err(e) => {
                    // The old image is gone: no process to return to. Linux kills it
                    // with SIGSEGV here.
                    let _ = writeln!(m.k.console.stderr, "glass: exec {target}: {e}");
                    m.kill(tid, ExitStatus::Signal(SIGSEGV));
                    return Outcome::NoReturn;
                }
            };
            cpu.set_pc(start.entry);
            cpu.set_sp(start.sp);
            let lo = cpu.stack_bounds().0;
            cpu.set_stack_bounds(lo, stack_max.min(lo));
        }
        Some((mut cpu, keep)) => {
            let start = match crate::loader::load(
                &mut cpu, &mut vm, &elf, &image, &args, &env, &canon, &random, &keep,
            ) {
                Ok(s) => s,
                Err(_) => return Errno::ENOEXEC.into(),
            };
            cpu.set_pc(start.entry);
            cpu.set_sp(start.sp);
            let lo = cpu.stack_bounds().0;
            cpu.set_stack_bounds(lo, stack_max.min(lo));
            let Some(space) = m.group_of(tid).map(|g| g.space) else {
                return Errno::ESRCH.into();
            };
            if shared {
                if let Some(s) = m.spaces.get_mut(&space) {
                    // The engine holds this task's registers no more.
                    if s.loaded == tid {
                        s.loaded = Pid(0);
                    }
                }
                let id = m.add_space(Space {
                    cpu,
                    vm: std::mem::take(&mut vm),
                    loaded: tid,
                });
                if let Some(g) = m.groups.get_mut(&tid) {
                    g.space = id;
                }
                m.recharge(id);
            } else if let Some(s) = m.spaces.get_mut(&space) {
                let old_cpu = std::mem::replace(&mut s.cpu, cpu);
                m.retire(old_cpu, old_image, old_text);
            }
        }
    }
    let Some(p) = m.parts(tid) else {
        return Errno::ESRCH.into();
    };
    if !shared {
        p.s.vm = vm;
    }
    // The status name is the program's base name as exec'd; a re-exec through
    // /proc/self/exe (busybox running an applet) is named by its argv[0] instead, so
    // /proc shows `tr`, not `exe`.
    let shown = if self_exe {
        args.first().map(String::as_str).unwrap_or(&path)
    } else {
        path.as_str()
    };
    p.g.name = shown.rsplit('/').next().unwrap_or(shown).to_string();
    p.g.args = args;
    p.g.env = env;
    p.g.exe = canon;
    p.g.image = image;
    p.g.fds.close_on_exec();
    for a in p.g.sigactions.iter_mut() {
        if a.handler != crate::signal::SIG_IGN {
            *a = Default::default();
        }
    }
    p.g.in_vfork = false;
    p.t.fp_stack.clear();
    p.t.saved_mask = None;
    p.t.p9.args_text = None;
    p.t.p9.execd = true;
    p.t.p9.profile = None;
    p.t.altstack = None;
    p.t.p9.private = false;
    if p.t.p9.hang {
        // ctl hang: stop before the new program's first instruction.
        p.t.state = PState::Stopped;
    }
    Outcome::NoReturn
}

/// Does child group `c` of `me` match wait4's pid selector?
fn child_matches(me: &Group, c: &Group, sel: i32) -> bool {
    c.ppid == me.pid
        && match sel {
            -1 => true,
            0 => c.pgid == me.pgid,
            s if s > 0 => c.pid.0 == s as u32,
            s => c.pgid == s.unsigned_abs(),
        }
}

/// What wait4 reports of a child in `state` with an unreported job-control change: the
/// status word and whether the child is reaped; None if nothing is to be reported.
pub fn report(state: &PState, stop_unreported: Option<i32>, options: u64) -> Option<(u32, bool)> {
    if let PState::Zombie(st) = state {
        return Some((st.wait_word(), true));
    }
    match stop_unreported {
        Some(SIGCONT) if options & WCONTINUED != 0 => Some((WCONTINUED_WORD, false)),
        Some(s) if s != SIGCONT && options & WUNTRACED != 0 => {
            Some((((s as u32) << 8) | 0x7f, false))
        }
        _ => None,
    }
}

/// Find a reportable child of `tid`: (pid, status word, reap?); ECHILD with no child.
fn reportable_child(
    m: &Machine,
    tid: Pid,
    sel: i32,
    options: u64,
) -> Result<Option<(Pid, u32, bool)>, Errno> {
    let me = m.group_of(tid).ok_or(Errno::ESRCH)?;
    let mut any = false;
    for c in m.groups.values().filter(|c| child_matches(me, c, sel)) {
        any = true;
        let Some(t) = m.tasks.get(&c.pid) else {
            continue;
        };
        if let Some((word, reap)) = report(&t.state, c.stop_unreported, options) {
            return Ok(Some((c.pid, word, reap)));
        }
    }
    if any {
        Ok(None)
    } else {
        Err(Errno::ECHILD)
    }
}

/// The child was reported: reap a zombie, or forget the reported stop or continue.
fn reported(m: &mut Machine, child: Pid, reap: bool) {
    if reap {
        m.reap(child);
    } else if let Some(g) = m.groups.get_mut(&child) {
        g.stop_unreported = None;
    }
}

/// wait4(pid, status*, options, rusage*).
pub fn wait4(m: &mut Machine, tid: Pid, sel: i32, status: u64, options: u64) -> Outcome {
    match reportable_child(m, tid, sel, options) {
        Err(e) => e.into(),
        Ok(None) if options & WNOHANG != 0 => Outcome::Ret(0),
        Ok(None) => Outcome::Block(Wait::Child),
        Ok(Some((child, word, reap))) => {
            if status != 0 {
                let Some(cpu) = m.cpu_of(tid) else {
                    return Errno::ESRCH.into();
                };
                if cpu.write_u32(status, word).is_err() {
                    return Errno::EFAULT.into();
                }
            }
            reported(m, child, reap);
            Outcome::Ret(u64::from(child.0))
        }
    }
}

/// The siginfo_t waitid stores for a child: signo SIGCHLD, code CLD_*, pid, status.
pub fn child_siginfo(pid: Pid, state: &PState, word: u32) -> [u8; 128] {
    let (code, st) = match state {
        PState::Zombie(ExitStatus::Code(x)) => (CLD_EXITED, *x),
        PState::Zombie(ExitStatus::Signal(s)) => (CLD_KILLED, *s),
        _ if word == WCONTINUED_WORD => (CLD_CONTINUED, SIGCONT),
        _ => (CLD_STOPPED, (word >> 8) as i32),
    };
    let mut info = [0u8; 128];
    info[0..4].copy_from_slice(&SIGCHLD.to_le_bytes());
    info[8..12].copy_from_slice(&code.to_le_bytes());
    info[16..20].copy_from_slice(&pid.0.to_le_bytes());
    info[24..28].copy_from_slice(&st.to_le_bytes());
    info
}

/// waitid(idtype, id, infop, options).
pub fn waitid(m: &mut Machine, tid: Pid, a: [u64; 6]) -> Outcome {
    let sel = match a[0] {
        P_ALL => -1,
        P_PID => a[1] as i32,
        P_PGID => -(a[1] as i32),
        _ => return Errno::EINVAL.into(),
    };
    let options = a[3];
    let wuntraced = if options & WSTOPPED != 0 {
        WUNTRACED
    } else {
        0
    };
    match reportable_child(m, tid, sel, wuntraced | (options & WCONTINUED)) {
        Err(e) => e.into(),
        Ok(None) if options & WNOHANG != 0 => {
            if a[2] != 0 {
                if let Some(cpu) = m.cpu_of(tid) {
                    let _ = cpu.write(a[2], &[0u8; 128]);
                }
            }
            Outcome::Ret(0)
        }
        Ok(None) => Outcome::Block(Wait::Child),
        Ok(Some((child, word, reap))) => {
            let Some(state) = m.tasks.get(&child).map(|t| t.state.clone()) else {
                return Errno::ECHILD.into();
            };
            let info = child_siginfo(child, &state, word);
            if a[2] != 0
                && m.cpu_of(tid)
                    .is_none_or(|cpu| cpu.write(a[2], &info).is_err())
            {
                return Errno::EFAULT.into();
            }
            if options & WNOWAIT == 0 {
                reported(m, child, reap);
            }
            Outcome::Ret(0)
        }
    }
}

/// setpgid(pid, pgid): the caller or one of its children.
pub fn setpgid(m: &mut Machine, tid: Pid, pid: i32, pgid: i32) -> Outcome {
    if pgid < 0 {
        return Errno::EINVAL.into();
    }
    let Some(me) = m.group_of(tid).map(|g| g.pid) else {
        return Errno::ESRCH.into();
    };
    let target = if pid == 0 { me } else { Pid(pid as u32) };
    if !m.live(target) {
        return Errno::ESRCH.into();
    }
    let Some(g) = m.groups.get_mut(&target) else {
        return Errno::ESRCH.into();
    };
    if target != me && g.ppid != me {
        return Errno::ESRCH.into();
    }
    g.pgid = if pgid == 0 { target.0 } else { pgid as u32 };
    Outcome::Ret(0)
}

/// getpgid(pid) or, with `sid`, getsid(pid); pid 0 is the caller.
pub fn getpgid(m: &mut Machine, tid: Pid, pid: i32, sid: bool) -> Outcome {
    let target = if pid == 0 {
        m.group_of(tid).map_or(tid, |g| g.pid)
    } else {
        Pid(pid as u32)
    };
    match m.groups.get(&target) {
        Some(g) => Outcome::Ret(u64::from(if sid { g.sid } else { g.pgid })),
        None => Errno::ESRCH.into(),
    }
}

/// setsid(): a new session and process group led by the caller, unless it already leads
/// a process group.
pub fn setsid(m: &mut Machine, tid: Pid) -> Outcome {
    let Some(pid) = m.group_of(tid).map(|g| g.pid) else {
        return Errno::ESRCH.into();
    };
    if m.groups.values().any(|g| g.pgid == pid.0 && g.pid != pid) {
        return Errno::EPERM.into();
    }
    let Some(g) = m.groups.get_mut(&pid) else {
        return Errno::ESRCH.into();
    };
    g.sid = pid.0;
    g.pgid = pid.0;
    Outcome::Ret(u64::from(pid.0))
}

impl Machine {
    /// More than one process runs in address space `space` (a vfork or CLONE_VM child and
    /// its parent).
    pub fn space_shared(&self, space: crate::machine::SpaceId) -> bool {
        self.groups.values().filter(|g| g.space == space).count() > 1
    }

    /// execve from a thread: the other threads of the group end, and the caller goes on
    /// as the group's leader, with its pid (execve(2)). Returns the caller's new tid.
    pub fn only_thread(&mut self, tid: Pid) -> Pid {
        let Some(leader) = self.tasks.get(&tid).map(|t| t.tgid) else {
            return tid;
        };
        self.load(tid);
        let others: Vec<Pid> = self
            .tasks
            .values()
            .filter(|t| t.tgid == leader && t.tid != tid)
            .map(|t| t.tid)
            .collect();
        for t in others {
            self.tasks.remove(&t);
        }
        if tid != leader {
            if let Some(mut t) = self.tasks.remove(&tid) {
                t.tid = leader;
                self.tasks.insert(leader, t);
            }
            if let Some(space) = self.groups.get(&leader).map(|g| g.space) {
                if let Some(s) = self.spaces.get_mut(&space) {
                    s.loaded = leader;
                }
            }
        }
        leader
    }

    /// Remove a zombie from the tables; a Broken one stays visible to /proc.
    pub fn reap(&mut self, pid: Pid) {
        let (Some(task), Some(group)) = (self.tasks.remove(&pid), self.groups.remove(&pid)) else {
            return;
        };
        // A space another process still runs in (a vfork child's, its parent's) stays.
        if self.groups.values().any(|g| g.space == group.space) {
            return;
        }
        let Some(space) = self.spaces.remove(&group.space) else {
            return;
        };
        let d = crate::machine::Detached { task, group, space };
        if let Some(d) = self.keep_broken(d) {
            let text = d.space.vm.text_ranges();
            self.retire(d.space.cpu, d.group.image, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::testing::{Bench, MEM};

    #[test]
    fn prlimit_reads_old_then_sets_new() {
        let mut b = Bench::new();
        let new: Vec<u8> = [100u64, 200].iter().flat_map(|v| v.to_le_bytes()).collect();
        b.mem.write(MEM, &new).expect("bench memory");
        assert_eq!(prlimit64(&mut b.cx(), [0, 7, MEM, MEM + 32, 0, 0]), Ok(0));
        assert_eq!(b.g.rlimits[7], (100, 200));
        let old = b.mem.read(MEM + 32, 16).expect("bench memory");
        assert_eq!(
            old,
            [
                param::RLIMIT_NOFILE.0.to_le_bytes(),
                param::RLIMIT_NOFILE.1.to_le_bytes()
            ]
            .concat()
        );
    }

    #[test]
    fn prlimit_soft_above_hard_is_einval_and_unknown_resource_too() {
        let mut b = Bench::new();
        let new: Vec<u8> = [300u64, 200].iter().flat_map(|v| v.to_le_bytes()).collect();
        b.mem.write(MEM, &new).expect("bench memory");
        assert_eq!(
            prlimit64(&mut b.cx(), [0, 7, MEM, 0, 0, 0]),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            prlimit64(&mut b.cx(), [0, 16, 0, MEM, 0, 0]),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn setpriority_clamps_and_getpriority_answers_20_minus_nice() {
        let mut b = Bench::new();
        assert_eq!(getpriority(&mut b.cx(), [0, 0, 0, 0, 0, 0]), Ok(20));
        assert_eq!(setpriority(&mut b.cx(), [0, 0, 40, 0, 0, 0]), Ok(0));
        assert_eq!(getpriority(&mut b.cx(), [0, 2, 0, 0, 0, 0]), Ok(1));
        assert_eq!(
            setpriority(&mut b.cx(), [0, 99, 0, 0, 0, 0]),
            Err(Errno::ESRCH)
        );
        assert_eq!(
            getpriority(&mut b.cx(), [3, 0, 0, 0, 0, 0]),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn uname_machine_field_names_the_arch() {
        let mut b = Bench::with_arch(Arch::Aarch64);
        assert_eq!(uname(&mut b.cx(), [MEM, 0, 0, 0, 0, 0]), Ok(0));
        let u = b.mem.read(MEM, 65 * 6).expect("bench memory");
        assert_eq!(&u[..6], b"Linux\0");
        assert_eq!(&u[65 * 4..65 * 4 + 8], b"aarch64\0");
    }

    #[test]
    fn uname_bad_pointer_is_efault() {
        let mut b = Bench::new();
        assert_eq!(
            uname(&mut b.cx(), [0x10, 0, 0, 0, 0, 0]),
            Err(Errno::EFAULT)
        );
    }

    #[test]
    fn getrandom_is_seeded_and_repeatable() {
        let (mut b1, mut b2) = (Bench::new(), Bench::new());
        assert_eq!(getrandom(&mut b1.cx(), [MEM, 32, 0, 0, 0, 0]), Ok(32));
        assert_eq!(getrandom(&mut b2.cx(), [MEM, 32, 0, 0, 0, 0]), Ok(32));
        assert_eq!(
            b1.mem.read(MEM, 32).expect("bench memory"),
            b2.mem.read(MEM, 32).expect("bench memory")
        );
        assert_ne!(b1.mem.read(MEM, 32).expect("bench memory"), vec![0u8; 32]);
    }

    #[test]
    fn wait_report_of_exit_and_signal_reaps() {
        let z = PState::Zombie(ExitStatus::Code(2));
        assert_eq!(report(&z, None, 0), Some((0x200, true)));
        let k = PState::Zombie(ExitStatus::Signal(15));
        assert_eq!(report(&k, None, 0), Some((15, true)));
    }

    #[test]
    fn wait_report_of_stop_needs_wuntraced_and_continue_wcontinued() {
        let r = PState::Ready;
        assert_eq!(report(&r, Some(20), 0), None);
        assert_eq!(report(&r, Some(20), WUNTRACED), Some((0x147f, false)));
        assert_eq!(report(&r, Some(SIGCONT), WUNTRACED), None);
        assert_eq!(report(&r, Some(SIGCONT), WCONTINUED), Some((0xffff, false)));
    }

    #[test]
    fn waitid_siginfo_codes() {
        let i = child_siginfo(Pid(7), &PState::Zombie(ExitStatus::Signal(9)), 9);
        assert_eq!(
            i32::from_le_bytes(i[8..12].try_into().expect("bench memory")),
            CLD_KILLED
        );
        assert_eq!(
            u32::from_le_bytes(i[16..20].try_into().expect("bench memory")),
            7
        );
        assert_eq!(
            i32::from_le_bytes(i[24..28].try_into().expect("bench memory")),
            9
        );
        let s = child_siginfo(Pid(7), &PState::Ready, 0x137f);
        assert_eq!(
            i32::from_le_bytes(s[8..12].try_into().expect("bench memory")),
            CLD_STOPPED
        );
        assert_eq!(
            i32::from_le_bytes(s[24..28].try_into().expect("bench memory")),
            0x13
        );
    }

    #[test]
    fn argv_array_reads_strings_and_stops_at_null() {
        let mut b = Bench::new();
        b.cstr(MEM + 0x100, "echo");
        b.cstr(MEM + 0x200, "hi");
        let ptrs: Vec<u8> = [MEM + 0x100, MEM + 0x200, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        b.mem.write(MEM, &ptrs).expect("bench memory");
        let mut total = 0;
        assert_eq!(
            read_str_array(&b.mem, MEM, &mut total).expect("bench memory"),
            ["echo", "hi"]
        );
        assert_eq!(total, 5 + 8 + 3 + 8);
    }

    #[test]
    fn argv_array_with_bad_pointer_is_efault() {
        let mut b = Bench::new();
        b.mem
            .write(MEM, &0x10u64.to_le_bytes())
            .expect("bench memory");
        assert_eq!(read_str_array(&b.mem, MEM, &mut 0), Err(Errno::EFAULT));
        assert_eq!(read_str_array(&b.mem, 0x10, &mut 0), Err(Errno::EFAULT));
    }
}
