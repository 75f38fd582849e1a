//! x86_64 backend: `syscall` arrives through unicorn's instruction hook; arguments follow the
//! Linux x86_64 syscall ABI (rax = number, rdi rsi rdx r10 r8 r9, result in rax; the kernel
//! clobbers rcx and r11); TLS is FS_BASE (arch_prctl). Syscall numbers from Linux
//! arch/x86/entry/syscalls/syscall_64.tbl; traps per 9front pc64/trap.c; signal frames per
//! arch/x86/kernel/signal.c; `struct stat` per arch/x86/include/uapi/asm/stat.h.

use super::{
    concat, get_long_regs, get_regs, get_u32, get_u64, put_le, put_long_regs, put_regs,
    put_stat_times, read_reg, reg_run, stop_with, write_reg, zero_regs, ArchCpu, CpuError, Engine,
    HookState, Reg, Roles, SigFrame, Stat, Stop, Trap, UregSlot, ILL_ILLOPN, SIGFPE, SIGSEGV,
    SIGTRAP, SI_KERNEL,
};
use crate::syscalls::Sys;
use proc_model::ureg::UregField;
use unicorn_engine::unicorn_const::{uc_error, Arch as UcArch, Mode};
use unicorn_engine::{RegisterX86 as R, Unicorn, X86Insn};

/// The x86_64 backend.
pub(crate) struct X86_64;

const RAX: Reg = R::RAX as Reg;
const RCX: Reg = R::RCX as Reg;
const R11: Reg = R::R11 as Reg;
const RSP: Reg = R::RSP as Reg;
const RIP: Reg = R::RIP as Reg;
const EFLAGS: Reg = R::EFLAGS as Reg;

static ROLES: Roles = Roles {
    pc: RIP,
    sp: RSP,
    tls: R::FS_BASE as Reg,
    nr: RAX,
    args: [
        R::RDI as Reg,
        R::RSI as Reg,
        R::RDX as Reg,
        R::R10 as Reg,
        R::R8 as Reg,
        R::R9 as Reg,
    ],
    ret: RAX,
};

/// General registers in the order of the x86_64 `struct sigcontext` (arch/x86/include/uapi/
/// asm/sigcontext.h): r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags.
const SIGCONTEXT_REGS: [Reg; 18] = [
    R::R8 as Reg,
    R::R9 as Reg,
    R::R10 as Reg,
    R11,
    R::R12 as Reg,
    R::R13 as Reg,
    R::R14 as Reg,
    R::R15 as Reg,
    R::RDI as Reg,
    R::RSI as Reg,
    R::RBP as Reg,
    R::RBX as Reg,
    R::RDX as Reg,
    RAX,
    RCX,
    RSP,
    RIP,
    EFLAGS,
];

/// What a fork copies: the sigcontext registers and the two segment bases.
const USER_REGS: [Reg; 20] = concat(SIGCONTEXT_REGS, [R::FS_BASE as Reg, R::GS_BASE as Reg]);

const XMM: [Reg; 16] = reg_run(R::XMM0 as Reg);
const ST: [Reg; 8] = reg_run(R::ST0 as Reg);

/// Plan 9's amd64 FPsave: the FXSAVE area (512 bytes) plus the XSAVE header and upper YMM
/// halves (docs/plan9-proc-9p.md §1.6).
const FPSAVE: usize = 832;
const FXSAVE: usize = 416;

