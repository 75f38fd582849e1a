//! Signal system calls (rt_sigaction(2), rt_sigprocmask(2), rt_sigpending(2),
//! rt_sigsuspend(2), kill(2), tkill(2), tgkill(2)); posting and delivery are in
//! `crate::signal`.

use crate::cpu::Arch;
use crate::errno::{Errno, SysResult};
use crate::guestmem::le64;
use crate::guestmem::GuestMem;
use crate::machine::{Machine, Pid, SigAction, Wait};
use crate::signal::{new_mask, SIGKILL, SIGSTOP, UNBLOCKABLE};
use crate::syscalls::{Cx, Outcome};

/// The kernel's sigset_t is 64 bits on every arch glass runs.
const SIGSET_SIZE: u64 = 8;

/// rt_sigaction(sig, act, oact, sigsetsize): struct kernel_sigaction is {handler, flags,
/// restorer, mask} on x86_64 and arm64; riscv has no sa_restorer (asm-generic without
/// SA_RESTORER): {handler, flags, mask}.
pub fn rt_sigaction(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let sig = a[0] as usize;
    if sig == 0 || sig > crate::param::NSIG || a[3] != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let with_restorer = cx.arch != Arch::Riscv64;
    if a[2] != 0 {
        let o = cx.g.sigactions[sig];
        let fields: &[u64] = if with_restorer {
            &[o.handler, o.flags, o.restorer, o.mask]
        } else {
            &[o.handler, o.flags, o.mask]
        };
        let b: Vec<u8> = fields.iter().flat_map(|v| v.to_le_bytes()).collect();
        cx.mem.write(a[2], &b)?;
    }
    if a[1] != 0 {
        if sig == SIGKILL as usize || sig == SIGSTOP as usize {
            return Err(Errno::EINVAL);
        }
        let b = cx.mem.read(a[1], if with_restorer { 32 } else { 24 })?;
        let w = |i: usize| le64(&b[i * 8..]);
        cx.g.sigactions[sig] = if with_restorer {
            SigAction {
                handler: w(0),
                flags: w(1),
                restorer: w(2),
                mask: w(3),
            }
        } else {
            SigAction {
                handler: w(0),
                flags: w(1),
                restorer: 0,
                mask: w(2),
            }
        };
    }
    Ok(0)
}

/// rt_sigprocmask(how, set, oldset, sigsetsize).
pub fn rt_sigprocmask(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    if a[3] != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let old = cx.t.sigmask;
    if a[1] != 0 {
        let set = cx.mem.read_u64(a[1])?;
        cx.t.sigmask = new_mask(a[0], old, set)?;
    }
    if a[2] != 0 {
        cx.mem.write_u64(a[2], old)?;
    }
    Ok(0)
}

/// rt_sigpending(set, sigsetsize): the pending signals that are blocked.
pub fn rt_sigpending(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    if a[1] != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    cx.mem.write_u64(a[0], cx.t.sig_pending & cx.t.sigmask)?;
    Ok(0)
}

/// rt_sigsuspend(mask, size): wait for a signal with `mask`; the old mask comes back after
/// the handler.
pub fn rt_sigsuspend(cx: &mut Cx, a: [u64; 6]) -> Outcome {
    match cx.mem.read_u64(a[0]) {
        Ok(m) => {
            cx.t.saved_mask = Some(cx.t.sigmask);
            cx.t.sigmask = m & !UNBLOCKABLE;
            Outcome::Block(Wait::Signal)
        }
        Err(e) => e.into(),
    }
}

/// sigaltstack flags (include/uapi/linux/signal.h) and the smallest stack allowed
/// (MINSIGSTKSZ: 2048 on x86_64, 5120 on arm64, 2048 on riscv).
const SS_ONSTACK: u32 = 1;
const SS_DISABLE: u32 = 2;

fn min_sigstack(arch: Arch) -> u64 {
    match arch {
        Arch::Aarch64 => 5120,
        Arch::X86_64 | Arch::Riscv64 => 2048,
    }
}

