//! aarch64 backend: `svc #0` arrives as unicorn interrupt 2 (EXCP_SWI) with pc already past
//! it; arguments follow the Linux arm64 syscall ABI (x8 = number, x0..x5, result in x0); TLS is
//! TPIDR_EL0; the page size must be set to 4096 before the first map (docs/DESIGN.md). Signal
//! frames follow arch/arm64/kernel/signal.c; the return trampoline lives in the machine's
//! sigreturn page (arm64 Linux uses the vDSO's, glibc sets no SA_RESTORER). Syscall numbers
//! and `struct stat` are asm-generic's ([`super::generic`]).
//!
//! Guests run at EL0, as under Linux, with the SCTLR_EL1 bits Linux's INIT_SCTLR_EL1_MMU_ON
//! sets for user space (arch/arm64/include/asm/sysreg.h): CTR_EL0 readable (UCT), DC ZVA
//! allowed (DZE), cache maintenance by VA (UCI), WFE not trapped (nTWE), WFI trapped (nTWI
//! clear; Linux's wfi_handler skips it, and so does [`emulate_trapped`]). A system
//! register or instruction EL0 may not use is an undefined instruction: SIGILL.
//! CNTKCTL_EL1 stays 0, so reads of the virtual counter and its frequency trap too and are
//! answered from virtual time, as Linux answers them on a CPU with a counter erratum
//! (cntvct_read_handler, cntfrq_read_handler in arch/arm64/kernel/traps.c): the engine's
//! own counter follows the host clock.

use super::{
    concat, get_long_regs, get_regs, get_u32, get_u64, lp64_frame, put_le, put_long_regs, put_regs,
    read_reg, reg_run, write_reg, ArchCpu, CpuError, Engine, HookState, Reg, Roles, SigFrame, Trap,
    UregSlot, ILL_ILLOPC,
};
use proc_model::ureg::UregField;
use unicorn_engine::unicorn_const::{Arch as UcArch, Mode};
use unicorn_engine::RegisterARM64 as R;
use unicorn_engine::{RegisterARM64CP, Unicorn};

/// An undefined-instruction trap (EXCP_UDEF, pc at the instruction) that Linux carries out
/// for user space: a counter read or `wfi` (a no-op). Returns whether it was one.
fn emulate_trapped(uc: &mut Unicorn<'_, HookState>, intno: u32) -> bool {
    if intno != EXCP_UDEF {
        return false;
    }
    let pc = uc.reg_read(R::PC).unwrap_or(0);
    let mut b = [0u8; 4];
    if uc.mem_read(pc, &mut b).is_err() {
        return false;
    }
    let insn = u32::from_le_bytes(b);
    let value = match insn & MRS_RT_MASK {
        _ if insn == WFI => None,
        MRS_CNTVCT => Some(uc.get_data().now_ns(uc) / NS_PER_TICK),
        MRS_CNTFRQ => Some(CNTFRQ),
        _ => return false,
    };
    if let Some(v) = value {
        // Register 31 here is xzr: the read is discarded.
        if let Some(&r) = X.get((insn & 31) as usize) {
            let _ = uc.reg_write(r, v);
        }
    }
    let _ = uc.reg_write(R::PC, pc.wrapping_add(4));
    true
}

/// The aarch64 backend.
pub(crate) struct Aarch64;

/// EXCP_SWI in QEMU's target/arm: the svc instruction.
const EXCP_SWI: u32 = 2;
/// EXCP_UDEF and EXCP_BKPT in QEMU's target/arm (internals.h).
const EXCP_UDEF: u32 = 1;
const EXCP_BKPT: u32 = 7;

/// SCTLR_EL1 bits (Arm ARM D17.2.118): the user-space permissions Linux grants.
const SCTLR_UCI: u64 = 1 << 26;
const SCTLR_NTWE: u64 = 1 << 18;
const SCTLR_NTWI: u64 = 1 << 16;
const SCTLR_UCT: u64 = 1 << 15;
const SCTLR_DZE: u64 = 1 << 14;
const SCTLR_SA0: u64 = 1 << 4;