impl ArchCpu for X86_64 {
    fn new_engine(&self) -> Result<Engine, CpuError> {
        // `syscall` is an instruction hook, not an interrupt.
        let mut uc = super::engine(UcArch::X86, Mode::MODE_64, None, None, None)?;
        uc.add_insn_sys_hook(X86Insn::SYSCALL, 1, 0, |uc: &mut Unicorn<'_, HookState>| {
            stop_with(uc, Stop::Syscall)
        })?;
        // unicorn compiles in/out without the I/O permission check (translate.c
        // gen_check_io returns at once), so user mode alone does not stop them: at CPL 3
        // with IOPL 0 and no I/O bitmap they are a #GP on Linux. The hooks make them one.
        // The run stops at the end of the translated block, so the instructions after the
        // in/out in that block have run when the signal is delivered.
        uc.add_insn_in_hook(|uc: &mut Unicorn<'_, HookState>, _port, _size| {
            stop_with(uc, Stop::Interrupt(GP_VECTOR));
            0
        })?;
        uc.add_insn_out_hook(|uc: &mut Unicorn<'_, HookState>, _port, _size, _value| {
            stop_with(uc, Stop::Interrupt(GP_VECTOR))
        })?;
        enter_user_mode(&mut uc)?;
        Ok(uc)
    }

    fn roles(&self) -> &'static Roles {
        &ROLES
    }

    fn sys(&self, nr: u64) -> Option<Sys> {
        sys_of(nr)
    }

    fn set_syscall_ret(&self, uc: &mut Engine, v: u64) {
        write_reg(uc, RAX, v);
        // The syscall instruction leaves the return address in rcx and rflags in r11.
        let (pc, flags) = (read_reg(uc, RIP), read_reg(uc, EFLAGS));
        write_reg(uc, RCX, pc);
        write_reg(uc, R11, flags);
    }

    /// Back over the 2-byte `syscall`, the number back in rax (the result overwrote it).
    fn restart_syscall(&self, uc: &mut Engine, nr: u64) {
        let pc = read_reg(uc, RIP);
        write_reg(uc, RAX, nr);
        write_reg(uc, RIP, pc.wrapping_sub(2));
    }

    /// x86 vectors, named as 9front pc64/trap.c names them; the Ureg type is the vector.
    fn interrupt(&self, uc: &Engine, n: u32, pc: u64) -> Trap {
        // A fault (not int3 or int n) leaves qemu's double-fault state set: reset it.
        if !matches!(n, 3 | 0x80) {
            clear_old_exception(uc);
        }
        match n {
            // int3 leaves pc after the 1-byte instruction; the debugger wants its address.
            3 => Trap::breakpoint(pc.wrapping_sub(1), 3),
            0 => Trap::new("sys: trap: divide error", SIGFPE, pc, 0),
            1 => Trap::new("sys: trap: debug exception", SIGTRAP, pc, 1),
            6 => self.invalid_insn(pc),
            // Linux: SIGSEGV, SI_KERNEL, si_addr 0 (exc_general_protection).
            13 => Trap::new("sys: trap: general protection violation", SIGSEGV, pc, 13)
                .with_si(SI_KERNEL, 0),
            n => Trap::exception(n, pc),
        }
    }

    /// Linux x86: SIGILL, ILL_ILLOPN at the instruction (exc_invalid_op).
    fn invalid_insn(&self, pc: u64) -> Trap {
        Trap::illegal("sys: trap: invalid opcode", pc, 6).with_si(ILL_ILLOPN, pc)
    }

    fn ureg_slot(&self, f: &UregField) -> UregSlot {
        use UregSlot::{Const, ReadOnly, TrapType};
        let reg = |r: R| UregSlot::Reg(r as Reg);
        match f.name {
            "ax" => reg(R::RAX),
            "bx" => reg(R::RBX),
            "cx" => reg(R::RCX),
            "dx" => reg(R::RDX),
            "si" => reg(R::RSI),
            "di" => reg(R::RDI),
            "bp" => reg(R::RBP),
            "r8" => reg(R::R8),
            "r9" => reg(R::R9),
            "r10" => reg(R::R10),
            "r11" => reg(R::R11),
            "r12" => reg(R::R12),
            "r13" => reg(R::R13),
            "r14" => reg(R::R14),
            "r15" => reg(R::R15),
            "ds" => ReadOnly(R::DS as Reg),
            "es" => ReadOnly(R::ES as Reg),
            "fs" => ReadOnly(R::FS as Reg),
            "gs" => ReadOnly(R::GS as Reg),
            "type" => TrapType,
            "pc" => reg(R::RIP),
            "flags" => reg(R::EFLAGS),
            "sp" => reg(R::RSP),
            // unicorn runs flat 64-bit code with null selectors; show Linux's user selectors
            // (__USER_CS 0x33, __USER_DS 0x2b, arch/x86/include/asm/segment.h) as a real
            // process has.
            "cs" => Const(0x33),
            "ss" => Const(0x2b),
            _ => Const(0),
        }
    }

    /// The FP/SSE state as Plan 9's amd64 FPsave: the FXSAVE area, then the XSAVE header and
    /// upper YMM halves, which stay zero (the emulated CPU has no AVX).
    fn fp_save(&self, uc: &Engine) -> Vec<u8> {
        let r = |reg: R| read_reg(uc, reg as Reg);
        let mut b = vec![0u8; FPSAVE];
        put_le(&mut b, 0, 2, r(R::FPCW));
        put_le(&mut b, 2, 2, r(R::FPSW));
        // FXSAVE keeps the abridged tag: one bit per register, set when it is not empty (tag 3).
        let tag = r(R::FPTAG);
        b[4] = (0..8)
            .filter(|i| (tag >> (2 * i)) & 3 != 3)
            .fold(0u8, |a, i| a | (1 << i));
        put_le(&mut b, 24, 4, r(R::MXCSR));
        put_le(&mut b, 28, 4, 0xffff);
        put_long_regs(uc, &mut b, 32, 16, 10, &ST);
        put_long_regs(uc, &mut b, 160, 16, 16, &XMM);
        b
    }

    /// Restore what `fp_save` produced (control words, MXCSR, x87 and XMM registers).
    fn fp_restore(&self, uc: &mut Engine, b: &[u8]) {
        if b.len() < FXSAVE {
            return;
        }
        let u16at = |o: usize| u64::from(u16::from_le_bytes([b[o], b[o + 1]]));
        write_reg(uc, R::FPCW as Reg, u16at(0));
        write_reg(uc, R::FPSW as Reg, u16at(2));
        write_reg(uc, R::MXCSR as Reg, get_u32(b, 24));
        get_long_regs(uc, b, 32, 16, 10, &ST);
        get_long_regs(uc, b, 160, 16, 16, &XMM);
    }

    fn user_regs(&self) -> &'static [Reg] {
        &USER_REGS
    }

    /// The register state of a fresh engine: all zero, flags 0x2, default x87 and SSE control
    /// (FCW 0x37f, MXCSR 0x1f80, every x87 register empty).
    fn reset_regs(&self, uc: &mut Engine) {
        zero_regs(uc, &USER_REGS);
        write_reg(uc, EFLAGS, 0x2);
        let mut fp = vec![0u8; FPSAVE];
        put_le(&mut fp, 0, 2, 0x037f);
        put_le(&mut fp, 24, 4, 0x1f80);
        self.fp_restore(uc, &fp);
        write_reg(uc, R::FPTAG as Reg, 0xffff);
    }

    /// Build an rt_sigframe on the user stack and enter the handler: [rsp] = restorer, then
    /// the ucontext, then the siginfo; rdi = sig, rsi = &info, rdx = &uc.
    fn enter_handler(&self, uc: &mut Engine, f: &SigFrame<'_>) -> bool {
        // Skip the red zone (not on a fresh alternate stack), make room, align so that
        // (frame + 8) is 16-aligned as after a call.
        let top = f
            .stack
            .unwrap_or_else(|| read_reg(uc, RSP).wrapping_sub(128));
        let mut frame = top.wrapping_sub(8 + UCONTEXT + SIGINFO);
        frame = (frame & !15).wrapping_sub(8);
        let mut uctx = vec![0u8; UCONTEXT as usize];
        put_regs(uc, &mut uctx, UC_MCONTEXT, &SIGCONTEXT_REGS);
        // cs, gs, fs, ss (u16 each) after eflags: user code selector 0x33, data 0x2b.
        let sel = UC_MCONTEXT + 8 * SIGCONTEXT_REGS.len();
        put_le(&mut uctx, sel, 2, 0x33);
        put_le(&mut uctx, sel + 6, 2, 0x2b);
        put_le(&mut uctx, UC_SIGMASK, 8, f.old_mask);
        let mut bytes = f.restorer.to_le_bytes().to_vec();
        bytes.extend_from_slice(&uctx);
        bytes.extend_from_slice(f.info);
        if uc.mem_write(frame, &bytes).is_err() {
            return false;
        }
        write_reg(uc, RSP, frame);
        write_reg(uc, RIP, f.handler);
        write_reg(uc, R::RDI as Reg, f.sig as u64);
        write_reg(uc, R::RSI as Reg, frame + 8 + UCONTEXT);
        write_reg(uc, R::RDX as Reg, frame + 8);
        write_reg(uc, RAX, 0);
        // The ABI wants the direction flag clear on entry.
        let fl = read_reg(uc, EFLAGS);
        write_reg(uc, EFLAGS, fl & !0x400);
        true
    }

    /// The restorer's `ret` popped the return address, so rsp points at the ucontext.
    fn sigreturn(&self, uc: &mut Engine) -> Option<u64> {
        let sp = uc.reg_read(RSP).ok()?;
        let uctx = uc.mem_read_as_vec(sp, UCONTEXT as usize).ok()?;
        let (gprs, flags) = SIGCONTEXT_REGS.split_at(SIGCONTEXT_REGS.len() - 1);
        get_regs(uc, &uctx, UC_MCONTEXT, gprs)?;
        // Only the arithmetic and direction flags may change (FIX_EFLAGS).
        let v = get_u64(&uctx, UC_MCONTEXT + 8 * gprs.len())?;
        let old = read_reg(uc, flags[0]);
        write_reg(uc, flags[0], (old & !0x0cd5) | (v & 0x0cd5));
        get_u64(&uctx, UC_SIGMASK)
    }

    /// arch/x86/include/uapi/asm/stat.h: 144 bytes; nlink is 64-bit and comes before mode.
    fn encode_stat(&self, st: &Stat) -> Vec<u8> {
        let mut b = vec![0u8; 144];
        for (off, size, v) in [
            (0, 8, st.dev),
            (8, 8, st.ino),
            (16, 8, u64::from(st.nlink)),
            (24, 4, u64::from(st.mode)),
            (28, 4, u64::from(st.uid)),
            (32, 4, u64::from(st.gid)),
            (40, 8, st.rdev),
            (48, 8, st.size),
            (56, 8, u64::from(st.blksize)),
            (64, 8, st.blocks),
        ] {
            put_le(&mut b, off, size, v);
        }
        put_stat_times(&mut b, st);
        b
    }
}

