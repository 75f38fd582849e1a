//! The machine: its configuration, the kernel state every process shares (file system,
//! virtual clock, seeded randomness, console, trace) and the process table.

use crate::cpu::{Arch, Cpu};
use crate::loader::{self, LoadError};
use crate::param;
pub use crate::proc::{
    Detached, ExitStatus, FutexKey, Group, PState, Plan9State, ProcMut, ProcRef, SigAction, Space,
    SpaceId, Task, Wait,
};
use crate::rng::Rng;
use crate::trace::Trace;
use crate::vfs::{self, Vfs};
use crate::vm::AddressSpace;
pub use proc_model::machine::Pid;
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
    #[error("{program}: {reason}")]
    NotFound { program: String, reason: String },
    #[error("cpu: {0}")]
    Cpu(#[from] crate::cpu::CpuError),
    #[error("trace file {path}: {err}")]
    Trace { path: PathBuf, err: std::io::Error },
    #[error("timeline file {path}: {err}")]
    Timeline { path: PathBuf, err: std::io::Error },
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
    /// Write a Chrome trace-event JSON timeline here (timeline.rs).
    pub timeline: Option<PathBuf>,
    /// Scheduler quantum in blocks.
    pub quantum: u64,
    /// The machine's owner as /proc names it ("eve"): owner of every process's files.
    pub eve: String,
    /// Start the first process stopped, before its first instruction (`--hang`).
    pub hang: bool,
    /// Perturb the schedule (which runnable process runs next, quantum jitter) with this
    /// seed; None is plain round robin.
    pub sched_seed: Option<u64>,
    /// CPUs the guest sees (1 to 64).
    pub cpus: u32,
    /// The virtual wall clock's start, in nanoseconds since the Unix epoch (`--epoch`;
    /// default 2025-01-01T00:00:00Z, `param::EPOCH_BASE_SECS`).
    pub epoch_ns: u64,
    /// Files of the root show their host modification times (`--root-times host`) instead
    /// of the fixed `param::FILE_TIME`.
    pub root_times_host: bool,
    /// Machine-wide limits (`--max-memory`, `--max-procs`, `--max-time`, `--timeout`).
    pub limits: crate::limits::Limits,
    /// Do not note unimplemented system calls on stderr.
    pub quiet_syscalls: bool,
}

impl MachineError {
    /// The shell's exit status for a program that could not start: 127 when it does not
    /// exist, 126 when it exists but cannot be run (sh(1), env(1)).
    pub fn exit_status(&self) -> u8 {
        match self {
            MachineError::NotFound { .. } => 127,
            _ => 126,
        }
    }
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
            timeline: None,
            quantum: param::QUANTUM_BLOCKS,
            eve: host_user(),
            hang: false,
            sched_seed: None,
            cpus: 1,
            epoch_ns: param::EPOCH_BASE_SECS * 1_000_000_000,
            root_times_host: false,
            limits: Default::default(),
            quiet_syscalls: false,
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

/// Virtual time: a function of guest work only (docs/DESIGN.md determinism contract).
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
    /// Unimplemented calls seen: raw number → (Linux name or "unknown", count).
    pub unimplemented: BTreeMap<u64, (&'static str, u64)>,
    /// Do not print the one-time note about each unimplemented call (`--quiet-syscalls`).
    pub quiet_syscalls: bool,
    /// The number the next pipe gets.
    pub next_pipe: u64,
    /// Futex waits begun so far (orders the waiters of a word).
    pub futex_seq: u64,
    /// CPUs the guest sees (`--cpus`).
    pub cpus: u32,
    /// CLOCK_REALTIME at virtual time zero, in nanoseconds since the Unix epoch (`--epoch`).
    pub epoch_ns: u64,
}

impl Kernel {
    /// Trace a blocked call of task `tid` that ends now with `ret`.
    pub fn trace_call(&mut self, now: u64, tid: Pid, call: &crate::proc::SysCall, ret: i64) {
        let (sys, nr, args) = call;
        self.trace.syscall(&crate::trace::Event {
            ns: now,
            pid: tid.0,
            name: sys.name(),
            nr: *nr,
            args: &args[..sys.argc()],
            ret,
        });
    }