/// sigaltstack(ss, old_ss): struct stack_t {ss_sp, ss_flags (int, padded), ss_size}. The
/// old stack reads SS_ONSTACK while the thread runs on it, and it cannot be changed then.
pub fn sigaltstack(m: &mut Machine, tid: Pid, a: [u64; 6]) -> SysResult<u64> {
    let p = m.parts(tid).ok_or(Errno::ESRCH)?;
    let sp = p.s.cpu.sp();
    let arch = p.s.cpu.arch;
    let on =
        p.t.altstack
            .is_some_and(|(base, size)| sp.wrapping_sub(base) < size);
    if a[1] != 0 {
        let (base, size) = p.t.altstack.unwrap_or((0, 0));
        let flags = match p.t.altstack {
            None => SS_DISABLE,
            Some(_) if on => SS_ONSTACK,
            Some(_) => 0,
        };
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&base.to_le_bytes());
        b[8..12].copy_from_slice(&flags.to_le_bytes());
        b[16..].copy_from_slice(&size.to_le_bytes());
        p.s.cpu.write(a[1], &b)?;
    }
    if a[0] != 0 {
        let b = p.s.cpu.read(a[0], 24)?;
        let (base, flags, size) = (le64(&b[..8]), le64(&b[8..12]) as u32, le64(&b[16..]));
        if on {
            return Err(Errno::EPERM);
        }
        // SS_AUTODISARM (1 << 31) may be given; it is honoured as a plain stack here.
        match flags & !(1 << 31) {
            SS_DISABLE => p.t.altstack = None,
            0 | SS_ONSTACK => {
                if size < min_sigstack(arch) {
                    return Err(Errno::ENOMEM);
                }
                p.t.altstack = Some((base, size));
            }
            _ => return Err(Errno::EINVAL),
        }
    }
    Ok(0)
}

/// kill(pid, sig): pid > 0 that process, 0 the caller's process group, -1 every process
/// but init and the caller, < -1 the process group -pid; signal 0 only checks.
pub fn kill(m: &mut Machine, tid: Pid, pid: i32, sig: i32) -> Outcome {
    if !(0..=crate::param::NSIG as i32).contains(&sig) {
        return Errno::EINVAL.into();
    }
    let Some(me) = m.group_of(tid) else {
        return Errno::ESRCH.into();
    };
    let (my_pid, my_pgid) = (me.pid.0, me.pgid);
    let targets: Vec<Pid> = m
        .groups
        .values()
        .filter(|g| m.live(g.pid))
        .filter(|g| match pid {
            p if p > 0 => g.pid.0 == p as u32,
            0 => g.pgid == my_pgid,
            -1 => g.pid.0 != crate::param::INIT_PID && g.pid.0 != my_pid,
            p => g.pgid == p.unsigned_abs(),
        })
        .map(|g| g.pid)
        .collect();
    if targets.is_empty() {
        return Errno::ESRCH.into();
    }
    if sig != 0 {
        for t in targets {
            m.post_process_signal_from(t, sig, my_pid);
        }
    }
    Outcome::Ret(0)
}

