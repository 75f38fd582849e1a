//! poll(2), ppoll(2) and epoll(7): which fds are ready now, and the wait for one to become
//! ready or for the deadline. Pipes answer from `crate::pipe`; files are always ready; the
//! console is ready unless /proc is served and its reader has brought nothing yet. Epoll
//! keeps its interest list by fd; an edge-triggered item reports only readiness that
//! appeared since it was last looked at.

use crate::errno::Errno;
use crate::fdtable::{Console, Epoll, EpollItem, FdTable, FileKind, OpenFile, O_CLOEXEC, O_RDWR};
use crate::guestmem::{le32, le64};
use crate::machine::{Machine, Pid, Wait};
use crate::pipe::{POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT};
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
    poll_masked(cx, fds, n, timeout_ns, 0)
}

/// poll under ppoll's temporary signal mask `maskp` (0: none) while it waits.
fn poll_masked(cx: &mut Cx, fds: u64, n: u64, timeout_ns: Option<u64>, maskp: u64) -> Outcome {
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
        leave_mask(cx);
        return match cx.mem.write(fds, &raw) {
            Ok(()) => Outcome::Ret(ready),
            Err(e) => e.into(),
        };
    }
    if let Err(e) = enter_mask(cx, maskp) {
        return e.into();
    }
    let deadline = timeout_ns.map(|t| cx.k.clock.ns.saturating_add(t));
    Outcome::Block(Wait::Poll(set, deadline))
}

/// ppoll(fds, n, timeout*, sigmask, size): the timeout is a timespec (NULL waits forever);
/// a timeout pointer that faults is EFAULT, as on Linux. The mask holds while it waits.
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
    if a[3] != 0 && a[4] != 8 {
        return Errno::EINVAL.into();
    }
    poll_masked(cx, a[0], a[1], t, a[3])
}

/// Enter a call's temporary signal mask (ppoll, pselect6: a NULL pointer keeps the mask):
/// the old one is kept in `saved_mask`, to come back when the call returns
/// ([`leave_mask`], `Machine::complete`) or after the handler of a signal that interrupts it.
fn enter_mask(cx: &mut Cx, maskp: u64) -> Result<(), Errno> {
    if maskp == 0 || cx.t.saved_mask.is_some() {
        return Ok(());
    }
    let m = cx.mem.read_u64(maskp)?;
    cx.t.saved_mask = Some(cx.t.sigmask);
    cx.t.sigmask = m & !crate::signal::UNBLOCKABLE;
    Ok(())
}

/// The call returns: its temporary mask (if it waited under one) gives way to the old one.
fn leave_mask(cx: &mut Cx) {
    if let Some(m) = cx.t.saved_mask.take() {
        cx.t.sigmask = m;
    }
}

/// select's readiness classes (fs/select.c POLLIN_SET, POLLOUT_SET, POLLEX_SET): hangup
/// and error make an fd readable, error makes it writable; nothing here has priority data.
const POLLIN_SET: u16 = POLLIN | POLLHUP | POLLERR;
const POLLOUT_SET: u16 = POLLOUT | POLLERR;

/// Most fds a select set covers here (glibc FD_SETSIZE; glass's fd table is no larger).
const SELECT_MAX: u64 = 1024;