/// The general protection vector (Intel SDM vol. 3 §6.15, #GP).
const GP_VECTOR: u32 = 13;

/// Where the engine's first instructions run, once, before any guest memory exists: a
/// page below 4 GiB (unicorn keeps only the low 32 bits of a GDTR base) and below Linux's
/// mmap_min_addr (65536), so no guest mapping is ever there. Unmapped again afterwards.
const USER_ENTRY_PAGE: u64 = 0x1000;

/// Linux's user segments (arch/x86/include/asm/segment.h: GDT_ENTRY_DEFAULT_USER_DS 5,
/// GDT_ENTRY_DEFAULT_USER_CS 6, RPL 3) and their descriptors (arch/x86/kernel/cpu/common.c:
/// GDT_ENTRY_INIT(0xc0f3, 0, 0xfffff) and GDT_ENTRY_INIT(0xa0fb, 0, 0xfffff): present,
/// DPL 3, 4 GiB flat; the code segment 64-bit).
const USER_DS: u64 = 0x2b;
const USER_CS: u64 = 0x33;
const USER_DS_DESC: u64 = 0x00cf_f300_0000_ffff;
const USER_CS_DESC: u64 = 0x00af_fb00_0000_ffff;
/// User-mode RFLAGS as Linux starts a process: IF and the always-one bit 1, IOPL 0.
const USER_RFLAGS: u64 = 0x202;

