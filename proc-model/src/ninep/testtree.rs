//! A tiny in-test FileTree (two directories, a few files, one file whose read blocks until
//! cancelled) and a harness that drives a sans-IO `Session` and keeps a 9P transcript.

use super::errstr::EPERM;
use super::fs::*;
use super::msg::*;
use super::server::{Config, Done, Job, Received, Session};
use super::text;
use super::wire::{Fid, Tag, NOFID};
use std::sync::{mpsc, Arc, Mutex};

pub const OWNER: &str = "glenda";
pub const ENONEXIST: &str = "file does not exist";
pub use super::errstr::EINTR;

/// Paths double as qid paths.
pub const ROOT: u64 = 0;
pub const DIR_A: u64 = 1;
pub const FILE_B: u64 = 2; // /a/b, "hello world"
pub const FILE_C: u64 = 3; // /c, read-write
pub const FILE_BLOCK: u64 = 4; // /block, reads block until cancelled
pub const FILE_RO: u64 = 5; // /ro, read-only
pub const FILE_BIG: u64 = 6; // /big, 10000 bytes
pub const DIR_E: u64 = 7; // /e, empty directory
/// Hidden from directory listings: reads panic.
pub const FILE_PANIC: u64 = 8;
/// Hidden from directory listings: its stat is too large for a 256-byte msize.
pub const FILE_LONGSTAT: u64 = 9;

struct Entry {
    path: u64,
    parent: u64,
    name: &'static str,
    mode: u32,
}

const ENTRIES: &[Entry] = &[
    Entry {
        path: ROOT,
        parent: ROOT,
        name: "/",
        mode: DMDIR | 0o555,
    },
    Entry {
        path: DIR_A,
        parent: ROOT,
        name: "a",
        mode: DMDIR | 0o555,
    },
    Entry {
        path: FILE_B,
        parent: DIR_A,
        name: "b",
        mode: 0o444,
    },
    Entry {
        path: FILE_C,
        parent: ROOT,
        name: "c",
        mode: 0o666,
    },
    Entry {
        path: FILE_BLOCK,
        parent: ROOT,
        name: "block",
        mode: 0o444,
    },
    Entry {
        path: FILE_RO,
        parent: ROOT,
        name: "ro",
        mode: 0o444,
    },
    Entry {
        path: FILE_BIG,
        parent: ROOT,
        name: "big",
        mode: 0o444,
    },
    Entry {
        path: DIR_E,
        parent: ROOT,
        name: "e",
        mode: DMDIR | 0o555,
    },
    Entry {
        path: FILE_PANIC,
        parent: ROOT,
        name: "panic",
        mode: 0o444,
    },
    Entry {
        path: FILE_LONGSTAT,
        parent: ROOT,
        name: "longstat",
        mode: 0o444,
    },
];

fn entry(path: u64) -> NineResult<&'static Entry> {
    ENTRIES
        .iter()
        .find(|e| e.path == path)
        .ok_or_else(|| NineError::new(ENONEXIST))
}

fn qid_of(e: &Entry) -> Qid {
    Qid {
        ty: if e.mode & DMDIR != 0 { QTDIR } else { QTFILE },
        vers: 0,
        path: e.path,
    }
}

pub struct TestTree {
    pub c: Mutex<Vec<u8>>,
    /// Paths whose opens were clunked, in order.
    pub clunked: Mutex<Vec<u64>>,
    /// Wstats accepted (on /c only).
    pub wstats: Mutex<Vec<Stat>>,
}

pub struct TestOpen {
    path: u64,
}

impl TestTree {
    pub fn new() -> Self {
        TestTree {
            c: Mutex::new(b"ccc".to_vec()),
            clunked: Mutex::default(),
            wstats: Mutex::default(),
        }
    }

    fn contents(&self, path: u64) -> Vec<u8> {
        match path {
            FILE_B => b"hello world".to_vec(),
            FILE_C => self.c.lock().expect("lock").clone(),
            FILE_RO => b"read only".to_vec(),
            FILE_BIG => (0..10000u32).map(|i| b'a' + (i % 26) as u8).collect(),
            _ => Vec::new(),
        }
    }
}

impl FileTree for TestTree {
    type Node = u64;
    type Open = TestOpen;

    fn attach(&self, _uname: &str, aname: &str) -> NineResult<(u64, Qid)> {
        if !aname.is_empty() {
            return Err(NineError::new("unknown specifier in attach"));
        }
        Ok((ROOT, qid_of(entry(ROOT)?)))
    }

