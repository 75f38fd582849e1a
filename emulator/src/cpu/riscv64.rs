//! riscv64 backend: `ecall` arrives as unicorn interrupt 8 (environment call from U-mode);
//! unicorn has already advanced pc past it (docs/DESIGN.md: it adds 4 to pc for every exception,
//! so only the ecall is resumed as is). Arguments follow the Linux riscv syscall ABI (a7 =
//! number, a0..a5, result in a0); TLS is tp; the FPU starts off, so mstatus.FS is set or
//! glibc's setjmp traps. Signal frames follow arch/riscv/kernel/signal.c.

use super::{mem_invalid_hook, CpuError, Engine, HookState, Stop};
use crate::syscalls::Sys;
use unicorn_engine::unicorn_const::{Arch as UcArch, HookType, Mode};
use unicorn_engine::{RegisterRISCV as R, Unicorn};

/// Exception cause 8: environment call from U-mode.
const ECALL_U: u32 = 8;
/// Exception cause 3: breakpoint.
pub const BREAKPOINT: u32 = 3;
/// `ebreak` and `c.ebreak` encodings.
const EBREAK: u32 = 0x0010_0073;
const C_EBREAK: u16 = 0x9002;

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

/// mstatus.FS = Initial (bits 13–14): the FPU is usable.
const MSTATUS_FS: u64 = 1 << 13;

pub fn new_engine() -> Result<Engine, CpuError> {
    let mut uc = Unicorn::new_with_data(UcArch::RISCV, Mode::RISCV64, HookState::default())?;
    super::set_tcg_buffer(&mut uc)?;
    uc.add_intr_hook(|uc: &mut Unicorn<'_, HookState>, intno: u32| {
        uc.get_data_mut().stop = Some(if intno == ECALL_U {
            Stop::Syscall
        } else {
            Stop::Interrupt(intno)
        });
        let _ = uc.emu_stop();
    })?;
    // unicorn never hands ebreak (cause 3) to the interrupt hook: its riscv stop_interrupt
    // turns it into an invalid-instruction stop (qemu/target/riscv/unicorn.c), with pc still
    // at the ebreak. Caught here it becomes the breakpoint it is; anything else stays invalid.
    uc.add_insn_invalid_hook(|uc: &mut Unicorn<'_, HookState>| {
        let at = uc.reg_read(R::PC).unwrap_or(0);
        if !is_ebreak_at(uc, at) {
            return false;
        }
        uc.get_data_mut().stop = Some(Stop::Interrupt(BREAKPOINT));
        let _ = uc.emu_stop();
        true
    })?;
    uc.add_mem_hook(HookType::MEM_INVALID, 1, 0, mem_invalid_hook)?;
    enable_fpu(&mut uc);
    Ok(uc)
}

fn enable_fpu(uc: &mut Engine) {
    let ms = uc.reg_read(R::MSTATUS).unwrap_or(0);
    let _ = uc.reg_write(R::MSTATUS, ms | MSTATUS_FS);
}

/// x0..x31 (x0 reads as zero).
const XR: [R; 32] = [
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
    R::X31,
];

const FR: [R; 32] = [
    R::F0,
    R::F1,
    R::F2,
    R::F3,
    R::F4,
    R::F5,
    R::F6,
    R::F7,
    R::F8,
    R::F9,
    R::F10,
    R::F11,
    R::F12,
    R::F13,
    R::F14,
    R::F15,
    R::F16,
    R::F17,
    R::F18,
    R::F19,
    R::F20,
    R::F21,
    R::F22,
    R::F23,
    R::F24,
    R::F25,
    R::F26,
    R::F27,
    R::F28,
    R::F29,
    R::F30,
    R::F31,
];

pub fn x(uc: &Engine, i: usize) -> u64 {
    if i == 0 {
        0
    } else {
        uc.reg_read(XR[i]).unwrap_or(0)
    }
}

pub fn pc(uc: &Engine) -> u64 {
    uc.reg_read(R::PC).unwrap_or(0)
}

pub fn set_pc(uc: &mut Engine, v: u64) {
    let _ = uc.reg_write(R::PC, v);
}

pub fn sp(uc: &Engine) -> u64 {
    x(uc, 2)
}

pub fn set_sp(uc: &mut Engine, v: u64) {
    let _ = uc.reg_write(R::X2, v);
}

pub fn tls(uc: &Engine) -> u64 {
    uc.reg_read(R::X4).unwrap_or(0)
}

pub fn set_tls(uc: &mut Engine, v: u64) {
    let _ = uc.reg_write(R::X4, v);
}