/// Drop the engine to privilege level 3, as a Linux process runs, so that privileged
/// instructions (hlt, cli/sti, in/out, rdmsr/wrmsr, lgdt, mov to or from a control
/// register) raise #GP, which becomes SIGSEGV, instead of running. unicorn starts a 64-bit
/// engine at CPL 0 and takes the CPL from SS's descriptor (qemu cpu_x86_load_seg_cache);
/// a register write cannot load a DPL-3 SS at CPL 0 (uc_check_cpu_x86_load_seg), but an
/// `iretq` can: one is run on a scratch page with a GDT holding Linux's user segments and a
/// frame that returns to CS 0x33, SS 0x2b. The descriptor caches keep the segments after
/// the page is unmapped; nothing in user mode reloads them.
fn enter_user_mode(uc: &mut Engine) -> Result<(), CpuError> {
    use unicorn_engine::unicorn_const::Prot;
    const PAGE: u64 = USER_ENTRY_PAGE;
    const CODE: u64 = PAGE + 0x800;
    const FRAME: u64 = PAGE + 0xf00;
    uc.mem_map(PAGE, 0x1000, Prot::ALL)?;
    let mut gdt = [0u8; 7 * 8];
    gdt[5 * 8..6 * 8].copy_from_slice(&USER_DS_DESC.to_le_bytes());
    gdt[6 * 8..7 * 8].copy_from_slice(&USER_CS_DESC.to_le_bytes());
    uc.mem_write(PAGE, &gdt)?;
    // uc_x86_mmr {u16 selector; u64 base; u32 limit; u32 flags} (unicorn x86.h), C layout.
    let mut mmr = [0u8; 24];
    mmr[8..16].copy_from_slice(&PAGE.to_le_bytes());
    mmr[16..20].copy_from_slice(&(gdt.len() as u32 - 1).to_le_bytes());
    uc.reg_write_long(R::GDTR, &mmr)?;
    // iretq pops rip, cs, rflags, rsp, ss; it returns to CODE + 2, where the run stops.
    const IRETQ: [u8; 2] = [0x48, 0xcf];
    uc.mem_write(CODE, &IRETQ)?;
    let after = CODE + IRETQ.len() as u64;
    let mut frame = Vec::with_capacity(40);
    for v in [after, USER_CS, USER_RFLAGS, FRAME, USER_DS] {
        frame.extend_from_slice(&v.to_le_bytes());
    }
    uc.mem_write(FRAME - 40, &frame)?;
    write_reg(uc, RSP, FRAME - 40);
    // Glass's block budget (patch 0005) stops a run with none left: give it a few.
    super::set_blocks_left(uc, 4);
    uc.emu_start(CODE, after, 0, 0)?;
    let entered = read_reg(uc, RIP) == after && read_reg(uc, R::CS as Reg) == USER_CS;
    if entered {
        OLD_EXCEPTION_AT.get_or_init(|| find_old_exception(uc, after));
    }
    uc.mem_unmap(PAGE, 0x1000)?;
    write_reg(uc, RSP, 0);
    write_reg(uc, RIP, 0);
    if !entered {
        return Err(CpuError::Unicorn(
            unicorn_engine::unicorn_const::uc_error::EXCEPTION,
        ));
    }
    Ok(())
}

