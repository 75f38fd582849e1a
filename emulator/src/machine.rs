//! The machine: its configuration, the kernel state every process shares (file system,
//! virtual clock, seeded randomness, console, trace) and the process table.

use crate::cpu::{Arch, Cpu};
use crate::fdtable::FdTable;
use crate::loader::{self, LoadError};
use crate::param;
use crate::pipe::PipeRef;
use crate::rng::Rng;
use crate::syscalls::Sys;
use crate::trace::Trace;
use crate::vfs::{self, Vfs};
use crate::vm::AddressSpace;
use proc_model::machine::Pid;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;

/// Host-side errors of building or running a machine.
#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("{program}: {reason}")]
    Program { program: String, reason: String },
    #[error("cpu: {0}")]
    Cpu(#[from] crate::cpu::CpuError),
    #[error("trace file {path}: {err}")]
    Trace { path: PathBuf, err: std::io::Error },
    #[error("guest root {0} is not a directory")]
    Root(PathBuf),
}

/// What to run, and how.
pub struct Config {
    /// Host directory exposed read-only as the guest's `/`.
    pub root: PathBuf,
    /// Program path inside the guest root (absolute, or looked up in the guest PATH).
    pub program: String,
    /// argv, including argv[0].
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// The first process's working directory (guest path).
    pub cwd: String,
    /// Seed of getrandom, /dev/urandom and AT_RANDOM.
    pub seed: u64,
    /// Write one JSON line per system call here.
    pub trace: Option<PathBuf>,
    /// Scheduler quantum in blocks.
    pub quantum: u64,
    /// The machine's owner as /proc names it ("eve"): owner of every process's files.
    pub eve: String,
    /// Start the first process stopped, before its first instruction (`--hang`).
    pub hang: bool,
    /// Perturb the schedule (which runnable process runs next, quantum jitter) with this
    /// seed; None is plain round robin.
    pub sched_seed: Option<u64>,
}

impl Config {
    pub fn new(root: PathBuf, program: &str, args: Vec<String>) -> Config {
        Config {
            root,
            program: program.to_string(),
            args,
            env: param::DEFAULT_ENV.iter().map(|s| s.to_string()).collect(),
            cwd: "/".into(),
            seed: 0,
            trace: None,
            quantum: param::QUANTUM_BLOCKS,
            eve: host_user(),
            hang: false,
            sched_seed: None,
        }
    }
}

/// The user running glass ($USER, else `glass`): the default eve.
pub fn host_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "glass".to_string())
}

/// The machine's console: the host streams the guest's fds 0–2 reach.
pub struct ConsoleIo {
    pub stdin: Box<dyn Read + Send>,
    pub stdout: Box<dyn Write>,
    pub stderr: Box<dyn Write>,
}

impl ConsoleIo {
    pub fn host() -> ConsoleIo {
        ConsoleIo {
            stdin: Box::new(std::io::stdin()),
            stdout: Box::new(std::io::stdout()),
            stderr: Box::new(std::io::stderr()),
        }
    }
}

/// Console input while /proc is served ([`Machine::console_async`]): a host thread reads the
/// console and hands its bytes to the machine as requests, so a guest read of an empty
/// console waits like a pipe read (`Wait::Console`) while the other processes and /proc go
/// on. Without /proc a console read blocks the machine, as it always has: then nothing else
/// could happen meanwhile anyway, and the interleaving stays independent of input timing.
#[derive(Default)]
pub struct ConsoleIn {
    /// Bytes read from the host and not yet by the guest.
    pub buf: std::collections::VecDeque<u8>,
    /// The host stream has ended (or failed).
    pub eof: bool,
    /// Bytes the reader may still hand over before it waits for the guest to read.
    room: std::sync::Arc<(std::sync::Mutex<usize>, std::sync::Condvar)>,
    /// The host stream and the queue to feed, until the first console read or poll starts
    /// the reader (so input typed ahead stays with the host if no guest ever reads it).
    pending: Option<(Box<dyn Read + Send>, std::sync::mpsc::Sender<Request>)>,
}

/// Console input the reader thread keeps ahead of the guest, at most.
const CONSOLE_AHEAD: usize = 1 << 20;

impl ConsoleIn {
    /// Whether a read would return at once (data or end of file).
    pub fn readable(&self) -> bool {
        !self.buf.is_empty() || self.eof
    }

    /// Take up to `n` bytes for the guest, making room for the reader.
    pub fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.buf.len());
        let out: Vec<u8> = self.buf.drain(..n).collect();
        let (room, cv) = &*self.room;
        *room.lock().unwrap_or_else(|p| p.into_inner()) += n;
        cv.notify_one();
        out
    }
}

