//! The Linux procfs a guest sees at `/proc` (proc(5), Linux 6.1's fs/proc): `self`,
//! `thread-self`, one directory per process (`stat`, `status`, `statm`, `cmdline`,
//! `environ`, `comm`, `exe`, `cwd`, `fd/`, `fdinfo/`, `maps`, `mounts`, `limits`, `task/`),
//! and the machine-wide `cpuinfo`, `meminfo`, `stat`, `uptime`, `loadavg`, `mounts` and
//! `sys/kernel/{ostype,osrelease,pid_max}`. Everything is rendered from the same machine
//! state the 9P /proc serves (crate::proc_adapter): the task, group and address-space
//! tables, and `AddressSpace::plan9_order` for the segments, so `maps` and the 9P `segment`
//! file list the same ranges. Pure functions of the machine: contents are made when a
//! file is opened (as seq_file does at the first read), on virtual time, in a fixed order.

use crate::cpu::Arch;
use crate::errno::{Errno, SysResult};
use crate::fdtable::{Console, FileKind, OpenFile, O_ACCMODE, O_RDONLY, O_WRONLY};
use crate::machine::{Group, Machine, PState, Pid, Task};
use crate::param;
use crate::vfs::{self, DirEntry, FileStat};

/// USER_HZ: the unit of every time in /proc (include/asm-generic/param.h).
const USER_HZ_NS: u64 = 10_000_000;
/// Linux's default pid_max (PID_MAX_DEFAULT, include/linux/threads.h).
const PID_MAX: u32 = 32768;
/// Most symlinks followed in one walk (Linux MAXSYMLINKS).
const MAX_SYMLINKS: usize = 40;
/// TASK_COMM_LEN - 1 (include/linux/sched.h): what `comm` keeps of a name.
const COMM_MAX: usize = 15;
/// DT_* types of directory entries (include/linux/fs_types.h).
const DT_DIR: u8 = 4;
const DT_REG: u8 = 8;
const DT_LNK: u8 = 10;

/// The files of the /proc root, besides the pid directories (proc(5)).
const ROOT_FILES: &[&str] = &["cpuinfo", "loadavg", "meminfo", "stat", "uptime"];
/// The files of a /proc/PID directory.
const PID_FILES: &[&str] = &[
    "cmdline", "comm", "environ", "limits", "maps", "mounts", "stat", "statm", "status",
];
/// /proc/sys/kernel files.
const SYS_KERNEL: &[&str] = &["osrelease", "ostype", "pid_max"];

/// What a name below /proc is, before its contents are made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    /// A symlink with this text and these permission bits.
    Link(String, u32),
    /// The magic link `fd/N` of process `tgid`, followed: the open file itself.
    Fd(Pid, i32),
}

/// The end of a walk that entered /proc.
#[derive(Clone, Debug)]
pub enum Target {
    /// Below /proc: the canonical path (`/proc/12/stat`) and what it is.
    Proc(String, Kind),
    /// The walk left /proc (a link such as `exe` or `cwd`, or `..`): this path of the
    /// ordinary file system is to be walked instead.
    Elsewhere(String),
}

/// Is `path` (canonical) a name below the procfs (an open file's path)?
pub fn is_proc_path(path: &str) -> bool {
    path == "/proc" || path.starts_with("/proc/")
}

fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty())
}

fn join(base: &str, rest: &[String]) -> String {
    let mut s = base.trim_end_matches('/').to_string();
    for c in rest {
        s.push('/');
        s.push_str(c);
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

/// Walk `path` (one `vfs::Walk::Proc` answer: `/proc` and what follows) for task
/// `caller`. `follow_last` follows a final symlink.
pub fn walk(m: &Machine, caller: Pid, path: &str, follow_last: bool) -> SysResult<Target> {
    let must_be_dir = path.ends_with('/');
    let follow_last = follow_last || must_be_dir;
    let mut todo: Vec<String> = components(path).skip(1).map(str::to_string).collect();
    todo.reverse();
    let mut done: Vec<String> = Vec::new();
    let mut links = 0;
    let mut kind = Kind::Dir;
    while let Some(c) = todo.pop() {
        if c == "." {
            continue;
        }
        if c == ".." {
            if done.pop().is_none() {
                // `..` of /proc is `/`.
                todo.reverse();
                return Ok(Target::Elsewhere(join("/", &todo)));
            }
            kind = Kind::Dir;
            continue;
        }
        if kind != Kind::Dir {
            return Err(Errno::ENOTDIR);
        }
        done.push(c);
        kind = classify(m, caller, &done).ok_or(Errno::ENOENT)?;
        let last = todo.is_empty();
        if !last || follow_last {
            match &kind {
                Kind::Link(target, _) => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(Errno::ELOOP);
                    }
                    done.pop();
                    if target.starts_with('/') {
                        todo.reverse();
                        return Ok(Target::Elsewhere(join(target, &todo)));
                    }
                    todo.extend(components(target).rev().map(str::to_string));
                    kind = Kind::Dir;
                }
                // A directory open at fd N: the walk goes on inside it.
                Kind::Fd(tgid, fd) if !last => {
                    let path = fd_path(m, *tgid, *fd).ok_or(Errno::ENOENT)?;
                    todo.reverse();
                    return Ok(Target::Elsewhere(join(&path, &todo)));
                }
                _ => {}
            }
        } else if let Kind::Fd(tgid, fd) = kind {
            kind = Kind::Link(
                fd_link_text(m, tgid, fd).ok_or(Errno::ENOENT)?,
                fd_link_mode(m, tgid, fd),
            );
        }
    }
    if must_be_dir && kind != Kind::Dir {
        return Err(Errno::ENOTDIR);
    }
    Ok(Target::Proc(join("/proc", &done), kind))
}

