//! Process-level system calls of the single-process kernel: arch_prctl(2), prlimit64(2),
//! uname(2), sysinfo(2), getrusage(2), times(2), rt_sigaction(2) and rt_sigprocmask(2)
//! (recorded; delivery comes with the multi-process kernel), getrandom(2), futex(2).

use crate::cpu::Arch;
use crate::errno::{Errno, SysResult};
use crate::machine::{Kernel, Process, SigAction};
use crate::param;
use crate::syscalls::time::cpu_ns;

pub fn arch_prctl(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    const ARCH_SET_FS: u64 = 0x1002;
    const ARCH_GET_FS: u64 = 0x1003;
    if p.cpu.arch != Arch::X86_64 {
        return Err(Errno::ENOSYS);
    }
    match a[0] {
        ARCH_SET_FS => {
            p.cpu.set_tls(a[1]);
            Ok(0)
        }
        ARCH_GET_FS => {
            let fs = p
                .cpu
                .uc
                .reg_read(unicorn_engine::RegisterX86::FS_BASE)
                .unwrap_or(0);
            p.cpu.write_u64(a[1], fs)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// prlimit64(pid, resource, new, old).
pub fn prlimit64(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    const RLIMIT_STACK: u64 = 3;
    const RLIMIT_NOFILE: u64 = 7;
    if a[1] > 15 {
        return Err(Errno::EINVAL);
    }
    if a[3] != 0 {
        let (cur, max) = match a[1] {
            RLIMIT_STACK => param::RLIMIT_STACK,
            RLIMIT_NOFILE => param::RLIMIT_NOFILE,
            _ => (u64::MAX, u64::MAX),
        };
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&cur.to_le_bytes());
        b[8..].copy_from_slice(&max.to_le_bytes());
        p.cpu.write(a[3], &b)?;
    }
    Ok(0)
}

/// uname(2): struct utsname, six 65-byte fields.
pub fn uname(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let machine = crate::cpu::arch_name(p.cpu.arch);
    let mut b = vec![0u8; 65 * 6];
    for (i, s) in [
        param::UTS_SYSNAME,
        param::UTS_NODENAME,
        param::UTS_RELEASE,
        param::UTS_VERSION,
        machine,
        param::UTS_DOMAINNAME,
    ]
    .iter()
    .enumerate()
    {
        b[i * 65..i * 65 + s.len()].copy_from_slice(s.as_bytes());
    }
    p.cpu.write(a[0], &b)?;
    Ok(0)
}

/// sysinfo(2): struct sysinfo (112 bytes on 64-bit), a 1 GiB machine.
pub fn sysinfo(k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let mut b = vec![0u8; 112];
    let up = k.clock.ns / 1_000_000_000;
    b[0..8].copy_from_slice(&up.to_le_bytes());
    b[32..40].copy_from_slice(&(1u64 << 30).to_le_bytes()); // totalram
    b[40..48].copy_from_slice(&(1u64 << 29).to_le_bytes()); // freeram
    b[80..82].copy_from_slice(&1u16.to_le_bytes()); // procs
    b[104..108].copy_from_slice(&1u32.to_le_bytes()); // mem_unit
    p.cpu.write(a[0], &b)?;
    Ok(0)
}

fn timeval(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    b[8..].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_le_bytes());
    b
}

/// getrusage(2): struct rusage (144 bytes); user time is guest work, system time syscalls.
pub fn getrusage(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let mut b = vec![0u8; 144];
    b[..16].copy_from_slice(&timeval(p.blocks * param::NS_PER_BLOCK));
    b[16..32].copy_from_slice(&timeval(p.syscalls * param::NS_PER_SYSCALL));
    p.cpu.write(a[1], &b)?;
    Ok(0)
}

/// times(2): struct tms in clock ticks (100 Hz); returns ticks since boot.
pub fn times(k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let tick = 10_000_000;
    if a[0] != 0 {
        let mut b = vec![0u8; 32];
        b[..8].copy_from_slice(&(p.blocks * param::NS_PER_BLOCK / tick).to_le_bytes());
        b[8..16].copy_from_slice(&(p.syscalls * param::NS_PER_SYSCALL / tick).to_le_bytes());
        p.cpu.write(a[0], &b)?;
    }
    let _ = cpu_ns(p);
    Ok(k.clock.ns / tick)
}

/// rt_sigaction(sig, act, oact, sigsetsize): struct kernel_sigaction {handler, flags,
/// restorer, mask} on x86_64.
pub fn rt_sigaction(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let sig = a[0] as usize;
    if sig == 0 || sig > 64 || a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    if a[2] != 0 {
        let o = p.sigactions[sig];
        let mut b = Vec::with_capacity(32);
        for v in [o.handler, o.flags, o.restorer, o.mask] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        p.cpu.write(a[2], &b)?;
    }
    if a[1] != 0 {
        const SIGKILL: usize = 9;
        const SIGSTOP: usize = 19;
        if sig == SIGKILL || sig == SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let b = p.cpu.read(a[1], 32)?;
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        p.sigactions[sig] = SigAction {
            handler: w(0),
            flags: w(1),
            restorer: w(2),
            mask: w(3),
        };
    }
    Ok(0)
}

pub fn rt_sigprocmask(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let old = p.sigmask;
    if a[1] != 0 {
        let set = p.cpu.read_u64(a[1])?;
        // SIGKILL and SIGSTOP cannot be blocked.
        let unblockable = (1 << 8) | (1 << 18);
        p.sigmask = match a[0] {
            0 => old | set,
            1 => old & !set,
            2 => set,
            _ => return Err(Errno::EINVAL),
        } & !unblockable;
    }
    if a[2] != 0 {
        p.cpu.write_u64(a[2], old)?;
    }
    Ok(0)
}

pub fn sched_getaffinity(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    if a[1] < 8 {
        return Err(Errno::EINVAL);
    }
    p.cpu.write_u64(a[2], 1)?;
    Ok(8)
}

pub fn getrandom(k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let len = (a[1] as usize).min(1 << 25);
    let mut b = vec![0u8; len];
    k.rng.fill(&mut b);
    p.cpu.write(a[0], &b)?;
    Ok(len as u64)
}

/// futex(2) for a single-threaded process: a wait whose value differs returns EAGAIN; one
/// that would sleep could never be woken, so it times out at once if it has a timeout.
pub fn futex(_k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    // FUTEX_PRIVATE_FLAG (128) and FUTEX_CLOCK_REALTIME (256) modify the command.
    match a[1] & !(0x80 | 0x100) {
        0 | 9 => {
            let cur = u32::from_le_bytes(p.cpu.read(a[0], 4)?.try_into().unwrap_or([0; 4]));
            if cur != a[2] as u32 {
                Err(Errno::EAGAIN)
            } else {
                Err(Errno(110)) // ETIMEDOUT
            }
        }
        1 | 10 => Ok(0),
        _ => Err(Errno::ENOSYS),
    }
}
