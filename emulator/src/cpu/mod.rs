//! CPU backends on unicorn, one file per arch behind one trait ([`ArchCpu`]): engine creation
//! with the trap hooks, the register map (syscall number, arguments, result, pc, sp, TLS), the
//! syscall number table, trap decoding, the Plan 9 register images (Ureg, docs/plan9-proc-9p.md
//! §1.6, and FPsave), Linux signal frames and `struct stat`. The arch is a runtime value
//! (`proc_model::machine::Arch`), never a `cfg`. Nothing outside this module sees unicorn.

pub mod aarch64;
pub mod generic;
mod hostmem;
pub mod riscv64;
mod watch;
pub mod x86_64;

use crate::errno::{Errno, SysResult};
use crate::syscalls::Sys;
pub use proc_model::machine::Arch;
use proc_model::ureg::{self, UregField};
use unicorn_engine::unicorn_const::{uc_error, MemType, Prot};
use unicorn_engine::Unicorn;

/// Host-side errors of the CPU layer.
#[derive(Debug, thiserror::Error)]
pub enum CpuError {
    #[error("{0} guests are not yet supported (x86_64 only for now)")]
    Unsupported(&'static str),
    #[error("unicorn: {0:?}")]
    Unicorn(uc_error),
}

impl From<uc_error> for CpuError {
    fn from(e: uc_error) -> Self {
        CpuError::Unicorn(e)
    }
}

/// An engine error that ended a run, opaque outside this module. Its Debug form is the
/// engine's own error name, which the trap note quotes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EngineError(uc_error);

impl std::fmt::Debug for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a run of guest code stopped, as recorded by the hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    Syscall,
    /// A CPU interrupt/exception other than the syscall path (the arch's own number).
    Interrupt(u32),
}

/// State the hooks share with the machine, stored in the engine.
#[derive(Debug, Default)]
pub(crate) struct HookState {
    pub stop: Option<Stop>,
    /// The last invalid memory access (kind, address).
    pub fault: Option<(MemType, u64)>,
    /// The stack's mapped bottom and the lowest address it may grow down to: an access in
    /// between maps more stack, as a Linux stack VMA grows on a fault.
    pub stack_lo: u64,
    pub stack_min: u64,
    /// Virtual time when this run began, and the block budget it was given: an instruction
    /// the engine cannot run that reads a clock (riscv `rdtime`) is answered from them.
    pub time_base_ns: u64,
    pub budget: u64,
    /// Watchpoints and what they caught in this run (watch.rs).
    pub watch: watch::WatchState,
}

impl HookState {
    /// Virtual time now, inside a run: the time it began plus the blocks run since.
    pub fn now_ns(&self, uc: &Unicorn<'_, HookState>) -> u64 {
        let left = blocks_left_raw(uc).max(0) as u64;
        let run = self.budget.saturating_sub(left);
        self.time_base_ns
            .saturating_add(run.saturating_mul(crate::param::NS_PER_BLOCK))
    }
}

pub(crate) type Engine = Unicorn<'static, HookState>;

/// A unicorn register id (the `uc_*_reg` enums of include/unicorn/*.h).
pub(crate) type Reg = i32;

/// The outcome of [`Cpu::run`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunExit {
    Syscall,
    Quantum,
    Interrupt(u32),
    /// A memory fault: (write?, address).
    Fault {
        write: bool,
        addr: u64,
        exec: bool,
    },
    InvalidInsn,
    Error(EngineError),
    /// Watchpoints fired (bit i: entry i of the `watchpt` list); `exec` when an execute
    /// watchpoint stopped the run before its instruction.
    Watch {
        hits: u32,
        exec: bool,
    },
}

/// What a stop other than a system call or the end of a quantum means for the process: the
/// Plan 9 note, the Linux signal, the pc the process stopped at and the Ureg `type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    pub note: String,
    pub sig: i32,
    pub pc: u64,
    pub ureg_type: u64,
    /// The siginfo Linux gives the fault: (si_code, si_addr); None leaves both 0.
    pub si: Option<(i32, u64)>,
}

// The Linux signals of guest faults.
use crate::signal::{SIGFPE, SIGILL, SIGSEGV, SIGTRAP};

/// si_code values of faults (include/uapi/asm-generic/siginfo.h): ILL_ILLOPC, ILL_ILLOPN,
/// and SI_KERNEL (what x86 gives a general protection fault, arch/x86/kernel/traps.c).
const ILL_ILLOPC: i32 = 1;
const ILL_ILLOPN: i32 = 2;
const SI_KERNEL: i32 = 0x80;

impl Trap {
    fn new(note: impl Into<String>, sig: i32, pc: u64, ureg_type: u64) -> Trap {
        Trap {
            note: note.into(),
            sig,
            pc,
            ureg_type,
            si: None,
        }
    }

    /// The same trap with the siginfo Linux gives it.
    fn with_si(self, code: i32, addr: u64) -> Trap {
        Trap {
            si: Some((code, addr)),
            ..self
        }
    }

    /// An exception the kernel has no better name for (9front: "sys: trap: exception n").
    fn exception(n: u32, pc: u64) -> Trap {
        Trap::new(
            format!("sys: trap: exception {n}"),
            SIGSEGV,
            pc,
            u64::from(n),
        )
    }

    fn breakpoint(pc: u64, ureg_type: u64) -> Trap {
        Trap::new("sys: breakpoint", SIGTRAP, pc, ureg_type)
    }

    fn illegal(note: &str, pc: u64, ureg_type: u64) -> Trap {
        Trap::new(note, SIGILL, pc, ureg_type)
    }
}

/// A file's status, arch-neutral: the fields of Linux's `struct stat`
/// (include/uapi/asm-generic/stat.h); each arch lays them out its own way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u32,
    pub blocks: u64,
    /// Access, modification and status-change times as (seconds, nanoseconds).
    pub atime: (i64, u64),
    pub mtime: (i64, u64),
    pub ctime: (i64, u64),
}

