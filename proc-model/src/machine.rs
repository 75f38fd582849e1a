//! The consumer-side trait proc-model needs from a machine: a process table with memory,
//! registers, fd tables, notes and control. The machine implements it (the emulator in one
//! adapter file; tests with a small fake). Plan 9 formats are proc-model's business: the
//! machine answers in plain structured values, proc-model renders them (proc(3)).

use crate::ninep::fs::{Cancel, Qid};

/// NNOTE (9front port/portdat.h): notes a process can have queued (docs/plan9-proc-9p.md §2.3).
pub const NNOTE: usize = 5;

/// The Glass epoch: virtual time zero is 2025-01-01T00:00:00Z, in seconds since the Unix
/// epoch. Files of the guest root and of /proc carry it as their times.
pub const GLASS_EPOCH_SECS: u32 = 1_735_689_600;

/// A process id as the guest itself sees it from getpid().
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid(pub u32);

/// A guest virtual address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GuestAddr(pub u64);

impl std::fmt::Debug for GuestAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GuestAddr({:#x})", self.0)
    }
}

/// The guest architecture of one process; selects the Ureg/FPsave layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    X86_64,
    Aarch64,
    Riscv64,
}

/// Errors a machine reports; procfs turns each into its Plan 9 string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcError {
    /// `process exited`
    Exited,
    /// `bad arg in system call`
    BadArg,
    /// `bad process or channel control request`
    BadCtl,
    /// `process has no saved registers`
    NoRegs,
    /// `note not posted`
    NoteNotPosted,
    /// `device or object already in use`
    InUse,
    /// `no living children`
    NoChildren,
    /// `permission denied`
    Perm,
    /// `file does not exist`
    NotExist,
    /// `interrupted`: a blocking request was cancelled (Tflush).
    Interrupted,
    /// `fd out of range or not open` (ctl `close` of a negative fd)
    BadFd,
    /// `notes pending` (ctl `nointerrupt` with notes queued)
    NotesPending,
    /// Any other Plan 9 error string, verbatim.
    Other(String),
}

/// A process's scheduling state as Plan 9 names it in `status` (proc(3), 9front statename
/// plus the override strings). `Blocked` carries the name to print, e.g. `Pread`, `Await`,
/// `Sleep` (9front prints the system-call name while a process is inside one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcState {
    Running,
    Ready,
    Stopped,
    Broken,
    Moribund,
    Stopwait,
    Blocked(String),
}

/// Everything `status`, `ppid`, `noteid`, `args`, `ctl` and stat need about a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: Pid,
    /// A stable per-process number that stands in for Plan 9's slot+1 in qid paths.
    pub slot: u32,
    pub ppid: Pid,
    pub noteid: u32,
    /// Program name as exec'd (base name), the `text` of Plan 9.
    pub name: String,
    /// The process's user name (owner of its files).
    pub user: String,
    pub state: ProcState,
    pub arch: Arch,
    /// argv as exec'd; empty for a process that forked but never exec'd.
    pub args: Vec<String>,
    /// Times in milliseconds of virtual time: user, system, real (since start), and the
    /// same three summed over waited-for children.
    pub times_ms: [u64; 6],
    /// Resident memory in KiB.
    pub mem_kb: u64,
    pub base_pri: u32,
    pub pri: u32,
    /// procmode (default 0640), changed by wstat; see proc(3) permissions.
    pub procmode: u32,
    /// Set by ctl `private`; hides mem, regs, fpregs.
    pub private: bool,
    /// True once registers have been saved (the process has entered the kernel at least once).
    pub has_regs: bool,
    /// True when FP state exists to be read (`fpregs`).
    pub has_fpregs: bool,
}

/// A segment kind. Linux guests map to Plan 9 names: Text, Data, Bss, Stack; anonymous
/// private mmaps are `Anon`, file mappings `File`, MAP_SHARED mappings `Shared`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegKind {
    Text,
    Data,
    Bss,
    Stack,
    Anon,
    File,
    Shared,
}

/// One attached segment: [base, top). Listed by the machine in Plan 9 slot order
/// (Stack first, then Text, Data, Bss, then the rest by address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub kind: SegKind,
    pub base: GuestAddr,
    pub top: GuestAddr,
    pub readonly: bool,
    pub refs: u32,
    /// Profiling counters run for this segment (ctl `profile`): `segment` shows `P`.
    pub profiled: bool,
}

/// One open file of a process, for the `fd` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdEntry {
    pub fd: u32,
    /// OREAD, OWRITE or ORDWR (ninep::fs constants).
    pub mode: u8,
    /// Device type character, e.g. `M` for files of the guest root, `|` for pipes,
    /// `c` for the console.
    pub dev_char: char,
    pub dev_no: u32,
    pub qid: Qid,
    pub iounit: u32,
    pub offset: u64,
    pub path: String,
}

/// The `fd` file's contents: current directory, then open fds in fd order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdTable {
    pub cwd: String,
    pub fds: Vec<FdEntry>,
}