/// The head of unicorn's `struct uc_context` (include/uc_priv.h): the saved CPU state
/// (`CPUX86State`, `context_size` bytes) follows it.
#[repr(C)]
struct UcContextHead {
    context_size: usize,
    mode: i32,
    arch: i32,
    snapshot_level: i32,
    ramblock_freed: bool,
    last_block: *mut std::ffi::c_void,
    fv: *mut std::ffi::c_void,
}

/// Where `CPUX86State.old_exception` lies in a saved context, if it was found.
static OLD_EXCEPTION_AT: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();

/// The engine's CPU state as a unicorn context, handed to `f` as bytes it may change;
/// with `write_back`, the changed state is put back into the engine.
fn with_cpu_state<T>(uc: &Engine, write_back: bool, f: impl FnOnce(&mut [u8]) -> T) -> Option<T> {
    use unicorn_engine::unicorn_const::{
        uc_context, uc_context_alloc, uc_context_free, uc_context_restore, uc_context_save,
    };
    let h = uc.get_handle();
    let mut ctx: *mut uc_context = std::ptr::null_mut();
    // SAFETY: `h` is the live engine `uc` owns; uc_context_alloc gives a context sized for
    // it (a head, then `context_size` bytes of CPU state), which is saved into, looked at
    // and changed only within those bytes, restored into the same engine, and freed.
    unsafe {
        if uc_context_alloc(h, &mut ctx) != uc_error::OK || ctx.is_null() {
            return None;
        }
        let mut out = None;
        if uc_context_save(h, ctx) == uc_error::OK {
            let head = ctx.cast::<UcContextHead>();
            let size = (*head).context_size;
            let data = ctx.cast::<u8>().add(std::mem::size_of::<UcContextHead>());
            let r = f(std::slice::from_raw_parts_mut(data, size));
            if !write_back || uc_context_restore(h, ctx) == uc_error::OK {
                out = Some(r);
            }
        }
        uc_context_free(ctx);
        out
    }
}