/// a0..a5 are x10..x15, a7 is x17.
pub fn syscall_args(uc: &Engine) -> (u64, [u64; 6]) {
    (
        x(uc, 17),
        [
            x(uc, 10),
            x(uc, 11),
            x(uc, 12),
            x(uc, 13),
            x(uc, 14),
            x(uc, 15),
        ],
    )
}

pub fn set_syscall_ret(uc: &mut Engine, v: u64) {
    let _ = uc.reg_write(R::X10, v);
}

pub fn restart_syscall(uc: &mut Engine) {
    let p = pc(uc);
    set_pc(uc, p - 4);
}

/// Floating-point state: f0..f31 (8 bytes each) then fcsr (u32): the D-extension layout of
/// Linux's __riscv_d_ext_state (264 bytes), which stands in for a Plan 9 FPsave.
pub fn fp_save(uc: &Engine) -> Vec<u8> {
    let mut b = vec![0u8; 264];
    for (i, r) in FR.iter().enumerate() {
        b[8 * i..8 * i + 8].copy_from_slice(&uc.reg_read(*r).unwrap_or(0).to_le_bytes());
    }
    b[256..260].copy_from_slice(&(uc.reg_read(R::FCSR).unwrap_or(0) as u32).to_le_bytes());
    b
}

pub fn fp_restore(uc: &mut Engine, b: &[u8]) {
    if b.len() < 260 {
        return;
    }
    for (i, r) in FR.iter().enumerate() {
        let v = u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap_or([0; 8]));
        let _ = uc.reg_write(*r, v);
    }
    let _ = uc.reg_write(
        R::FCSR,
        u64::from(u32::from_le_bytes([b[256], b[257], b[258], b[259]])),
    );
}

pub fn copy_regs(from: &Engine, to: &mut Engine) {
    for r in XR.iter().skip(1).chain([R::PC].iter()) {
        let _ = to.reg_write(*r, from.reg_read(*r).unwrap_or(0));
    }
    fp_restore(to, &fp_save(from));
}

pub fn reset_regs(uc: &mut Engine) {
    for r in XR.iter().skip(1) {
        let _ = uc.reg_write(*r, 0);
    }
    fp_restore(uc, &[0u8; 264]);
    enable_fpu(uc);
}

/// The sigreturn trampoline: `li a7, 139` (addi a7, zero, 139); `ecall`.
pub const SIGTRAMP: [u8; 8] = [0x93, 0x08, 0xb0, 0x08, 0x73, 0x00, 0x00, 0x00];

/// rt_sigframe: siginfo (128), then the ucontext with its sigcontext 16-aligned at offset
/// 176: user_regs_struct (pc, x1..x31) then the 528-byte FP union.
const UC: u64 = 128;
const UC_SIGMASK: u64 = 40;
const UC_MCONTEXT: u64 = 176;
const FRAME: u64 = UC + UC_MCONTEXT + 256 + 528;

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
    b[..128].copy_from_slice(info);
    let m = (UC + UC_SIGMASK) as usize;
    b[m..m + 8].copy_from_slice(&old_mask.to_le_bytes());
    let sc = (UC + UC_MCONTEXT) as usize;
    b[sc..sc + 8].copy_from_slice(&pc(uc).to_le_bytes());
    for i in 1..32 {
        b[sc + 8 * i..sc + 8 * i + 8].copy_from_slice(&x(uc, i).to_le_bytes());
    }
    let fp = fp_save(uc);
    b[sc + 256..sc + 256 + 260].copy_from_slice(&fp[..260]);
    if uc.mem_write(frame, &b).is_err() {
        return false;
    }
    let _ = uc.reg_write(R::X10, sig as u64);
    let _ = uc.reg_write(R::X11, frame);
    let _ = uc.reg_write(R::X12, frame + UC);
    let _ = uc.reg_write(R::X1, restorer);
    set_sp(uc, frame);
    set_pc(uc, handler);
    true
}

pub fn sigreturn(uc: &mut Engine) -> Option<u64> {
    let frame = sp(uc);
    let b = uc.mem_read_as_vec(frame, FRAME as usize).ok()?;
    let w = |o: usize| -> Option<u64> { Some(u64::from_le_bytes(b[o..o + 8].try_into().ok()?)) };
    let sc = (UC + UC_MCONTEXT) as usize;
    set_pc(uc, w(sc)?);
    for (i, r) in XR.iter().enumerate().skip(1) {
        let _ = uc.reg_write(*r, w(sc + 8 * i)?);
    }
    w((UC + UC_SIGMASK) as usize)
}

pub fn sys(nr: u64) -> Option<Sys> {
    super::generic::sys(nr)
}