/// General registers of one process, by arch. proc-model encodes these into the Plan 9
/// `Ureg` layout (amd64 184 bytes, arm64 280, riscv64 296) and decodes writes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Regs {
    /// Fields named as in Plan 9's amd64 Ureg; Linux rax..r15, rip, rflags, rsp, segment
    /// selectors. `trap_type` is the Ureg type (64 = system call, 3 = breakpoint, 14 = page
    /// fault), `error` the error code.
    Amd64 {
        gpr: Amd64Gpr,
        ds: u16,
        es: u16,
        fs: u16,
        gs: u16,
        trap_type: u64,
        error: u64,
        pc: u64,
        cs: u64,
        flags: u64,
        sp: u64,
        ss: u64,
    },
    /// x0..x30, sp, pc, pstate, exception-class type.
    Arm64 {
        x: [u64; 31],
        sp: u64,
        pc: u64,
        psr: u64,
        trap_type: u64,
    },
    /// pc, then x1..x31 (x[0] is the pc slot in Plan 9's layout, so `x[0]` here is unused
    /// and `x[i]` is register xi); status, ie, cause, tval, curmode.
    Riscv64 {
        pc: u64,
        x: [u64; 32],
        status: u64,
        ie: u64,
        cause: u64,
        tval: u64,
        curmode: u64,
    },
}

/// amd64 general registers in Plan 9 Ureg order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Amd64Gpr {
    pub ax: u64,
    pub bx: u64,
    pub cx: u64,
    pub dx: u64,
    pub si: u64,
    pub di: u64,
    pub bp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
}

/// Floating-point state, already as the Plan 9 `FPsave` bytes of the process's arch
/// (amd64 832 bytes: FXSAVE area + XSAVE header + upper YMM; arm64 520; riscv64: 32×8 f
/// registers then fcsr as u32, 264 bytes). The machine builds and parses these images.
pub type FpImage = Vec<u8>;

/// One wait record (proc(3) `wait`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitRecord {
    pub pid: Pid,
    pub times_ms: [u64; 3],
    /// `"<childtext> <childpid>: <exitstring>"`, or empty for a normal exit.
    pub msg: String,
}

/// The executable behind `text`: its bytes and the qid Ropen should carry.
#[derive(Clone, Debug)]
pub struct TextImage {
    pub qid: Qid,
    pub bytes: std::sync::Arc<[u8]>,
    pub name: String,
}

/// A parsed ctl message (proc(3) ctl). procfs parses the text and produces the Plan 9 parse
/// errors; the machine carries out the request as [`crate::ctlstate::ctl_effect`] says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CtlMsg {
    Stop,
    Start,
    StartStop,
    StartSyscall,
    WaitStop,
    Hang,
    NoHang,
    Kill,
    Close(i64),
    CloseFiles,
    Private,
    NoSwap,
    Pri(i64),
    FixedPri(i64),
    Wired(i64),
    Profile,
    Trace(Option<bool>),
    Event,
    Interrupt,
    NoInterrupt,
    /// Glass extension: run one instruction, then Stopped (must be Stopped; blocks until it
    /// is Stopped again or exits, as `startstop`).
    Step,
    /// A real-time (EDF) message (9front procctlreq CMperiod … CMexpel).
    RealTime(RtMsg),
}

/// The real-time ctl messages (proc(3); 9front devproc.c procctlreq, port/edf.c). Times
/// are as parsetime gives them, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtMsg {
    Period(u64),
    Deadline(u64),
    Cost(u64),
    Sporadic,
    DeadlineNotes,
    Admit,
    Extra,
    Expel,
}

