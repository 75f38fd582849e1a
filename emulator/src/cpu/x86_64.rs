//! x86_64 backend: `syscall` arrives through unicorn's instruction hook; arguments follow the
//! Linux x86_64 syscall ABI (rax = number, rdi rsi rdx r10 r8 r9, result in rax; the kernel
//! clobbers rcx and r11); TLS is FS_BASE (arch_prctl). Syscall numbers from Linux
//! arch/x86/entry/syscalls/syscall_64.tbl.

use super::{mem_invalid_hook, CpuError, Engine, HookState, Stop};
use crate::syscalls::Sys;
use unicorn_engine::unicorn_const::{Arch as UcArch, HookType, Mode};
use unicorn_engine::{RegisterX86, Unicorn, X86Insn};

pub fn new_engine() -> Result<Engine, CpuError> {
    let mut uc = Unicorn::new_with_data(UcArch::X86, Mode::MODE_64, HookState::default())?;
    super::set_tcg_buffer(&mut uc)?;
    uc.add_insn_sys_hook(X86Insn::SYSCALL, 1, 0, |uc: &mut Unicorn<'_, HookState>| {
        uc.get_data_mut().stop = Some(Stop::Syscall);
        let _ = uc.emu_stop();
    })?;
    uc.add_intr_hook(|uc: &mut Unicorn<'_, HookState>, intno: u32| {
        uc.get_data_mut().stop = Some(Stop::Interrupt(intno));
        let _ = uc.emu_stop();
    })?;
    uc.add_mem_hook(HookType::MEM_INVALID, 1, 0, mem_invalid_hook)?;
    Ok(uc)
}

pub fn pc(uc: &Engine) -> u64 {
    uc.reg_read(RegisterX86::RIP).unwrap_or(0)
}

pub fn set_pc(uc: &mut Engine, v: u64) {
    let _ = uc.reg_write(RegisterX86::RIP, v);
}

pub fn sp(uc: &Engine) -> u64 {
    uc.reg_read(RegisterX86::RSP).unwrap_or(0)
}

pub fn set_sp(uc: &mut Engine, v: u64) {
    let _ = uc.reg_write(RegisterX86::RSP, v);
}

pub fn tls(uc: &Engine) -> u64 {
    uc.reg_read(RegisterX86::FS_BASE).unwrap_or(0)
}

pub fn set_tls(uc: &mut Engine, v: u64) {
    let _ = uc.reg_write(RegisterX86::FS_BASE, v);
}

pub fn syscall_args(uc: &Engine) -> (u64, [u64; 6]) {
    let r = |reg| uc.reg_read(reg).unwrap_or(0);
    (
        r(RegisterX86::RAX),
        [
            r(RegisterX86::RDI),
            r(RegisterX86::RSI),
            r(RegisterX86::RDX),
            r(RegisterX86::R10),
            r(RegisterX86::R8),
            r(RegisterX86::R9),
        ],
    )
}

pub fn set_syscall_ret(uc: &mut Engine, v: u64) {
    let _ = uc.reg_write(RegisterX86::RAX, v);
    // The syscall instruction leaves the return address in rcx and rflags in r11.
    let pc = pc(uc);
    let flags = uc.reg_read(RegisterX86::EFLAGS).unwrap_or(0);
    let _ = uc.reg_write(RegisterX86::RCX, pc);
    let _ = uc.reg_write(RegisterX86::R11, flags);
}

