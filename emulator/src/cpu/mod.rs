//! CPU backends on unicorn, one file per arch behind one interface: engine creation with the
//! trap hooks, the register map (syscall number, arguments, result, pc, sp, TLS), the syscall
//! number table and the Plan 9 register images. The arch is a runtime value
//! (`proc_model::machine::Arch`), never a `cfg`.

pub mod aarch64;
pub mod generic;
pub mod riscv64;
pub mod x86_64;

use crate::errno::{Errno, SysResult};
use crate::syscalls::Sys;
pub use proc_model::machine::Arch;
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

/// Call the same-named function of the arch's backend.
macro_rules! arch_call {
    ($arch:expr, $f:ident($($a:expr),*)) => {
        match $arch {
            Arch::X86_64 => x86_64::$f($($a),*),
            Arch::Aarch64 => aarch64::$f($($a),*),
            Arch::Riscv64 => riscv64::$f($($a),*),
        }
    };
}

/// Why a run of guest code stopped, as recorded by the hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Syscall,
    /// A CPU interrupt/exception other than the syscall path (x86 vector number).
    Interrupt(u32),
}

/// State the hooks share with the machine, stored in the engine.
#[derive(Debug, Default)]
pub struct HookState {
    pub stop: Option<Stop>,
    /// The last invalid memory access (kind, address).
    pub fault: Option<(MemType, u64)>,
    /// The stack's mapped bottom and the lowest address it may grow down to: an access in
    /// between maps more stack, as a Linux stack VMA grows on a fault.
    pub stack_lo: u64,
    pub stack_min: u64,
}

pub type Engine = Unicorn<'static, HookState>;

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
    Error(uc_error),
}

pub struct Cpu {
    pub arch: Arch,
    pub uc: Engine,
    /// No byte of the program's text was written since it was loaded (from /proc, or after
    /// an mprotect that made it writable): its translations can serve another process
    /// running the same image.
    pub text_pristine: bool,
}

// Glass's unicorn patch (tools/unicorn/0005-inline-block-budget.patch): the quantum is
// counted down in the generated code at every block start, with no hook call. A block that
// finds no budget left stops the engine before it runs (and the count reads -1), so it runs
// and is counted once, on resume (docs/DESIGN.md).
extern "C" {
    fn uc_glass_set_blocks_left(uc: *mut unicorn_engine::hook::uc_engine, blocks: i64);
    fn uc_glass_blocks_left(uc: *mut unicorn_engine::hook::uc_engine) -> i64;
}

/// Give the engine `budget` blocks to run before it stops by itself.
fn set_blocks_left(uc: &mut Engine, budget: u64) {
    // SAFETY: the handle is the live engine `uc` owns; the patched unicorn only stores the
    // number in its uc_struct.
    unsafe { uc_glass_set_blocks_left(uc.get_handle(), i64::try_from(budget).unwrap_or(i64::MAX)) }
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
    use crate::param::{PAGE_SIZE, STACK_GROW};
    let (lo, min) = {
        let d = uc.get_data();
        (d.stack_lo, d.stack_min)
    };
    let data = matches!(ty, MemType::READ_UNMAPPED | MemType::WRITE_UNMAPPED);
    if data && min <= addr && addr < lo {
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
    }
    uc.get_data_mut().fault = Some((ty, addr));
    false
}

/// Limit the engine's translated-code buffer (unicorn reserves 1 GiB of address space per
/// engine otherwise, which a machine of a thousand processes cannot afford). Must run before
/// the engine's first map or hook (docs/DESIGN.md).
pub(crate) fn set_tcg_buffer(uc: &mut Engine) -> Result<(), CpuError> {
    use unicorn_engine::unicorn_const::ControlType;
    let ctl = ControlType(ControlType::TCG_BUFFER_SIZE.0 | ControlType::IO_WRITE.0);
    // SAFETY: the handle is a live engine owned by `uc`; UC_CTL_TCG_BUFFER_SIZE takes one
    // uint32_t argument (unicorn uc.c uc_ctl).
    let r = unsafe {
        unicorn_engine::unicorn_const::uc_ctl(uc.get_handle(), ctl, crate::param::TCG_BUFFER_BYTES)
    };
    match r {
        uc_error::OK => Ok(()),
        e => Err(CpuError::Unicorn(e)),
    }
}

