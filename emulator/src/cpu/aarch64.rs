//! aarch64 backend: `svc #0` arrives as unicorn interrupt 2 (EXCP_SWI) with pc already past
//! it; arguments follow the Linux arm64 syscall ABI (x8 = number, x0..x5, result in x0); TLS is
//! TPIDR_EL0; the page size must be set to 4096 before the first map (docs/DESIGN.md). Signal
//! frames follow arch/arm64/kernel/signal.c; the return trampoline lives in the machine's
//! sigreturn page (arm64 Linux uses the vDSO's, glibc sets no SA_RESTORER).

use super::{mem_invalid_hook, CpuError, Engine, HookState, Stop};
use crate::syscalls::Sys;
use unicorn_engine::unicorn_const::{Arch as UcArch, HookType, Mode};
use unicorn_engine::{RegisterARM64 as R, Unicorn};

/// EXCP_SWI in QEMU's target/arm: the svc instruction.
const EXCP_SWI: u32 = 2;

pub fn new_engine() -> Result<Engine, CpuError> {
    let mut uc = Unicorn::new_with_data(UcArch::ARM64, Mode::LITTLE_ENDIAN, HookState::default())?;
    super::set_tcg_buffer(&mut uc)?;
    uc.ctl_set_page_size(4096)?;
    uc.add_intr_hook(|uc: &mut Unicorn<'_, HookState>, intno: u32| {
        uc.get_data_mut().stop = Some(if intno == EXCP_SWI {
            Stop::Syscall
        } else {
            Stop::Interrupt(intno)
        });
        let _ = uc.emu_stop();
    })?;
    uc.add_mem_hook(HookType::MEM_INVALID, 1, 0, mem_invalid_hook)?;
    // FP and SIMD usable without trapping (CPACR_EL1.FPEN = 0b11), as Linux sets for EL0.
    let cpacr = uc.reg_read(R::CPACR_EL1).unwrap_or(0);
    uc.reg_write(R::CPACR_EL1, cpacr | (3 << 20))?;
    Ok(uc)
}

const X: [R; 31] = [
    R::X0,
    R::X1,
    R::X2,
    R::X3,
    R::X4,
    R::X5,
    R::X6,
    R::X7,
    R::X8,
    R::X9,
    R::X10,
    R::X11,
    R::X12,
    R::X13,
    R::X14,
    R::X15,
    R::X16,
    R::X17,
    R::X18,
    R::X19,
    R::X20,
    R::X21,
    R::X22,
    R::X23,
    R::X24,
    R::X25,
    R::X26,
    R::X27,
    R::X28,
    R::X29,
    R::X30,
];

const Q: [R; 32] = [
    R::Q0,
    R::Q1,
    R::Q2,
    R::Q3,
    R::Q4,
    R::Q5,
    R::Q6,
    R::Q7,
    R::Q8,
    R::Q9,
    R::Q10,
    R::Q11,
    R::Q12,
    R::Q13,
    R::Q14,
    R::Q15,
    R::Q16,
    R::Q17,
    R::Q18,
    R::Q19,
    R::Q20,
    R::Q21,
    R::Q22,
    R::Q23,
    R::Q24,
    R::Q25,
    R::Q26,
    R::Q27,
    R::Q28,
    R::Q29,
    R::Q30,
    R::Q31,
];

pub fn x(uc: &Engine, i: usize) -> u64 {
    uc.reg_read(X[i]).unwrap_or(0)
}

pub fn pc(uc: &Engine) -> u64 {
    uc.reg_read(R::PC).unwrap_or(0)
}

pub fn set_pc(uc: &mut Engine, v: u64) {
    let _ = uc.reg_write(R::PC, v);
}

pub fn sp(uc: &Engine) -> u64 {
    uc.reg_read(R::SP).unwrap_or(0)
}

pub fn set_sp(uc: &mut Engine, v: u64) {
    let _ = uc.reg_write(R::SP, v);
}

pub fn tls(uc: &Engine) -> u64 {
    uc.reg_read(R::TPIDR_EL0).unwrap_or(0)
}

pub fn set_tls(uc: &mut Engine, v: u64) {
    let _ = uc.reg_write(R::TPIDR_EL0, v);
}

pub fn syscall_args(uc: &Engine) -> (u64, [u64; 6]) {
    (
        x(uc, 8),
        [x(uc, 0), x(uc, 1), x(uc, 2), x(uc, 3), x(uc, 4), x(uc, 5)],
    )
}

pub fn set_syscall_ret(uc: &mut Engine, v: u64) {
    let _ = uc.reg_write(R::X0, v);
}

/// Make the interrupted call run again: back over the 4-byte svc (x0..x5 still hold the
/// arguments, since the result was never written).
pub fn restart_syscall(uc: &mut Engine) {
    let p = pc(uc);
    set_pc(uc, p - 4);
}