/// Virtual time: a function of guest work only (DESIGN.md determinism contract).
#[derive(Debug, Default, Clone, Copy)]
pub struct Clock {
    pub ns: u64,
}

/// Kernel state shared by every process.
pub struct Kernel {
    pub vfs: Vfs,
    pub clock: Clock,
    pub rng: Rng,
    pub console: ConsoleIo,
    /// Console input taken over by a reader thread, once /proc is served.
    pub console_in: Option<ConsoleIn>,
    pub trace: Trace,
    /// Contents of host files exec'd so far.
    pub images: std::collections::HashMap<PathBuf, std::sync::Arc<[u8]>>,
    /// Unimplemented calls seen: raw number → (known name, count).
    pub unimplemented: BTreeMap<u64, (Option<Sys>, u64)>,
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signal(i32),
}

impl ExitStatus {
    /// The shell's view: the code, or 128 + signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal(s) => 128 + s,
        }
    }
}

#[derive(Clone, Debug)]
pub enum PState {
    Ready,
    Running,
    /// Stopped by a /proc ctl request (Plan 9 `Stopped`).
    Stopped,
    /// Stopped by SIGSTOP/SIGTSTP until SIGCONT (Linux job control).
    JobStopped(i32),
    /// Inside a system call that waits; it is re-dispatched when the condition may hold.
    Blocked(Wait),
    Zombie(ExitStatus),
}

impl PState {
    pub fn is_zombie(&self) -> bool {
        matches!(self, PState::Zombie(_))
    }
}

/// What a blocked process waits for.
#[derive(Clone, Debug)]
pub enum Wait {
    PipeRead(PipeRef),
    PipeWrite(PipeRef),
    /// wait4/waitid: a child to change state.
    Child,
    /// vfork: the child to exec or exit.
    Vfork(Pid),
    /// A virtual-time deadline (nanosleep).
    Until(u64),
    /// pause / sigsuspend: any signal.
    Signal,
    /// poll/select: an fd to become ready, or the deadline.
    Poll(Vec<(i32, u16)>, Option<u64>),
    /// read of an empty console while /proc is served: input to arrive.
    Console,
}

impl Wait {
    /// The state name Plan 9 shows while a process is inside this call.
    pub fn plan9_name(&self) -> &'static str {
        match self {
            Wait::PipeRead(_) | Wait::Console => "Pread",
            Wait::PipeWrite(_) => "Pwrite",
            Wait::Child | Wait::Vfork(_) => "Await",
            Wait::Until(_) => "Sleep",
            Wait::Signal => "Rendez",
            Wait::Poll(..) => "Poll",
        }
    }
}

/// What Plan 9's /proc keeps per process beyond the Linux view (proc(3)): owner, procmode,
/// the private flag, note group, written args and pending notes.
#[derive(Clone, Debug)]
pub struct Plan9State {
    pub user: String,
    pub procmode: u32,
    pub private: bool,
    pub noteid: u32,
    pub args_text: Option<String>,
    pub notes: std::collections::VecDeque<String>,
    /// ctl `hang`: stop right after a successful exec (inherited across fork and exec).
    pub hang: bool,
    /// How the debugger resumed the process.
    pub trace: crate::debug::Trace,
    /// The exit string of a process that died of an unhandled trap (it stays Broken).
    pub broken: Option<String>,
    /// Wait records of ended children, for /proc/N/wait.
    pub waitq: std::collections::VecDeque<proc_model::machine::WaitRecord>,
    /// The `syscall` file: the last traced system call.
    pub syscall_text: String,
    /// A debugger is waiting in ctl for this process (only one may).
    pub waiter: bool,
    /// ctl `step` (a Glass extension): run one instruction, then stop.
    pub step: bool,
}

/// A recorded signal disposition (delivery comes with the multi-process kernel).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