/// Where a backend keeps one Ureg field (docs/plan9-proc-9p.md §1.6).
#[derive(Clone, Copy, Debug)]
pub(crate) enum UregSlot {
    /// An engine register, read and written as is.
    Reg(Reg),
    /// An engine register of which a `regs` write may change only the masked bits (9front
    /// setregisters: arm64 user code may change only NZCV).
    Masked(Reg, u64),
    /// An engine register shown but never written back.
    ReadOnly(Reg),
    /// A value the kernel shows that no engine register holds.
    Const(u64),
    /// The Ureg `type`: why the process last entered the kernel.
    TrapType,
}

/// What one arch's backend does; implemented once in each of x86_64.rs, aarch64.rs and
/// riscv64.rs. Methods take the engine, which [`Cpu`] owns.
pub(crate) trait ArchCpu: Sync {
    /// A new engine with the hooks installed and the arch's user-mode setup done.
    fn new_engine(&self) -> Result<Engine, CpuError>;
    /// The registers the kernel names by role.
    fn roles(&self) -> &'static Roles;
    /// Map a raw syscall number of this arch to the kernel's arch-neutral call. Newer Linux
    /// ports (arm64, riscv) use the asm-generic numbering, the default here.
    fn sys(&self, nr: u64) -> Option<Sys> {
        generic::sys(nr)
    }

    fn set_syscall_ret(&self, uc: &mut Engine, v: u64) {
        write_reg(uc, self.roles().ret, v);
    }

    /// Make the system call just made (number `nr`) run again when the process resumes:
    /// back over the 4-byte trapping instruction; the arguments are still in place, since
    /// the result was never written.
    fn restart_syscall(&self, uc: &mut Engine, _nr: u64) {
        let pc = self.roles().pc;
        write_reg(uc, pc, read_reg(uc, pc).wrapping_sub(4));
    }

    /// Decode interrupt/exception `n` of this arch, taken at `pc`.
    fn interrupt(&self, uc: &Engine, n: u32, pc: u64) -> Trap;

    /// An instruction the engine could not decode, at `pc` (Ureg type 6, the x86 #UD
    /// vector every arch reports it as).
    /// An undefined instruction: SIGILL, ILL_ILLOPC at the instruction (arm64
    /// do_undefinstr, riscv do_trap_insn_illegal).
    fn invalid_insn(&self, pc: u64) -> Trap {
        Trap::illegal("sys: trap: illegal instruction", pc, 6).with_si(ILL_ILLOPC, pc)
    }

    /// Where Ureg field `f` lives.
    fn ureg_slot(&self, f: &UregField) -> UregSlot;

    /// The FP state image (Plan 9 FPsave layout for the arch).
    fn fp_save(&self, uc: &Engine) -> Vec<u8>;
    fn fp_restore(&self, uc: &mut Engine, image: &[u8]);

    /// The integer user registers a fork copies (FP state is copied apart).
    fn user_regs(&self) -> &'static [Reg];
    /// The register state of a fresh engine.
    fn reset_regs(&self, uc: &mut Engine) {
        zero_user_state(self, uc);
    }

    /// Enter a signal handler with an rt_sigframe on the user stack; false if the frame could
    /// not be written (the process then dies of SIGSEGV).
    fn enter_handler(&self, uc: &mut Engine, f: &SigFrame<'_>) -> bool;
    /// rt_sigreturn: restore the registers from the frame; the saved signal mask.
    fn sigreturn(&self, uc: &mut Engine) -> Option<u64>;
    /// The code of this arch's sigreturn trampoline, if its signal frames need one.
    fn sigtramp(&self) -> Option<&'static [u8]> {
        None
    }

    /// `struct stat` as this arch lays it out (asm-generic's unless the arch has its own).
    fn encode_stat(&self, st: &Stat) -> Vec<u8> {
        generic::encode_stat(st)
    }
}

/// The registers the kernel names by role.
pub(crate) struct Roles {
    pub pc: Reg,
    pub sp: Reg,
    pub tls: Reg,
    /// The syscall number, its six arguments, its result.
    pub nr: Reg,
    pub args: [Reg; 6],
    pub ret: Reg,
}

/// A signal delivery, as [`ArchCpu::enter_handler`] gets it.
pub(crate) struct SigFrame<'a> {
    pub sig: i32,
    pub handler: u64,
    pub restorer: u64,
    pub old_mask: u64,
    pub info: &'a [u8; 128],
    /// Build the frame below this address instead of below sp: the top of the alternate
    /// signal stack (SA_ONSTACK). The registers saved in the frame keep the real sp.
    pub stack: Option<u64>,
}

/// Map a raw syscall number of `arch` to the kernel's arch-neutral call (no engine needed).
pub fn sys_of(arch: Arch, nr: u64) -> Option<Sys> {
    backend(arch).sys(nr)
}

fn backend(arch: Arch) -> &'static dyn ArchCpu {
    match arch {
        Arch::X86_64 => &x86_64::X86_64,
        Arch::Aarch64 => &aarch64::Aarch64,
        Arch::Riscv64 => &riscv64::Riscv64,
    }
}

/// Read a register; unicorn fails only on an id the arch does not have, which the backends
/// never pass, so a failure reads as zero.
pub(crate) fn read_reg(uc: &Engine, r: Reg) -> u64 {
    uc.reg_read(r).unwrap_or(0)
}

/// Write a register (see [`read_reg`] on failures).
pub(crate) fn write_reg(uc: &mut Engine, r: Reg, v: u64) {
    let _ = uc.reg_write(r, v);
}

/// `N` registers numbered consecutively from `first`: unicorn numbers x0–x28 (arm64), x0–x31
/// and f0–f31 (riscv), v0–v31/q0–q31 (arm64), st0–st7 and xmm0–xmm15 (x86) in a row
/// (include/unicorn/arm64.h, riscv.h, x86.h; the unicorn crate's reg_read_long relies on it).
pub(crate) const fn reg_run<const N: usize>(first: Reg) -> [Reg; N] {
    let mut out = [0; N];
    let mut i = 0;
    while i < N {
        out[i] = first + i as Reg;
        i += 1;
    }
    out
}

