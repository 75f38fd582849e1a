//! riscv64 backend: `ecall` arrives as unicorn interrupt 8 (environment call from U-mode);
//! unicorn has already advanced pc past it (docs/DESIGN.md: it adds 4 to pc for every exception,
//! so only the ecall is resumed as is). Arguments follow the Linux riscv syscall ABI (a7 =
//! number, a0..a5, result in a0); TLS is tp; the FPU starts off, so mstatus.FS is set or
//! glibc's setjmp traps. Signal frames follow arch/riscv/kernel/signal.c; syscall numbers and
//! `struct stat` are asm-generic's ([`super::generic`]).
//!
//! Guests run in U-mode, as under Linux (unicorn's virtual PRIV register), so a supervisor or
//! machine CSR, `sret`, `mret` and `wfi` are illegal instructions: SIGILL. The counters
//! Linux lets user space read (`rdtime`, and `rdcycle`/`rdinstret` where the kernel enables
//! them) trap too and are answered from virtual time ([`counter_read`]).

use super::{
    concat, get_regs, get_u32, get_u64, lp64_frame, put_le, put_regs, read_reg, reg_run, stop_with,
    write_reg, zero_user_state, ArchCpu, CpuError, Engine, HookState, Reg, Roles, SigFrame, Stop,
    Trap, UregSlot, ILL_ILLOPC,
};
use crate::syscalls::Sys;
use proc_model::ureg::UregField;
use unicorn_engine::unicorn_const::{Arch as UcArch, Mode};
use unicorn_engine::{RegisterRISCV as R, Unicorn};

/// The riscv64 backend.
pub(crate) struct Riscv64;

/// Exception causes (RISC-V privileged spec, mcause): 8 environment call from U-mode,
/// 3 breakpoint, 2 illegal instruction.
const ECALL_U: u32 = 8;
pub const BREAKPOINT: u32 = 3;
const ILLEGAL_INSN: u32 = 2;
/// `ebreak` and `c.ebreak` encodings.
const EBREAK: u32 = 0x0010_0073;
const C_EBREAK: u16 = 0x9002;

/// The privilege levels (RISC-V privileged spec 1.2): U is 0.
const PRIV_U: u64 = 0;

/// mstatus.FS = Initial (bits 13–14): the FPU is usable.
const MSTATUS_FS: u64 = 1 << 13;

/// x0..x31 (x0 reads as zero) and f0..f31, each numbered in a row by unicorn (riscv.h).
const XR: [Reg; 32] = reg_run(R::X0 as Reg);
const FR: [Reg; 32] = reg_run(R::F0 as Reg);
const PC: Reg = R::PC as Reg;

/// What a fork copies: x1–x31 and pc (a reset leaves pc alone).
const USER_REGS: [Reg; 32] = concat(reg_run::<31>(R::X1 as Reg), [PC]);

static ROLES: Roles = Roles {
    pc: PC,
    sp: XR[2],
    tls: XR[4],
    nr: XR[17],
    args: [XR[10], XR[11], XR[12], XR[13], XR[14], XR[15]],
    ret: XR[10],
};

/// Floating-point state: f0..f31 (8 bytes each) then fcsr (u32): the D-extension layout of
/// Linux's __riscv_d_ext_state (264 bytes), which stands in for a Plan 9 FPsave.
const FPSAVE: usize = 264;
const FP_USED: usize = 260;

/// The sigreturn trampoline: `li a7, 139` (addi a7, zero, 139); `ecall`.
const SIGTRAMP: [u8; 8] = [0x93, 0x08, 0xb0, 0x08, 0x73, 0x00, 0x00, 0x00];

/// The sigcontext: user_regs_struct (pc, x1..x31: 256 bytes), then the 528-byte FP union.
const FRAME: u64 = lp64_frame::SC as u64 + 256 + 528;

/// Whether the instruction at `addr` is `ebreak` or `c.ebreak` (the low two bits say which
/// length the instruction has).
fn is_ebreak_at(uc: &Unicorn<'_, HookState>, addr: u64) -> bool {
    let mut b = [0u8; 4];
    if uc.mem_read(addr, &mut b[..2]).is_err() {
        return false;
    }
    if b[0] & 3 != 3 {
        return u16::from_le_bytes([b[0], b[1]]) == C_EBREAK;
    }
    uc.mem_read(addr, &mut b).is_ok() && u32::from_le_bytes(b) == EBREAK
}

/// `rdtime`, `rdcycle` and `rdinstret` (csrrs rd, time|cycle|instret, x0): unicorn has
/// no user-readable counters, so Go's `cputicks` and glibc's clock reads died of SIGILL.
/// They are answered from virtual time, as the rest of the machine's clocks are: `time`
/// ticks at 10 MHz (the timebase of QEMU's virt board), the other two count nanoseconds.
/// Returns whether the instruction at `addr` was one and has been carried out.
fn counter_read(uc: &mut Unicorn<'_, HookState>, addr: u64) -> bool {
    const OPCODE_SYSTEM: u32 = 0x73;
    const CSRRS: u32 = 2;
    const CYCLE: u32 = 0xc00;
    const TIME: u32 = 0xc01;
    const INSTRET: u32 = 0xc02;
    let mut b = [0u8; 4];
    if uc.mem_read(addr, &mut b).is_err() {
        return false;
    }
    let insn = u32::from_le_bytes(b);
    let (csr, rs1, funct3, rd) = (
        insn >> 20,
        (insn >> 15) & 31,
        (insn >> 12) & 7,
        (insn >> 7) & 31,
    );
    if insn & 0x7f != OPCODE_SYSTEM || funct3 != CSRRS || rs1 != 0 {
        return false;
    }
    let ns = uc.get_data().now_ns(uc);
    let v = match csr {
        TIME => ns / 100,
        CYCLE | INSTRET => ns,
        _ => return false,
    };
    if rd != 0 {
        let _ = uc.reg_write(R::X0 as Reg + rd as Reg, v);
    }
    let _ = uc.reg_write(PC, addr + 4);
    true
}