    fn walk1(&self, _uname: &str, dir: &u64, name: &str) -> NineResult<(u64, Qid)> {
        let d = entry(*dir)?;
        if name.len() > 100 {
            return Err(NineError::new(format!("'{name}' {ENONEXIST}")));
        }
        let e = if name == ".." {
            entry(d.parent)?
        } else {
            ENTRIES
                .iter()
                .find(|e| e.parent == *dir && e.path != ROOT && e.name == name)
                .ok_or_else(|| NineError::new(ENONEXIST))?
        };
        Ok((e.path, qid_of(e)))
    }

    fn stat(&self, node: &u64) -> NineResult<Stat> {
        let e = entry(*node)?;
        Ok(Stat {
            qid: qid_of(e),
            mode: e.mode,
            length: if e.mode & DMDIR != 0 {
                0
            } else {
                self.contents(e.path).len() as u64
            },
            name: e.name.into(),
            uid: OWNER.into(),
            gid: OWNER.into(),
            muid: OWNER.into(),
            ..Stat::default()
        })
        .map(|mut st| {
            if e.path == FILE_LONGSTAT {
                st.uid = "u".repeat(300);
            }
            st
        })
    }

    fn wstat(&self, _uname: &str, node: &u64, stat: &Stat) -> NineResult<()> {
        if *node != FILE_C {
            return Err(NineError::new(EPERM));
        }
        self.wstats.lock().expect("lock").push(stat.clone());
        Ok(())
    }

    fn open(&self, _uname: &str, node: &u64, mode: u8) -> NineResult<(TestOpen, Qid, u32)> {
        let e = entry(*node)?;
        let writes = matches!(mode & 3, OWRITE | ORDWR) || mode & OTRUNC != 0;
        if writes && e.mode & 0o200 == 0 {
            return Err(NineError::new(EPERM));
        }
        Ok((TestOpen { path: e.path }, qid_of(e), 0))
    }

    fn readdir(&self, node: &u64) -> NineResult<Vec<Stat>> {
        ENTRIES
            .iter()
            .filter(|e| e.parent == *node && e.path != ROOT && e.path < FILE_PANIC)
            .map(|e| self.stat(&e.path))
            .collect()
    }

    fn read(
        &self,
        open: &mut TestOpen,
        offset: u64,
        count: u32,
        cancel: &Cancel,
    ) -> NineResult<Vec<u8>> {
        if open.path == FILE_PANIC {
            panic!("test tree panics on reading /panic");
        }
        if open.path == FILE_BLOCK {
            let (tx, rx) = mpsc::channel();
            cancel.on_cancel(move || {
                let _ = tx.send(());
            });
            let _ = rx.recv();
            return Err(NineError::new(EINTR));
        }
        let data = self.contents(open.path);
        let start = (offset as usize).min(data.len());
        let end = (start + count as usize).min(data.len());
        Ok(data[start..end].to_vec())
    }

    fn write(
        &self,
        open: &mut TestOpen,
        offset: u64,
        data: &[u8],
        _cancel: &Cancel,
    ) -> NineResult<u32> {
        if open.path != FILE_C {
            return Err(NineError::new(EPERM));
        }
        let mut c = self.c.lock().expect("lock");
        let start = offset as usize;
        if c.len() < start + data.len() {
            c.resize(start + data.len(), 0);
        }
        c[start..start + data.len()].copy_from_slice(data);
        Ok(data.len() as u32)
    }

    fn clunk(&self, open: TestOpen) {
        self.clunked.lock().expect("lock").push(open.path);
    }

    fn remove(&self, _uname: &str, _node: &u64) -> NineResult<()> {
        Err(NineError::new(EPERM))
    }
}

/// Drives a Session as a transport would, keeping a transcript.
pub struct Harness {
    pub tree: Arc<TestTree>,
    pub s: Session<TestTree>,
    pub log: Vec<String>,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Self {
        let tree = Arc::new(TestTree::new());
        Harness {
            s: Session::new(tree.clone(), config),
            tree,
            log: Vec::new(),
        }
    }

    /// Tversion (msize 8192) and Tattach of fid 0 as glenda; not logged.
    pub fn connected() -> Self {
        let mut h = Self::new();
        h.send(
            0xFFFF,
            Tversion {
                msize: 8192,
                version: "9P2000".into(),
            },
        );
        h.send(
            0,
            Tattach {
                fid: Fid(0),
                afid: NOFID,
                uname: OWNER.into(),
                aname: "".into(),
            },
        );
        h.log.clear();
        h
    }