/// select/pselect6 on the three fd_sets at `sets` (read, write, except; each NULL or an
/// array of unsigned long, bit fd%64 of word fd/64) for fds below `n`: write back the ready
/// ones and return how many bits are set, or wait until one is ready or the deadline.
/// `maskp`: pselect6's temporary signal mask (0: none).
///
/// On a timeout the sets are left as passed (Linux clears them) and the timeout is not
/// written back with the time not slept: callers test the count, which is 0.
fn select(cx: &mut Cx, n: u64, sets: [u64; 3], timeout_ns: Option<u64>, maskp: u64) -> Outcome {
    // The count is an int: the upper half of the register is not looked at.
    let Ok(n) = u64::try_from(n as i32) else {
        return Errno::EINVAL.into();
    };
    let n = n.min(SELECT_MAX);
    let bytes = n.div_ceil(64) as usize * 8;
    let mut input = [vec![0u8; bytes], vec![0u8; bytes], vec![0u8; bytes]];
    for (buf, &p) in input.iter_mut().zip(&sets) {
        if p != 0 && bytes > 0 {
            match cx.mem.read(p, bytes) {
                Ok(b) => *buf = b,
                Err(e) => return e.into(),
            }
        }
    }
    if cx.k.console_in.is_some() {
        cx.k.start_console_reader();
    }
    let console_in = cx.k.console_in.as_ref().is_none_or(|c| c.readable());
    let bit = |b: &[u8], fd: usize| b[fd / 8] & (1 << (fd % 8)) != 0;
    let mut out = [vec![0u8; bytes], vec![0u8; bytes], vec![0u8; bytes]];
    let mut ready = 0u64;
    let mut set = Vec::new();
    for fd in 0..n as usize {
        let (r, w, x) = (bit(&input[0], fd), bit(&input[1], fd), bit(&input[2], fd));
        if !(r || w || x) {
            continue;
        }
        let events = if r { POLLIN } else { 0 } | if w { POLLOUT } else { 0 };
        let re = ready_events(&cx.g.fds, fd as i32, POLLIN | POLLOUT, console_in);
        if re & POLLNVAL != 0 {
            return Errno::EBADF.into();
        }
        for (i, (asked, class)) in [(r, POLLIN_SET), (w, POLLOUT_SET)].into_iter().enumerate() {
            if asked && re & class != 0 {
                out[i][fd / 8] |= 1 << (fd % 8);
                ready += 1;
            }
        }
        set.push((fd as i32, events));
    }
    if ready > 0 || timeout_ns == Some(0) {
        leave_mask(cx);
        for (buf, &p) in out.iter().zip(&sets) {
            if p != 0 && bytes > 0 {
                if let Err(e) = cx.mem.write(p, buf) {
                    return e.into();
                }
            }
        }
        return Outcome::Ret(ready);
    }
    if let Err(e) = enter_mask(cx, maskp) {
        return e.into();
    }
    let deadline = timeout_ns.map(|t| cx.k.clock.ns.saturating_add(t));
    Outcome::Block(Wait::Poll(set, deadline))
}

/// select(n, r, w, x, timeval*) (x86_64 only): the timeout in microseconds, NULL forever.
pub fn select_timeval(cx: &mut Cx, a: [u64; 6]) -> Outcome {
    let t = if a[4] == 0 {
        None
    } else {
        match cx.mem.read(a[4], 16) {
            Ok(tv) => {
                let (s, us) = (le64(&tv[..8]) as i64, le64(&tv[8..]) as i64);
                if s < 0 || !(0..1_000_000).contains(&us) {
                    return Errno::EINVAL.into();
                }
                Some(
                    (s as u64)
                        .saturating_mul(1_000_000_000)
                        .saturating_add(us as u64 * 1000),
                )
            }
            Err(e) => return e.into(),
        }
    };
    select(cx, a[0], [a[1], a[2], a[3]], t, 0)
}

/// pselect6(n, r, w, x, timespec*, {sigset*, size}*): the sixth argument points at a
/// pointer to the temporary mask and its size (fs/select.c), either may be NULL.
pub fn pselect6(cx: &mut Cx, a: [u64; 6]) -> Outcome {
    let t = if a[4] == 0 {
        None
    } else {
        match cx.mem.read_timespec(a[4]) {
            Ok(t) => Some(t),
            Err(e) => return e.into(),
        }
    };
    let maskp = if a[5] == 0 {
        0
    } else {
        match cx.mem.read(a[5], 16) {
            Ok(b) => {
                let (p, size) = (le64(&b[..8]), le64(&b[8..]));
                if p != 0 && size != 8 {
                    return Errno::EINVAL.into();
                }
                p
            }
            Err(e) => return e.into(),
        }
    };
    select(cx, a[0], [a[1], a[2], a[3]], t, maskp)
}