    /// Start the console reader of [`Machine::console_async`], if it has not started yet.
    pub fn start_console_reader(&mut self) {
        let Some(ci) = self.console_in.as_mut() else {
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
                    let sent = feed.send(Request::Change(Box::new(move |m: &mut Machine| {
                        m.tape_console(got.as_deref());
                        if let Some(c) = m.k.console_in.as_mut() {
                            match got {
                                Some(b) => c.buf.extend(b),
                                None => c.eof = true,
                            }
                        }
                    })));
                    if end || sent.is_err() {
                        return;
                    }
                }
            });
        if spawned.is_err() {
            if let Some(c) = self.console_in.as_mut() {
                c.eof = true;
            }
        }
    }

    pub fn new(vfs: Vfs, seed: u64, console: ConsoleIo, trace: Trace) -> Kernel {
        Kernel {
            vfs,
            clock: Clock::default(),
            rng: Rng::new(seed),
            console,
            console_in: None,
            trace,
            images: Default::default(),
            unimplemented: BTreeMap::new(),
            quiet_syscalls: false,
            next_pipe: 1,
            futex_seq: 0,
            cpus: 1,
            epoch_ns: param::EPOCH_BASE_SECS * 1_000_000_000,
        }
    }
}

/// A request from a 9P connection thread (or the console reader), run on the machine thread.
pub enum Request {
    /// May change the machine: run between quanta, where every change takes effect at a
    /// known virtual time.
    Change(Box<dyn FnOnce(&mut Machine) + Send>),
    /// Only looks: may also run in the middle of a quantum, with the running engine stopped
    /// at a block boundary (it resumes there, so the guest sees nothing).
    Query(Box<dyn FnOnce(&Machine) + Send>),
}

/// A request waiting for a state (ctl `waitstop`, a `wait` read): checked after every step;
/// `poll` answers and returns true when done.
pub type Parked = Box<dyn FnMut(&mut Machine) -> bool>;

pub struct Machine {
    pub k: Kernel,
    /// Every task, by tid (pid order is creation order: the scheduler's round robin).
    pub tasks: BTreeMap<Pid, Task>,
    /// Every thread group, by its leader's pid.
    pub groups: BTreeMap<Pid, Group>,
    /// Every address space, by number.
    pub spaces: BTreeMap<SpaceId, Space>,
    pub quantum: u64,
    /// Requests from /proc servers, if any are attached.
    pub requests: Option<std::sync::mpsc::Receiver<Request>>,
    /// /proc's fair share of the machine thread (share.rs).
    pub share: crate::share::Share,
    /// Changes taken from the request queue in the middle of a quantum, to run after it.
    pub deferred: std::collections::VecDeque<Request>,
    /// How a /proc query stops the running engine early.
    pub interrupter: crate::cpu::Interrupter,
    /// `status` answers kept while the machine is idle (proc_adapter.rs).
    pub idle_infos: std::sync::Arc<crate::proc_adapter::IdleInfos>,
    pub parked: Vec<Parked>,
    /// Keep serving requests after every process has ended (`--keep`).
    pub keep: bool,
    /// The task that ran last (shown Running in /proc).
    pub last_run: Option<Pid>,
    /// The machine's owner ("eve"): the user /proc files belong to.
    pub eve: String,
    pub next_pid: u32,
    pub next_space: u64,
    /// Print the "threads are not supported" message once.
    pub warned_threads: bool,
    /// The round-robin cursor: the task that was picked last.
    pub cursor: Option<Pid>,
    /// The schedule perturbation generator (`--sched-seed`).
    pub sched_rng: Option<Rng>,
    /// Engines of ended processes, kept with their program's text and its translations so
    /// the next fork or exec of the same program starts warm.
    pub pool: Vec<Pooled>,
    /// Processes that died of a trap, reaped by their parent but kept for /proc.
    pub broken: Vec<Detached>,
    /// The run's machine-wide limits.
    pub limits: crate::limits::Limits,
    /// When the run started (for `--timeout`).
    pub started: std::time::Instant,
    /// The machine limit that ended the run, if one did.
    pub limit_hit: Option<String>,
    /// What each address space is charged in the memory budget now.
    pub charges: BTreeMap<SpaceId, u64>,
    /// The run's recording or replay, if any (record.rs).
    pub tape: Option<Box<crate::record::Tape>>,
    /// Scheduling events for /proc/trace and timelines (schedtrace.rs).
    pub schedtrace: crate::schedtrace::SchedTrace,
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
            crate::record::note_opened(hp);
            let b: std::sync::Arc<[u8]> = std::fs::read(hp).map_err(|e| e.to_string())?.into();
            cache.insert(hp.clone(), b.clone());
            Ok((r.path.clone(), b))
        }
        vfs::Node::MemFile(f) => {
            let b = f
                .borrow()
                .to_vec()
                .map_err(|e| errno_text(e.0).to_string())?;
            Ok((r.path.clone(), b.into()))
        }
        vfs::Node::HostDir(_) | vfs::Node::MemDir => Err("Is a directory".into()),
        _ => Err("Permission denied".into()),
    }
}