pub struct Process {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgid: u32,
    pub sid: u32,
    /// Base name of the program as exec'd (Plan 9's text name).
    pub name: String,
    pub args: Vec<String>,
    /// Canonical guest path of the executable (readlink /proc/self/exe).
    pub exe: String,
    pub cpu: Cpu,
    pub vm: AddressSpace,
    pub fds: FdTable,
    pub cwd: String,
    pub umask: u32,
    /// Resource limits (soft, hard) by RLIMIT_* number (getrlimit(2)); inherited by fork.
    pub rlimits: [(u64, u64); param::RLIM_NLIMITS],
    pub state: PState,
    pub sigactions: Vec<SigAction>,
    pub sigmask: u64,
    /// Blocks of guest work executed and syscalls made (for status times).
    pub blocks: u64,
    pub syscalls: u64,
    pub start_ns: u64,
    /// Plan 9 Ureg `type` of the last entry into the kernel: 64 for a system call, 32 for
    /// preemption (the clock interrupt's vector on 9front pc64).
    pub last_trap: u64,
    /// The executable's bytes (what /proc/N/text serves).
    pub image: std::sync::Arc<[u8]>,
    pub p9: Plan9State,
    /// The blocked system call to dispatch again when woken: (call, number, arguments).
    pub retry: Option<(Sys, u64, [u64; 6])>,
    /// Pending signals, bit (sig-1).
    pub sig_pending: u64,
    /// The mask to restore after a handler that interrupted sigsuspend.
    pub saved_mask: Option<u64>,
    /// Floating-point state saved by signal delivery, restored by rt_sigreturn.
    pub fp_stack: Vec<Vec<u8>>,
    /// A /proc `stop` waiting for the process to leave its system call.
    pub stop_req: bool,
    /// A job-control stop or continue not yet reported to wait4 (WUNTRACED / WCONTINUED).
    pub stop_unreported: Option<i32>,
    /// A vfork child that has not yet exec'd or exited (its parent waits).
    pub in_vfork: bool,
    /// ITIMER_REAL / alarm deadline in virtual ns.
    pub alarm_ns: Option<u64>,
    /// A system call stopped at its entry by startsyscall, to run when resumed.
    pub sys_entry: Option<(Option<Sys>, u64, [u64; 6])>,
}

/// A request from a 9P connection thread, run on the machine thread between quanta.
pub type Request = Box<dyn FnOnce(&mut Machine) + Send>;

/// A request waiting for a state (ctl `waitstop`, a `wait` read): checked after every step;
/// `poll` answers and returns true when done.
pub type Parked = Box<dyn FnMut(&mut Machine) -> bool>;

pub struct Machine {
    pub k: Kernel,
    /// The process table, in slot order.
    pub procs: Vec<Process>,
    pub quantum: u64,
    /// Requests from /proc servers, if any are attached.
    pub requests: Option<std::sync::mpsc::Receiver<Request>>,
    pub parked: Vec<Parked>,
    /// Keep serving requests after every process has ended (`--keep`).
    pub keep: bool,
    /// The process that ran last (shown Running in /proc).
    pub last_run: Option<Pid>,
    /// The machine's owner ("eve"): the user /proc files belong to.
    pub eve: String,
    pub next_pid: u32,
    pub next_pipe: u64,
    /// Print the "threads are not supported" message once.
    pub warned_threads: bool,
    /// The round-robin cursor of the scheduler.
    pub cursor: usize,
    /// The schedule perturbation generator (`--sched-seed`).
    pub sched_rng: Option<Rng>,
    /// Engines of ended processes, kept with their program's text and its translations so
    /// the next fork or exec of the same program starts warm.
    pub pool: Vec<Pooled>,
    /// Processes that died of a trap, reaped by their parent but kept for /proc.
    pub broken: Vec<Process>,
}

/// An engine waiting for reuse.
pub struct Pooled {
    pub image: std::sync::Arc<[u8]>,
    pub text: Vec<(u64, u64)>,
    pub cpu: Cpu,
}

/// Engines kept for reuse at most.
const POOL_MAX: usize = 8;

/// Look `program` up the way a shell would: a name with a slash is a path (relative to
/// `cwd`); otherwise each PATH directory is tried in order.
pub fn find_program(vfs: &Vfs, cwd: &str, program: &str, env: &[String]) -> Option<String> {
    if program.contains('/') {
        return Some(vfs::absolute(cwd, program));
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/bin:/usr/bin");
    for dir in path.split(':') {
        let cand = vfs::absolute(
            cwd,
            &format!("{}/{program}", if dir.is_empty() { "." } else { dir }),
        );
        if let Ok(r) = vfs.resolve(&cand, true) {
            if matches!(r.node, vfs::Node::HostFile(_) | vfs::Node::MemFile(_)) {
                return Some(cand);
            }
        }
    }
    None
}

/// Read the whole content of a regular file of the guest file system. Files of the host
/// root are read once per run and shared (programs are exec'd over and over).
pub fn read_guest_file(
    vfs: &Vfs,
    cache: &mut std::collections::HashMap<PathBuf, std::sync::Arc<[u8]>>,
    path: &str,
) -> Result<(String, std::sync::Arc<[u8]>), String> {
    let r = vfs
        .resolve(path, true)
        .map_err(|e| errno_text(e.0).to_string())?;
    match &r.node {
        vfs::Node::HostFile(hp) => {
            if let Some(b) = cache.get(hp) {
                return Ok((r.path.clone(), b.clone()));
            }
            let b: std::sync::Arc<[u8]> = std::fs::read(hp).map_err(|e| e.to_string())?.into();
            cache.insert(hp.clone(), b.clone());
            Ok((r.path.clone(), b))
        }
        vfs::Node::MemFile(f) => Ok((r.path.clone(), f.borrow().as_slice().into())),
        vfs::Node::HostDir(_) | vfs::Node::MemDir => Err("Is a directory".into()),
        _ => Err("Permission denied".into()),
    }
}

/// strerror text for the few errnos a user sees from glass itself.
pub fn errno_text(e: i32) -> &'static str {
    match e {
        2 => "No such file or directory",
        13 => "Permission denied",
        20 => "Not a directory",
        21 => "Is a directory",
        40 => "Too many levels of symbolic links",
        _ => "error",
    }
}