/// The group leader of task `tid` (any task may be named, as on Linux, where
/// /proc/TID works for threads too though only leaders are listed).
fn tgid_of(m: &Machine, tid: Pid) -> Option<Pid> {
    m.tasks.get(&tid).map(|t| t.tgid)
}

fn parse_pid(s: &str) -> Option<Pid> {
    if s.starts_with('0') || s.starts_with('+') {
        return None;
    }
    s.parse().ok().map(Pid)
}

/// What `parts` (the components below /proc) names for task `caller`.
fn classify(m: &Machine, caller: Pid, parts: &[String]) -> Option<Kind> {
    let p: Vec<&str> = parts.iter().map(String::as_str).collect();
    let me = tgid_of(m, caller)?;
    Some(match p.as_slice() {
        [] => Kind::Dir,
        ["self"] => Kind::Link(me.0.to_string(), 0o777),
        ["thread-self"] => Kind::Link(format!("{}/task/{}", me.0, caller.0), 0o777),
        // /proc/mounts is a link to self/mounts since Linux 2.4.19 (proc(5)).
        ["mounts"] => Kind::Link("self/mounts".into(), 0o777),
        [f] if ROOT_FILES.contains(f) => Kind::File,
        ["sys"] | ["sys", "kernel"] => Kind::Dir,
        ["sys", "kernel", f] if SYS_KERNEL.contains(f) => Kind::File,
        [pid, rest @ ..] => {
            let tid = parse_pid(pid)?;
            let tgid = tgid_of(m, tid)?;
            if tgid != tid {
                // A thread's own directory is reached through its leader's task/.
                return None;
            }
            pid_kind(m, tgid, rest, false)?
        }
    })
}

/// What `rest` names inside the directory of process `tgid` (or, `in_task`, of one of its
/// threads under task/).
fn pid_kind(m: &Machine, tgid: Pid, rest: &[&str], in_task: bool) -> Option<Kind> {
    let g = m.groups.get(&tgid)?;
    Some(match rest {
        [] | ["fd"] | ["fdinfo"] => Kind::Dir,
        ["task"] if !in_task => Kind::Dir,
        ["task", tid, more @ ..] if !in_task => {
            let tid = parse_pid(tid)?;
            if tgid_of(m, tid)? != tgid {
                return None;
            }
            return pid_kind(m, tgid, more, true);
        }
        ["exe"] => Kind::Link(g.exe.clone(), 0o777),
        ["cwd"] => Kind::Link(g.cwd.clone(), 0o777),
        ["root"] => Kind::Link("/".into(), 0o777),
        ["fd", n] => {
            let fd: i32 = n.parse().ok().filter(|_| !n.starts_with('+'))?;
            g.fds.get(fd).ok()?;
            Kind::Fd(tgid, fd)
        }
        ["fdinfo", n] => {
            let fd: i32 = n.parse().ok().filter(|_| !n.starts_with('+'))?;
            g.fds.get(fd).ok()?;
            Kind::File
        }
        [f] if PID_FILES.contains(f) => Kind::File,
        _ => return None,
    })
}

/// The canonical path of the file open at `fd` of process `tgid`.
fn fd_path(m: &Machine, tgid: Pid, fd: i32) -> Option<String> {
    Some(m.groups.get(&tgid)?.fds.get(fd).ok()?.borrow().path.clone())
}

/// What readlink of `fd/N` gives (proc(5)): the path, `pipe:[inode]`,
/// `anon_inode:[eventpoll]`; the console shows as the terminal /dev/tty.
fn fd_link_text(m: &Machine, tgid: Pid, fd: i32) -> Option<String> {
    let f = m.groups.get(&tgid)?.fds.get(fd).ok()?;
    let f = f.borrow();
    Some(match &f.kind {
        FileKind::PipeRead(pp) | FileKind::PipeWrite(pp) => format!("pipe:[{}]", pp.borrow().id),
        FileKind::Console(_) => "/dev/tty".into(),
        _ => f.path.clone(),
    })
}

/// An fd link's permission bits follow its open mode (fs/proc/fd.c: read gives r-x, write
/// -wx, both rwx, for the owner).
fn fd_link_mode(m: &Machine, tgid: Pid, fd: i32) -> u32 {
    let Some(f) = m.groups.get(&tgid).and_then(|g| g.fds.get(fd).ok()) else {
        return 0o700;
    };
    let f = f.borrow();
    let mut mode = 0o100;
    if f.readable() {
        mode |= 0o400;
    }
    if f.writable() {
        mode |= 0o200;
    }
    mode
}