/// `a` then `b` as one array (`C` must be their total length; checked when compiled).
pub(crate) const fn concat<const A: usize, const B: usize, const C: usize>(
    a: [Reg; A],
    b: [Reg; B],
) -> [Reg; C] {
    assert!(A + B == C);
    let mut out = [0; C];
    let mut i = 0;
    while i < C {
        out[i] = if i < A { a[i] } else { b[i - A] };
        i += 1;
    }
    out
}

/// Store the low `size` bytes of `v` little-endian at `off`.
pub(crate) fn put_le(b: &mut [u8], off: usize, size: usize, v: u64) {
    b[off..off + size].copy_from_slice(&v.to_le_bytes()[..size]);
}

/// The little-endian u64 at `off`, if `b` holds it.
pub(crate) fn get_u64(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// The little-endian u32 at `off` of an image already checked long enough.
pub(crate) fn get_u32(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 4)
        .and_then(|w| w.try_into().ok())
        .map_or(0, |w| u64::from(u32::from_le_bytes(w)))
}

/// Registers `regs` as consecutive u64s from `off`.
pub(crate) fn put_regs(uc: &Engine, b: &mut [u8], off: usize, regs: &[Reg]) {
    for (i, r) in regs.iter().enumerate() {
        put_le(b, off + 8 * i, 8, read_reg(uc, *r));
    }
}

/// Load registers `regs` from consecutive u64s at `off`; None if `b` is short.
pub(crate) fn get_regs(uc: &mut Engine, b: &[u8], off: usize, regs: &[Reg]) -> Option<()> {
    for (i, r) in regs.iter().enumerate() {
        write_reg(uc, *r, get_u64(b, off + 8 * i)?);
    }
    Some(())
}

/// 128-bit registers (x87/SSE/NEON) as consecutive `stride`-byte slots from `off`, of which
/// the first `width` bytes hold the register.
pub(crate) fn put_long_regs(
    uc: &Engine,
    b: &mut [u8],
    off: usize,
    stride: usize,
    width: usize,
    regs: &[Reg],
) {
    for (i, r) in regs.iter().enumerate() {
        if let Ok(v) = uc.reg_read_long(*r) {
            let n = v.len().min(width);
            let at = off + stride * i;
            b[at..at + n].copy_from_slice(&v[..n]);
        }
    }
}

/// The inverse of [`put_long_regs`].
pub(crate) fn get_long_regs(
    uc: &mut Engine,
    b: &[u8],
    off: usize,
    stride: usize,
    width: usize,
    regs: &[Reg],
) {
    for (i, r) in regs.iter().enumerate() {
        let at = off + stride * i;
        if let Some(v) = b.get(at..at + width) {
            let _ = uc.reg_write_long(*r, v);
        }
    }
}

/// Zero the user registers but pc (the next program sets it) and the FP state.
pub(crate) fn zero_user_state(b: &(impl ArchCpu + ?Sized), uc: &mut Engine) {
    let pc = b.roles().pc;
    for r in b.user_regs().iter().filter(|r| **r != pc) {
        write_reg(uc, *r, 0);
    }
    let zeros = vec![0u8; b.fp_save(uc).len()];
    b.fp_restore(uc, &zeros);
}

/// Set registers to zero.
pub(crate) fn zero_regs(uc: &mut Engine, regs: &[Reg]) {
    for r in regs {
        write_reg(uc, *r, 0);
    }
}

/// The shape of the rt_sigframe arm64 and riscv share (arch/arm64/kernel/signal.c,
/// arch/riscv/kernel/signal.c): siginfo at 0, then the ucontext (flags 8, link 8, stack_t 24,
/// sigmask 8, padding to 1024 bits of mask) whose sigcontext is 16-aligned at +176. Handler
/// arguments: sig, &info, &uc; the return address is the trampoline.
pub(crate) mod lp64_frame {
    use super::{read_reg, write_reg, Engine, Reg, Roles, SigFrame};

    pub const UC: u64 = 128;
    pub const UC_SIGMASK: u64 = 40;
    /// Offset of the sigcontext in the frame.
    pub const SC: usize = (UC + 176) as usize;

    /// Build a frame of `size` bytes below sp: siginfo, the mask, and whatever `fill` puts
    /// in the sigcontext; then enter the handler with `link` holding the return address.
    pub fn enter(
        uc: &mut Engine,
        roles: &Roles,
        link: Reg,
        size: u64,
        f: &SigFrame<'_>,
        fill: impl FnOnce(&Engine, &mut [u8]),
    ) -> bool {
        let sp0 = f.stack.unwrap_or_else(|| read_reg(uc, roles.sp));
        let frame = (sp0.wrapping_sub(size + 16)) & !15;
        let mut b = vec![0u8; size as usize];
        b[..128].copy_from_slice(f.info);
        let m = (UC + UC_SIGMASK) as usize;
        b[m..m + 8].copy_from_slice(&f.old_mask.to_le_bytes());
        fill(uc, &mut b[SC..]);
        if uc.mem_write(frame, &b).is_err() {
            return false;
        }
        let a = &roles.args;
        write_reg(uc, a[0], f.sig as u64);
        write_reg(uc, a[1], frame);
        write_reg(uc, a[2], frame + UC);
        write_reg(uc, link, f.restorer);
        write_reg(uc, roles.sp, frame);
        write_reg(uc, roles.pc, f.handler);
        true
    }

    /// The first `len` bytes of the frame at sp (the restorer's `svc`/`ecall` left sp at
    /// the frame) and the signal mask saved in it.
    pub fn read(uc: &Engine, roles: &Roles, len: u64) -> Option<(Vec<u8>, u64)> {
        let frame = read_reg(uc, roles.sp);
        let b = uc.mem_read_as_vec(frame, len as usize).ok()?;
        let mask = super::get_u64(&b, (UC + UC_SIGMASK) as usize)?;
        Some((b, mask))
    }
}

/// The three timestamps, at offset 72 in every arch's `struct stat` (after 72 bytes of ids,
/// sizes and padding in both the x86_64 and the asm-generic layout).
pub(crate) fn put_stat_times(b: &mut [u8], st: &Stat) {
    for (i, (sec, nsec)) in [st.atime, st.mtime, st.ctime].into_iter().enumerate() {
        put_le(b, 72 + 16 * i, 8, sec as u64);
        put_le(b, 80 + 16 * i, 8, nsec);
    }
}

