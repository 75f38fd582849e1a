//! Scheduling and synchronisation calls: sched_getaffinity(2) (the guest sees `--cpus`
//! CPUs) and futex(2) between the threads of an address space, with timeouts on virtual
//! time and a wake order that is part of the deterministic schedule.

use crate::errno::{Errno, SysResult};
use crate::guestmem::GuestMem;
use crate::machine::{FutexKey, Machine, PState, Pid, Wait};
use crate::syscalls::{Cx, Outcome};

/// futex(2) operations (include/uapi/linux/futex.h).
const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

/// sched_getaffinity(pid, size, mask): CPUs 0..cpus; returns the bytes written (one
/// 64-bit word: the kernel's cpumask size for at most 64 CPUs).
pub fn sched_getaffinity(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    if a[1] < 8 || !a[1].is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let mask = u64::MAX >> (64 - cx.k.cpus.clamp(1, 64));
    cx.mem.write_u64(a[2], mask)?;
    Ok(8)
}

/// sched_setaffinity(pid, size, mask): accepted when the mask names at least one of the
/// guest's CPUs (EINVAL otherwise, as Linux); threads still run one at a time.
pub fn sched_setaffinity(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let len = (a[1] as usize).min(128);
    let mask = cx.mem.read(a[2], len)?;
    let ours = u64::MAX >> (64 - cx.k.cpus.clamp(1, 64));
    let first = crate::guestmem::le64(&mask);
    if first & ours == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// membarrier(cmd, flags, cpu_id) (membarrier(2)): with one thread running at a time every
/// barrier is already in place. QUERY answers the commands supported; the others succeed.
pub fn membarrier(a: [u64; 6]) -> SysResult<u64> {
    const QUERY: u64 = 0;
    /// GLOBAL, GLOBAL_EXPEDITED (+register), PRIVATE_EXPEDITED (+register).
    const SUPPORTED: u64 = 1 | 2 | 4 | 8 | 16;
    match a[0] {
        QUERY => Ok(SUPPORTED),
        c if c & SUPPORTED == c && c.is_power_of_two() => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// FUTEX_REQUEUE, FUTEX_CMP_REQUEUE and FUTEX_WAKE_OP.
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
/// FUTEX_BITSET_MATCH_ANY.
const MATCH_ANY: u32 = u32::MAX;

/// The futex word at `addr` of task `tid`'s address space.
fn key_of(m: &Machine, tid: Pid, addr: u64) -> Option<FutexKey> {
    Some((m.group_of(tid)?.space, addr))
}

/// The waiters on `key` whose bitset meets `bitset`, in wake order: the order they began
/// to wait, or, under chaos scheduling, an order drawn from the schedule seed.
fn waiters(m: &mut Machine, key: FutexKey, bitset: u32) -> Vec<Pid> {
    let mut w: Vec<(u64, Pid)> = m
        .tasks
        .values()
        .filter_map(|t| match &t.state {
            PState::Blocked(Wait::Futex {
                key: k,
                bitset: b,
                seq,
                ..
            }) if *k == key && b & bitset != 0 => Some((*seq, t.tid)),
            _ => None,
        })
        .collect();
    w.sort();
    let mut w: Vec<Pid> = w.into_iter().map(|(_, t)| t).collect();
    if let Some(rng) = &mut m.sched_rng {
        for i in (1..w.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            w.swap(i, j);
        }
    }
    w
}

/// Wake at most `n` waiters on `addr` of task `tid`'s address space: their FUTEX_WAIT
/// returns 0. Returns how many woke.
pub fn futex_wake(m: &mut Machine, tid: Pid, addr: u64, n: u64, bitset: u32) -> u64 {
    let Some(key) = key_of(m, tid, addr) else {
        return 0;
    };
    let woken: Vec<Pid> = waiters(m, key, bitset)
        .into_iter()
        .take(n as usize)
        .collect();
    for &w in &woken {
        m.complete(w, 0);
    }
    woken.len() as u64
}

/// Move at most `n` waiters on `from` to wait on `to` instead (FUTEX_REQUEUE).
fn requeue(m: &mut Machine, from: FutexKey, to: FutexKey, n: u64) -> u64 {
    let moved: Vec<Pid> = waiters(m, from, MATCH_ANY)
        .into_iter()
        .take(n as usize)
        .collect();
    for w in &moved {
        if let Some(t) = m.tasks.get_mut(w) {
            if let PState::Blocked(Wait::Futex { key, .. }) = &mut t.state {
                *key = to;
            }
        }
    }
    moved.len() as u64
}

/// FUTEX_WAKE_OP's operation on the second word (include/uapi/linux/futex.h): the new
/// value and whether the old one passes the comparison.
pub fn wake_op(encoded: u32, old: u32) -> Result<(u32, bool), Errno> {
    let op = (encoded >> 28) & 0x7;
    let shift_arg = (encoded >> 28) & 0x8 != 0;
    let cmp = (encoded >> 24) & 0xf;
    let mut oparg = (encoded >> 12) & 0xfff;
    let cmparg = encoded & 0xfff;
    if shift_arg {
        oparg = 1u32.checked_shl(oparg).unwrap_or(0);
    }
    let new = match op {
        0 => oparg,
        1 => old.wrapping_add(oparg),
        2 => old | oparg,
        3 => old & !oparg,
        4 => old ^ oparg,
        _ => return Err(Errno::ENOSYS),
    };
    let (o, c) = (old as i32, cmparg as i32);
    let pass = match cmp {
        0 => o == c,
        1 => o != c,
        2 => o < c,
        3 => o <= c,
        4 => o > c,
        5 => o >= c,
        _ => return Err(Errno::ENOSYS),
    };
    Ok((new, pass))
}

/// futex(uaddr, op, val, timeout|val2, uaddr2, val3) (futex(2)): waits and wakes between
/// the threads of an address space, on virtual time.
pub fn futex(m: &mut Machine, tid: Pid, a: [u64; 6]) -> Outcome {
    let (uaddr, op, val) = (a[0], a[1], a[2] as u32);
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if uaddr % 4 != 0 {
        return Errno::EINVAL.into();
    }
    let Some(key) = key_of(m, tid, uaddr) else {
        return Errno::ESRCH.into();
    };
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT {
                MATCH_ANY
            } else {
                a[5] as u32
            };
            if bitset == 0 {
                return Errno::EINVAL.into();
            }
            let now = m.k.clock.ns;
            let epoch = m.k.epoch_ns;
            let Some(cpu) = m.cpu_of(tid) else {
                return Errno::ESRCH.into();
            };
            // FUTEX_WAIT's timeout is relative; FUTEX_WAIT_BITSET's is absolute on the
            // monotonic clock (or CLOCK_REALTIME with that flag).
            let deadline = if a[3] == 0 {
                None
            } else {
                let t = match cpu.read_timespec(a[3]) {
                    Ok(t) => t,
                    Err(e) => return e.into(),
                };
                Some(if cmd == FUTEX_WAIT {
                    now.saturating_add(t)
                } else if op & FUTEX_CLOCK_REALTIME != 0 {
                    t.saturating_sub(epoch)
                } else {
                    t
                })
            };
            match cpu.read_u32(uaddr) {
                Err(e) => e.into(),
                Ok(v) if v != val => Errno::EAGAIN.into(),
                Ok(_) if deadline.is_some_and(|d| d <= now) => Errno::ETIMEDOUT.into(),
                Ok(_) => {
                    let seq = m.k.futex_seq;
                    m.k.futex_seq += 1;
                    Outcome::Block(Wait::Futex {
                        key,
                        bitset,
                        deadline,
                        seq,
                    })
                }
            }
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bitset = if cmd == FUTEX_WAKE {
                MATCH_ANY
            } else {
                a[5] as u32
            };
            if bitset == 0 {
                return Errno::EINVAL.into();
            }
            Outcome::Ret(futex_wake(m, tid, uaddr, u64::from(val), bitset))
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            if cmd == FUTEX_CMP_REQUEUE {
                match m.cpu_of(tid).map(|c| c.read_u32(uaddr)) {
                    Some(Ok(v)) if v == a[5] as u32 => {}
                    Some(Ok(_)) => return Errno::EAGAIN.into(),
                    Some(Err(e)) => return e.into(),
                    None => return Errno::ESRCH.into(),
                }
            }
            let Some(to) = key_of(m, tid, a[4]) else {
                return Errno::ESRCH.into();
            };
            let woke = futex_wake(m, tid, uaddr, u64::from(val), MATCH_ANY);
            let moved = requeue(m, key, to, a[3] & 0x7fff_ffff);
            Outcome::Ret(woke + moved)
        }
        FUTEX_WAKE_OP => {
            let uaddr2 = a[4];
            let Some(cpu) = m.cpu_of(tid) else {
                return Errno::ESRCH.into();
            };
            let old = match cpu.read_u32(uaddr2) {
                Ok(v) => v,
                Err(e) => return e.into(),
            };
            let (new, pass) = match wake_op(a[5] as u32, old) {
                Ok(x) => x,
                Err(e) => return e.into(),
            };
            if let Err(e) = cpu.write_u32(uaddr2, new) {
                return e.into();
            }
            let mut woke = futex_wake(m, tid, uaddr, u64::from(val), MATCH_ANY);
            if pass {
                woke += futex_wake(m, tid, uaddr2, a[3] & 0x7fff_ffff, MATCH_ANY);
            }
            Outcome::Ret(woke)
        }
        _ => Errno::ENOSYS.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guestmem::GuestMem;
    use crate::syscalls::testing::{Bench, MEM};

    #[test]
    fn wake_op_set_and_compare() {
        // FUTEX_OP(SET, 5, CMP_EQ, 1): op 0, cmp 0, oparg 5, cmparg 1.
        let enc = (5 << 12) | 1;
        assert_eq!(wake_op(enc, 1), Ok((5, true)));
        assert_eq!(wake_op(enc, 2), Ok((5, false)));
    }

    #[test]
    fn wake_op_add_with_shifted_arg_and_cmp_gt() {
        // FUTEX_OP(ADD | OPARG_SHIFT, 3, CMP_GT, 0): new = old + (1 << 3).
        let enc = ((1 | 8) << 28) | (4 << 24) | (3 << 12);
        assert_eq!(wake_op(enc, 2), Ok((10, true)));
        assert_eq!(wake_op(enc, 0), Ok((8, false)));
    }

    #[test]
    fn wake_op_unknown_op_is_enosys() {
        assert_eq!(wake_op(7 << 28, 0), Err(Errno::ENOSYS));
        assert_eq!(wake_op(9 << 24, 0), Err(Errno::ENOSYS));
    }

    #[test]
    fn setaffinity_needs_one_of_the_guests_cpus() {
        let mut b = Bench::new();
        b.mem.write_u64(MEM, 0b10).expect("bench memory");
        assert_eq!(
            sched_setaffinity(&mut b.cx(), [0, 8, MEM, 0, 0, 0]),
            Err(Errno::EINVAL)
        );
        b.k.cpus = 2;
        assert_eq!(sched_setaffinity(&mut b.cx(), [0, 8, MEM, 0, 0, 0]), Ok(0));
        assert_eq!(
            sched_setaffinity(&mut b.cx(), [0, 8, 0x10, 0, 0, 0]),
            Err(Errno::EFAULT)
        );
    }

    #[test]
    fn membarrier_query_and_commands() {
        assert_eq!(membarrier([0, 0, 0, 0, 0, 0]), Ok(31));
        assert_eq!(membarrier([8, 0, 0, 0, 0, 0]), Ok(0));
        assert_eq!(membarrier([64, 0, 0, 0, 0, 0]), Err(Errno::EINVAL));
    }

    #[test]
    fn affinity_is_one_cpu_and_small_mask_einval() {
        let mut b = Bench::new();
        assert_eq!(
            sched_getaffinity(&mut b.cx(), [0, 128, MEM, 0, 0, 0]),
            Ok(8)
        );
        assert_eq!(b.mem.read_u64(MEM).expect("bench memory"), 1);
        assert_eq!(
            sched_getaffinity(&mut b.cx(), [0, 4, MEM, 0, 0, 0]),
            Err(Errno::EINVAL)
        );
    }
}