/// Attributes of a name below /proc (what stat shows; the files have size 0, as Linux's).
/// Directories are 0555, files 0444, links as given; owned by the guest's root.
pub fn stat(path: &str, kind: &Kind) -> FileStat {
    let (mode, size, nlink) = match kind {
        Kind::Dir => (vfs::S_IFDIR | 0o555, 0, 2),
        Kind::File => (vfs::S_IFREG | 0o444, 0, 1),
        // fs/proc/fd.c gives fd links the size 64; the other links of procfs show 0.
        Kind::Link(_, mode) if is_fd_link(path) => (vfs::S_IFLNK | mode, 64, 1),
        Kind::Link(_, mode) => (vfs::S_IFLNK | mode, 0, 1),
        Kind::Fd(..) => (vfs::S_IFLNK | 0o700, 0, 1),
    };
    FileStat {
        ino: vfs::path_ino(path),
        mode,
        nlink,
        size,
        rdev: 0,
        times: vfs::Times::at(param::FILE_TIME * 1_000_000_000),
    }
}

/// `/proc/PID/fd/N` or `/proc/PID/task/TID/fd/N`.
fn is_fd_link(path: &str) -> bool {
    let parts: Vec<&str> = components(path).collect();
    parts.len() >= 4 && parts[parts.len() - 2] == "fd"
}

fn entry(dir: &str, name: &str, dtype: u8) -> DirEntry {
    DirEntry {
        name: name.to_string(),
        ino: vfs::path_ino(&format!("{dir}/{name}")),
        dtype,
    }
}

/// The entries of directory `path` (canonical, from [`walk`]): `.` and
/// `..`, then the names in order (the pid directories ascending after the fixed names,
/// as Linux lists them).
pub fn list(m: &Machine, path: &str) -> SysResult<Vec<DirEntry>> {
    let mut out = vec![
        DirEntry {
            name: ".".into(),
            ino: vfs::path_ino(path),
            dtype: DT_DIR,
        },
        DirEntry {
            name: "..".into(),
            ino: vfs::path_ino(vfs::parent_of(path)),
            dtype: DT_DIR,
        },
    ];
    let parts: Vec<&str> = components(path).skip(1).collect();
    match parts.as_slice() {
        [] => {
            let mut names: Vec<(&str, u8)> = ROOT_FILES.iter().map(|f| (*f, DT_REG)).collect();
            names.extend([
                ("mounts", DT_LNK),
                ("self", DT_LNK),
                ("sys", DT_DIR),
                ("thread-self", DT_LNK),
            ]);
            names.sort();
            out.extend(names.into_iter().map(|(n, t)| entry(path, n, t)));
            for g in m.groups.keys() {
                out.push(entry(path, &g.0.to_string(), DT_DIR));
            }
        }
        ["sys"] => out.push(entry(path, "kernel", DT_DIR)),
        ["sys", "kernel"] => out.extend(SYS_KERNEL.iter().map(|f| entry(path, f, DT_REG))),
        [pid, rest @ ..] => {
            let tgid = parse_pid(pid).ok_or(Errno::ENOENT)?;
            let g = m.groups.get(&tgid).ok_or(Errno::ENOENT)?;
            let in_task = parts.len() >= 3 && parts[1] == "task";
            let rest: &[&str] = match rest {
                ["task", _tid, more @ ..] => more,
                r => r,
            };
            match rest {
                ["task"] => {
                    for t in m.tasks.values().filter(|t| t.tgid == tgid) {
                        out.push(entry(path, &t.tid.0.to_string(), DT_DIR));
                    }
                }
                [] => {
                    let mut names: Vec<(&str, u8)> =
                        PID_FILES.iter().map(|f| (*f, DT_REG)).collect();
                    names.extend([
                        ("cwd", DT_LNK),
                        ("exe", DT_LNK),
                        ("fd", DT_DIR),
                        ("fdinfo", DT_DIR),
                        ("root", DT_LNK),
                    ]);
                    if !in_task {
                        names.push(("task", DT_DIR));
                    }
                    names.sort();
                    out.extend(names.into_iter().map(|(n, t)| entry(path, n, t)));
                }
                ["fd"] | ["fdinfo"] => {
                    let t = if rest == ["fd"] { DT_LNK } else { DT_REG };
                    for (fd, _) in g.fds.iter() {
                        out.push(entry(path, &fd.to_string(), t));
                    }
                }
                _ => return Err(Errno::ENOTDIR),
            }
        }
    }
    Ok(out)
}

/// The bytes of file `path` (canonical, from [`walk`]) as task `caller` reads it.
pub fn render(m: &Machine, caller: Pid, path: &str) -> SysResult<Vec<u8>> {
    let parts: Vec<&str> = components(path).skip(1).collect();
    let s = match parts.as_slice() {
        ["cpuinfo"] => {
            let arch = m
                .group_of(caller)
                .and_then(|g| m.spaces.get(&g.space))
                .map_or(Arch::X86_64, |s| s.cpu.arch);
            cpuinfo(arch, m.k.cpus)
        }
        ["meminfo"] => meminfo(),
        ["uptime"] => {
            let (up, idle) = (m.k.clock.ns, idle_ns(m));
            format!("{} {}\n", centis(up), centis(idle))
        }
        ["loadavg"] => loadavg(m),
        ["stat"] => kernel_stat(m),
        ["sys", "kernel", "ostype"] => format!("{}\n", param::UTS_SYSNAME),
        ["sys", "kernel", "osrelease"] => format!("{}\n", param::UTS_RELEASE),
        ["sys", "kernel", "pid_max"] => format!("{PID_MAX}\n"),
        [pid, rest @ ..] => {
            let tgid = parse_pid(pid).ok_or(Errno::ENOENT)?;
            let (tid, rest) = match rest {
                ["task", tid, more @ ..] => (parse_pid(tid).ok_or(Errno::ENOENT)?, more),
                r => (tgid, r),
            };
            let g = m.groups.get(&tgid).ok_or(Errno::ENOENT)?;
            let t = m.tasks.get(&tid).ok_or(Errno::ENOENT)?;
            match rest {
                ["cmdline"] => {
                    return Ok(nul_list(if t.state.is_zombie() { &[] } else { &g.args }))
                }
                ["environ"] => return Ok(nul_list(&g.env)),
                ["comm"] => format!("{}\n", comm(g)),
                ["stat"] => pid_stat(m, t, g),
                ["statm"] => statm(m, g),
                ["status"] => status(m, t, g),
                ["maps"] => maps(m, g),
                ["mounts"] => mounts(),
                ["limits"] => limits(g),
                ["fdinfo", n] => {
                    let fd: i32 = n.parse().map_err(|_| Errno::ENOENT)?;
                    fdinfo(g, fd).ok_or(Errno::ENOENT)?
                }
                _ => return Err(Errno::ENOENT),
            }
        }
        _ => return Err(Errno::ENOENT),
    };
    Ok(s.into_bytes())
}