pub struct Cpu {
    pub arch: Arch,
    backend: &'static dyn ArchCpu,
    uc: Engine,
    /// No byte of the program's text was written since it was loaded (from /proc, or after
    /// an mprotect that made it writable): its translations can serve another process
    /// running the same image.
    pub text_pristine: bool,
    /// Host memory backing growable segments (hostmem.rs), by guest start. Declared after
    /// `uc`: the engine closes before the memory it points into is freed.
    blocks: std::collections::BTreeMap<u64, hostmem::HostBlock>,
    /// Pinned blocks that lost their key to a newer block at the same address (a segment
    /// re-grown after a partial unmap): kept alive while regions may still point into them.
    retired: Vec<hostmem::HostBlock>,
    /// The hooks of the watchpoint list this engine watches (watch.rs).
    watch: watch::WatchHooks,
    /// pc of the execute watchpoint that stopped the last run (resumed there, it runs once).
    watch_rf: Option<u64>,
}

// Glass's unicorn patch (tools/unicorn/0005-inline-block-budget.patch): the quantum is
// counted down in the generated code at every block start, with no hook call. A block that
// finds no budget left stops the engine before it runs (and the count reads -1), so it runs
// and is counted once, on resume (docs/DESIGN.md).
extern "C" {
    fn uc_glass_set_blocks_left(uc: *mut unicorn_engine::hook::uc_engine, blocks: i64);
    fn uc_glass_blocks_left(uc: *mut unicorn_engine::hook::uc_engine) -> i64;
}

// unicorn's uc_emu_stop, the one engine call that may come from another thread: it sets the
// engine's stop request and QEMU's cpu_exit (atomic stores), so the running block finishes
// and the engine returns before the next block. Patch 0002 checks that exit request at
// block start *before* patch 0005 takes the block from the budget, so a block stopped this
// way is neither run nor counted: the run resumes at the same block with the same count.
extern "C" {
    fn uc_emu_stop(uc: *mut unicorn_engine::hook::uc_engine) -> uc_error;
}

/// The running engine's handle, for another thread's stop.
struct EnginePtr(*mut unicorn_engine::hook::uc_engine);

// SAFETY: the pointer is only used for uc_emu_stop, which unicorn allows from any thread,
// and only while the mutex that holds it is locked, which the machine thread also takes
// to clear it when the run ends (before the engine can be freed).
unsafe impl Send for EnginePtr {}

/// Stops a run of the machine thread's engine early from another thread (a /proc query
/// that should not wait for the end of the quantum), and remembers that it was asked.
#[derive(Clone, Default)]
pub struct Interrupter {
    inner: std::sync::Arc<InterrupterInner>,
}

#[derive(Default)]
struct InterrupterInner {
    running: std::sync::Mutex<Option<EnginePtr>>,
    asked: std::sync::atomic::AtomicBool,
}

impl Interrupter {
    fn running(&self) -> std::sync::MutexGuard<'_, Option<EnginePtr>> {
        self.inner.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ask the machine thread to look at its requests: stop its engine if one is running.
    pub fn interrupt(&self) {
        self.inner
            .asked
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(e) = &*self.running() {
            // SAFETY: the engine is alive while it is registered here (the machine thread
            // clears it under this lock before the engine can be dropped); uc_emu_stop is
            // thread-safe in unicorn (it only sets flags the running engine polls).
            unsafe {
                uc_emu_stop(e.0);
            }
        }
    }

    /// Whether someone asked since the last call (and forget it).
    pub fn take_asked(&self) -> bool {
        self.inner
            .asked
            .swap(false, std::sync::atomic::Ordering::SeqCst)
    }
}

/// Give the engine `budget` blocks to run before it stops by itself.
fn set_blocks_left(uc: &mut Engine, budget: u64) {
    // SAFETY: the handle is the live engine `uc` owns; the patched unicorn only stores the
    // number in its uc_struct.
    unsafe { uc_glass_set_blocks_left(uc.get_handle(), i64::try_from(budget).unwrap_or(i64::MAX)) }
}

/// The budget the engine has left (patch 0005's counter).
fn blocks_left_raw(uc: &Unicorn<'_, HookState>) -> i64 {
    // SAFETY: the handle is the live engine `uc` owns; this only reads a number back.
    unsafe { uc_glass_blocks_left(uc.get_handle()) }
}

/// Blocks run since [`set_blocks_left`] gave `budget`.
fn blocks_run(uc: &Engine, budget: u64) -> u64 {
    // SAFETY: as in set_blocks_left; this only reads the number back.
    let left = unsafe { uc_glass_blocks_left(uc.get_handle()) };
    let budget = i64::try_from(budget).unwrap_or(i64::MAX);
    budget.saturating_sub(left.max(0)) as u64
}

/// An access to unmapped memory. One between the stack's mapped bottom and its growth limit
/// grows the stack down to it (at least [`param::STACK_GROW`] at a time), as a Linux stack
/// VMA grows on a fault, and the access goes on; any other is a fault for the scheduler.
pub(crate) fn mem_invalid_hook(
    uc: &mut Unicorn<'_, HookState>,
    ty: MemType,
    addr: u64,
    _size: usize,
    _value: i64,
) -> bool {
    let (lo, min) = {
        let d = uc.get_data();
        (d.stack_lo, d.stack_min)
    };
    let data = matches!(ty, MemType::READ_UNMAPPED | MemType::WRITE_UNMAPPED);
    if data && min <= addr && addr < lo && grow_stack_to(uc, addr) {
        return true;
    }
    uc.get_data_mut().fault = Some((ty, addr));
    false
}