/// epoll event bits (include/uapi/linux/eventpoll.h).
const EPOLLIN: u32 = 0x1;
const EPOLLOUT: u32 = 0x4;
const EPOLLERR: u32 = 0x8;
const EPOLLHUP: u32 = 0x10;
const EPOLLRDHUP: u32 = 0x2000;
const EPOLLONESHOT: u32 = 1 << 30;
const EPOLLET: u32 = 1 << 31;
/// epoll_ctl operations.
const EPOLL_CTL_ADD: u64 = 1;
const EPOLL_CTL_DEL: u64 = 2;
const EPOLL_CTL_MOD: u64 = 3;
/// Most events one epoll_wait returns (Linux EP_MAX_EVENTS).
const EP_MAX_EVENTS: u64 = i32::MAX as u64 / 16;

/// struct epoll_event: packed {u32 events; u64 data} (12 bytes) on x86_64, naturally
/// aligned (16 bytes) elsewhere.
fn event_size(arch: crate::cpu::Arch) -> usize {
    if arch == crate::cpu::Arch::X86_64 {
        12
    } else {
        16
    }
}

/// The readiness of `fd` for the epoll `events`, in epoll bits.
fn epoll_ready(fds: &FdTable, fd: i32, events: u32, console_in: bool) -> u32 {
    let asked = (events & (EPOLLIN | EPOLLOUT)) as u16;
    let re = u32::from(ready_events(fds, fd, asked, console_in));
    let mut r = re & (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP);
    if r & EPOLLHUP != 0 {
        r |= events & EPOLLRDHUP;
    }
    r
}

/// What an item reports now: for edge-triggered items only bits that were not set when it
/// was last looked at. With `update`, remember what was seen (and disarm a one-shot item
/// that reported).
fn item_report(item: &mut EpollItem, ready: u32, update: bool) -> u32 {
    let report = if item.events & EPOLLET != 0 {
        ready & !item.last
    } else {
        ready
    };
    if update {
        item.last = ready;
        if report != 0 && item.events & EPOLLONESHOT != 0 {
            item.events &= EPOLLONESHOT | EPOLLET;
        }
    }
    report
}

/// The epoll instance behind `epfd`.
fn epoll_of(fds: &FdTable, epfd: i32) -> Result<crate::fdtable::EpollRef, Errno> {
    let f = fds.get(epfd)?;
    let f = f.borrow();
    match &f.kind {
        FileKind::Epoll(e) => Ok(e.clone()),
        _ => Err(Errno::EINVAL),
    }
}