/// `n` nanoseconds as seconds with two decimals (`12.34`, /proc/uptime's format).
fn centis(ns: u64) -> String {
    let c = ns / USER_HZ_NS;
    format!("{}.{:02}", c / 100, c % 100)
}

fn ticks(ns: u64) -> u64 {
    ns / USER_HZ_NS
}

fn nul_list(items: &[String]) -> Vec<u8> {
    let mut b = Vec::new();
    for a in items {
        b.extend_from_slice(a.as_bytes());
        b.push(0);
    }
    b
}

fn comm(g: &Group) -> String {
    let mut n = g.name.clone();
    if n.len() > COMM_MAX {
        let mut cut = COMM_MAX;
        while !n.is_char_boundary(cut) {
            cut -= 1;
        }
        n.truncate(cut);
    }
    n
}

/// Guest work and system-call time of task `t` (the 9P status times come from the same
/// counters): (user, system) in ns.
fn cpu_ns(t: &Task) -> (u64, u64) {
    (
        t.blocks * param::NS_PER_BLOCK,
        t.syscalls * param::NS_PER_SYSCALL,
    )
}

/// Idle time summed over the guest's CPUs: what the live tasks did not use of
/// uptime × CPUs.
fn idle_ns(m: &Machine) -> u64 {
    let busy: u64 = m
        .tasks
        .values()
        .map(|t| {
            let (u, s) = cpu_ns(t);
            u + s
        })
        .sum();
    (m.k.clock.ns * u64::from(m.k.cpus)).saturating_sub(busy)
}

/// Load averages are not modelled (sysinfo(2) answers 0 too); the runnable and total
/// counts and the last pid are the machine's (proc(5) loadavg).
fn loadavg(m: &Machine) -> String {
    let running = m.tasks.values().filter(|t| t.state.runnable()).count();
    let total = m.tasks.values().filter(|t| !t.state.is_zombie()).count();
    format!(
        "0.00 0.00 0.00 {running}/{total} {}\n",
        m.next_pid.saturating_sub(1)
    )
}

/// /proc/stat (proc(5)): the cpu lines in USER_HZ ticks, then the counters busybox top and
/// vmstat read.
fn kernel_stat(m: &Machine) -> String {
    let (mut user, mut sys) = (0, 0);
    for t in m.tasks.values() {
        let (u, s) = cpu_ns(t);
        user += u;
        sys += s;
    }
    let idle = idle_ns(m);
    let cpus = u64::from(m.k.cpus);
    let line = |name: String, u: u64, s: u64, i: u64| {
        format!(
            "{name} {} 0 {} {} 0 0 0 0 0 0\n",
            ticks(u),
            ticks(s),
            ticks(i)
        )
    };
    let mut out = line("cpu ".into(), user, sys, idle);
    // The threads run one at a time; the per-CPU lines split the totals evenly.
    for c in 0..cpus {
        out += &line(format!("cpu{c}"), user / cpus, sys / cpus, idle / cpus);
    }
    let running = m.tasks.values().filter(|t| t.state.runnable()).count();
    let blocked = m
        .tasks
        .values()
        .filter(|t| matches!(t.state, PState::Blocked(_)))
        .count();
    out += &format!(
        "intr 0\nctxt 0\nbtime {}\nprocesses {}\nprocs_running {running}\nprocs_blocked {blocked}\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
        param::EPOCH_BASE_SECS,
        m.next_pid.saturating_sub(1),
    );
    out
}

/// /proc/meminfo: the sizes sysinfo(2) reports (param::MEM_TOTAL, param::MEM_FREE), in
/// Linux's layout (fs/proc/meminfo.c: the name padded to 16 columns, the kB value
/// right-aligned in 8).
fn meminfo() -> String {
    let total = param::MEM_TOTAL / 1024;
    let free = param::MEM_FREE / 1024;
    let rows: [(&str, u64); 20] = [
        ("MemTotal:", total),
        ("MemFree:", free),
        ("MemAvailable:", free),
        ("Buffers:", 0),
        ("Cached:", 0),
        ("SwapCached:", 0),
        ("Active:", total - free),
        ("Inactive:", 0),
        ("Unevictable:", 0),
        ("Mlocked:", 0),
        ("SwapTotal:", 0),
        ("SwapFree:", 0),
        ("Dirty:", 0),
        ("Writeback:", 0),
        ("AnonPages:", total - free),
        ("Mapped:", 0),
        ("Shmem:", 0),
        ("Slab:", 0),
        ("SReclaimable:", 0),
        ("SUnreclaim:", 0),
    ];
    rows.iter()
        .map(|(n, v)| format!("{n:<16}{v:>8} kB\n"))
        .collect()
}