/// Grow the stack down so `addr` is mapped, if it lies between the stack's mapped bottom and
/// its growth limit (at least [`param::STACK_GROW`] at a time). True if `addr` is stack now.
fn grow_stack_to(uc: &mut Unicorn<'_, HookState>, addr: u64) -> bool {
    use crate::param::{PAGE_SIZE, STACK_GROW};
    let (lo, min) = {
        let d = uc.get_data();
        (d.stack_lo, d.stack_min)
    };
    if addr >= lo {
        return true;
    }
    if addr < min {
        return false;
    }
    let bottom = (addr & !(PAGE_SIZE - 1))
        .min(lo.saturating_sub(STACK_GROW))
        .max(min);
    if uc
        .mem_map(bottom, lo - bottom, Prot::READ | Prot::WRITE)
        .is_ok()
    {
        uc.get_data_mut().stack_lo = bottom;
        return true;
    }
    false
}

/// An arch's chance to carry out an instruction the engine trapped on (interrupt `intno`)
/// and go on without stopping; true if it did.
pub(crate) type Emulate = fn(&mut Unicorn<'_, HookState>, u32) -> bool;

/// Record a stop and end the run: the interrupt hooks' common tail.
pub(crate) fn stop_with(uc: &mut Unicorn<'_, HookState>, stop: Stop) {
    uc.get_data_mut().stop = Some(stop);
    let _ = uc.emu_stop();
}

/// A new engine of unicorn arch `arch` in `mode`, its translated-code buffer limited
/// (unicorn reserves 1 GiB of address space per engine otherwise, which a machine of a
/// thousand processes cannot afford), its target page size set if `page_size` says so, the
/// stack-growing fault hook installed, and an interrupt hook that stops the run: for a
/// system call if the interrupt is `syscall_intno` (the arch's syscall instruction traps
/// that way), else for that interrupt. Both settings must come before the engine's first map
/// or hook, which initialises it (docs/DESIGN.md).
pub(crate) fn engine(
    arch: unicorn_engine::unicorn_const::Arch,
    mode: unicorn_engine::unicorn_const::Mode,
    page_size: Option<u32>,
    syscall_intno: Option<u32>,
    emulate: Option<Emulate>,
) -> Result<Engine, CpuError> {
    use unicorn_engine::unicorn_const::{ControlType, HookType};
    let mut uc = Unicorn::new_with_data(arch, mode, HookState::default())?;
    let ctl = ControlType(ControlType::TCG_BUFFER_SIZE.0 | ControlType::IO_WRITE.0);
    // SAFETY: the handle is a live engine owned by `uc`; UC_CTL_TCG_BUFFER_SIZE takes one
    // uint32_t argument (unicorn uc.c uc_ctl).
    let r = unsafe {
        unicorn_engine::unicorn_const::uc_ctl(uc.get_handle(), ctl, crate::param::TCG_BUFFER_BYTES)
    };
    if r != uc_error::OK {
        return Err(CpuError::Unicorn(r));
    }
    if let Some(size) = page_size {
        uc.ctl_set_page_size(size)?;
    }
    uc.add_mem_hook(HookType::MEM_INVALID, 1, 0, mem_invalid_hook)?;
    uc.add_intr_hook(move |uc: &mut Unicorn<'_, HookState>, intno: u32| {
        if emulate.is_some_and(|e| e(uc, intno)) {
            return;
        }
        let stop = if Some(intno) == syscall_intno {
            Stop::Syscall
        } else {
            Stop::Interrupt(intno)
        };
        stop_with(uc, stop)
    })?;
    Ok(uc)
}

pub fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86_64",
        Arch::Aarch64 => "aarch64",
        Arch::Riscv64 => "riscv64",
    }
}

impl Cpu {
    /// A new engine in the state Linux starts a process in (x86_64: FCW 0x37f and MXCSR
    /// 0x1f80, so x87 precision is extended and floating-point exceptions are masked; a
    /// fresh engine has zeros there, and a division by zero trapped instead of giving inf).
    pub fn new(arch: Arch) -> Result<Cpu, CpuError> {
        let backend = backend(arch);
        let mut uc = backend.new_engine()?;
        backend.reset_regs(&mut uc);
        Ok(Cpu {
            arch,
            backend,
            uc,
            text_pristine: true,
            blocks: Default::default(),
            retired: Vec::new(),
            watch: Default::default(),
            watch_rf: None,
        })
    }

    /// Run guest code from the current pc until a syscall, a trap, a fault, or `budget`
    /// blocks. Returns the exit and the number of blocks executed.
    pub fn run(&mut self, budget: u64) -> (RunExit, u64) {
        self.run_counted(budget.max(1), 0)
    }

    /// Like [`Cpu::run`], but `stop` may end the run early from another thread, at a block
    /// boundary: the exit then reads `Quantum` with fewer blocks than `budget`, and a run
    /// with the blocks left (and the virtual time moved on by those run) continues exactly
    /// where this one stopped.
    pub fn run_interruptible(&mut self, budget: u64, stop: &Interrupter) -> (RunExit, u64) {
        *stop.running() = Some(EnginePtr(self.uc.get_handle()));
        let r = self.run(budget);
        *stop.running() = None;
        r
    }

    /// The virtual time at which the next run starts (what a clock read inside it sees).
    pub fn set_time(&mut self, ns: u64) {
        self.uc.get_data_mut().time_base_ns = ns;
    }

    /// Run exactly one instruction (a debugger's single step). unicorn counts instructions
    /// with a per-instruction hook while a count is set; that costs nothing at other times.
    pub fn run_one(&mut self) -> (RunExit, u64) {
        const UNLIMITED: u64 = i64::MAX as u64;
        let (exit, blocks) = self.run_counted(UNLIMITED, 1);
        (exit, blocks.max(1))
    }