/// epoll_create1(flags) (and epoll_create(size), size only checked): a new instance.
pub fn epoll_create1(cx: &mut Cx, flags: u64) -> Result<u64, Errno> {
    if flags & !u64::from(O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let id = cx.k.next_pipe;
    cx.k.next_pipe += 1;
    let ep = Epoll {
        id,
        ..Epoll::default()
    };
    let f = OpenFile::new(
        FileKind::Epoll(std::rc::Rc::new(std::cell::RefCell::new(ep))),
        "anon_inode:[eventpoll]".into(),
        O_RDWR,
    );
    Ok(cx.g.fds.install(f, flags != 0, 0)? as u64)
}

/// epoll_ctl(epfd, op, fd, event*).
pub fn epoll_ctl(cx: &mut Cx, a: [u64; 6]) -> Result<u64, Errno> {
    let (epfd, op, fd) = (a[0] as i32, a[1], a[2] as i32);
    let ep = epoll_of(&cx.g.fds, epfd)?;
    let target = cx.g.fds.get(fd)?;
    if fd == epfd {
        return Err(Errno::EINVAL);
    }
    // Regular files and directories cannot be polled (epoll_ctl(2): EPERM).
    if matches!(
        target.borrow().kind,
        FileKind::Host(_) | FileKind::Mem(_) | FileKind::Dir(_)
    ) {
        return Err(Errno::EPERM);
    }
    let event = if op == EPOLL_CTL_DEL {
        None
    } else {
        let b = cx.mem.read(a[3], event_size(cx.arch))?;
        let data_at = event_size(cx.arch) - 8;
        Some((le32(&b[..4]), le64(&b[data_at..])))
    };
    let mut ep = ep.borrow_mut();
    match (op, event) {
        (EPOLL_CTL_ADD, Some((events, data))) => {
            if ep.items.contains_key(&fd) {
                return Err(Errno::EEXIST);
            }
            ep.items.insert(
                fd,
                EpollItem {
                    events,
                    data,
                    last: 0,
                },
            );
        }
        (EPOLL_CTL_MOD, Some((events, data))) => {
            let item = ep.items.get_mut(&fd).ok_or(Errno::ENOENT)?;
            *item = EpollItem {
                events,
                data,
                last: 0,
            };
        }
        (EPOLL_CTL_DEL, _) => {
            ep.items.remove(&fd).ok_or(Errno::ENOENT)?;
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// The ready items of `ep` as epoll_event records (at most `max`); with `update`, as a
/// wait that returns them (edge and one-shot state advance).
fn epoll_collect(
    ep: &mut Epoll,
    fds: &FdTable,
    console_in: bool,
    max: usize,
    update: bool,
) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    // Items whose fd was closed are dropped, as closing removes a file from every set.
    ep.items.retain(|fd, _| fds.get(*fd).is_ok());
    for (&fd, item) in ep.items.iter_mut() {
        if out.len() >= max {
            break;
        }
        let ready = epoll_ready(fds, fd, item.events, console_in);
        let report = item_report(item, ready & (item.events | EPOLLERR | EPOLLHUP), update);
        if report != 0 && item.events & !(EPOLLET | EPOLLONESHOT) != 0 {
            out.push((report, item.data));
        }
    }
    out
}

/// epoll_wait / epoll_pwait(epfd, events*, maxevents, timeout): the ready items, or wait
/// for one (the signal mask argument of epoll_pwait is not applied).
pub fn epoll_wait(cx: &mut Cx, a: [u64; 6], timeout_ns: Option<u64>) -> Outcome {
    let (epfd, out, max) = (a[0] as i32, a[1], a[2]);
    if max == 0 || max > EP_MAX_EVENTS {
        return Errno::EINVAL.into();
    }
    let ep = match epoll_of(&cx.g.fds, epfd) {
        Ok(e) => e,
        Err(e) => return e.into(),
    };
    if cx.k.console_in.is_some() {
        cx.k.start_console_reader();
    }
    let console_in = cx.k.console_in.as_ref().is_none_or(|c| c.readable());
    let ready = epoll_collect(
        &mut ep.borrow_mut(),
        &cx.g.fds,
        console_in,
        max as usize,
        true,
    );
    if ready.is_empty() && timeout_ns != Some(0) {
        let deadline = timeout_ns.map(|t| cx.k.clock.ns.saturating_add(t));
        return Outcome::Block(Wait::Epoll(epfd, deadline));
    }
    let size = event_size(cx.arch);
    let mut b = vec![0u8; ready.len() * size];
    for (i, (ev, data)) in ready.iter().enumerate() {
        b[i * size..i * size + 4].copy_from_slice(&ev.to_le_bytes());
        b[i * size + size - 8..(i + 1) * size].copy_from_slice(&data.to_le_bytes());
    }
    match cx.mem.write(out, &b) {
        Ok(()) => Outcome::Ret(ready.len() as u64),
        Err(e) => e.into(),
    }
}

/// epoll_pwait2(epfd, events*, maxevents, timeout timespec*, sigmask, size).
pub fn epoll_pwait2(cx: &mut Cx, a: [u64; 6]) -> Outcome {
    let t = if a[3] == 0 {
        None
    } else {
        match cx.mem.read(a[3], 16) {
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
    epoll_wait(cx, a, t)
}

impl Machine {
    /// Would a blocked epoll_wait of task `tid` on `epfd` return now?
    pub fn epoll_ready(&self, tid: Pid, epfd: i32) -> bool {
        let console_in = self.k.console_in.as_ref().is_none_or(|c| c.readable());
        let Some(g) = self.group_of(tid) else {
            return false;
        };
        let Ok(ep) = epoll_of(&g.fds, epfd) else {
            return true;
        };
        let mut ep = ep.borrow_mut();
        !epoll_collect(&mut ep, &g.fds, console_in, 1, false).is_empty()
    }

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

    /// A pipe at fds 3 (read end) and 4 (write end); the fd sets at MEM (read), MEM+128
    /// (write), each one 64-bit word.
    fn select_bench() -> Bench {
        let mut b = Bench::new();
        assert!(matches!(
            crate::pipe::pipe2(&mut b.cx(), MEM + 256, 0),
            Ok(0)
        ));
        b
    }

    #[test]
    fn select_ready_write_end_reported_and_unready_read_end_cleared() {
        let mut b = select_bench();
        b.mem.write_u64(MEM, 1 << 3).expect("bench memory");
        b.mem.write_u64(MEM + 128, 1 << 4).expect("bench memory");
        let out = select(&mut b.cx(), 5, [MEM, MEM + 128, 0], None, 0);
        assert!(matches!(out, Outcome::Ret(1)), "{out:?}");
        assert_eq!(b.mem.read_u64(MEM), Ok(0));
        assert_eq!(b.mem.read_u64(MEM + 128), Ok(1 << 4));
    }

    #[test]
    fn select_closed_fd_in_a_set_is_ebadf() {
        let mut b = select_bench();
        b.mem.write_u64(MEM, 1 << 9).expect("bench memory");
        let out = select(&mut b.cx(), 10, [MEM, 0, 0], None, 0);
        assert!(
            matches!(out, Outcome::Ret(r) if r == Errno::EBADF.ret()),
            "{out:?}"
        );
    }

    #[test]
    fn pselect6_waits_under_its_mask_and_puts_the_old_one_back_when_ready() {
        let mut b = select_bench();
        b.t.sigmask = 0b100;
        b.mem.write_u64(MEM, 1 << 3).expect("bench memory");
        // {sigset*, size} at MEM+512 pointing at the mask at MEM+600.
        b.mem.write_u64(MEM + 512, MEM + 600).expect("bench memory");
        b.mem.write_u64(MEM + 520, 8).expect("bench memory");
        b.mem.write_u64(MEM + 600, 0b1010).expect("bench memory");
        let a = [4, MEM, 0, 0, 0, MEM + 512];
        match pselect6(&mut b.cx(), a) {
            Outcome::Block(Wait::Poll(set, None)) => assert_eq!(set, vec![(3, POLLIN)]),
            o => panic!("{o:?}"),
        }
        assert_eq!((b.t.sigmask, b.t.saved_mask), (0b1010, Some(0b100)));
        // Data arrives; the retried call returns it and the old mask is back.
        b.mem.write(MEM + 700, b"x").expect("bench memory");
        assert!(matches!(
            crate::syscalls::fs::write(&mut b.cx(), [4, MEM + 700, 1, 0, 0, 0]),
            Outcome::Ret(1)
        ));
        assert!(matches!(pselect6(&mut b.cx(), a), Outcome::Ret(1)));
        assert_eq!((b.t.sigmask, b.t.saved_mask), (0b100, None));
        assert_eq!(b.mem.read_u64(MEM), Ok(1 << 3));
    }

    #[test]
    fn pselect6_mask_size_other_than_8_is_einval() {
        let mut b = select_bench();
        b.mem.write_u64(MEM + 512, MEM + 600).expect("bench memory");
        b.mem.write_u64(MEM + 520, 16).expect("bench memory");
        let out = pselect6(&mut b.cx(), [0, 0, 0, 0, 0, MEM + 512]);
        assert!(
            matches!(out, Outcome::Ret(r) if r == Errno::EINVAL.ret()),
            "{out:?}"
        );
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

    /// An epoll instance watching the read end of a new pipe with `events`: (epfd, pipe).
    fn epoll_on_pipe(b: &mut Bench, events: u32) -> (u64, crate::pipe::PipeRef) {
        assert!(matches!(
            crate::pipe::pipe2(&mut b.cx(), MEM + 256, 0),
            Ok(0)
        ));
        let epfd = epoll_create1(&mut b.cx(), 0).expect("epoll_create1");
        let mut ev = [0u8; 12];
        ev[..4].copy_from_slice(&events.to_le_bytes());
        ev[4..].copy_from_slice(&0x1234u64.to_le_bytes());
        b.mem.write(MEM + 512, &ev).expect("bench memory");
        assert_eq!(
            epoll_ctl(&mut b.cx(), [epfd, EPOLL_CTL_ADD, 3, MEM + 512, 0, 0]),
            Ok(0)
        );
        let f = b.g.fds.get(3).expect("pipe read end");
        let pp = match &f.borrow().kind {
            FileKind::PipeRead(pp) => pp.clone(),
            _ => panic!("not a pipe"),
        };
        (epfd, pp)
    }

    #[test]
    fn epoll_wait_blocks_until_the_pipe_has_data_then_reports_it() {
        let mut b = Bench::new();
        let (epfd, pp) = epoll_on_pipe(&mut b, EPOLLIN);
        assert!(matches!(
            epoll_wait(&mut b.cx(), [epfd, MEM, 8, 0, 0, 0], None),
            Outcome::Block(Wait::Epoll(3.., None))
        ));
        assert!(matches!(
            epoll_wait(&mut b.cx(), [epfd, MEM, 8, 0, 0, 0], Some(0)),
            Outcome::Ret(0)
        ));
        pp.borrow_mut().buf.push_back(7);
        assert!(matches!(
            epoll_wait(&mut b.cx(), [epfd, MEM, 8, 0, 0, 0], None),
            Outcome::Ret(1)
        ));
        let ev = b.mem.read(MEM, 12).expect("bench memory");
        assert_eq!(le32(&ev[..4]), EPOLLIN);
        assert_eq!(le64(&ev[4..]), 0x1234);
    }

    #[test]
    fn epoll_edge_triggered_item_reports_once_per_change() {
        let mut b = Bench::new();
        let (epfd, pp) = epoll_on_pipe(&mut b, EPOLLIN | EPOLLET);
        pp.borrow_mut().buf.push_back(7);
        assert!(matches!(
            epoll_wait(&mut b.cx(), [epfd, MEM, 8, 0, 0, 0], Some(0)),
            Outcome::Ret(1)
        ));
        assert!(matches!(
            epoll_wait(&mut b.cx(), [epfd, MEM, 8, 0, 0, 0], Some(0)),
            Outcome::Ret(0)
        ));
    }

    #[test]
    fn epoll_ctl_errors_follow_linux() {
        let mut b = Bench::new();
        let (epfd, _) = epoll_on_pipe(&mut b, EPOLLIN);
        assert_eq!(
            epoll_ctl(&mut b.cx(), [epfd, EPOLL_CTL_ADD, 3, MEM + 512, 0, 0]),
            Err(Errno::EEXIST)
        );
        assert_eq!(
            epoll_ctl(&mut b.cx(), [epfd, EPOLL_CTL_DEL, 4, 0, 0, 0]),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            epoll_ctl(&mut b.cx(), [epfd, EPOLL_CTL_ADD, epfd, MEM + 512, 0, 0]),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            epoll_ctl(&mut b.cx(), [epfd, EPOLL_CTL_ADD, 99, MEM + 512, 0, 0]),
            Err(Errno::EBADF)
        );
        assert_eq!(
            epoll_ctl(&mut b.cx(), [epfd, EPOLL_CTL_MOD, 3, 0x10, 0, 0]),
            Err(Errno::EFAULT)
        );
        assert_eq!(
            epoll_ctl(&mut b.cx(), [0, EPOLL_CTL_ADD, 3, MEM + 512, 0, 0]),
            Err(Errno::EINVAL)
        );
        assert_eq!(epoll_create1(&mut b.cx(), 1), Err(Errno::EINVAL));
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