/// Host settings that make many engines cheap, applied once per host process: no
/// transparent huge pages, because unicorn advises them for every engine's guest RAM and
/// code buffer and the kernel then zeroes 2 MiB for each first touch — most of the cost, and
/// most of the memory, of a short-lived emulated process.
fn tune_host() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) only sets a flag of this process.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    });
}

impl Machine {
    /// From now on the console is read by a host thread that feeds the bytes in through
    /// `feed` (the /proc request queue): a guest waiting for console input no longer holds
    /// up the machine thread, so /proc answers and other processes run meanwhile.
    pub fn console_async(&mut self, feed: std::sync::mpsc::Sender<Request>) {
        if self.k.console_in.is_some() {
            return;
        }
        let input = std::mem::replace(&mut self.k.console.stdin, Box::new(std::io::empty()));
        self.k.console_in = Some(ConsoleIn {
            pending: Some((input, feed)),
            ..ConsoleIn::default()
        });
    }

    /// Start the console reader of [`Machine::console_async`], if it has not started yet.
    pub fn start_console_reader(&mut self) {
        let Some(ci) = self.k.console_in.as_mut() else {
            return;
        };
        let Some((mut input, feed)) = ci.pending.take() else {
            return;
        };
        *ci.room.0.lock().unwrap_or_else(|p| p.into_inner()) = CONSOLE_AHEAD;
        let room = ci.room.clone();
        let spawned = std::thread::Builder::new()
            .name("glass-console".into())
            .spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    // Wait until the guest has read enough of what came before.
                    let want = {
                        let (lock, cv) = &*room;
                        let mut left = lock.lock().unwrap_or_else(|p| p.into_inner());
                        while *left == 0 {
                            left = cv.wait(left).unwrap_or_else(|p| p.into_inner());
                        }
                        (*left).min(buf.len())
                    };
                    let got = match input.read(&mut buf[..want]) {
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Ok(0) | Err(_) => None,
                        Ok(n) => Some(buf[..n].to_vec()),
                    };
                    if let Some(b) = &got {
                        *room.0.lock().unwrap_or_else(|p| p.into_inner()) -= b.len();
                    }
                    let end = got.is_none();
                    let sent = feed.send(Box::new(move |m: &mut Machine| {
                        if let Some(c) = m.k.console_in.as_mut() {
                            match got {
                                Some(b) => c.buf.extend(b),
                                None => c.eof = true,
                            }
                        }
                    }));
                    if end || sent.is_err() {
                        return;
                    }
                }
            });
        if spawned.is_err() {
            if let Some(c) = self.k.console_in.as_mut() {
                c.eof = true;
            }
        }
    }

    /// Build a machine whose first process runs `config.program`.
    pub fn new(config: &Config, console: ConsoleIo) -> Result<Machine, MachineError> {
        tune_host();
        if !config.root.is_dir() {
            return Err(MachineError::Root(config.root.clone()));
        }
        let vfs = Vfs::new(&config.root);
        let trace = match &config.trace {
            Some(path) => Trace::to_file(path).map_err(|err| MachineError::Trace {
                path: path.clone(),
                err,
            })?,
            None => Trace::digest_only(),
        };
        let mut k = Kernel {
            vfs,
            clock: Clock::default(),
            rng: Rng::new(config.seed),
            console,
            console_in: None,
            trace,
            images: Default::default(),
            unimplemented: BTreeMap::new(),
        };
        let prog_err = |reason: String| MachineError::Program {
            program: config.program.clone(),
            reason,
        };
        let path = find_program(&k.vfs, &config.cwd, &config.program, &config.env)
            .ok_or_else(|| prog_err("not found in the guest root".into()))?;
        let (exe, image) = read_guest_file(&k.vfs, &mut k.images, &path).map_err(prog_err)?;
        let elf = loader::parse(&image)?;
        let mut cpu = Cpu::new(elf.arch)?;
        let mut vm = AddressSpace::default();
        let mut random = [0u8; 16];
        k.rng.fill(&mut random);
        let name = config
            .program
            .rsplit('/')
            .next()
            .unwrap_or(&config.program)
            .to_string();
        let start = loader::load(
            &mut cpu,
            &mut vm,
            &elf,
            &image,
            &config.args,
            &config.env,
            &exe,
            &random,
            &[],
        )?;
        cpu.set_pc(start.entry);
        cpu.set_sp(start.sp);
        let pid = Pid(param::INIT_PID);
        let p = Process {
            pid,
            ppid: Pid(0),
            pgid: pid.0,
            sid: pid.0,
            name,
            args: config.args.clone(),
            exe,
            cpu,
            vm,
            fds: FdTable::with_console(),
            cwd: config.cwd.clone(),
            umask: 0o022,
            rlimits: param::default_rlimits(),
            state: if config.hang {
                PState::Stopped
            } else {
                PState::Ready
            },
            sigactions: vec![SigAction::default(); 65],
            sigmask: 0,
            blocks: 0,
            syscalls: 0,
            start_ns: 0,
            last_trap: 64,
            image,
            retry: None,
            sig_pending: 0,
            saved_mask: None,
            fp_stack: Vec::new(),
            stop_req: false,
            stop_unreported: None,
            in_vfork: false,
            alarm_ns: None,
            sys_entry: None,
            p9: Plan9State {
                user: config.eve.clone(),
                procmode: 0o640,
                private: false,
                noteid: pid.0,
                args_text: None,
                notes: Default::default(),
                hang: config.hang,
                trace: Default::default(),
                broken: None,
                waitq: Default::default(),
                syscall_text: String::new(),
                waiter: false,
                step: false,
            },
        };
        Ok(Machine {
            k,
            procs: vec![p],
            quantum: config.quantum.max(1),
            requests: None,
            parked: Vec::new(),
            keep: false,
            last_run: None,
            eve: config.eve.clone(),
            next_pid: param::INIT_PID + 1,
            next_pipe: 1,
            warned_threads: false,
            cursor: 0,
            sched_rng: config.sched_seed.map(Rng::new),
            pool: Vec::new(),
            broken: Vec::new(),
        })
    }

    pub fn arch_of(&self, pid: Pid) -> Option<Arch> {
        self.procs.iter().find(|p| p.pid == pid).map(|p| p.cpu.arch)
    }

    /// A live process (not yet exited) by pid.
    pub fn proc_mut(&mut self, pid: Pid) -> Option<&mut Process> {
        self.procs
            .iter_mut()
            .find(|p| p.pid == pid && !matches!(p.state, PState::Zombie(_)))
    }

    pub fn proc_ref(&self, pid: Pid) -> Option<&Process> {
        self.procs
            .iter()
            .find(|p| p.pid == pid && !matches!(p.state, PState::Zombie(_)))
    }
}