    /// Run with a block budget and an instruction count (0: unlimited). The engine's stop
    /// address is one no guest can map: with 0 there (unicorn's "no end"), a guest that
    /// jumped to address 0 stopped "normally" before running anything and spun forever.
    fn run_counted(&mut self, budget: u64, insns: usize) -> (RunExit, u64) {
        {
            let d = self.uc.get_data_mut();
            d.stop = None;
            d.fault = None;
            d.budget = budget;
        }
        set_blocks_left(&mut self.uc, budget);
        let pc = self.pc();
        self.watch_begin(pc);
        let r = self.uc.emu_start(pc, UNTIL, 0, insns);
        let blocks = blocks_run(&self.uc, budget);
        let now_pc = self.pc();
        let watched = self.watch_end(now_pc);
        let d = self.uc.get_data();
        let exit = match (r, d.stop, d.fault) {
            // A watched access (or a watched instruction reached): the run stopped for it.
            (Ok(()), None, None) if watched.is_some() => {
                let (hits, exec) = watched.unwrap_or_default();
                RunExit::Watch { hits, exec }
            }
            // The guest jumped to the stop address itself: a fetch from an address no
            // guest maps.
            (Ok(()), None, None) if self.pc() == UNTIL => RunExit::Fault {
                write: false,
                addr: UNTIL,
                exec: true,
            },
            (_, Some(Stop::Syscall), _) => RunExit::Syscall,
            (_, Some(Stop::Interrupt(n)), _) => RunExit::Interrupt(n),
            (Err(_), _, Some((ty, addr))) => RunExit::Fault {
                write: matches!(ty, MemType::WRITE_UNMAPPED | MemType::WRITE_PROT),
                addr,
                exec: matches!(ty, MemType::FETCH_UNMAPPED | MemType::FETCH_PROT),
            },
            (Err(uc_error::INSN_INVALID), _, _) => RunExit::InvalidInsn,
            (Err(e), _, _) => RunExit::Error(EngineError(e)),
            // No reason recorded: the block budget ran out (or nothing happened at all).
            (Ok(()), _, _) => RunExit::Quantum,
        };
        (exit, blocks)
    }

    /// What a run's exit means for the process (None for a system call or the end of the
    /// quantum). Faults and engine errors read the same on every arch (9front: "sys: trap:
    /// fault read|write addr=0x…", an instruction fetch being a read; Ureg type 14, the x86
    /// page-fault vector, and 13 for an engine error); interrupts and undecodable
    /// instructions are the backend's to name.
    pub fn trap(&self, exit: RunExit) -> Option<Trap> {
        let pc = self.pc();
        Some(match exit {
            RunExit::Syscall | RunExit::Quantum => return None,
            RunExit::Interrupt(n) => self.backend.interrupt(&self.uc, n, pc),
            RunExit::Fault { write, addr, exec } => Trap::new(
                format!(
                    "sys: trap: fault {} addr={addr:#x}",
                    if write && !exec { "write" } else { "read" }
                ),
                SIGSEGV,
                pc,
                14,
            ),
            RunExit::InvalidInsn => self.backend.invalid_insn(pc),
            // 9front debugexc's note; the Ureg type is the arch's own for a watchpoint
            // (amd64 vector 1, the debug exception; arm64 exception class 0x34, a
            // watchpoint from a lower level; riscv64 cause 3, as its triggers raise).
            RunExit::Watch { hits, .. } => {
                let ty = match self.arch {
                    Arch::X86_64 => 1,
                    Arch::Aarch64 => 0x34,
                    Arch::Riscv64 => 3,
                };
                Trap::new(proc_model::procfs::watchpt::note(hits), SIGTRAP, pc, ty)
            }
            RunExit::Error(e) => {
                Trap::new(format!("sys: trap: unicorn error {e:?}"), SIGSEGV, pc, 13)
            }
        })
    }

    fn reg(&self, r: Reg) -> u64 {
        read_reg(&self.uc, r)
    }

    fn set_reg(&mut self, r: Reg, v: u64) {
        write_reg(&mut self.uc, r, v);
    }

    pub fn pc(&self) -> u64 {
        self.reg(self.backend.roles().pc)
    }

    pub fn set_pc(&mut self, v: u64) {
        self.set_reg(self.backend.roles().pc, v)
    }

    pub fn sp(&self) -> u64 {
        self.reg(self.backend.roles().sp)
    }

    pub fn set_sp(&mut self, v: u64) {
        self.set_reg(self.backend.roles().sp, v)
    }

    /// The thread pointer: FS_BASE on x86_64, TPIDR_EL0 on arm64, tp on riscv.
    pub fn tls(&self) -> u64 {
        self.reg(self.backend.roles().tls)
    }

    pub fn set_tls(&mut self, v: u64) {
        self.set_reg(self.backend.roles().tls, v)
    }

    /// The raw syscall number and its six arguments.
    pub fn syscall_args(&self) -> (u64, [u64; 6]) {
        let r = self.backend.roles();
        (self.reg(r.nr), r.args.map(|a| self.reg(a)))
    }

    pub fn set_syscall_ret(&mut self, v: u64) {
        self.backend.set_syscall_ret(&mut self.uc, v)
    }

    /// Map a raw syscall number of this arch to the kernel's arch-neutral call.
    pub fn sys(&self, nr: u64) -> Option<Sys> {
        self.backend.sys(nr)
    }

    pub fn map(&mut self, addr: u64, size: u64, prot: u32) -> SysResult<()> {
        self.uc
            .mem_map(addr, size, to_prot(prot))
            .map_err(|_| Errno::ENOMEM)
    }

    pub fn unmap(&mut self, addr: u64, size: u64) -> SysResult<()> {
        self.uc.mem_unmap(addr, size).map_err(|_| Errno::EINVAL)?;
        let end = addr.saturating_add(size);
        for (start, len) in self.blocks_touching(addr, end) {
            if addr <= start && start + len <= end {
                // Wholly unmapped: no region points into it any more.
                self.blocks.remove(&start);
            } else if let Some(b) = self.blocks.get_mut(&start) {
                // A tail cut off (brk moving down): unicorn kept the head as one region at
                // the same host address, so the block can shrink and stay unpinned.
                let tail = addr > start && end >= start + len;
                if !(tail && !b.pinned && b.shrink((addr - start) as usize)) {
                    b.pinned = true;
                    let lo = addr.max(start);
                    b.release((lo - start) as usize, (end.min(start + len) - lo) as usize);
                }
            }
        }
        Ok(())
    }