/// syscall_64.tbl: number → call.
pub fn sys(nr: u64) -> Option<Sys> {
    use Sys::*;
    Some(match nr {
        0 => Read,
        1 => Write,
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
        204 => SchedGetaffinity,
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

/// Make the interrupted call run again: back over the 2-byte `syscall`, number back in rax.
pub fn restart_syscall(uc: &mut Engine, nr: u64) {
    let p = pc(uc);
    let _ = uc.reg_write(RegisterX86::RAX, nr);
    set_pc(uc, p - 2);
}

/// General registers in the order of the x86_64 `struct sigcontext` (arch/x86/include/uapi/
/// asm/sigcontext.h): r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags.
const SIGCONTEXT_REGS: [RegisterX86; 18] = [
    RegisterX86::R8,
    RegisterX86::R9,
    RegisterX86::R10,
    RegisterX86::R11,
    RegisterX86::R12,
    RegisterX86::R13,
    RegisterX86::R14,
    RegisterX86::R15,
    RegisterX86::RDI,
    RegisterX86::RSI,
    RegisterX86::RBP,
    RegisterX86::RBX,
    RegisterX86::RDX,
    RegisterX86::RAX,
    RegisterX86::RCX,
    RegisterX86::RSP,
    RegisterX86::RIP,
    RegisterX86::EFLAGS,
];

const XMM: [RegisterX86; 16] = [
    RegisterX86::XMM0,
    RegisterX86::XMM1,
    RegisterX86::XMM2,
    RegisterX86::XMM3,
    RegisterX86::XMM4,
    RegisterX86::XMM5,
    RegisterX86::XMM6,
    RegisterX86::XMM7,
    RegisterX86::XMM8,
    RegisterX86::XMM9,
    RegisterX86::XMM10,
    RegisterX86::XMM11,
    RegisterX86::XMM12,
    RegisterX86::XMM13,
    RegisterX86::XMM14,
    RegisterX86::XMM15,
];

const ST: [RegisterX86; 8] = [
    RegisterX86::ST0,
    RegisterX86::ST1,
    RegisterX86::ST2,
    RegisterX86::ST3,
    RegisterX86::ST4,
    RegisterX86::ST5,
    RegisterX86::ST6,
    RegisterX86::ST7,
];

/// The FP/SSE state as Plan 9's amd64 FPsave (832 bytes): the FXSAVE area, then the XSAVE
/// header and upper YMM halves, which stay zero (the emulated CPU has no AVX).
pub fn fp_save(uc: &Engine) -> Vec<u8> {
    let r = |reg: RegisterX86| uc.reg_read(reg).unwrap_or(0);
    let mut b = vec![0u8; 832];
    b[0..2].copy_from_slice(&(r(RegisterX86::FPCW) as u16).to_le_bytes());
    b[2..4].copy_from_slice(&(r(RegisterX86::FPSW) as u16).to_le_bytes());
    // FXSAVE keeps the abridged tag: one bit per register, set when it is not empty (tag 3).
    let tag = r(RegisterX86::FPTAG);
    b[4] = (0..8)
        .filter(|i| (tag >> (2 * i)) & 3 != 3)
        .fold(0u8, |a, i| a | (1 << i));
    b[24..28].copy_from_slice(&(r(RegisterX86::MXCSR) as u32).to_le_bytes());
    b[28..32].copy_from_slice(&0xffffu32.to_le_bytes());
    for (i, reg) in ST.iter().enumerate() {
        if let Ok(v) = uc.reg_read_long(*reg) {
            let n = v.len().min(10);
            b[32 + 16 * i..32 + 16 * i + n].copy_from_slice(&v[..n]);
        }
    }
    for (i, reg) in XMM.iter().enumerate() {
        if let Ok(v) = uc.reg_read_long(*reg) {
            let n = v.len().min(16);
            b[160 + 16 * i..160 + 16 * i + n].copy_from_slice(&v[..n]);
        }
    }
    b
}

/// Restore what `fp_save` produced (control words, MXCSR, x87 and XMM registers).
pub fn fp_restore(uc: &mut Engine, b: &[u8]) {
    if b.len() < 416 {
        return;
    }
    let u16at = |o: usize| u64::from(u16::from_le_bytes([b[o], b[o + 1]]));
    let _ = uc.reg_write(RegisterX86::FPCW, u16at(0));
    let _ = uc.reg_write(RegisterX86::FPSW, u16at(2));
    let _ = uc.reg_write(
        RegisterX86::MXCSR,
        u64::from(u32::from_le_bytes([b[24], b[25], b[26], b[27]])),
    );
    for (i, reg) in ST.iter().enumerate() {
        let _ = uc.reg_write_long(*reg, &b[32 + 16 * i..42 + 16 * i]);
    }
    for (i, reg) in XMM.iter().enumerate() {
        let _ = uc.reg_write_long(*reg, &b[160 + 16 * i..176 + 16 * i]);
    }
}

/// The register state of a fresh engine: all zero, flags 0x2, default x87 and SSE control.
pub fn reset_regs(uc: &mut Engine) {
    for reg in SIGCONTEXT_REGS
        .iter()
        .chain([RegisterX86::FS_BASE, RegisterX86::GS_BASE].iter())
    {
        let _ = uc.reg_write(*reg, 0);
    }
    let _ = uc.reg_write(RegisterX86::EFLAGS, 0x2);
    let mut fp = vec![0u8; 832];
    fp[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
    fp[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    fp_restore(uc, &fp);
    let _ = uc.reg_write(RegisterX86::FPTAG, 0xffff);
}

/// Copy the whole user register state (fork): general registers, flags, TLS, FP/SSE.
pub fn copy_regs(from: &Engine, to: &mut Engine) {
    for reg in SIGCONTEXT_REGS
        .iter()
        .chain([RegisterX86::FS_BASE, RegisterX86::GS_BASE].iter())
    {
        let _ = to.reg_write(*reg, from.reg_read(*reg).unwrap_or(0));
    }
    fp_restore(to, &fp_save(from));
}

/// Size of the frame's parts (arch/x86/include/uapi/asm/ucontext.h, sigcontext.h):
/// ucontext = flags 8 + link 8 + stack_t 24 + sigcontext 256 + sigmask 8 = 304; siginfo 128.
const UCONTEXT: u64 = 304;
const SIGINFO: u64 = 128;
const UC_MCONTEXT: u64 = 40;
const UC_SIGMASK: u64 = 296;

/// Build an rt_sigframe on the user stack and enter the handler (arch/x86/kernel/signal.c):
/// [rsp] = restorer, then the ucontext, then the siginfo; rdi = sig, rsi = &info, rdx = &uc.
/// Returns false if the frame could not be written (the process then dies of SIGSEGV).
pub fn enter_handler(
    uc: &mut Engine,
    sig: i32,
    handler: u64,
    restorer: u64,
    old_mask: u64,
    info: &[u8; 128],
) -> bool {
    let sp = uc.reg_read(RegisterX86::RSP).unwrap_or(0);
    // Skip the red zone, make room, align so that (frame + 8) is 16-aligned as after a call.
    let mut frame = sp.wrapping_sub(128).wrapping_sub(8 + UCONTEXT + SIGINFO);
    frame = (frame & !15).wrapping_sub(8);
    let mut uctx = vec![0u8; UCONTEXT as usize];
    for (i, reg) in SIGCONTEXT_REGS.iter().enumerate() {
        let v = uc.reg_read(*reg).unwrap_or(0);
        let off = UC_MCONTEXT as usize + 8 * i;
        uctx[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }
    // cs, gs, fs, ss (u16 each) after eflags: user code selector 0x33, data 0x2b.
    let sel = UC_MCONTEXT as usize + 8 * 18;
    uctx[sel..sel + 2].copy_from_slice(&0x33u16.to_le_bytes());
    uctx[sel + 6..sel + 8].copy_from_slice(&0x2bu16.to_le_bytes());
    uctx[UC_SIGMASK as usize..UC_SIGMASK as usize + 8].copy_from_slice(&old_mask.to_le_bytes());
    let mut bytes = restorer.to_le_bytes().to_vec();
    bytes.extend_from_slice(&uctx);
    bytes.extend_from_slice(info);
    if uc.mem_write(frame, &bytes).is_err() {
        return false;
    }
    let _ = uc.reg_write(RegisterX86::RSP, frame);
    let _ = uc.reg_write(RegisterX86::RIP, handler);
    let _ = uc.reg_write(RegisterX86::RDI, sig as u64);
    let _ = uc.reg_write(RegisterX86::RSI, frame + 8 + UCONTEXT);
    let _ = uc.reg_write(RegisterX86::RDX, frame + 8);
    let _ = uc.reg_write(RegisterX86::RAX, 0);
    // The ABI wants the direction flag clear on entry.
    let fl = uc.reg_read(RegisterX86::EFLAGS).unwrap_or(0);
    let _ = uc.reg_write(RegisterX86::EFLAGS, fl & !0x400);
    true
}

/// rt_sigreturn: the restorer's `ret` popped the return address, so rsp points at the
/// ucontext. Restores the registers and returns the saved signal mask.
pub fn sigreturn(uc: &mut Engine) -> Option<u64> {
    let sp = uc.reg_read(RegisterX86::RSP).ok()?;
    let uctx = uc.mem_read_as_vec(sp, UCONTEXT as usize).ok()?;
    for (i, reg) in SIGCONTEXT_REGS.iter().enumerate() {
        let off = UC_MCONTEXT as usize + 8 * i;
        let v = u64::from_le_bytes(uctx[off..off + 8].try_into().ok()?);
        let v = if *reg == RegisterX86::EFLAGS {
            // Only the arithmetic and direction flags may change (FIX_EFLAGS).
            let old = uc.reg_read(RegisterX86::EFLAGS).unwrap_or(0);
            (old & !0x0cd5) | (v & 0x0cd5)
        } else {
            v
        };
        let _ = uc.reg_write(*reg, v);
    }
    let m = UC_SIGMASK as usize;
    Some(u64::from_le_bytes(uctx[m..m + 8].try_into().ok()?))
}