pub fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86_64",
        Arch::Aarch64 => "aarch64",
        Arch::Riscv64 => "riscv64",
    }
}

impl Cpu {
    pub fn new(arch: Arch) -> Result<Cpu, CpuError> {
        let uc = match arch {
            Arch::X86_64 => x86_64::new_engine()?,
            Arch::Aarch64 => aarch64::new_engine()?,
            Arch::Riscv64 => riscv64::new_engine()?,
        };
        Ok(Cpu {
            arch,
            uc,
            text_pristine: true,
        })
    }

    /// Run guest code from the current pc until a syscall, a trap, a fault, or `budget`
    /// blocks. Returns the exit and the number of blocks executed.
    pub fn run(&mut self, budget: u64) -> (RunExit, u64) {
        let budget = budget.max(1);
        {
            let d = self.uc.get_data_mut();
            d.stop = None;
            d.fault = None;
        }
        set_blocks_left(&mut self.uc, budget);
        let pc = self.pc();
        let r = self.uc.emu_start(pc, 0, 0, 0);
        let blocks = blocks_run(&self.uc, budget);
        let d = self.uc.get_data();
        let exit = match (r, d.stop, d.fault) {
            (_, Some(Stop::Syscall), _) => RunExit::Syscall,
            (_, Some(Stop::Interrupt(n)), _) => RunExit::Interrupt(n),
            (Err(e), _, Some((ty, addr))) => {
                let write = matches!(ty, MemType::WRITE_UNMAPPED | MemType::WRITE_PROT);
                let exec = matches!(ty, MemType::FETCH_UNMAPPED | MemType::FETCH_PROT);
                let _ = e;
                RunExit::Fault { write, addr, exec }
            }
            (Err(uc_error::INSN_INVALID), _, _) => RunExit::InvalidInsn,
            (Err(e), _, _) => RunExit::Error(e),
            // No reason recorded: the block budget ran out (or nothing happened at all).
            (Ok(()), _, _) => RunExit::Quantum,
        };
        (exit, blocks)
    }

    /// Run exactly one instruction (a debugger's single step). unicorn counts instructions
    /// with a per-instruction hook while a count is set; that costs nothing at other times.
    pub fn run_one(&mut self) -> (RunExit, u64) {
        {
            let d = self.uc.get_data_mut();
            d.stop = None;
            d.fault = None;
        }
        const UNLIMITED: u64 = i64::MAX as u64;
        set_blocks_left(&mut self.uc, UNLIMITED);
        let pc = self.pc();
        let r = self.uc.emu_start(pc, 0, 0, 1);
        let blocks = blocks_run(&self.uc, UNLIMITED);
        let d = self.uc.get_data();
        let exit = match (r, d.stop, d.fault) {
            (_, Some(Stop::Syscall), _) => RunExit::Syscall,
            (_, Some(Stop::Interrupt(n)), _) => RunExit::Interrupt(n),
            (Err(_), _, Some((ty, addr))) => RunExit::Fault {
                write: matches!(ty, MemType::WRITE_UNMAPPED | MemType::WRITE_PROT),
                addr,
                exec: matches!(ty, MemType::FETCH_UNMAPPED | MemType::FETCH_PROT),
            },
            (Err(uc_error::INSN_INVALID), _, _) => RunExit::InvalidInsn,
            (Err(e), _, _) => RunExit::Error(e),
            (Ok(()), _, _) => RunExit::Quantum,
        };
        (exit, blocks.max(1))
    }

    pub fn pc(&self) -> u64 {
        arch_call!(self.arch, pc(&self.uc))
    }

    pub fn set_pc(&mut self, v: u64) {
        arch_call!(self.arch, set_pc(&mut self.uc, v))
    }

    pub fn sp(&self) -> u64 {
        arch_call!(self.arch, sp(&self.uc))
    }

    pub fn set_sp(&mut self, v: u64) {
        arch_call!(self.arch, set_sp(&mut self.uc, v))
    }