    pub fn protect(&mut self, addr: u64, size: u64, prot: u32) -> SysResult<()> {
        self.uc
            .mem_protect(addr, size, to_prot(prot))
            .map_err(|_| Errno::ENOMEM)?;
        let end = addr.saturating_add(size);
        for (start, len) in self.blocks_touching(addr, end) {
            if !(addr <= start && start + len <= end) {
                if let Some(b) = self.blocks.get_mut(&start) {
                    b.pinned = true;
                }
            }
        }
        Ok(())
    }

    /// The host blocks overlapping `[a, b)`, as (guest start, length).
    fn blocks_touching(&self, a: u64, b: u64) -> Vec<(u64, u64)> {
        self.blocks
            .range(..b)
            .map(|(&s, blk)| (s, blk.len() as u64))
            .filter(|&(s, len)| s + len > a)
            .collect()
    }

    /// Grow the segment `[start, old_end)`, mapped whole with `prot`, to end at `new_end`
    /// (the range after it is free): in host memory that grows in place (hostmem.rs), so the
    /// segment stays one engine region and a growth costs the same whatever its size. The
    /// first growth of a segment moves its bytes into a host block once.
    pub fn grow(&mut self, start: u64, old_end: u64, new_end: u64, prot: u32) -> SysResult<()> {
        let old_len = usize::try_from(old_end - start).map_err(|_| Errno::ENOMEM)?;
        let new_len = usize::try_from(new_end - start).map_err(|_| Errno::ENOMEM)?;
        let perms = to_prot(prot);
        if let Some(b) = self
            .blocks
            .get_mut(&start)
            .filter(|b| !b.pinned && b.len() == old_len)
        {
            self.uc
                .mem_unmap(start, old_len as u64)
                .map_err(|_| Errno::ENOMEM)?;
            let grown = b.grow(new_len);
            let len = if grown { new_len } else { old_len };
            // SAFETY: the block is `len` bytes of host memory owned by this Cpu, freed only
            // after the engine is closed or no longer maps it (unmap, strip_to, Drop order).
            let r = unsafe { self.uc.mem_map_ptr(start, len as u64, perms, b.ptr()) };
            r.map_err(|_| Errno::ENOMEM)?;
            return if grown { Ok(()) } else { Err(Errno::ENOMEM) };
        }
        let mut b = hostmem::HostBlock::new(new_len).ok_or(Errno::ENOMEM)?;
        // Only the pages that hold data are copied: untouched ones (a large bss) stay
        // unbacked on the host, as they were in the engine.
        {
            const CHUNK: usize = 64 * 1024;
            let page = crate::param::PAGE_SIZE as usize;
            let mut buf = vec![0u8; CHUNK];
            let dst = b.as_mut_slice();
            let mut at = 0;
            while at < old_len {
                let n = CHUNK.min(old_len - at);
                self.read_into(start + at as u64, &mut buf[..n])?;
                for (i, pg) in buf[..n].chunks(page).enumerate() {
                    if !crate::guestmem::is_zero(pg) {
                        let o = at + i * page;
                        dst[o..o + pg.len()].copy_from_slice(pg);
                    }
                }
                at += n;
            }
        }
        self.unmap(start, old_len as u64)?;
        if let Some(old) = self.blocks.remove(&start) {
            self.retired.push(old);
        }
        // SAFETY: as above; the block moves into `self.blocks` right after and lives as
        // long as the engine may point into it.
        let r = unsafe { self.uc.mem_map_ptr(start, new_len as u64, perms, b.ptr()) };
        if r.is_err() {
            // Put the old bytes back where they were, in an ordinary region.
            self.map(start, old_len as u64, prot)?;
            let bytes = b.as_mut_slice()[..old_len].to_vec();
            self.write(start, &bytes)?;
            return Err(Errno::ENOMEM);
        }
        self.blocks.insert(start, b);
        Ok(())
    }

    pub fn read_into(&self, addr: u64, buf: &mut [u8]) -> SysResult<()> {
        if buf.is_empty() {
            return Ok(());
        }
        self.uc.mem_read(addr, buf).map_err(|_| Errno::EFAULT)
    }

