//! poll(2) and ppoll(2): which fds are ready now, and the wait for one to become ready or
//! for the deadline. Pipes answer from `crate::pipe`; files are always ready; the console
//! is ready unless /proc is served and its reader has brought nothing yet.

use crate::errno::Errno;
use crate::fdtable::{Console, FdTable, FileKind};
use crate::guestmem::le64;
use crate::machine::{Machine, Pid, Wait};
use crate::pipe::{POLLIN, POLLNVAL, POLLOUT};
use crate::syscalls::{Cx, Outcome};
use crate::vfs::DevKind;

/// Most fds one poll takes (Linux RLIMIT_NOFILE's default hard limit is larger; glass caps
/// the set at its own fd table size).
const POLL_MAX: u64 = 1024;

/// The revents of `fd` for `events`. `console_in`: whether a console read would return at
/// once (always, unless /proc is served and the reader thread has brought nothing yet).
pub fn ready_events(fds: &FdTable, fd: i32, events: u16, console_in: bool) -> u16 {
    if fd < 0 {
        return 0;
    }
    let Ok(f) = fds.get(fd) else {
        return POLLNVAL;
    };
    let f = f.borrow();
    match &f.kind {
        FileKind::PipeRead(pp) => pp.borrow().read_events(events),
        FileKind::PipeWrite(pp) => pp.borrow().write_events(events),
        FileKind::Console(Console::Stdin) | FileKind::Dev(DevKind::Tty) if !console_in => {
            events & POLLOUT
        }
        _ => events & (POLLIN | POLLOUT),
    }
}

/// poll(fds, n, timeout): fill in revents and return the ready count, or wait.
pub fn poll(cx: &mut Cx, fds: u64, n: u64, timeout_ns: Option<u64>) -> Outcome {
    if n > POLL_MAX {
        return Errno::EINVAL.into();
    }
    // The set may hold the console, which needs its reader running to become ready.
    if cx.k.console_in.is_some() {
        cx.k.start_console_reader();
    }
    let console_in = cx.k.console_in.as_ref().is_none_or(|c| c.readable());
    let mut raw = match cx.mem.read(fds, n as usize * 8) {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    let mut ready = 0;
    let mut set = Vec::new();
    for c in raw.chunks_exact_mut(8) {
        let fd = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        let events = u16::from_le_bytes([c[4], c[5]]);
        let re = ready_events(&cx.g.fds, fd, events, console_in);
        c[6..8].copy_from_slice(&re.to_le_bytes());
        if re != 0 {
            ready += 1;
        }
        set.push((fd, events));
    }
    if ready > 0 || timeout_ns == Some(0) {
        return match cx.mem.write(fds, &raw) {
            Ok(()) => Outcome::Ret(ready),
            Err(e) => e.into(),
        };
    }
    let deadline = timeout_ns.map(|t| cx.k.clock.ns.saturating_add(t));
    Outcome::Block(Wait::Poll(set, deadline))
}

/// ppoll(fds, n, timeout*, sigmask, size): the timeout is a timespec (NULL waits forever);
/// a timeout pointer that faults is EFAULT, as on Linux.
pub fn ppoll(cx: &mut Cx, a: [u64; 6]) -> Outcome {
    let t = if a[2] == 0 {
        None
    } else {
        match cx.mem.read(a[2], 16) {
            Ok(ts) => {
                let (s, ns) = (le64(&ts[..8]) as i64, le64(&ts[8..]) as i64);
                if s < 0 || !(0..1_000_000_000).contains(&ns) {
                    return Errno::EINVAL.into();
                }
                Some(
                    (s as u64)
                        .saturating_mul(1_000_000_000)
                        .saturating_add(ns as u64),
                )
            }
            Err(e) => return e.into(),
        }
    };
    poll(cx, a[0], a[1], t)
}

impl Machine {
    /// Is any fd of a blocked poll of task `tid` ready?
    pub fn poll_ready(&self, tid: Pid, set: &[(i32, u16)]) -> bool {
        let console_in = self.k.console_in.as_ref().is_none_or(|c| c.readable());
        let Some(g) = self.group_of(tid) else {
            return false;
        };
        set.iter()
            .any(|&(fd, ev)| ready_events(&g.fds, fd, ev, console_in) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guestmem::GuestMem;
    use crate::syscalls::testing::{Bench, MEM};

    fn pollfd(fd: i32, events: u16) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&fd.to_le_bytes());
        b[4..6].copy_from_slice(&events.to_le_bytes());
        b
    }

    #[test]
    fn ppoll_with_faulting_timeout_pointer_is_efault() {
        let mut b = Bench::new();
        b.mem.write(MEM, &pollfd(0, POLLIN)).expect("bench memory");
        let o = ppoll(&mut b.cx(), [MEM, 1, 0x10, 0, 8, 0]);
        assert!(
            matches!(o, Outcome::Ret(v) if v == Errno::EFAULT.ret()),
            "{o:?}"
        );
    }

    #[test]
    fn ppoll_with_negative_timeout_is_einval() {
        let mut b = Bench::new();
        b.mem.write(MEM, &pollfd(0, POLLIN)).expect("bench memory");
        b.mem
            .write(MEM + 64, &(-1i64).to_le_bytes())
            .expect("bench memory");
        b.mem
            .write(MEM + 72, &0u64.to_le_bytes())
            .expect("bench memory");
        let o = ppoll(&mut b.cx(), [MEM, 1, MEM + 64, 0, 8, 0]);
        assert!(
            matches!(o, Outcome::Ret(v) if v == Errno::EINVAL.ret()),
            "{o:?}"
        );
    }

    #[test]
    fn poll_closed_fd_is_pollnval_and_negative_fd_ignored() {
        let mut b = Bench::new();
        b.mem
            .write(MEM, &[pollfd(9, POLLIN), pollfd(-1, POLLIN)].concat())
            .expect("bench memory");
        assert!(matches!(
            poll(&mut b.cx(), MEM, 2, Some(0)),
            Outcome::Ret(1)
        ));
        let out = b.mem.read(MEM, 16).expect("bench memory");
        assert_eq!(u16::from_le_bytes([out[6], out[7]]), POLLNVAL);
        assert_eq!(u16::from_le_bytes([out[14], out[15]]), 0);
    }

    #[test]
    fn poll_of_empty_pipe_waits_with_deadline() {
        let mut b = Bench::new();
        assert!(matches!(
            crate::pipe::pipe2(&mut b.cx(), MEM + 256, 0),
            Ok(0)
        ));
        b.mem.write(MEM, &pollfd(3, POLLIN)).expect("bench memory");
        b.k.clock.ns = 10;
        match poll(&mut b.cx(), MEM, 1, Some(5)) {
            Outcome::Block(Wait::Poll(set, Some(15))) => assert_eq!(set, vec![(3, POLLIN)]),
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn poll_of_too_many_fds_is_einval() {
        let mut b = Bench::new();
        assert!(
            matches!(poll(&mut b.cx(), MEM, 1025, None), Outcome::Ret(v) if v == Errno::EINVAL.ret())
        );
    }

    #[test]
    fn console_stdin_not_ready_while_reader_has_nothing() {
        let b = Bench::new();
        assert_eq!(ready_events(&b.g.fds, 0, POLLIN, false), 0);
        assert_eq!(ready_events(&b.g.fds, 0, POLLIN, true), POLLIN);
        assert_eq!(ready_events(&b.g.fds, 1, POLLOUT, false), POLLOUT);
    }
}