/// Plan 9 arm64 FPsave (520 bytes): 32 × 16-byte vector registers, FPCR at 512, FPSR at 516.
pub fn fp_save(uc: &Engine) -> Vec<u8> {
    let mut b = vec![0u8; 520];
    for (i, r) in Q.iter().enumerate() {
        if let Ok(v) = uc.reg_read_long(*r) {
            let n = v.len().min(16);
            b[16 * i..16 * i + n].copy_from_slice(&v[..n]);
        }
    }
    b[512..516].copy_from_slice(&(uc.reg_read(R::FPCR).unwrap_or(0) as u32).to_le_bytes());
    b[516..520].copy_from_slice(&(uc.reg_read(R::FPSR).unwrap_or(0) as u32).to_le_bytes());
    b
}

pub fn fp_restore(uc: &mut Engine, b: &[u8]) {
    if b.len() < 520 {
        return;
    }
    for (i, r) in Q.iter().enumerate() {
        let _ = uc.reg_write_long(*r, &b[16 * i..16 * i + 16]);
    }
    let _ = uc.reg_write(
        R::FPCR,
        u64::from(u32::from_le_bytes([b[512], b[513], b[514], b[515]])),
    );
    let _ = uc.reg_write(
        R::FPSR,
        u64::from(u32::from_le_bytes([b[516], b[517], b[518], b[519]])),
    );
}

pub fn copy_regs(from: &Engine, to: &mut Engine) {
    for r in X.iter().chain([R::SP, R::PC, R::NZCV, R::TPIDR_EL0].iter()) {
        let _ = to.reg_write(*r, from.reg_read(*r).unwrap_or(0));
    }
    fp_restore(to, &fp_save(from));
}

pub fn reset_regs(uc: &mut Engine) {
    for r in X.iter().chain([R::SP, R::NZCV, R::TPIDR_EL0].iter()) {
        let _ = uc.reg_write(*r, 0);
    }
    fp_restore(uc, &[0u8; 520]);
}

/// The sigreturn trampoline: `mov x8, #139` (rt_sigreturn); `svc #0`.
pub const SIGTRAMP: [u8; 8] = [0x68, 0x11, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4];

/// rt_sigframe layout: siginfo (128), then the ucontext whose sigcontext is 16-aligned at
/// offset 176 (uc_flags 8, uc_link 8, stack_t 24, sigmask 8, padding to 1024 bits): regs at
/// +8, sp +256, pc +264, pstate +272, then 4096 reserved bytes (an empty record list).
const INFO: u64 = 0;
const UC: u64 = 128;
const UC_SIGMASK: u64 = 40;
const UC_MCONTEXT: u64 = 176;
const FRAME: u64 = UC + UC_MCONTEXT + 288 + 4096;

pub fn enter_handler(
    uc: &mut Engine,
    sig: i32,
    handler: u64,
    restorer: u64,
    old_mask: u64,
    info: &[u8; 128],
) -> bool {
    let sp0 = sp(uc);
    let frame = (sp0.wrapping_sub(FRAME + 16)) & !15;
    let mut b = vec![0u8; FRAME as usize];
    b[INFO as usize..INFO as usize + 128].copy_from_slice(info);
    let m = (UC + UC_SIGMASK) as usize;
    b[m..m + 8].copy_from_slice(&old_mask.to_le_bytes());
    let sc = (UC + UC_MCONTEXT) as usize;
    for i in 0..31 {
        b[sc + 8 + 8 * i..sc + 16 + 8 * i].copy_from_slice(&x(uc, i).to_le_bytes());
    }
    b[sc + 256..sc + 264].copy_from_slice(&sp0.to_le_bytes());
    b[sc + 264..sc + 272].copy_from_slice(&pc(uc).to_le_bytes());
    b[sc + 272..sc + 280].copy_from_slice(&uc.reg_read(R::NZCV).unwrap_or(0).to_le_bytes());
    if uc.mem_write(frame, &b).is_err() {
        return false;
    }
    let _ = uc.reg_write(R::X0, sig as u64);
    let _ = uc.reg_write(R::X1, frame + INFO);
    let _ = uc.reg_write(R::X2, frame + UC);
    let _ = uc.reg_write(R::X30, restorer);
    set_sp(uc, frame);
    set_pc(uc, handler);
    true
}

pub fn sigreturn(uc: &mut Engine) -> Option<u64> {
    let frame = sp(uc);
    let b = uc
        .mem_read_as_vec(frame, (UC + UC_MCONTEXT + 288) as usize)
        .ok()?;
    let w = |o: usize| -> Option<u64> { Some(u64::from_le_bytes(b[o..o + 8].try_into().ok()?)) };
    let sc = (UC + UC_MCONTEXT) as usize;
    for (i, r) in X.iter().enumerate() {
        let _ = uc.reg_write(*r, w(sc + 8 + 8 * i)?);
    }
    set_sp(uc, w(sc + 256)?);
    set_pc(uc, w(sc + 264)?);
    // Only the condition flags come back from user memory.
    let _ = uc.reg_write(R::NZCV, w(sc + 272)? & 0xf000_0000);
    w((UC + UC_SIGMASK) as usize)
}

pub fn sys(nr: u64) -> Option<Sys> {
    super::generic::sys(nr)
}