/// Find `old_exception` in the saved CPU state: run one `hlt` at CPL 3 (a #GP, vector 13)
/// at `at` and look for the one int that went from -1 to 13; then put the state from
/// before back. qemu's double-fault check (target/i386/excp_helper.c check_exception)
/// remembers the exception in flight there and forgets it only when the exception is
/// delivered through the IDT, which unicorn skips when a hook takes the interrupt: without
/// a reset the second #GP or #DE of a process became a double fault and the third a triple
/// fault that stopped the engine for good.
fn find_old_exception(uc: &mut Engine, at: u64) -> Option<usize> {
    const HLT: u8 = 0xf4;
    let before = with_cpu_state(uc, false, |b| b.to_vec())?;
    uc.mem_write(at, &[HLT]).ok()?;
    super::set_blocks_left(uc, 4);
    let _ = uc.emu_start(at, at + 1, 0, 0);
    let after = with_cpu_state(uc, false, |b| b.to_vec())?;
    let found: Vec<usize> = (0..before.len().min(after.len()).saturating_sub(3))
        .step_by(4)
        .filter(|&i| {
            before[i..i + 4] == (-1i32).to_le_bytes() && after[i..i + 4] == 13i32.to_le_bytes()
        })
        .collect();
    with_cpu_state(uc, true, |b| {
        let n = b.len().min(before.len());
        b[..n].copy_from_slice(&before[..n]);
    });
    match found[..] {
        [i] => Some(i),
        _ => None,
    }
}

/// Forget the exception in flight (see [`find_old_exception`]), as delivering it would.
fn clear_old_exception(uc: &Engine) {
    if let Some(Some(at)) = OLD_EXCEPTION_AT.get() {
        with_cpu_state(uc, true, |b| {
            if let Some(w) = b.get_mut(*at..*at + 4) {
                w.copy_from_slice(&(-1i32).to_le_bytes());
            }
        });
    }
}

/// Size of the frame's parts (arch/x86/include/uapi/asm/ucontext.h, sigcontext.h):
/// ucontext = flags 8 + link 8 + stack_t 24 + sigcontext 256 + sigmask 8 = 304; siginfo 128.
const UCONTEXT: u64 = 304;
const SIGINFO: u64 = 128;
const UC_MCONTEXT: usize = 40;
const UC_SIGMASK: usize = 296;