/// /proc/cpuinfo for `cpus` processors of `arch`, in the layout of that arch's Linux
/// (arch/x86/kernel/cpu/proc.c, arch/arm64/kernel/cpuinfo.c, arch/riscv/kernel/cpu.c).
/// The model is the one unicorn emulates, described generically.
fn cpuinfo(arch: Arch, cpus: u32) -> String {
    let mut out = String::new();
    for n in 0..cpus {
        match arch {
            Arch::X86_64 => {
                out += &format!(
                    "processor\t: {n}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 0\n\
                     model name\t: Glass virtual x86_64 CPU\nstepping\t: 0\ncpu MHz\t\t: 1000.000\n\
                     physical id\t: 0\nsiblings\t: {cpus}\ncore id\t\t: {n}\ncpu cores\t: {cpus}\n\
                     apicid\t\t: {n}\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\n\
                     flags\t\t: fpu tsc cx8 cmov mmx fxsr sse sse2 syscall nx lm pni ssse3 sse4_1 sse4_2 popcnt\n\
                     bogomips\t: 2000.00\nclflush size\t: 64\ncache_alignment\t: 64\n\
                     address sizes\t: 48 bits physical, 48 bits virtual\npower management:\n\n"
                );
            }
            Arch::Aarch64 => {
                out += &format!(
                    "processor\t: {n}\nBogoMIPS\t: 2000.00\nFeatures\t: fp asimd cpuid\n\
                     CPU implementer\t: 0x00\nCPU architecture: 8\nCPU variant\t: 0x0\n\
                     CPU part\t: 0x000\nCPU revision\t: 0\n\n"
                );
            }
            Arch::Riscv64 => {
                out += &format!(
                    "processor\t: {n}\nhart\t\t: {n}\nisa\t\t: rv64imafdc\nmmu\t\t: sv48\n\n"
                );
            }
        }
    }
    out
}

/// /proc/PID/mounts: the guest's one file system, its procfs and the /dev and /tmp that
/// live in the same overlay (proc(5), fstab(5) fields).
fn mounts() -> String {
    "rootfs / rootfs rw 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n".into()
}

/// The state letter and name of task `t` (fs/proc/array.c task_state_array): R running
/// or ready, S waiting in a system call, T job-control stopped, t stopped by /proc, Z
/// ended and not yet reaped.
fn state(t: &Task) -> (char, &'static str) {
    match t.state {
        PState::Ready | PState::Running => ('R', "running"),
        PState::Blocked(_) => ('S', "sleeping"),
        PState::JobStopped(_) => ('T', "stopped"),
        PState::Stopped => ('t', "tracing stop"),
        PState::Zombie(_) => ('Z', "zombie"),
    }
}

/// Sizes of the address space in pages: (total, text, data+stack) — what statm and the
/// Vm lines of status show. Every mapped page counts as resident (the engine maps it).
fn vm_pages(m: &Machine, g: &Group) -> (u64, u64, u64, u64) {
    let Some(s) = m.spaces.get(&g.space) else {
        return (0, 0, 0, 0);
    };
    let (mut total, mut text, mut data, mut stack) = (0, 0, 0, 0);
    for seg in s.vm.segs() {
        let pages = (seg.end - seg.start) / param::PAGE_SIZE;
        total += pages;
        match seg.kind {
            proc_model::machine::SegKind::Text => text += pages,
            proc_model::machine::SegKind::Stack => stack += pages,
            _ => data += pages,
        }
    }
    (total, text, data, stack)
}

/// Signal dispositions as masks: (ignored, caught) (SIG_IGN is handler 1).
fn sig_masks(g: &Group) -> (u64, u64) {
    let (mut ign, mut cgt) = (0, 0);
    for (sig, a) in g.sigactions.iter().enumerate().skip(1) {
        match a.handler {
            0 => {}
            1 => ign |= crate::signal::bit(sig as i32),
            _ => cgt |= crate::signal::bit(sig as i32),
        }
    }
    (ign, cgt)
}