/// `mrs xT, cntvct_el0` and `mrs xT, cntfrq_el0` (op0 3, op1 3, CRn 14, CRm 0, op2 2 and
/// 0), with the register number in bits 0–4; `wfi`.
const MRS_CNTVCT: u32 = 0xd53b_e040;
const MRS_CNTFRQ: u32 = 0xd53b_e000;
const MRS_RT_MASK: u32 = 0xffff_ffe0;
const WFI: u32 = 0xd503_207f;
/// The counter's frequency: 62.5 MHz, what the engine (QEMU's GTIMER_SCALE of 16 ns) and
/// QEMU's virt board report.
const CNTFRQ: u64 = 62_500_000;
const NS_PER_TICK: u64 = 16;
/// `brk #imm16`: 0xd4200000 with the immediate in bits 5–20 (Arm ARM C6.2.38).
const BRK: u32 = 0xd420_0000;
const BRK_MASK: u32 = 0xffe0_001f;
/// The Ureg type of a breakpoint: 9front arm64's exception class for BRK (0x3c).
const EC_BRK: u64 = 0x3c;

/// x0–x30: unicorn numbers x0–x28 in a row and x29 (fp), x30 (lr) apart (arm64.h).
const X: [Reg; 31] = concat(reg_run::<29>(R::X0 as Reg), [R::X29 as Reg, R::X30 as Reg]);
const Q: [Reg; 32] = reg_run(R::Q0 as Reg);
const SP: Reg = R::SP as Reg;
const PC: Reg = R::PC as Reg;
const NZCV: Reg = R::NZCV as Reg;
/// The flags user code may set (the N, Z, C, V bits of PSTATE).
const NZCV_MASK: u64 = 0xf000_0000;

/// What a fork copies; a reset clears all but pc.
const USER_REGS: [Reg; 35] = concat(X, [SP, NZCV, R::TPIDR_EL0 as Reg, PC]);

static ROLES: Roles = Roles {
    pc: PC,
    sp: SP,
    tls: R::TPIDR_EL0 as Reg,
    nr: X[8],
    args: [X[0], X[1], X[2], X[3], X[4], X[5]],
    ret: X[0],
};

/// Plan 9 arm64 FPsave (520 bytes): 32 × 16-byte vector registers, FPCR at 512, FPSR at 516.
const FPSAVE: usize = 520;

/// The sigreturn trampoline: `mov x8, #139` (rt_sigreturn); `svc #0`.
const SIGTRAMP: [u8; 8] = [0x68, 0x11, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4];

/// The sigcontext (fault_address 8, regs[31], sp, pc, pstate: 288 bytes), then 4096
/// reserved bytes (an empty record list).
const SIGCONTEXT: u64 = 288;
const FRAME: u64 = lp64_frame::SC as u64 + SIGCONTEXT + 4096;

impl ArchCpu for Aarch64 {
    fn new_engine(&self) -> Result<Engine, CpuError> {
        let mut uc = super::engine(
            UcArch::ARM64,
            Mode::LITTLE_ENDIAN,
            Some(4096),
            Some(EXCP_SWI),
            Some(emulate_trapped),
        )?;
        // FP and SIMD usable without trapping (CPACR_EL1.FPEN = 0b11), as Linux sets for EL0.
        let cpacr = uc.reg_read(R::CPACR_EL1).unwrap_or(0);
        uc.reg_write(R::CPACR_EL1, cpacr | (3 << 20))?;
        // EL0t (PSTATE.M = 0). unicorn does not recompute the translation flags on a PSTATE
        // write, only on a system-register write: SCTLR_EL1 comes after.
        uc.reg_write(R::PSTATE, 0)?;
        let mut sctlr = RegisterARM64CP::new().op0(3).crn(1);
        uc.reg_read_arm64_coproc(&mut sctlr)?;
        sctlr.val =
            (sctlr.val | SCTLR_UCI | SCTLR_NTWE | SCTLR_UCT | SCTLR_DZE | SCTLR_SA0) & !SCTLR_NTWI;
        uc.reg_write_arm64_coproc(&sctlr)?;
        let cntkctl = RegisterARM64CP::new().op0(3).crn(14).crm(1);
        uc.reg_write_arm64_coproc(&cntkctl)?;
        Ok(uc)
    }