/// strerror text for the few errnos a user sees from glass itself.
pub fn errno_text(e: i32) -> &'static str {
    match e {
        2 => "No such file or directory",
        8 => "Exec format error",
        13 => "Permission denied",
        12 => "Cannot allocate memory",
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

    /// Build a machine whose first process runs `config.program`.
    pub fn new(config: &Config, console: ConsoleIo) -> Result<Machine, MachineError> {
        tune_host();
        if !config.root.is_dir() {
            return Err(MachineError::Root(config.root.clone()));
        }
        let mut vfs = Vfs::new(&config.root);
        vfs.host_times = config.root_times_host;
        let mut trace = match &config.trace {
            Some(path) => Trace::to_file(path).map_err(|err| MachineError::Trace {
                path: path.clone(),
                err,
            })?,
            None => Trace::digest_only(),
        };
        if let Some(path) = &config.timeline {
            let tl =
                crate::timeline::Timeline::to_file(path).map_err(|err| MachineError::Timeline {
                    path: path.clone(),
                    err,
                })?;
            trace.timeline = Some(tl);
        }
        let mut k = Kernel::new(vfs, config.seed, console, trace);
        k.cpus = config.cpus.clamp(1, 64);
        k.epoch_ns = config.epoch_ns;
        k.vfs.budget().set_limit(config.limits.max_memory);
        k.quiet_syscalls = config.quiet_syscalls;
        let prog_err = |reason: String| MachineError::Program {
            program: config.program.clone(),
            reason,
        };
        let path =
            find_program(&k.vfs, &config.cwd, &config.program, &config.env).ok_or_else(|| {
                MachineError::NotFound {
                    program: config.program.clone(),
                    reason: "not found in the guest root".into(),
                }
            })?;
        // A `#!` script runs through its interpreter, as execve runs it (the same code),
        // with the script named as a shell would pass it: as given, or as found in PATH.
        let named = if config.program.contains('/') {
            config.program.clone()
        } else {
            path.clone()
        };
        let (exe, image, args) =
            crate::syscalls::proc::exec_target(&mut k, path.clone(), &named, config.args.clone())
                .map_err(|e| {
                let reason = errno_text(e.0).to_string();
                if e == crate::errno::Errno::ENOENT {
                    MachineError::NotFound {
                        program: config.program.clone(),
                        reason,
                    }
                } else {
                    prog_err(reason)
                }
            })?;
        let elf = loader::parse(&image)?;
        let need = elf.map_bytes() + param::STACK_INITIAL + crate::limits::ENGINE_CHARGE;
        if !k.vfs.budget().fits(need) {
            return Err(prog_err(format!(
                "needs {} MiB of memory to start, more than --max-memory {} MiB",
                need.div_ceil(1 << 20),
                config.limits.max_memory >> 20
            )));
        }
        let mut cpu = Cpu::new(elf.arch)?;
        let mut vm = AddressSpace::default();
        let mut random = [0u8; 16];
        k.rng.fill(&mut random);
        let start = loader::load(
            &mut cpu,
            &mut vm,
            &elf,
            &image,
            &args,
            &config.env,
            &exe,
            &random,
            &[],
        )?;
        cpu.set_pc(start.entry);
        cpu.set_sp(start.sp);
        let pid = Pid(param::INIT_PID);
        let space = SpaceId(0);
        let mut group = Group::new(pid, Pid(0), &exe, args, image, space);
        // The status name is the program as the user named it (a busybox applet link).
        group.name = config
            .program
            .rsplit('/')
            .next()
            .unwrap_or(&config.program)
            .to_string();
        group.cwd = config.cwd.clone();
        group.env = config.env.clone();
        let mut task = Task::new(
            pid,
            pid,
            0,
            Plan9State::new(&config.eve, pid.0, config.hang),
        );
        if config.hang {
            task.state = PState::Stopped;
        }
        Ok(Machine {
            k,
            tasks: BTreeMap::from([(pid, task)]),
            groups: BTreeMap::from([(pid, group)]),
            spaces: BTreeMap::from([(
                space,
                Space {
                    cpu,
                    vm,
                    loaded: pid,
                },
            )]),
            quantum: config.quantum.max(1),
            requests: None,
            share: Default::default(),
            deferred: Default::default(),
            interrupter: Default::default(),
            idle_infos: Default::default(),
            parked: Vec::new(),
            keep: false,
            last_run: None,
            eve: config.eve.clone(),
            next_pid: param::INIT_PID + 1,
            next_space: 1,
            warned_threads: false,
            cursor: None,
            sched_rng: config.sched_seed.map(Rng::new),
            pool: Vec::new(),
            broken: Vec::new(),
            limits: config.limits.clone(),
            started: crate::limits::now(),
            limit_hit: None,
            charges: BTreeMap::new(),
            tape: None,
            schedtrace: Default::default(),
        })
    }

    pub fn arch_of(&self, pid: Pid) -> Option<Arch> {
        let g = self.groups.get(&self.tasks.get(&pid)?.tgid)?;
        Some(self.spaces.get(&g.space)?.cpu.arch)
    }

    /// Put task `tid`'s registers in its address space's engine, saving those of the thread
    /// that was there (threads of one group share the engine and its translations).
    pub fn load(&mut self, tid: Pid) {
        let Some(t) = self.tasks.get(&tid) else {
            return;
        };
        let Some(space) = self.groups.get(&t.tgid).map(|g| g.space) else {
            return;
        };
        let Some(s) = self.spaces.get_mut(&space) else {
            return;
        };
        if s.loaded == tid {
            return;
        }
        if let Some(prev) = self.tasks.get_mut(&s.loaded) {
            // A failed save leaves the thread's old registers: the engine is out of memory.
            let _ = s.cpu.save_regs(&mut prev.regs);
        }
        if let Some(regs) = self.tasks.get(&tid).and_then(|t| t.regs.as_ref()) {
            let _ = s.cpu.load_regs(regs);
        }
        s.loaded = tid;
    }

    /// Task `tid` with its group and address space, its registers loaded.
    pub fn parts(&mut self, tid: Pid) -> Option<ProcMut<'_>> {
        self.load(tid);
        let t = self.tasks.get_mut(&tid)?;
        let g = self.groups.get_mut(&t.tgid)?;
        let s = self.spaces.get_mut(&g.space)?;
        Some(ProcMut { t, g, s })
    }

    /// [`Machine::parts`], shared: the registers in the engine may be another thread's.
    pub fn parts_ref(&self, tid: Pid) -> Option<ProcRef<'_>> {
        let t = self.tasks.get(&tid)?;
        let g = self.groups.get(&t.tgid)?;
        let s = self.spaces.get(&g.space)?;
        Some(ProcRef { t, g, s })
    }

    /// The group of task `tid`.
    pub fn group_of(&self, tid: Pid) -> Option<&Group> {
        self.groups.get(&self.tasks.get(&tid)?.tgid)
    }

    pub fn group_of_mut(&mut self, tid: Pid) -> Option<&mut Group> {
        let tgid = self.tasks.get(&tid)?.tgid;
        self.groups.get_mut(&tgid)
    }

    /// The engine of task `tid`'s address space, with its registers loaded.
    pub fn cpu_of(&mut self, tid: Pid) -> Option<&mut Cpu> {
        self.load(tid);
        let g = self.groups.get(&self.tasks.get(&tid)?.tgid)?;
        self.spaces.get_mut(&g.space).map(|s| &mut s.cpu)
    }

    /// A live task (not yet exited).
    pub fn live(&self, tid: Pid) -> bool {
        self.tasks.get(&tid).is_some_and(|t| !t.state.is_zombie())
    }

    /// The tids of every task, in order (a snapshot to iterate while changing the table).
    pub fn tids(&self) -> Vec<Pid> {
        self.tasks.keys().copied().collect()
    }

    /// A new, unused pid.
    pub fn alloc_pid(&mut self) -> Pid {
        let pid = Pid(self.next_pid);
        self.next_pid += 1;
        pid
    }

    /// Task `tid`'s blocked call completes with `ret` (a futex wake): it becomes Ready with
    /// the result in its register, and the call is traced.
    pub fn complete(&mut self, tid: Pid, ret: u64) {
        let now = self.k.clock.ns;
        let Some(p) = self.parts(tid) else { return };
        p.t.state = PState::Ready;
        // A call that waited under a temporary signal mask (ppoll, pselect6) and returns
        // without a signal puts the old mask back.
        if let Some(m) = p.t.saved_mask.take() {
            p.t.sigmask = m;
        }
        if let Some(call) = p.t.retry.take() {
            p.s.cpu.set_syscall_ret(ret);
            self.k.trace_call(now, tid, &call, ret as i64);
        }
    }

    /// Put an address space in the table.
    pub fn add_space(&mut self, space: Space) -> SpaceId {
        let id = SpaceId(self.next_space);
        self.next_space += 1;
        self.spaces.insert(id, space);
        id
    }
}

impl Machine {
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