/// /proc/PID/stat: the 52 fields of proc(5) (fs/proc/array.c do_task_stat).
fn pid_stat(m: &Machine, t: &Task, g: &Group) -> String {
    let (st, _) = state(t);
    let (u, s) = cpu_ns(t);
    let (pages, _, _, _) = vm_pages(m, g);
    let threads = m.tasks.values().filter(|x| x.tgid == g.pid).count();
    let (ign, cgt) = sig_masks(g);
    let space = m.spaces.get(&g.space);
    let seg = |k: proc_model::machine::SegKind| {
        space
            .and_then(|s| s.vm.segs().find(|x| x.kind == k).map(|x| (x.start, x.end)))
            .unwrap_or((0, 0))
    };
    let (code_start, code_end) = seg(proc_model::machine::SegKind::Text);
    let (data_start, data_end) = seg(proc_model::machine::SegKind::Data);
    let (_, stack_end) = seg(proc_model::machine::SegKind::Stack);
    let brk = space.map_or(0, |s| s.vm.brk());
    let exit_code = match t.state {
        PState::Zombie(e) => e.wait_word(),
        _ => 0,
    };
    let fields: Vec<String> = vec![
        t.tid.0.to_string(),
        format!("({})", comm(g)),
        st.to_string(),
        g.ppid.0.to_string(),
        g.pgid.to_string(),
        g.sid.to_string(),
        "0".into(),  // tty_nr: the console is not a terminal
        "-1".into(), // tpgid
        "0".into(),  // flags: no PF_* flag a guest could act on applies
        "0".into(),
        "0".into(),
        "0".into(),
        "0".into(),
        ticks(u).to_string(),
        ticks(s).to_string(),
        "0".into(),
        "0".into(),
        (20 + g.nice).to_string(),
        g.nice.to_string(),
        threads.to_string(),
        "0".into(),
        ticks(t.start_ns).to_string(),
        (pages * param::PAGE_SIZE).to_string(),
        pages.to_string(),
        g.rlimits[5].0.to_string(),
        code_start.to_string(),
        code_end.to_string(),
        stack_end.to_string(),
        "0".into(),
        "0".into(),
        (t.sig_pending & 0x7fff_ffff).to_string(),
        (t.sigmask & 0x7fff_ffff).to_string(),
        (ign & 0x7fff_ffff).to_string(),
        (cgt & 0x7fff_ffff).to_string(),
        "0".into(),
        "0".into(),
        "0".into(),
        "17".into(), // exit_signal: SIGCHLD
        "0".into(),  // processor
        "0".into(),
        "0".into(),
        "0".into(),
        "0".into(),
        "0".into(),
        data_start.to_string(),
        data_end.to_string(),
        brk.to_string(),
        "0".into(),
        "0".into(),
        "0".into(),
        "0".into(),
        exit_code.to_string(),
    ];
    fields.join(" ") + "\n"
}

/// /proc/PID/statm: size resident shared text lib data dt, in pages (proc(5)).
fn statm(m: &Machine, g: &Group) -> String {
    let (total, text, data, stack) = vm_pages(m, g);
    format!("{total} {total} {text} {text} 0 {} 0\n", data + stack)
}

fn kb(pages: u64) -> String {
    format!("{:>8} kB", pages * param::PAGE_SIZE / 1024)
}

/// /proc/PID/status (proc(5), fs/proc/array.c proc_pid_status), the lines busybox and
/// procps read; the process runs as root with every capability, on `--cpus` CPUs.
fn status(m: &Machine, t: &Task, g: &Group) -> String {
    let (c, name) = state(t);
    let threads = m.tasks.values().filter(|x| x.tgid == g.pid).count();
    let (ign, cgt) = sig_masks(g);
    let fd_size = g.fds.iter().map(|(fd, _)| fd + 1).max().unwrap_or(0);
    let fd_size = (fd_size.max(1) as u32).next_power_of_two().max(64);
    let mut s = format!(
        "Name:\t{}\nUmask:\t{:04o}\nState:\t{c} ({name})\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\n\
         TracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t{fd_size}\nGroups:\t\n\
         NStgid:\t{}\nNSpid:\t{}\nNSpgid:\t{}\nNSsid:\t{}\n",
        comm(g),
        g.umask,
        g.pid.0,
        t.tid.0,
        g.ppid.0,
        g.pid.0,
        t.tid.0,
        g.pgid,
        g.sid
    );
    if !t.state.is_zombie() {
        let (total, text, data, stack) = vm_pages(m, g);
        for (n, v) in [
            ("VmPeak", total),
            ("VmSize", total),
            ("VmLck", 0),
            ("VmPin", 0),
            ("VmHWM", total),
            ("VmRSS", total),
            ("RssAnon", total - text),
            ("RssFile", text),
            ("RssShmem", 0),
            ("VmData", data),
            ("VmStk", stack),
            ("VmExe", text),
            ("VmLib", 0),
            ("VmPTE", 0),
            ("VmSwap", 0),
        ] {
            s += &format!("{n}:\t{}\n", kb(v));
        }
    }
    let cpus = m.k.cpus;
    let mask: u64 = if cpus >= 64 {
        u64::MAX
    } else {
        (1u64 << cpus) - 1
    };
    s += &format!(
        "Threads:\t{threads}\nSigQ:\t{}/{}\nSigPnd:\t{:016x}\nShdPnd:\t{:016x}\nSigBlk:\t{:016x}\n\
         SigIgn:\t{ign:016x}\nSigCgt:\t{cgt:016x}\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n\
         CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n\
         NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\nCpus_allowed:\t{}\nCpus_allowed_list:\t{}\n\
         Mems_allowed:\t1\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t{}\nnonvoluntary_ctxt_switches:\t0\n",
        t.sig_pending.count_ones(),
        if g.rlimits[11].0 == u64::MAX { "unlimited".to_string() } else { g.rlimits[11].0.to_string() },
        t.sig_pending,
        0,
        t.sigmask,
        cpu_mask_hex(mask),
        if cpus == 1 { "0".to_string() } else { format!("0-{}", cpus - 1) },
        t.syscalls,
    );
    s
}