impl Machine {
    pub fn index_of(&self, pid: Pid) -> Option<usize> {
        self.procs.iter().position(|p| p.pid == pid)
    }

    /// Keep the engine of a process that has ended (or exec'd another program).
    pub fn retire(&mut self, cpu: Cpu, image: std::sync::Arc<[u8]>, text: Vec<(u64, u64)>) {
        if cpu.text_pristine && !text.is_empty() {
            if self.pool.len() >= POOL_MAX {
                self.pool.remove(0);
            }
            self.pool.push(Pooled { image, text, cpu });
        }
    }

    /// An engine that already holds `image`'s text (at `text`, if given), stripped of
    /// everything else; with the text ranges it kept.
    pub fn take_engine(
        &mut self,
        image: &std::sync::Arc<[u8]>,
        arch: Arch,
        text: Option<&[(u64, u64)]>,
    ) -> Option<(Cpu, Vec<(u64, u64)>)> {
        let i = self.pool.iter().rposition(|e| {
            std::sync::Arc::ptr_eq(&e.image, image)
                && e.cpu.arch == arch
                && text.is_none_or(|t| t == e.text)
        })?;
        let mut e = self.pool.remove(i);
        e.cpu.strip_to(&e.text).ok()?;
        Some((e.cpu, e.text))
    }
}
