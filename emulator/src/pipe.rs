//! Pipes (pipe(7)), all of their semantics in one place: a bounded byte buffer with counts
//! of open read and write ends (an end closes when its last open-file description goes,
//! fdtable.rs), pipe2(2), reads and writes from guest memory with blocking or EAGAIN,
//! PIPE_BUF atomicity, EOF after the last writer, EPIPE with SIGPIPE after the last reader,
//! poll readiness, and the condition that wakes a blocked reader or writer.

use crate::errno::Errno;
use crate::fdtable::{FileKind, OpenFile, O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_WRONLY};
use crate::guestmem::GuestMem;
use crate::machine::Wait;
use crate::syscalls::{Cx, Outcome};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Linux's default pipe capacity (16 pages).
pub const PIPE_CAPACITY: usize = 65536;
/// Writes up to this size are atomic (POSIX PIPE_BUF, Linux 4096).
pub const PIPE_BUF: usize = 4096;

/// poll(2) event bits (asm-generic/poll.h).
pub const POLLIN: u16 = 0x1;
pub const POLLOUT: u16 = 0x4;
pub const POLLERR: u16 = 0x8;
pub const POLLHUP: u16 = 0x10;
pub const POLLNVAL: u16 = 0x20;

#[derive(Debug, Default)]
pub struct Pipe {
    pub buf: VecDeque<u8>,
    pub readers: u32,
    pub writers: u32,
    /// A stable number for /proc fd qids: both ends show the same qid.
    pub id: u64,
    /// Bytes ever written (so bytes ever read is `written - buf.len()`).
    pub written: u64,
    /// With `--timeline`: the writes whose bytes are still buffered, oldest first.
    pub marks: VecDeque<crate::timeline::Mark>,
}

pub type PipeRef = Rc<RefCell<Pipe>>;

/// A pipe with one read end and one write end open.
pub fn new_pipe(id: u64) -> PipeRef {
    Rc::new(RefCell::new(Pipe {
        buf: VecDeque::new(),
        readers: 1,
        writers: 1,
        id,
        ..Pipe::default()
    }))
}

impl Pipe {
    pub fn space(&self) -> usize {
        PIPE_CAPACITY - self.buf.len()
    }

    /// A read returns at once: there is data, or no writer is left (EOF).
    pub fn read_ready(&self) -> bool {
        !self.buf.is_empty() || self.writers == 0
    }

    /// A write returns at once: room for an atomic write, or no reader is left (EPIPE).
    /// This is also what wakes a blocked writer.
    pub fn write_ready(&self) -> bool {
        self.space() >= PIPE_BUF || self.readers == 0
    }

    /// poll(2) revents of the read end for the `events` asked.
    pub fn read_events(&self, events: u16) -> u16 {
        let mut r = 0;
        if !self.buf.is_empty() {
            r |= events & POLLIN;
        }
        if self.writers == 0 {
            r |= POLLHUP | (events & POLLIN);
        }
        r
    }

    /// poll(2) revents of the write end for the `events` asked.
    pub fn write_events(&self, events: u16) -> u16 {
        if self.readers == 0 {
            POLLERR | (events & POLLOUT)
        } else if self.space() >= PIPE_BUF {
            events & POLLOUT
        } else {
            0
        }
    }

    /// Move up to the buffered bytes into the guest pieces (readv order). A fault after
    /// some bytes returns the count so far, as Linux does; the rest stays buffered.
    fn read_to(&mut self, mem: &mut dyn GuestMem, pieces: &[(u64, u64)]) -> Result<u64, Errno> {
        let mut done = 0u64;
        for &(addr, len) in pieces {
            let n = (len as usize).min(self.buf.len());
            let bytes: Vec<u8> = self.buf.iter().take(n).copied().collect();
            if let Err(e) = mem.write(addr, &bytes) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
            self.buf.drain(..n);
            done += n as u64;
            if self.buf.is_empty() {
                break;
            }
        }
        Ok(done)
    }

    /// Move guest bytes from the pieces into the buffer, at most the free space.
    fn write_from(&mut self, mem: &dyn GuestMem, pieces: &[(u64, u64)]) -> Result<u64, Errno> {
        let space = self.space();
        let mut done = 0usize;
        for &(addr, len) in pieces {
            let n = (len as usize).min(space - done);
            match mem.read(addr, n) {
                Ok(bytes) => self.buf.extend(bytes),
                Err(e) => return if done > 0 { Ok(done as u64) } else { Err(e) },
            }
            done += n;
            if done == space {
                break;
            }
        }
        Ok(done as u64)
    }
}

/// The write end has no reader left: EPIPE, and SIGPIPE to the writer (pipe(7)).
fn broken(cx: &mut Cx) -> Outcome {
    crate::signal::post(cx.t, cx.g, crate::signal::SIGPIPE);
    Errno::EPIPE.into()
}