    fn roles(&self) -> &'static Roles {
        &ROLES
    }

    fn interrupt(&self, uc: &Engine, n: u32, pc: u64) -> Trap {
        match n {
            EXCP_BKPT => {
                // BRK: pc may point at the instruction or past it.
                let at = match uc.mem_read_as_vec(pc, 4) {
                    Ok(b) if get_u32(&b, 0) as u32 & BRK_MASK == BRK => pc,
                    _ => pc.wrapping_sub(4),
                };
                Trap::breakpoint(at, EC_BRK)
            }
            // Linux do_undefinstr: SIGILL, ILL_ILLOPC at the instruction.
            EXCP_UDEF => {
                Trap::illegal("sys: trap: illegal instruction", pc, 0).with_si(ILL_ILLOPC, pc)
            }
            n => Trap::exception(n, pc),
        }
    }

    fn ureg_slot(&self, f: &UregField) -> UregSlot {
        match (f.dwarf, f.name) {
            (Some(31), _) => UregSlot::Reg(SP),
            (Some(d), _) => X
                .get(usize::from(d))
                .map_or(UregSlot::Const(0), |r| UregSlot::Reg(*r)),
            (None, "pc") => UregSlot::Reg(PC),
            // Only the user-modifiable flags change, as 9front's arm64 setregisters.
            (None, "psr") => UregSlot::Masked(NZCV, NZCV_MASK),
            (None, "type") => UregSlot::TrapType,
            _ => UregSlot::Const(0),
        }
    }

    fn fp_save(&self, uc: &Engine) -> Vec<u8> {
        let mut b = vec![0u8; FPSAVE];
        put_long_regs(uc, &mut b, 0, 16, 16, &Q);
        put_le(&mut b, 512, 4, read_reg(uc, R::FPCR as Reg));
        put_le(&mut b, 516, 4, read_reg(uc, R::FPSR as Reg));
        b
    }

    fn fp_restore(&self, uc: &mut Engine, b: &[u8]) {
        if b.len() < FPSAVE {
            return;
        }
        get_long_regs(uc, b, 0, 16, 16, &Q);
        write_reg(uc, R::FPCR as Reg, get_u32(b, 512));
        write_reg(uc, R::FPSR as Reg, get_u32(b, 516));
    }

    fn user_regs(&self) -> &'static [Reg] {
        &USER_REGS
    }

    /// The sigcontext: x0–x30 at +8, then sp, pc and pstate.
    fn enter_handler(&self, uc: &mut Engine, f: &SigFrame<'_>) -> bool {
        lp64_frame::enter(uc, &ROLES, X[30], FRAME, f, |uc, sc| {
            put_regs(uc, sc, 8, &X);
            put_regs(uc, sc, 256, &[SP, PC, NZCV]);
        })
    }

    fn sigreturn(&self, uc: &mut Engine) -> Option<u64> {
        let (b, mask) = lp64_frame::read(uc, &ROLES, lp64_frame::SC as u64 + SIGCONTEXT)?;
        let sc = lp64_frame::SC;
        get_regs(uc, &b, sc + 8, &X)?;
        get_regs(uc, &b, sc + 256, &[SP, PC])?;
        // Only the condition flags come back from user memory.
        write_reg(uc, NZCV, get_u64(&b, sc + 272)? & NZCV_MASK);
        Some(mask)
    }

    fn sigtramp(&self) -> Option<&'static [u8]> {
        Some(&SIGTRAMP)
    }
}
