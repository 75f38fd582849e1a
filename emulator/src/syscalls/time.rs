//! Time system calls (clock_gettime(2), gettimeofday(2), time(2), nanosleep(2),
//! clock_nanosleep(2), alarm(2), setitimer(2)) on the machine's virtual clock, which
//! advances only with guest work (docs/DESIGN.md, determinism contract).

use crate::errno::{Errno, SysResult};
use crate::guestmem::le64;
use crate::machine::{Kernel, Task, Wait};
use crate::param;
use crate::syscalls::{Cx, Outcome};

/// CLOCK_REALTIME: the machine's start time (`--epoch`) plus the virtual time since.
pub fn realtime_ns(k: &Kernel) -> u64 {
    k.epoch_ns.saturating_add(k.clock.ns)
}

fn timespec(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    b[8..].copy_from_slice(&(ns % 1_000_000_000).to_le_bytes());
    b
}

/// CPU time of a process: its guest work and its system calls.
pub fn cpu_ns(t: &Task) -> u64 {
    t.blocks * param::NS_PER_BLOCK + t.syscalls * param::NS_PER_SYSCALL
}

pub fn clock_ns(k: &Kernel, t: &Task, clock: u64) -> SysResult<u64> {
    Ok(match clock {
        0 | 5 | 8 | 11 => realtime_ns(k), // REALTIME, REALTIME_COARSE, REALTIME_ALARM, TAI
        1 | 4 | 6 | 7 | 9 => k.clock.ns,  // MONOTONIC, _RAW, _COARSE, BOOTTIME, BOOTTIME_ALARM
        2 | 3 => cpu_ns(t),               // PROCESS_CPUTIME_ID, THREAD_CPUTIME_ID
        _ => return Err(Errno::EINVAL),
    })
}

pub fn clock_gettime(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let ns = clock_ns(cx.k, cx.t, a[0])?;
    cx.mem.write(a[1], &timespec(ns))?;
    Ok(0)
}

pub fn clock_getres(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    clock_ns(cx.k, cx.t, a[0])?;
    if a[1] != 0 {
        cx.mem.write(a[1], &timespec(1))?;
    }
    Ok(0)
}

pub fn gettimeofday(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    if a[0] != 0 {
        let ns = realtime_ns(cx.k);
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
        b[8..].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_le_bytes());
        cx.mem.write(a[0], &b)?;
    }
    if a[1] != 0 {
        cx.mem.write(a[1], &[0u8; 8])?;
    }
    Ok(0)
}

pub fn time(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let s = realtime_ns(cx.k) / 1_000_000_000;
    if a[0] != 0 {
        cx.mem.write_u64(a[0], s)?;
    }
    Ok(s)
}

/// nanosleep(req) and clock_nanosleep(clock, flags, req): the task waits until the
/// deadline on virtual time; when every task waits, the clock jumps to the next deadline,
/// so a sleep takes no host time.
pub fn sleep(cx: &mut Cx, clock: u64, flags: u64, req: u64) -> Outcome {
    const TIMER_ABSTIME: u64 = 1;
    let dur = match cx.mem.read_timespec(req) {
        Ok(d) => d,
        Err(e) => return e.into(),
    };
    let now = match clock_ns(cx.k, cx.t, clock) {
        Ok(n) => n,
        Err(e) => return e.into(),
    };
    let wait = if flags & TIMER_ABSTIME != 0 {
        dur.saturating_sub(now)
    } else {
        dur
    };
    if wait == 0 {
        return Outcome::Ret(0);
    }
    Outcome::Block(Wait::Until(cx.k.clock.ns.saturating_add(wait)))
}

/// alarm(seconds): SIGALRM after that much virtual time; returns the seconds left of the
/// previous alarm, rounded up.
pub fn alarm(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let now = cx.k.clock.ns;
    let left =
        cx.g.alarm_ns
            .map(|d| d.saturating_sub(now).div_ceil(1_000_000_000))
            .unwrap_or(0);
    cx.g.alarm_ns = (a[0] > 0).then(|| now.saturating_add(a[0].saturating_mul(1_000_000_000)));
    Ok(left)
}

