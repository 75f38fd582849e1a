//! x86_64 backend: `syscall` arrives through unicorn's instruction hook; arguments follow the
//! Linux x86_64 syscall ABI (rax = number, rdi rsi rdx r10 r8 r9, result in rax; the kernel
//! clobbers rcx and r11); TLS is FS_BASE (arch_prctl). Syscall numbers from Linux
//! arch/x86/entry/syscalls/syscall_64.tbl.

use super::{block_hook, mem_invalid_hook, CpuError, Engine, HookState, Stop};
use crate::syscalls::Sys;
use unicorn_engine::unicorn_const::{Arch as UcArch, HookType, Mode};
use unicorn_engine::{RegisterX86, Unicorn, X86Insn};

pub fn new_engine() -> Result<Engine, CpuError> {
    let mut uc = Unicorn::new_with_data(UcArch::X86, Mode::MODE_64, HookState::default())?;
    uc.add_block_hook(1, 0, block_hook)?;
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