/// read(2)/readv(2) of a pipe's read end into `pieces`: the bytes there are, EOF with no
/// writer, else wait (or EAGAIN with O_NONBLOCK).
pub fn read(cx: &mut Cx, pp: &PipeRef, nonblock: bool, pieces: &[(u64, u64)]) -> Outcome {
    let want: u64 = pieces.iter().map(|x| x.1).sum();
    let mut p = pp.borrow_mut();
    if want == 0 {
        return Outcome::Ret(0);
    }
    if p.buf.is_empty() {
        return if p.writers == 0 {
            Outcome::Ret(0)
        } else if nonblock {
            Errno::EAGAIN.into()
        } else {
            Outcome::Block(Wait::PipeRead(pp.clone()))
        };
    }
    let before = p.written.saturating_sub(p.buf.len() as u64);
    let got = p.read_to(cx.mem, pieces);
    if let (Ok(n), Some(tl)) = (&got, cx.k.trace.timeline.as_mut()) {
        // An arrow from each write whose bytes this read took.
        let after = before + n;
        let mut from = before;
        for m in &p.marks {
            if from >= after {
                break;
            }
            tl.pipe_flow(m, cx.t.tid.0, cx.k.clock.ns);
            from = m.end;
        }
        while p.marks.front().is_some_and(|m| m.end <= after) {
            p.marks.pop_front();
        }
    }
    got.into()
}

/// write(2)/writev(2) of `pieces` to a pipe's write end: a write of at most PIPE_BUF bytes
/// waits for room for all of it (atomic), a longer one takes what fits; no reader is EPIPE.
pub fn write(cx: &mut Cx, pp: &PipeRef, nonblock: bool, pieces: &[(u64, u64)]) -> Outcome {
    let want: u64 = pieces.iter().map(|x| x.1).sum();
    let mut p = pp.borrow_mut();
    if p.readers == 0 {
        drop(p);
        return broken(cx);
    }
    let need = if want as usize <= PIPE_BUF {
        want as usize
    } else {
        1
    };
    if p.space() < need {
        return if nonblock {
            Errno::EAGAIN.into()
        } else {
            Outcome::Block(Wait::PipeWrite(pp.clone()))
        };
    }
    let put = p.write_from(cx.mem, pieces);
    if let Ok(n) = put {
        p.written += n;
        if n > 0 && cx.k.trace.timeline.is_some() {
            let end = p.written;
            p.marks.push_back(crate::timeline::Mark {
                end,
                tid: cx.t.tid.0,
                tgid: cx.t.tgid.0,
                ns: cx.k.clock.ns,
            });
        }
    }
    put.into()
}

/// sendfile(2) into a pipe: how much of `limit` bytes may be read from the source now
/// (what fits, so nothing read is ever lost), or the outcome if none may.
pub fn sendfile_room(cx: &mut Cx, pp: &PipeRef, limit: usize) -> Result<usize, Outcome> {
    let (readers, space) = (pp.borrow().readers, pp.borrow().space());
    if readers == 0 {
        return Err(broken(cx));
    }
    if space == 0 {
        return Err(Outcome::Block(Wait::PipeWrite(pp.clone())));
    }
    Ok(limit.min(space))
}

/// Append bytes the kernel already holds (sendfile's data, at most the room it was given).
pub fn push(pp: &PipeRef, data: &[u8]) -> u64 {
    let mut p = pp.borrow_mut();
    p.buf.extend(data.iter().copied());
    p.written += data.len() as u64;
    data.len() as u64
}