    pub fn write(&mut self, addr: u64, data: &[u8]) -> SysResult<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.uc.mem_write(addr, data).map_err(|_| Errno::EFAULT)
    }

    /// Unmap everything but the ranges in `keep` (sorted, non-overlapping), and reset the
    /// registers, so the engine can start another process and keep the translations of the
    /// kept code.
    pub fn strip_to(&mut self, keep: &[(u64, u64)]) -> Result<(), CpuError> {
        let regions = self.uc.mem_regions()?;
        for r in regions {
            let (b, e) = (r.begin, r.end + 1);
            let mut cur = b;
            for &(kb, ke) in keep.iter().filter(|(kb, ke)| *ke > b && *kb < e) {
                if kb > cur {
                    self.uc.mem_unmap(cur, kb - cur)?;
                }
                cur = cur.max(ke);
            }
            if cur < e {
                self.uc.mem_unmap(cur, e - cur)?;
            }
        }
        // Every block outside the kept ranges is no longer mapped (a kept one would be text
        // grown by mremap: it stays, still mapped).
        self.blocks.retain(|&s, b| {
            keep.iter()
                .any(|&(kb, ke)| kb < s + b.len() as u64 && s < ke)
        });
        if self.blocks.is_empty() {
            self.retired.clear();
        }
        self.backend.reset_regs(&mut self.uc);
        *self.uc.get_data_mut() = HookState::default();
        Ok(())
    }

    /// Set the stack's mapped bottom and growth limit.
    pub fn set_stack_bounds(&mut self, lo: u64, min: u64) {
        let d = self.uc.get_data_mut();
        d.stack_lo = lo;
        d.stack_min = min;
    }

    pub fn stack_bounds(&self) -> (u64, u64) {
        let d = self.uc.get_data();
        (d.stack_lo, d.stack_min)
    }

    /// The general registers as the Plan 9 Ureg image of the arch (the `regs` file,
    /// docs/plan9-proc-9p.md §1.6), with `trap_type` as the Ureg `type`.
    pub fn ureg(&self, trap_type: u64) -> Vec<u8> {
        let layout = ureg::layout(self.arch);
        let mut b = vec![0u8; layout.size];
        for f in layout.fields {
            let v = match self.backend.ureg_slot(f) {
                UregSlot::Reg(r) | UregSlot::Masked(r, _) | UregSlot::ReadOnly(r) => self.reg(r),
                UregSlot::Const(v) => v,
                UregSlot::TrapType => trap_type,
            };
            layout.put(&mut b, f, v);
        }
        b
    }

    /// Load the registers a Ureg image may set (a `regs` write): the general registers, pc,
    /// sp and the user-modifiable flags; the rest of the image is ignored. False if the image
    /// is shorter than the arch's Ureg.
    pub fn set_ureg(&mut self, image: &[u8]) -> bool {
        let layout = ureg::layout(self.arch);
        if image.len() < layout.size {
            return false;
        }
        for f in layout.fields {
            let v = layout.get(image, f).unwrap_or(0);
            match self.backend.ureg_slot(f) {
                UregSlot::Reg(r) => self.set_reg(r, v),
                UregSlot::Masked(r, mask) => self.set_reg(r, v & mask),
                UregSlot::ReadOnly(_) | UregSlot::Const(_) | UregSlot::TrapType => {}
            }
        }
        true
    }

    /// The FP state image (Plan 9 FPsave layout for the arch).
    pub fn fp_save(&self) -> Vec<u8> {
        self.backend.fp_save(&self.uc)
    }

    pub fn fp_restore(&mut self, image: &[u8]) {
        self.backend.fp_restore(&mut self.uc, image)
    }

    /// Copy all user registers from `other` (fork; same arch): the integer registers, flags
    /// and TLS, then the FP state.
    pub fn copy_regs_from(&mut self, other: &Cpu) {
        for r in self.backend.user_regs() {
            self.set_reg(*r, other.reg(*r));
        }
        self.fp_restore(&other.fp_save());
    }

    /// Enter a signal handler with a frame on the user stack, or below `stack` (the top of
    /// the alternate signal stack) if given.
    pub fn enter_handler(
        &mut self,
        sig: i32,
        handler: u64,
        restorer: u64,
        old_mask: u64,
        info: &[u8; 128],
        stack: Option<u64>,
    ) -> bool {
        let f = SigFrame {
            sig,
            handler,
            restorer,
            old_mask,
            info,
            stack,
        };
        // The kernel writes the frame below the stack pointer; on the process stack that
        // write grows the stack as the guest's own push would (a deep recursion's SIGCHLD
        // found its frame unmapped and died of SIGSEGV).
        if stack.is_none() {
            let below = self.sp().saturating_sub(crate::param::SIGFRAME_MAX);
            grow_stack_to(&mut self.uc, below);
        }
        self.backend.enter_handler(&mut self.uc, &f)
    }

    /// Return from a signal handler; the saved mask.
    pub fn sigreturn(&mut self) -> Option<u64> {
        self.backend.sigreturn(&mut self.uc)
    }

    /// Make the system call `nr` just made run again when the process resumes (SA_RESTART).
    pub fn restart_syscall(&mut self, nr: u64) {
        self.backend.restart_syscall(&mut self.uc, nr)
    }

    /// The code of this arch's sigreturn trampoline, if its signal frames need one.
    pub fn sigtramp(arch: Arch) -> Option<&'static [u8]> {
        backend(arch).sigtramp()
    }

    /// `st` as `arch`'s `struct stat` (stat(2), fstat(2), newfstatat(2)); a function of the
    /// arch alone, so the syscall layer needs no engine for it.
    pub fn encode_stat(arch: Arch, st: &Stat) -> Vec<u8> {
        backend(arch).encode_stat(st)
    }

    /// Forget translations of [begin, end): code written from the host must be seen.
    pub fn invalidate_code(&mut self, begin: u64, end: u64) {
        let _ = self.uc.ctl_remove_cache(begin, end);
    }
}

/// Where `emu_start` is told to stop: the top of the address space, which no guest maps.
const UNTIL: u64 = u64::MAX;

/// One thread's registers while another thread of the same address space runs on the engine
/// (a unicorn context: it belongs to the engine that saved it).
pub struct RegCtx(unicorn_engine::Context);

impl std::fmt::Debug for RegCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegCtx")
    }
}

impl Cpu {
    /// Save the engine's registers into `ctx`, allocating it on first use.
    pub fn save_regs(&self, ctx: &mut Option<RegCtx>) -> Result<(), CpuError> {
        match ctx {
            Some(c) => self.uc.context_save(&mut c.0)?,
            None => *ctx = Some(RegCtx(self.uc.context_init()?)),
        }
        Ok(())
    }

    /// Put registers saved by [`Cpu::save_regs`] back into the engine.
    pub fn load_regs(&mut self, ctx: &RegCtx) -> Result<(), CpuError> {
        self.uc.context_restore(&ctx.0)?;
        Ok(())
    }
}

/// The engine is the address space's memory (guestmem.rs): the syscall layer reaches guest
/// bytes and mappings only through this.
impl crate::guestmem::GuestMem for Cpu {
    fn read_into(&self, addr: u64, buf: &mut [u8]) -> SysResult<()> {
        Cpu::read_into(self, addr, buf)
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> SysResult<()> {
        Cpu::write(self, addr, data)
    }

    fn map(&mut self, addr: u64, size: u64, prot: u32) -> SysResult<()> {
        Cpu::map(self, addr, size, prot)
    }

    fn unmap(&mut self, addr: u64, size: u64) -> SysResult<()> {
        Cpu::unmap(self, addr, size)
    }

    fn protect(&mut self, addr: u64, size: u64, prot: u32) -> SysResult<()> {
        Cpu::protect(self, addr, size, prot)
    }

    fn grow(&mut self, start: u64, old_end: u64, new_end: u64, prot: u32) -> SysResult<()> {
        Cpu::grow(self, start, old_end, new_end, prot)
    }

    fn text_written(&mut self) {
        self.text_pristine = false;
    }
}

/// Linux PROT_* bits equal unicorn's Prot bits (READ 1, WRITE 2, EXEC 4).
fn to_prot(prot: u32) -> Prot {
    Prot(prot & 7)
}

#[cfg(test)]
mod tests;