    /// The TLS pointer (x86_64 FS_BASE, arm64 TPIDR_EL0, riscv64 tp).
    pub fn tls(&self) -> u64 {
        arch_call!(self.arch, tls(&self.uc))
    }

    pub fn set_tls(&mut self, v: u64) {
        arch_call!(self.arch, set_tls(&mut self.uc, v))
    }

    /// The raw syscall number and its six arguments.
    pub fn syscall_args(&self) -> (u64, [u64; 6]) {
        arch_call!(self.arch, syscall_args(&self.uc))
    }

    pub fn set_syscall_ret(&mut self, v: u64) {
        arch_call!(self.arch, set_syscall_ret(&mut self.uc, v))
    }

    /// Map a raw syscall number of this arch to the kernel's arch-neutral call.
    pub fn sys(&self, nr: u64) -> Option<Sys> {
        arch_call!(self.arch, sys(nr))
    }

    pub fn map(&mut self, addr: u64, size: u64, prot: u32) -> SysResult<()> {
        self.uc
            .mem_map(addr, size, to_prot(prot))
            .map_err(|_| Errno::ENOMEM)
    }

    pub fn unmap(&mut self, addr: u64, size: u64) -> SysResult<()> {
        self.uc.mem_unmap(addr, size).map_err(|_| Errno::EINVAL)
    }

    pub fn protect(&mut self, addr: u64, size: u64, prot: u32) -> SysResult<()> {
        self.uc
            .mem_protect(addr, size, to_prot(prot))
            .map_err(|_| Errno::ENOMEM)
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
        arch_call!(self.arch, reset_regs(&mut self.uc));
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

    /// The FP state image (Plan 9 FPsave layout for the arch).
    pub fn fp_save(&self) -> Vec<u8> {
        arch_call!(self.arch, fp_save(&self.uc))
    }

    pub fn fp_restore(&mut self, image: &[u8]) {
        arch_call!(self.arch, fp_restore(&mut self.uc, image))
    }

    /// Copy all user registers from `other` (fork; same arch).
    pub fn copy_regs_from(&mut self, other: &Cpu) {
        arch_call!(self.arch, copy_regs(&other.uc, &mut self.uc))
    }

    /// Enter a signal handler with a frame on the user stack.
    pub fn enter_handler(
        &mut self,
        sig: i32,
        handler: u64,
        restorer: u64,
        old_mask: u64,
        info: &[u8; 128],
    ) -> bool {
        arch_call!(
            self.arch,
            enter_handler(&mut self.uc, sig, handler, restorer, old_mask, info)
        )
    }

    /// Return from a signal handler; the saved mask.
    pub fn sigreturn(&mut self) -> Option<u64> {
        arch_call!(self.arch, sigreturn(&mut self.uc))
    }

    /// Make the system call just made run again when the process resumes (SA_RESTART).
    pub fn restart_syscall(&mut self, nr: u64) {
        match self.arch {
            Arch::X86_64 => x86_64::restart_syscall(&mut self.uc, nr),
            Arch::Aarch64 => aarch64::restart_syscall(&mut self.uc),
            Arch::Riscv64 => riscv64::restart_syscall(&mut self.uc),
        }
    }

    /// The code of this arch's sigreturn trampoline, if its signal frames need one.
    pub fn sigtramp(arch: Arch) -> Option<&'static [u8]> {
        match arch {
            Arch::X86_64 => None,
            Arch::Aarch64 => Some(&aarch64::SIGTRAMP),
            Arch::Riscv64 => Some(&riscv64::SIGTRAMP),
        }
    }

    /// Forget translations of [begin, end): code written from the host must be seen.
    pub fn invalidate_code(&mut self, begin: u64, end: u64) {
        let _ = self.uc.ctl_remove_cache(begin, end);
    }
}

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

    fn text_written(&mut self) {
        self.text_pristine = false;
    }
}

/// Linux PROT_* bits equal unicorn's Prot bits (READ 1, WRITE 2, EXEC 4).
fn to_prot(prot: u32) -> Prot {
    Prot(prot & 7)
}