/// The engine traps on the counter reads (illegal instruction, cause 2, with pc already
/// past it): carry them out and go on.
fn emulate_trapped(uc: &mut Unicorn<'_, HookState>, cause: u32) -> bool {
    const ILLEGAL: u32 = 2;
    let pc = uc.reg_read(PC).unwrap_or(0);
    cause == ILLEGAL && counter_read(uc, pc.wrapping_sub(4))
}

fn enable_fpu(uc: &mut Engine) {
    let ms = read_reg(uc, R::MSTATUS as Reg);
    write_reg(uc, R::MSTATUS as Reg, ms | MSTATUS_FS);
}

impl ArchCpu for Riscv64 {
    /// The generic table less renameat (38): riscv does not define __ARCH_WANT_RENAMEAT
    /// (arch/riscv/include/uapi/asm/unistd.h), so glibc uses renameat2 and 38 is ENOSYS.
    fn sys(&self, nr: u64) -> Option<Sys> {
        match nr {
            38 => None,
            _ => super::generic::sys(nr),
        }
    }

    fn new_engine(&self) -> Result<Engine, CpuError> {
        let mut uc = super::engine(
            UcArch::RISCV,
            Mode::RISCV64,
            None,
            Some(ECALL_U),
            Some(emulate_trapped),
        )?;
        // unicorn never hands ebreak (cause 3) to the interrupt hook: its riscv stop_interrupt
        // turns it into an invalid-instruction stop (qemu/target/riscv/unicorn.c), with pc
        // still at the ebreak. Caught here it becomes the breakpoint it is; anything else
        // stays invalid.
        uc.add_insn_invalid_hook(|uc: &mut Unicorn<'_, HookState>| {
            let at = uc.reg_read(PC).unwrap_or(0);
            if !is_ebreak_at(uc, at) {
                return false;
            }
            stop_with(uc, Stop::Interrupt(BREAKPOINT));
            true
        })?;
        enable_fpu(&mut uc);
        uc.reg_write(R::PRIV, PRIV_U)?;
        Ok(uc)
    }

    fn roles(&self) -> &'static Roles {
        &ROLES
    }

    fn interrupt(&self, _uc: &Engine, n: u32, pc: u64) -> Trap {
        match n {
            // From the insn-invalid hook, which leaves pc at the ebreak.
            BREAKPOINT => Trap::breakpoint(pc, u64::from(BREAKPOINT)),
            // unicorn has moved pc past the faulting instruction.
            // Linux do_trap_insn_illegal: SIGILL, ILL_ILLOPC at the instruction.
            ILLEGAL_INSN => Trap::illegal(
                "sys: trap: illegal instruction",
                pc.wrapping_sub(4),
                u64::from(ILLEGAL_INSN),
            )
            .with_si(ILL_ILLOPC, pc.wrapping_sub(4)),
            n => Trap::exception(n, pc.wrapping_sub(4)),
        }
    }

    fn ureg_slot(&self, f: &UregField) -> UregSlot {
        match (f.dwarf, f.name) {
            (Some(d), _) => XR
                .get(usize::from(d))
                .map_or(UregSlot::Const(0), |r| UregSlot::Reg(*r)),
            (None, "pc") => UregSlot::Reg(PC),
            (None, "type") => UregSlot::TrapType,
            // status, ie, tval, curmode: supervisor state a user process does not have.
            _ => UregSlot::Const(0),
        }
    }

    fn fp_save(&self, uc: &Engine) -> Vec<u8> {
        let mut b = vec![0u8; FPSAVE];
        put_regs(uc, &mut b, 0, &FR);
        put_le(&mut b, 256, 4, read_reg(uc, R::FCSR as Reg));
        b
    }

    fn fp_restore(&self, uc: &mut Engine, b: &[u8]) {
        if b.len() < FP_USED {
            return;
        }
        let _ = get_regs(uc, b, 0, &FR);
        write_reg(uc, R::FCSR as Reg, get_u32(b, 256));
    }

    fn user_regs(&self) -> &'static [Reg] {
        &USER_REGS
    }

    fn reset_regs(&self, uc: &mut Engine) {
        zero_user_state(self, uc);
        enable_fpu(uc);
    }

    /// The sigcontext: pc, x1–x31, then the FP state.
    fn enter_handler(&self, uc: &mut Engine, f: &SigFrame<'_>) -> bool {
        let fp = self.fp_save(uc);
        lp64_frame::enter(uc, &ROLES, XR[1], FRAME, f, |uc, sc| {
            put_regs(uc, sc, 0, &[PC]);
            put_regs(uc, sc, 8, &XR[1..]);
            sc[256..256 + FP_USED].copy_from_slice(&fp[..FP_USED]);
        })
    }

    fn sigreturn(&self, uc: &mut Engine) -> Option<u64> {
        let (b, mask) = lp64_frame::read(uc, &ROLES, FRAME)?;
        let sc = lp64_frame::SC;
        write_reg(uc, PC, get_u64(&b, sc)?);
        get_regs(uc, &b, sc + 8, &XR[1..])?;
        Some(mask)
    }

    fn sigtramp(&self) -> Option<&'static [u8]> {
        Some(&SIGTRAMP)
    }
}