/// Cpus_allowed as Linux prints a cpumask: 32-bit hex words separated by commas.
fn cpu_mask_hex(mask: u64) -> String {
    if mask >> 32 == 0 {
        format!("{:x}", mask)
    } else {
        format!("{:x},{:08x}", mask >> 32, mask & 0xffff_ffff)
    }
}

/// /proc/PID/maps (proc(5), fs/proc/task_mmu.c show_map_vma): one line per segment in
/// address order, from the same segment list as the 9P `segment` file
/// (`AddressSpace::plan9_order`). The program's Text and Data show its path (on the
/// root's device 00:2a, the inode stat shows); the Bss, which the break grows, shows as
/// `[heap]`, the sigreturn trampoline page as `[vdso]`; mapping offsets are not kept and
/// show as 0.
fn maps(m: &Machine, g: &Group) -> String {
    use proc_model::machine::SegKind;
    let Some(s) = m.spaces.get(&g.space) else {
        return String::new();
    };
    let mut segs = s.vm.plan9_order();
    segs.sort_by_key(|s| s.start);
    let mut out = String::new();
    for seg in segs {
        let (name, dev, ino) = match seg.kind {
            // The sigreturn trampoline page glass maps where aarch64 and riscv64 Linux
            // use the vDSO's (param::SIGTRAMP_ADDR).
            SegKind::Text if seg.start == param::SIGTRAMP_ADDR => ("[vdso]".to_string(), 0, 0),
            SegKind::Text | SegKind::Data => (g.exe.clone(), 0x2a, vfs::path_ino(&g.exe)),
            SegKind::Bss => ("[heap]".to_string(), 0, 0),
            SegKind::Stack => ("[stack]".to_string(), 0, 0),
            _ => (String::new(), 0, 0),
        };
        let mut line = format!(
            "{:08x}-{:08x} {}{}{}p 00000000 00:{:02x} {} ",
            seg.start,
            seg.end,
            if seg.prot & 1 != 0 { 'r' } else { '-' },
            if seg.prot & 2 != 0 { 'w' } else { '-' },
            if seg.prot & 4 != 0 { 'x' } else { '-' },
            dev,
            ino
        );
        if !name.is_empty() {
            // seq_pad: the name starts at column 73 (25 + 6 × sizeof(void *) - 1, then a
            // space), or right after the header if that is longer.
            while line.len() < 73 {
                line.push(' ');
            }
            line += &name;
        }
        out += &line;
        out.push('\n');
    }
    out
}

/// /proc/PID/limits (fs/proc/base.c proc_pid_limits): a header, then one row per
/// RLIMIT_* in number order.
fn limits(g: &Group) -> String {
    const NAMES: [(&str, &str); param::RLIM_NLIMITS] = [
        ("Max cpu time", "seconds"),
        ("Max file size", "bytes"),
        ("Max data size", "bytes"),
        ("Max stack size", "bytes"),
        ("Max core file size", "bytes"),
        ("Max resident set", "bytes"),
        ("Max processes", "processes"),
        ("Max open files", "files"),
        ("Max locked memory", "bytes"),
        ("Max address space", "bytes"),
        ("Max file locks", "locks"),
        ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"),
        ("Max nice priority", ""),
        ("Max realtime priority", ""),
        ("Max realtime timeout", "us"),
    ];
    let v = |x: u64| {
        if x == u64::MAX {
            "unlimited".to_string()
        } else {
            x.to_string()
        }
    };
    let mut s = format!(
        "{:<25} {:<20} {:<20} {:<10}\n",
        "Limit", "Soft Limit", "Hard Limit", "Units"
    );
    for (i, (name, unit)) in NAMES.iter().enumerate() {
        let (soft, hard) = g.rlimits[i];
        s += &format!("{name:<25} {:<20} {:<20} ", v(soft), v(hard));
        if unit.is_empty() {
            s.push('\n');
        } else {
            s += &format!("{unit:<10}\n");
        }
    }
    s
}

/// /proc/PID/fdinfo/N (proc(5)): position, flags in octal (O_CLOEXEC shown as Linux
/// does), mount id and inode.
fn fdinfo(g: &Group, fd: i32) -> Option<String> {
    let e = g.fds.entry(fd).ok()?;
    let f = e.file.borrow();
    let mut flags = f.flags;
    if e.cloexec {
        flags |= crate::fdtable::O_CLOEXEC;
    }
    let ino = match &f.kind {
        FileKind::PipeRead(pp) | FileKind::PipeWrite(pp) => pp.borrow().id,
        FileKind::Epoll(ep) => ep.borrow().id,
        _ => vfs::path_ino(&f.path),
    };
    Some(format!(
        "pos:\t{}\nflags:\t0{:o}\nmnt_id:\t1\nino:\t{ino}\n",
        f.offset, flags
    ))
}

/// What opening `fd/N` of process `tgid` with `flags` gives (fs/proc/fd.c: the open file
/// is opened again): a pipe end or the console opened anew in the mode asked, an overlay
/// file sharing its contents; anything else is opened again by its path.
pub enum Reopen {
    File(crate::fdtable::FileRef),
    Path(String),
}

/// Open file `fd` of thread group `tgid`, as `/proc/PID/fd/N` names it (ENOENT if gone).
pub fn fd_of(m: &Machine, tgid: Pid, fd: i32) -> SysResult<crate::fdtable::FileRef> {
    m.groups
        .get(&tgid)
        .ok_or(Errno::ENOENT)?
        .fds
        .get(fd)
        .map_err(|_| Errno::ENOENT)
}