/// The process table of a machine, as proc-model needs it. All methods may be called from
/// any 9P connection thread concurrently; implementations hand requests to the machine's
/// own thread as they need. Methods that block take a [`Cancel`] and must return
/// `Err(ProcError::Interrupted)` promptly when it fires.
pub trait Machine: Send + Sync + 'static {
    /// Host owner's user name ("eve").
    fn eve(&self) -> String;
    /// Live processes (including Broken ones) in process-table order.
    fn processes(&self) -> Vec<ProcInfo>;
    /// One process; `Err(Exited)` if it is gone.
    fn info(&self, pid: Pid) -> Result<ProcInfo, ProcError>;
    /// Segments in Plan 9 slot order.
    fn segments(&self, pid: Pid) -> Result<Vec<Segment>, ProcError>;
    /// Read exactly `len` bytes at `addr` (procfs has already clipped to one segment).
    fn read_mem(&self, pid: Pid, addr: GuestAddr, len: usize) -> Result<Vec<u8>, ProcError>;
    /// A `mem` read in one step: up to `max` bytes at `addr`, cut at the end of the segment
    /// that holds `addr`; `Err(BadArg)` when no segment does. The default asks `segments`,
    /// then `read_mem`; a machine whose every call costs a thread hop does both in one.
    fn read_mem_in_segment(
        &self,
        pid: Pid,
        addr: GuestAddr,
        max: usize,
    ) -> Result<Vec<u8>, ProcError> {
        let seg = self
            .segments(pid)?
            .into_iter()
            .find(|s| s.base.0 <= addr.0 && addr.0 < s.top.0)
            .ok_or(ProcError::BadArg)?;
        let n = (seg.top.0 - addr.0).min(max as u64) as usize;
        self.read_mem(pid, addr, n)
    }
    /// Write bytes at `addr` (procfs has checked Stopped and the segment bounds). Writes into
    /// code must take effect in translated code.
    fn write_mem(&self, pid: Pid, addr: GuestAddr, data: &[u8]) -> Result<(), ProcError>;
    fn regs(&self, pid: Pid) -> Result<Regs, ProcError>;
    fn set_regs(&self, pid: Pid, regs: Regs) -> Result<(), ProcError>;
    fn fpregs(&self, pid: Pid) -> Result<FpImage, ProcError>;
    fn set_fpregs(&self, pid: Pid, image: FpImage) -> Result<(), ProcError>;
    fn fds(&self, pid: Pid) -> Result<FdTable, ProcError>;
    fn text(&self, pid: Pid) -> Result<TextImage, ProcError>;
    /// Replace the args shown by `args` (a write to args).
    fn set_args_text(&self, pid: Pid, text: String) -> Result<(), ProcError>;
    /// The args text written earlier, if any.
    fn args_text(&self, pid: Pid) -> Result<Option<String>, ProcError>;
    /// Post a user note; `Err(NoteNotPosted)` when the queue is full or the process cannot
    /// take notes.
    fn post_note(&self, pid: Pid, note: &str) -> Result<(), ProcError>;
    /// Post a note to every process in note group `noteid` except `except`.
    fn post_notepg(&self, noteid: u32, note: &str, except: Option<Pid>) -> Result<(), ProcError>;
    /// Remove and return the oldest pending note, if any (never blocks).
    fn take_note(&self, pid: Pid) -> Result<Option<String>, ProcError>;
    /// Set the note group (noteid write); procfs has checked the value and permission.
    fn set_noteid(&self, pid: Pid, noteid: u32) -> Result<(), ProcError>;
    /// Block until a wait record for a child of `pid` exists, then remove and return it.
    fn wait_record(&self, pid: Pid, cancel: &Cancel) -> Result<WaitRecord, ProcError>;
    /// Number of queued wait records (the `wait` file's stat length).
    fn wait_count(&self, pid: Pid) -> Result<u64, ProcError>;
    /// Carry out a ctl message; `stop`, `waitstop`, `startstop`, `startsyscall` block until
    /// the state is reached, the process exits (`Err(Exited)`) or `cancel` fires.
    fn ctl(&self, pid: Pid, msg: &CtlMsg, cancel: &Cancel) -> Result<(), ProcError>;
    /// Change procmode (wstat) and/or the process user.
    fn set_procmode(&self, pid: Pid, mode: u32) -> Result<(), ProcError>;
    fn set_user(&self, pid: Pid, user: &str) -> Result<(), ProcError>;
    /// The text of the `syscall` file (empty when not tracing).
    fn syscall_text(&self, pid: Pid) -> Result<String, ProcError>;
    /// The `profile` counters (one per 8 bytes of text, LRESPROF 3) since ctl `profile`
    /// started them, or None when profiling is off.
    fn profile_counts(&self, _pid: Pid) -> Result<Option<Vec<u32>>, ProcError> {
        Ok(None)
    }
    /// The watchpoint list written to `watchpt`, in the order written.
    fn watchpoints(&self, pid: Pid) -> Result<Vec<crate::procfs::watchpt::Watchpt>, ProcError>;
    /// Replace the watchpoint list (9front setupwatchpts): the machine refuses a list it
    /// cannot watch with its own error (`Other`) and then keeps the old one; an empty list
    /// clears every watchpoint.
    fn set_watchpoints(
        &self,
        pid: Pid,
        list: Vec<crate::procfs::watchpt::Watchpt>,
    ) -> Result<(), ProcError>;
    /// `/proc/trace` was opened (`true`) or closed: scheduling events of processes whose
    /// ctl `trace` is on are kept for it only while it is open (9front devproc.c topens).
    fn trace_open(&self, _open: bool) {}
    /// Up to `max` /proc/trace records (16 bytes each: pid, etype, time), oldest first,
    /// removed as they are read; empty when there are none (a read never waits).
    fn trace_read(&self, _max: usize) -> Vec<u8> {
        Vec::new()
    }
    /// Glass extension `/proc/time` (a replay served at a moment): the current moment as
    /// text, or None when the machine cannot move in time (then the file does not exist).
    fn time(&self) -> Option<String> {
        None
    }
    /// Move the machine to the moment `when` (`seek WHEN` written to `/proc/time`); returns
    /// once it is there.
    fn seek(&self, _when: &str, _cancel: &Cancel) -> Result<(), ProcError> {
        Err(ProcError::Perm)
    }
}
