//! Pipes (pipe(7)): a bounded byte buffer with counts of open read and write ends. A read of
//! an empty pipe blocks while a writer exists and returns EOF after the last writer closes; a
//! write with no reader left fails with EPIPE and raises SIGPIPE.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Linux's default pipe capacity (16 pages).
pub const PIPE_CAPACITY: usize = 65536;
/// Writes up to this size are atomic (POSIX PIPE_BUF, Linux 4096).
pub const PIPE_BUF: usize = 4096;

#[derive(Debug, Default)]
pub struct Pipe {
    pub buf: VecDeque<u8>,
    pub readers: u32,
    pub writers: u32,
    /// A stable number for /proc fd qids: both ends show the same qid.
    pub id: u64,
}

pub type PipeRef = Rc<RefCell<Pipe>>;

pub fn new_pipe(id: u64) -> PipeRef {
    Rc::new(RefCell::new(Pipe {
        buf: VecDeque::new(),
        readers: 1,
        writers: 1,
        id,
    }))
}

impl Pipe {
    pub fn space(&self) -> usize {
        PIPE_CAPACITY - self.buf.len()
    }
}