    fn log_replies(&mut self, out: &[(Tag, Rmsg)]) {
        for (tag, r) in out {
            self.log.push(format!("<- {}", text::rmsg(*tag, r)));
        }
    }

    /// Send a request; a job is run at once (inline) and completed.
    pub fn send(&mut self, tag: u16, m: impl Into<Tmsg>) -> Vec<(Tag, Rmsg)> {
        let (job, mut out) = self.start(tag, m);
        if let Some(job) = job {
            out.extend(self.complete(job.run()));
        }
        out
    }

    /// Send a request, returning its job (not run) and any immediate replies.
    pub fn start(
        &mut self,
        tag: u16,
        m: impl Into<Tmsg>,
    ) -> (Option<Job<TestTree>>, Vec<(Tag, Rmsg)>) {
        let m = m.into();
        self.log.push(format!("-> {}", text::tmsg(Tag(tag), &m)));
        let mut out = Vec::new();
        let r = self.s.receive(Tag(tag), m, &mut out);
        self.log_replies(&out);
        match r {
            Received::Job(j) => (Some(j), out),
            Received::Done => (None, out),
            Received::Close => panic!("decoded message closed the session"),
        }
    }

    pub fn complete(&mut self, done: Done) -> Vec<(Tag, Rmsg)> {
        let mut out = Vec::new();
        self.s.complete(done, &mut out);
        self.log_replies(&out);
        out
    }

    /// Send a raw frame.
    pub fn frame(&mut self, bytes: &[u8]) -> (Received<TestTree>, Vec<(Tag, Rmsg)>) {
        self.log
            .push(format!("-> frame {}", text::quote_bytes(bytes, 32)));
        let mut out = Vec::new();
        let r = self.s.receive_frame(bytes, &mut out);
        self.log_replies(&out);
        (r, out)
    }

    /// Send and expect exactly one reply, for `tag`.
    pub fn one(&mut self, tag: u16, m: impl Into<Tmsg>) -> Rmsg {
        let out = self.send(tag, m);
        assert_eq!(out.len(), 1, "expected one reply, got {out:?}");
        assert_eq!(out[0].0, Tag(tag));
        out.into_iter().next().map(|(_, r)| r).expect("one reply")
    }

    /// Send and expect an Rerror; returns its string.
    pub fn error(&mut self, tag: u16, m: impl Into<Tmsg>) -> String {
        match self.one(tag, m) {
            Rmsg::Error(e) => e.ename,
            r => panic!("expected Rerror, got {r:?}"),
        }
    }

    pub fn walk(&mut self, fid: u32, newfid: u32, names: &[&str]) -> Rmsg {
        let wname = names.iter().map(|s| s.to_string()).collect();
        self.one(
            1,
            Twalk {
                fid: Fid(fid),
                newfid: Fid(newfid),
                wname,
            },
        )
    }

    pub fn walk_ok(&mut self, fid: u32, newfid: u32, names: &[&str]) {
        match self.walk(fid, newfid, names) {
            Rmsg::Walk(r) if r.wqid.len() == names.len() => {}
            r => panic!("walk {names:?} failed: {r:?}"),
        }
    }

    pub fn open_ok(&mut self, fid: u32, mode: u8) -> Ropen {
        match self.one(
            1,
            Topen {
                fid: Fid(fid),
                mode,
            },
        ) {
            Rmsg::Open(r) => r,
            r => panic!("open failed: {r:?}"),
        }
    }

    pub fn read(&mut self, fid: u32, offset: u64, count: u32) -> Rmsg {
        self.one(
            2,
            Tread {
                fid: Fid(fid),
                offset,
                count,
            },
        )
    }

    pub fn transcript(&self) -> String {
        self.log.join("\n") + "\n"
    }
}

/// The data of an Rread (a test fails on anything else).
pub fn data(r: &Rmsg) -> Vec<u8> {
    match r {
        Rmsg::Read(r) => r.data.clone(),
        r => panic!("expected Rread, got {r:?}"),
    }
}

/// The error string of an Rerror (a test fails on anything else).
pub fn ename(r: &Rmsg) -> &str {
    match r {
        Rmsg::Error(e) => &e.ename,
        r => panic!("expected Rerror, got {r:?}"),
    }
}
