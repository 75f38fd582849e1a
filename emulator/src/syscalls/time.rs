//! Time system calls (clock_gettime(2), gettimeofday(2), time(2), nanosleep(2)) on the
//! machine's virtual clock, which advances only with guest work (DESIGN.md).

use crate::errno::{Errno, SysResult};
use crate::machine::{Kernel, Process};
use crate::param;

fn realtime_ns(k: &Kernel) -> u64 {
    param::EPOCH_BASE_SECS * 1_000_000_000 + k.clock.ns
}

fn timespec(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    b[8..].copy_from_slice(&(ns % 1_000_000_000).to_le_bytes());
    b
}

/// CPU time of a process: its guest work and its system calls.
pub fn cpu_ns(p: &Process) -> u64 {
    p.blocks * param::NS_PER_BLOCK + p.syscalls * param::NS_PER_SYSCALL
}

pub fn clock_ns(k: &Kernel, p: &Process, clock: u64) -> SysResult<u64> {
    Ok(match clock {
        0 | 5 | 8 | 11 => realtime_ns(k), // REALTIME, REALTIME_COARSE, REALTIME_ALARM, TAI
        1 | 4 | 6 | 7 | 9 => k.clock.ns,  // MONOTONIC, _RAW, _COARSE, BOOTTIME, BOOTTIME_ALARM
        2 | 3 => cpu_ns(p),               // PROCESS_CPUTIME_ID, THREAD_CPUTIME_ID
        _ => return Err(Errno::EINVAL),
    })
}

pub fn clock_gettime(k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let ns = clock_ns(k, p, a[0])?;
    p.cpu.write(a[1], &timespec(ns))?;
    Ok(0)
}

pub fn clock_getres(k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    clock_ns(k, p, a[0])?;
    if a[1] != 0 {
        p.cpu.write(a[1], &timespec(1))?;
    }
    Ok(0)
}

pub fn gettimeofday(k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    if a[0] != 0 {
        let ns = realtime_ns(k);
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
        b[8..].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_le_bytes());
        p.cpu.write(a[0], &b)?;
    }
    if a[1] != 0 {
        p.cpu.write(a[1], &[0u8; 8])?;
    }
    Ok(0)
}

pub fn time(k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let s = realtime_ns(k) / 1_000_000_000;
    if a[0] != 0 {
        p.cpu.write_u64(a[0], s)?;
    }
    Ok(s)
}

/// nanosleep and clock_nanosleep (a = clock, flags, req, rem). With one runnable process the
/// clock jumps to the deadline; the sleep takes no host time.
pub fn nanosleep(k: &mut Kernel, p: &mut Process, a: [u64; 6]) -> SysResult<u64> {
    let req = p.cpu.read(a[2], 16)?;
    let sec = i64::from_le_bytes(req[..8].try_into().unwrap_or([0; 8]));
    let nsec = i64::from_le_bytes(req[8..].try_into().unwrap_or([0; 8]));
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    let dur = (sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(nsec as u64);
    const TIMER_ABSTIME: u64 = 1;
    if a[1] & TIMER_ABSTIME != 0 {
        let now = clock_ns(k, p, a[0])?;
        k.clock.ns += dur.saturating_sub(now);
    } else {
        k.clock.ns = k.clock.ns.saturating_add(dur);
    }
    Ok(0)
}