/// pipe2(2): two new descriptions on one pipe at the two lowest free fds, written to the
/// guest's `int[2]`; flags O_CLOEXEC and O_NONBLOCK.
pub fn pipe2(cx: &mut Cx, fds: u64, flags: u64) -> Result<u64, Errno> {
    if flags & !(u64::from(O_CLOEXEC | O_NONBLOCK)) != 0 {
        return Err(Errno::EINVAL);
    }
    let id = cx.k.next_pipe;
    cx.k.next_pipe += 1;
    let pp = new_pipe(id);
    let nb = flags as u32 & O_NONBLOCK;
    let name = format!("pipe:[{id}]");
    let r = OpenFile::new(FileKind::PipeRead(pp.clone()), name.clone(), O_RDONLY | nb);
    let w = OpenFile::new(FileKind::PipeWrite(pp), name, O_WRONLY | nb);
    let cloexec = flags & u64::from(O_CLOEXEC) != 0;
    let rfd = cx.g.fds.install(r, cloexec, 0)?;
    let wfd = match cx.g.fds.install(w, cloexec, 0) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = cx.g.fds.close(rfd);
            return Err(e);
        }
    };
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&rfd.to_le_bytes());
    b[4..].copy_from_slice(&wfd.to_le_bytes());
    if let Err(e) = cx.mem.write(fds, &b) {
        let _ = cx.g.fds.close(rfd);
        let _ = cx.g.fds.close(wfd);
        return Err(e);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guestmem::FakeMem;
    use crate::syscalls::testing::Bench;

    const BUF: u64 = 0x10000;

    fn ends(b: &mut Bench) -> (PipeRef, i32, i32) {
        let out = BUF + 0x100;
        assert!(matches!(pipe2(&mut b.cx(), out, 0), Ok(0)));
        let fds = b.mem.read(out, 8).expect("pipe bench");
        let (r, w) = (
            i32::from_le_bytes(fds[..4].try_into().expect("pipe bench")),
            i32::from_le_bytes(fds[4..].try_into().expect("pipe bench")),
        );
        let f = b.g.fds.get(r).expect("pipe bench");
        let pp = match &f.borrow().kind {
            FileKind::PipeRead(pp) => pp.clone(),
            _ => panic!("not a pipe"),
        };
        (pp, r, w)
    }

    fn ret(o: Outcome) -> i64 {
        match o {
            Outcome::Ret(v) => v as i64,
            o => panic!("not a return: {o:?}"),
        }
    }

    #[test]
    fn pipe2_installs_lowest_fds_after_console() {
        let mut b = Bench::new();
        let (_, r, w) = ends(&mut b);
        assert_eq!((r, w), (3, 4));
    }

    #[test]
    fn pipe2_unknown_flag_is_einval() {
        let mut b = Bench::new();
        assert_eq!(pipe2(&mut b.cx(), BUF, 0x1), Err(Errno::EINVAL));
    }

    #[test]
    fn pipe2_bad_pointer_is_efault_and_leaves_no_fds() {
        let mut b = Bench::new();
        assert_eq!(pipe2(&mut b.cx(), 0x10, 0), Err(Errno::EFAULT));
        assert_eq!(b.g.fds.iter().count(), 3);
    }

    #[test]
    fn timeline_arrows_go_from_each_write_to_each_read_that_took_its_bytes() {
        let mut b = Bench::new();
        let sink = crate::syscalls::testing::Sink(Default::default());
        b.k.trace.timeline = Some(crate::timeline::Timeline::new(Box::new(
            crate::syscalls::testing::Sink(sink.0.clone()),
        )));
        let (pp, _, _) = ends(&mut b);
        b.mem.write(BUF, b"abcd").expect("pipe bench");
        // Two writes of 2 bytes, a read of 3 (both writes' bytes), a read of 1 (the second's).
        assert_eq!(ret(write(&mut b.cx(), &pp, false, &[(BUF, 2)])), 2);
        assert_eq!(ret(write(&mut b.cx(), &pp, false, &[(BUF + 2, 2)])), 2);
        assert_eq!(ret(read(&mut b.cx(), &pp, false, &[(BUF + 0x800, 3)])), 3);
        assert_eq!(ret(read(&mut b.cx(), &pp, false, &[(BUF + 0x800, 8)])), 1);
        assert!(
            pp.borrow().marks.is_empty(),
            "every write's bytes were read"
        );
        let text = String::from_utf8(sink.0.borrow().clone()).expect("utf-8");
        let count = |ph: &str| text.matches(&format!("\"ph\":\"{ph}\",")).count();
        assert_eq!((count("s"), count("f")), (3, 3), "{text}");
    }

    #[test]
    fn write_then_read_moves_the_bytes() {
        let mut b = Bench::new();
        let (pp, _, _) = ends(&mut b);
        b.mem.write(BUF, b"hello").expect("pipe bench");
        assert_eq!(ret(write(&mut b.cx(), &pp, false, &[(BUF, 5)])), 5);
        assert_eq!(
            ret(read(
                &mut b.cx(),
                &pp,
                false,
                &[(BUF + 0x800, 3), (BUF + 0x900, 9)]
            )),
            5
        );
        assert_eq!(b.mem.read(BUF + 0x800, 3).expect("pipe bench"), b"hel");
        assert_eq!(b.mem.read(BUF + 0x900, 2).expect("pipe bench"), b"lo");
    }

    #[test]
    fn read_of_empty_pipe_blocks_or_eagain() {
        let mut b = Bench::new();
        let (pp, _, _) = ends(&mut b);
        assert!(matches!(
            read(&mut b.cx(), &pp, false, &[(BUF, 4)]),
            Outcome::Block(Wait::PipeRead(_))
        ));
        assert_eq!(ret(read(&mut b.cx(), &pp, true, &[(BUF, 4)])), -11);
    }

    #[test]
    fn read_with_no_writer_is_eof() {
        let mut b = Bench::new();
        let (pp, _, w) = ends(&mut b);
        drop(b.g.fds.close(w));
        assert_eq!(pp.borrow().writers, 0);
        assert_eq!(ret(read(&mut b.cx(), &pp, false, &[(BUF, 4)])), 0);
        assert!(pp.borrow().read_ready());
    }

    #[test]
    fn write_with_no_reader_is_epipe_and_raises_sigpipe() {
        let mut b = Bench::new();
        let (pp, r, _) = ends(&mut b);
        drop(b.g.fds.close(r));
        assert_eq!(ret(write(&mut b.cx(), &pp, false, &[(BUF, 1)])), -32);
        assert_eq!(b.t.sig_pending, crate::signal::bit(crate::signal::SIGPIPE));
    }

    #[test]
    fn read_into_bad_pointer_is_efault_and_keeps_the_data() {
        let mut b = Bench::new();
        let (pp, _, _) = ends(&mut b);
        b.mem.write(BUF, b"abc").expect("pipe bench");
        ret(write(&mut b.cx(), &pp, false, &[(BUF, 3)]));
        assert_eq!(ret(read(&mut b.cx(), &pp, false, &[(0x10, 3)])), -14);
        assert_eq!(pp.borrow().buf.len(), 3);
    }

    #[test]
    fn readv_fault_after_first_piece_returns_partial_count() {
        let mut b = Bench::new();
        let (pp, _, _) = ends(&mut b);
        b.mem.write(BUF, b"abcdef").expect("pipe bench");
        ret(write(&mut b.cx(), &pp, false, &[(BUF, 6)]));
        assert_eq!(
            ret(read(
                &mut b.cx(),
                &pp,
                false,
                &[(BUF + 0x800, 2), (0x10, 4)]
            )),
            2
        );
        assert_eq!(pp.borrow().buf.len(), 4);
    }

    #[test]
    fn write_from_bad_pointer_is_efault() {
        let mut b = Bench::new();
        let (pp, _, _) = ends(&mut b);
        assert_eq!(ret(write(&mut b.cx(), &pp, false, &[(0x10, 8)])), -14);
    }

    #[test]
    fn large_write_into_nearly_full_pipe_is_partial() {
        let mut b = Bench::new();
        let (pp, _, _) = ends(&mut b);
        pp.borrow_mut().buf.extend(vec![0u8; PIPE_CAPACITY - 100]);
        let big = PIPE_BUF as u64 + 1;
        assert_eq!(ret(write(&mut b.cx(), &pp, false, &[(BUF, big)])), 100);
        assert_eq!(pp.borrow().space(), 0);
    }

    #[test]
    fn small_write_waits_for_room_for_all_of_it() {
        let mut b = Bench::new();
        let (pp, _, _) = ends(&mut b);
        pp.borrow_mut().buf.extend(vec![0u8; PIPE_CAPACITY - 100]);
        // 200 bytes <= PIPE_BUF: atomic, so nothing is written while only 100 fit.
        assert!(matches!(
            write(&mut b.cx(), &pp, false, &[(BUF, 200)]),
            Outcome::Block(Wait::PipeWrite(_))
        ));
        assert_eq!(ret(write(&mut b.cx(), &pp, true, &[(BUF, 200)])), -11);
        assert_eq!(pp.borrow().space(), 100);
    }

    #[test]
    fn writer_wakes_only_with_pipe_buf_of_room() {
        let p = Pipe {
            buf: vec![0u8; PIPE_CAPACITY - PIPE_BUF + 1].into(),
            readers: 1,
            writers: 1,
            id: 1,
            ..Pipe::default()
        };
        assert!(!p.write_ready());
        assert_eq!(p.write_events(POLLOUT), 0);
        let gone = Pipe { readers: 0, ..p };
        assert!(gone.write_ready());
        assert_eq!(gone.write_events(POLLOUT), POLLERR | POLLOUT);
    }

    #[test]
    fn read_end_events_show_data_and_hangup() {
        let mut p = Pipe {
            readers: 1,
            writers: 1,
            ..Pipe::default()
        };
        assert_eq!(p.read_events(POLLIN), 0);
        p.buf.push_back(1);
        assert_eq!(p.read_events(POLLIN), POLLIN);
        p.writers = 0;
        assert_eq!(p.read_events(POLLIN), POLLIN | POLLHUP);
    }

    #[test]
    fn zero_length_read_returns_zero_without_blocking() {
        let mut b = Bench::new();
        let (pp, _, _) = ends(&mut b);
        assert_eq!(ret(read(&mut b.cx(), &pp, false, &[(BUF, 0)])), 0);
        let _ = FakeMem::default();
    }
}
