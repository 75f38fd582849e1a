//! Scheduling and synchronisation calls: sched_getaffinity(2) (the guest sees one CPU) and
//! futex(2) for single-threaded processes.

use crate::errno::{Errno, SysResult};
use crate::syscalls::Cx;

/// futex(2) operations (include/uapi/linux/futex.h).
const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

/// sched_getaffinity(pid, size, mask): CPU 0 only; returns the bytes written.
pub fn sched_getaffinity(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    if a[1] < 8 {
        return Err(Errno::EINVAL);
    }
    cx.mem.write_u64(a[2], 1)?;
    Ok(8)
}

/// futex(2) for a single-threaded process: a wait whose value differs returns EAGAIN; one
/// that would sleep could never be woken, so it times out at once.
pub fn futex(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    match a[1] & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            if cx.mem.read_u32(a[0])? != a[2] as u32 {
                Err(Errno::EAGAIN)
            } else {
                Err(Errno::ETIMEDOUT)
            }
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => Ok(0),
        _ => Err(Errno::ENOSYS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guestmem::GuestMem;
    use crate::syscalls::testing::{Bench, MEM};

    #[test]
    fn futex_wait_on_changed_value_is_eagain() {
        let mut b = Bench::new();
        b.mem.write_u32(MEM, 7).unwrap();
        assert_eq!(
            futex(
                &mut b.cx(),
                [MEM, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 6, 0, 0, 0]
            ),
            Err(Errno::EAGAIN)
        );
        assert_eq!(
            futex(&mut b.cx(), [MEM, FUTEX_WAIT, 7, 0, 0, 0]),
            Err(Errno::ETIMEDOUT)
        );
    }

    #[test]
    fn futex_on_bad_address_is_efault() {
        let mut b = Bench::new();
        assert_eq!(
            futex(&mut b.cx(), [0x10, FUTEX_WAIT, 0, 0, 0, 0]),
            Err(Errno::EFAULT)
        );
    }

    #[test]
    fn affinity_is_one_cpu_and_small_mask_einval() {
        let mut b = Bench::new();
        assert_eq!(
            sched_getaffinity(&mut b.cx(), [0, 128, MEM, 0, 0, 0]),
            Ok(8)
        );
        assert_eq!(b.mem.read_u64(MEM).unwrap(), 1);
        assert_eq!(
            sched_getaffinity(&mut b.cx(), [0, 4, MEM, 0, 0, 0]),
            Err(Errno::EINVAL)
        );
    }
}