/// tgkill(tgid, tid, sig) and tkill(tid, sig) (tgid None): a signal to one thread.
pub fn tgkill(m: &mut Machine, me: Pid, tgid: Option<i32>, tid: i32, sig: i32) -> Outcome {
    if !(0..=crate::param::NSIG as i32).contains(&sig) || tid <= 0 || tgid.is_some_and(|g| g <= 0) {
        return Errno::EINVAL.into();
    }
    let target = Pid(tid as u32);
    match m.tasks.get(&target) {
        Some(t) if !t.state.is_zombie() && tgid.is_none_or(|g| t.tgid.0 == g as u32) => {}
        _ => return Errno::ESRCH.into(),
    }
    if sig != 0 {
        let from = m.group_of(me).map_or(0, |g| g.pid.0);
        m.post_signal_from(target, sig, crate::signal::SI_TKILL, from);
    }
    Outcome::Ret(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::{bit, SIGINT, SIGTERM};
    use crate::syscalls::testing::{Bench, MEM};

    #[test]
    fn sigaction_x86_64_layout_round_trips() {
        let mut b = Bench::new();
        let act: Vec<u8> = [0x401000u64, 0x0400_0000, 0x402000, bit(SIGINT)]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        b.mem.write(MEM, &act).expect("bench memory");
        assert_eq!(
            rt_sigaction(&mut b.cx(), [SIGTERM as u64, MEM, MEM + 64, 8, 0, 0]),
            Ok(0)
        );
        assert_eq!(b.g.sigactions[SIGTERM as usize].restorer, 0x402000);
        assert_eq!(
            rt_sigaction(&mut b.cx(), [SIGTERM as u64, 0, MEM + 128, 8, 0, 0]),
            Ok(0)
        );
        assert_eq!(b.mem.read(MEM + 128, 32).expect("bench memory"), act);
    }

    #[test]
    fn sigaction_riscv64_has_no_restorer_field() {
        let mut b = Bench::with_arch(Arch::Riscv64);
        let act: Vec<u8> = [0x1000u64, 4, bit(SIGINT)]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        b.mem.write(MEM, &act).expect("bench memory");
        assert_eq!(
            rt_sigaction(&mut b.cx(), [SIGTERM as u64, MEM, 0, 8, 0, 0]),
            Ok(0)
        );
        let sa = b.g.sigactions[SIGTERM as usize];
        assert_eq!(
            (sa.handler, sa.flags, sa.restorer, sa.mask),
            (0x1000, 4, 0, bit(SIGINT))
        );
    }

    #[test]
    fn sigaction_on_sigkill_or_bad_size_is_einval() {
        let mut b = Bench::new();
        assert_eq!(
            rt_sigaction(&mut b.cx(), [9, MEM, 0, 8, 0, 0]),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            rt_sigaction(&mut b.cx(), [2, MEM, 0, 16, 0, 0]),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            rt_sigaction(&mut b.cx(), [65, 0, 0, 8, 0, 0]),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn sigaction_bad_pointer_is_efault_and_keeps_old_action() {
        let mut b = Bench::new();
        assert_eq!(
            rt_sigaction(&mut b.cx(), [2, 0x10, 0, 8, 0, 0]),
            Err(Errno::EFAULT)
        );
        assert_eq!(b.g.sigactions[2], SigAction::default());
    }

    #[test]
    fn sigprocmask_writes_old_mask_and_sets_new() {
        let mut b = Bench::new();
        b.t.sigmask = bit(SIGINT);
        b.mem.write_u64(MEM, bit(SIGTERM)).expect("bench memory");
        assert_eq!(
            rt_sigprocmask(&mut b.cx(), [0, MEM, MEM + 8, 8, 0, 0]),
            Ok(0)
        );
        assert_eq!(b.t.sigmask, bit(SIGINT) | bit(SIGTERM));
        assert_eq!(b.mem.read_u64(MEM + 8).expect("bench memory"), bit(SIGINT));
    }

    #[test]
    fn sigprocmask_bad_set_pointer_is_efault_and_mask_unchanged() {
        let mut b = Bench::new();
        b.t.sigmask = bit(SIGINT);
        assert_eq!(
            rt_sigprocmask(&mut b.cx(), [2, 0x10, 0, 8, 0, 0]),
            Err(Errno::EFAULT)
        );
        assert_eq!(b.t.sigmask, bit(SIGINT));
    }

    #[test]
    fn sigpending_shows_only_blocked_pending() {
        let mut b = Bench::new();
        b.t.sig_pending = bit(SIGINT) | bit(SIGTERM);
        b.t.sigmask = bit(SIGTERM);
        assert_eq!(rt_sigpending(&mut b.cx(), [MEM, 8, 0, 0, 0, 0]), Ok(0));
        assert_eq!(b.mem.read_u64(MEM).expect("bench memory"), bit(SIGTERM));
    }

    #[test]
    fn sigsuspend_saves_mask_and_waits() {
        let mut b = Bench::new();
        b.t.sigmask = bit(SIGINT);
        b.mem.write_u64(MEM, u64::MAX).expect("bench memory");
        assert!(matches!(
            rt_sigsuspend(&mut b.cx(), [MEM, 8, 0, 0, 0, 0]),
            Outcome::Block(Wait::Signal)
        ));
        assert_eq!(b.t.saved_mask, Some(bit(SIGINT)));
        assert_eq!(b.t.sigmask, !UNBLOCKABLE);
    }
}