/// syscall_64.tbl: number → call.
fn sys_of(nr: u64) -> Option<Sys> {
    use Sys::*;
    Some(match nr {
        0 => Read,
        1 => Write,
        213 => EpollCreate,
        232 => EpollWait,
        233 => EpollCtl,
        281 => EpollPwait,
        291 => EpollCreate1,
        441 => EpollPwait2,
        2 => Open,
        3 => Close,
        4 => Stat,
        5 => Fstat,
        6 => Lstat,
        7 => Poll,
        8 => Lseek,
        9 => Mmap,
        10 => Mprotect,
        11 => Munmap,
        12 => Brk,
        13 => RtSigaction,
        14 => RtSigprocmask,
        15 => RtSigreturn,
        16 => Ioctl,
        17 => Pread64,
        18 => Pwrite64,
        19 => Readv,
        20 => Writev,
        21 => Access,
        22 => Pipe,
        23 => Select,
        24 => SchedYield,
        25 => Mremap,
        26 => Msync,
        27 => Mincore,
        28 => Madvise,
        32 => Dup,
        33 => Dup2,
        34 => Pause,
        35 => Nanosleep,
        37 => Alarm,
        38 => Setitimer,
        39 => Getpid,
        40 => Sendfile,
        41 => Socket,
        56 => Clone,
        57 => Fork,
        58 => Vfork,
        59 => Execve,
        60 => Exit,
        61 => Wait4,
        62 => Kill,
        63 => Uname,
        72 => Fcntl,
        73 => Flock,
        74 => Fsync,
        75 => Fdatasync,
        76 => Truncate,
        77 => Ftruncate,
        78 => Getdents,
        79 => Getcwd,
        80 => Chdir,
        81 => Fchdir,
        82 => Rename,
        83 => Mkdir,
        84 => Rmdir,
        85 => Creat,
        86 => Link,
        87 => Unlink,
        88 => Symlink,
        89 => Readlink,
        90 => Chmod,
        91 => Fchmod,
        92 => Chown,
        93 => Fchown,
        94 => Lchown,
        95 => Umask,
        96 => Gettimeofday,
        97 => Getrlimit,
        98 => Getrusage,
        99 => Sysinfo,
        100 => Times,
        102 => Getuid,
        117 => Setresuid,
        118 => Getresuid,
        119 => Setresgid,
        120 => Getresgid,
        140 => Getpriority,
        141 => Setpriority,
        149 => Mlock,
        150 => Munlock,
        151 => Mlockall,
        152 => Munlockall,
        221 => Fadvise64,
        436 => CloseRange,
        51 => Getsockname,
        52 => Getpeername,
        188 => Setxattr,
        189 => Lsetxattr,
        190 => Fsetxattr,
        191 => Getxattr,
        192 => Lgetxattr,
        193 => Fgetxattr,
        194 => Listxattr,
        195 => Llistxattr,
        196 => Flistxattr,
        197 => Removexattr,
        198 => Lremovexattr,
        199 => Fremovexattr,
        104 => Getgid,
        105 => Setuid,
        106 => Setgid,
        107 => Geteuid,
        108 => Getegid,
        109 => Setpgid,
        110 => Getppid,
        111 => Getpgrp,
        112 => Setsid,
        115 => Getgroups,
        121 => Getpgid,
        124 => Getsid,
        131 => Sigaltstack,
        137 => Statfs,
        138 => Fstatfs,
        127 => RtSigpending,
        130 => RtSigsuspend,
        36 => Getitimer,
        157 => Prctl,
        158 => ArchPrctl,
        160 => Setrlimit,
        186 => Gettid,
        200 => Tkill,
        201 => Time,
        202 => Futex,
        203 => SchedSetaffinity,
        204 => SchedGetaffinity,
        324 => Membarrier,
        217 => Getdents64,
        218 => SetTidAddress,
        228 => ClockGettime,
        229 => ClockGetres,
        230 => ClockNanosleep,
        231 => ExitGroup,
        234 => Tgkill,
        247 => Waitid,
        257 => Openat,
        258 => Mkdirat,
        260 => Fchownat,
        262 => Newfstatat,
        263 => Unlinkat,
        264 => Renameat,
        265 => Linkat,
        266 => Symlinkat,
        267 => Readlinkat,
        268 => Fchmodat,
        269 => Faccessat,
        270 => Pselect6,
        271 => Ppoll,
        273 => SetRobustList,
        280 => Utimensat,
        133 => Mknod,
        259 => Mknodat,
        292 => Dup3,
        293 => Pipe2,
        302 => Prlimit64,
        316 => Renameat2,
        318 => Getrandom,
        322 => Execveat,
        332 => Statx,
        334 => Rseq,
        435 => Clone3,
        439 => Faccessat2,
        _ => return None,
    })
}