/// setitimer(which, new, old) for ITIMER_REAL (0): one-shot alarms on virtual time (the
/// interval is not re-armed). getitimer is setitimer with no new value.
pub fn setitimer(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    if a[0] != 0 {
        return Err(Errno::EINVAL);
    }
    let now = cx.k.clock.ns;
    if a[2] != 0 {
        let left = cx.g.alarm_ns.map(|d| d.saturating_sub(now)).unwrap_or(0);
        let mut b = [0u8; 32];
        b[16..24].copy_from_slice(&(left / 1_000_000_000).to_le_bytes());
        b[24..32].copy_from_slice(&((left % 1_000_000_000) / 1000).to_le_bytes());
        cx.mem.write(a[2], &b)?;
    }
    if a[1] != 0 {
        let b = cx.mem.read(a[1], 32)?;
        let (s, us) = (le64(&b[16..24]), le64(&b[24..32]));
        let ns = s
            .saturating_mul(1_000_000_000)
            .saturating_add(us.saturating_mul(1000));
        cx.g.alarm_ns = (ns > 0).then(|| now + ns);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guestmem::GuestMem;
    use crate::syscalls::testing::{Bench, MEM};

    #[test]
    fn clock_gettime_realtime_starts_at_the_epoch() {
        let mut b = Bench::new();
        b.k.clock.ns = 1_500_000_000;
        assert_eq!(clock_gettime(&mut b.cx(), [0, MEM, 0, 0, 0, 0]), Ok(0));
        let ts = b.mem.read(MEM, 16).expect("bench memory");
        assert_eq!(le64(&ts[..8]), param::EPOCH_BASE_SECS + 1);
        assert_eq!(le64(&ts[8..]), 500_000_000);
    }

    #[test]
    fn clock_gettime_bad_clock_is_einval_bad_pointer_efault() {
        let mut b = Bench::new();
        assert_eq!(
            clock_gettime(&mut b.cx(), [99, MEM, 0, 0, 0, 0]),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            clock_gettime(&mut b.cx(), [1, 0x10, 0, 0, 0, 0]),
            Err(Errno::EFAULT)
        );
    }

    #[test]
    fn sleep_blocks_until_now_plus_duration() {
        let mut b = Bench::new();
        b.k.clock.ns = 100;
        b.mem
            .write(MEM, &[2u64.to_le_bytes(), 5u64.to_le_bytes()].concat())
            .expect("bench memory");
        match sleep(&mut b.cx(), 0, 0, MEM) {
            Outcome::Block(Wait::Until(d)) => assert_eq!(d, 2_000_000_105),
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn sleep_until_a_past_absolute_time_returns_at_once() {
        let mut b = Bench::new();
        b.k.clock.ns = 5_000;
        b.mem
            .write(MEM, &[0u64.to_le_bytes(), 10u64.to_le_bytes()].concat())
            .expect("bench memory");
        assert!(matches!(sleep(&mut b.cx(), 1, 1, MEM), Outcome::Ret(0)));
    }

    #[test]
    fn sleep_with_bad_timespec_is_einval_or_efault() {
        let mut b = Bench::new();
        b.mem
            .write(
                MEM,
                &[0u64.to_le_bytes(), 1_000_000_000u64.to_le_bytes()].concat(),
            )
            .expect("bench memory");
        assert!(
            matches!(sleep(&mut b.cx(), 0, 0, MEM), Outcome::Ret(v) if v == Errno::EINVAL.ret())
        );
        assert!(
            matches!(sleep(&mut b.cx(), 0, 0, 0x10), Outcome::Ret(v) if v == Errno::EFAULT.ret())
        );
    }

    #[test]
    fn alarm_returns_seconds_left_rounded_up() {
        let mut b = Bench::new();
        assert_eq!(alarm(&mut b.cx(), [3, 0, 0, 0, 0, 0]), Ok(0));
        b.k.clock.ns = 1_500_000_000;
        assert_eq!(alarm(&mut b.cx(), [0, 0, 0, 0, 0, 0]), Ok(2));
        assert_eq!(b.g.alarm_ns, None);
    }

    #[test]
    fn setitimer_arms_and_getitimer_reads_back() {
        let mut b = Bench::new();
        let mut v = [0u8; 32];
        v[16..24].copy_from_slice(&1u64.to_le_bytes());
        v[24..32].copy_from_slice(&250_000u64.to_le_bytes());
        b.mem.write(MEM, &v).expect("bench memory");
        assert_eq!(setitimer(&mut b.cx(), [0, MEM, 0, 0, 0, 0]), Ok(0));
        assert_eq!(b.g.alarm_ns, Some(1_250_000_000));
        assert_eq!(setitimer(&mut b.cx(), [0, 0, MEM + 64, 0, 0, 0]), Ok(0));
        let old = b.mem.read(MEM + 64, 32).expect("bench memory");
        assert_eq!((le64(&old[16..24]), le64(&old[24..32])), (1, 250_000));
        assert_eq!(
            setitimer(&mut b.cx(), [1, MEM, 0, 0, 0, 0]),
            Err(Errno::EINVAL)
        );
    }
}