pub fn reopen(m: &Machine, tgid: Pid, fd: i32, flags: u32) -> SysResult<Reopen> {
    let f = fd_of(m, tgid, fd)?;
    let f = f.borrow();
    let status = flags & (O_ACCMODE | crate::fdtable::O_APPEND | crate::fdtable::O_NONBLOCK);
    let write = flags & O_ACCMODE != O_RDONLY;
    let kind = match &f.kind {
        // A FIFO opened O_RDWR reads and writes; one description here is one end, so it
        // reads (what `exec 3<>/dev/fd/N` uses it for).
        FileKind::PipeRead(pp) | FileKind::PipeWrite(pp) => {
            if flags & O_ACCMODE == O_WRONLY {
                pp.borrow_mut().writers += 1;
                FileKind::PipeWrite(pp.clone())
            } else {
                pp.borrow_mut().readers += 1;
                FileKind::PipeRead(pp.clone())
            }
        }
        FileKind::Console(c) => FileKind::Console(match (flags & O_ACCMODE, c) {
            (O_RDONLY, _) => Console::Stdin,
            (_, Console::Stderr) => Console::Stderr,
            _ => Console::Stdout,
        }),
        FileKind::Mem(mf) => {
            if write && flags & crate::fdtable::O_TRUNC != 0 {
                mf.borrow_mut().set_len(0)?;
            }
            FileKind::Mem(mf.clone())
        }
        // An anonymous inode cannot be opened again (ENXIO, as Linux answers).
        FileKind::Epoll(_) => return Err(Errno::ENXIO),
        FileKind::Host(_) | FileKind::Dir(_) | FileKind::Dev(_) => {
            return Ok(Reopen::Path(f.path.clone()))
        }
    };
    Ok(Reopen::File(OpenFile::new(kind, f.path.clone(), status)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_header_and_rows_match_linux_layout() {
        let g = Group::new(
            Pid(1),
            Pid(0),
            "/bin/sh",
            vec![],
            std::sync::Arc::from(Vec::new()),
            crate::machine::SpaceId(0),
        );
        let s = limits(&g);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 1 + param::RLIM_NLIMITS);
        // Lines of a Linux `cat /proc/self/limits` (checked on a 6.18 host; the layout is
        // fs/proc/base.c), with the guest's values.
        assert_eq!(
            lines[0],
            "Limit                     Soft Limit           Hard Limit           Units     "
        );
        assert_eq!(
            lines[1],
            "Max cpu time              unlimited            unlimited            seconds   "
        );
        assert_eq!(
            lines[8],
            "Max open files            1024                 4096                 files     "
        );
        assert_eq!(
            lines[14],
            "Max nice priority         unlimited            unlimited            "
        );
    }

    #[test]
    fn meminfo_rows_right_align_kb_in_eight_columns() {
        let s = meminfo();
        // The layout of a Linux /proc/meminfo line (a 6.18 host: "MemTotal:       24683584 kB").
        assert_eq!(s.lines().next(), Some("MemTotal:        1048576 kB"));
        assert!(s.lines().all(|l| l.ends_with(" kB") && l.len() >= 27));
    }

    #[test]
    fn cpuinfo_lists_one_processor_per_cpu_on_each_arch() {
        for arch in [Arch::X86_64, Arch::Aarch64, Arch::Riscv64] {
            let s = cpuinfo(arch, 3);
            let procs: Vec<&str> = s.lines().filter(|l| l.starts_with("processor")).collect();
            assert_eq!(
                procs,
                ["processor\t: 0", "processor\t: 1", "processor\t: 2"]
            );
        }
    }

    #[test]
    fn stat_gives_fd_links_size_64_and_files_mode_0444() {
        let link = Kind::Link("pipe:[3]".into(), 0o500);
        let st = stat("/proc/7/fd/0", &link);
        assert_eq!((st.mode, st.size), (vfs::S_IFLNK | 0o500, 64));
        let st = stat("/proc/7/task/7/fd/12", &link);
        assert_eq!(st.size, 64);
        let st = stat("/proc/self", &Kind::Link("7".into(), 0o777));
        assert_eq!((st.mode, st.size), (vfs::S_IFLNK | 0o777, 0));
        assert_eq!(stat("/proc/7/stat", &Kind::File).mode, vfs::S_IFREG | 0o444);
        assert_eq!(stat("/proc/7", &Kind::Dir).mode, vfs::S_IFDIR | 0o555);
    }

    #[test]
    fn is_proc_path_takes_only_names_below_proc() {
        assert!(is_proc_path("/proc") && is_proc_path("/proc/1/stat"));
        assert!(!is_proc_path("/process") && !is_proc_path("pipe:[1]"));
    }

    #[test]
    fn centis_prints_two_decimals() {
        assert_eq!(centis(0), "0.00");
        assert_eq!(centis(1_234_567_890), "1.23");
        assert_eq!(centis(60_050_000_000), "60.05");
    }

    #[test]
    fn cpu_mask_hex_splits_32_bit_words() {
        assert_eq!(cpu_mask_hex(1), "1");
        assert_eq!(cpu_mask_hex(0xf), "f");
        assert_eq!(cpu_mask_hex(u64::MAX), "ffffffff,ffffffff");
    }
}
