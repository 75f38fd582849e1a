//! A small in-memory [`FileTree`]: directories and files with fixed modes, for examples,
//! interoperability tests and 9P throughput yardsticks. Its errors are Plan 9 kernel
//! strings (`file does not exist`, `permission denied`); stat records follow stat(5).

use super::fs::{
    Cancel, FileTree, NineError, NineResult, Qid, Stat, DMDIR, OEXEC, ORDWR, OTRUNC, OWRITE, QTDIR,
    QTFILE,
};
use std::sync::{Mutex, MutexGuard};

/// Plan 9 Enonexist.
pub const ENONEXIST: &str = "file does not exist";
/// Plan 9 Eperm.
pub const EPERM: &str = "permission denied";

/// A tree built once, then served; file contents may change through writes.
#[derive(Debug)]
pub struct MemTree {
    nodes: Vec<MemNode>,
    owner: String,
}

#[derive(Debug)]
struct MemNode {
    name: String,
    parent: usize,
    qid: Qid,
    mode: u32,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Dir(Vec<usize>),
    File(Mutex<Vec<u8>>),
}

/// What an open fid remembers.
#[derive(Debug)]
pub struct MemOpen {
    node: usize,
}

fn lock<S>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemTree {
    /// An empty root directory (mode `d-r-xr-xr-x`) owned by `owner`.
    pub fn new(owner: &str) -> Self {
        let root = MemNode {
            name: "/".into(),
            parent: 0,
            qid: Qid {
                ty: QTDIR,
                vers: 0,
                path: 0,
            },
            mode: DMDIR | 0o555,
            kind: Kind::Dir(Vec::new()),
        };
        MemTree {
            nodes: vec![root],
            owner: owner.into(),
        }
    }

    fn child(&self, dir: usize, name: &str) -> Option<usize> {
        match &self.nodes.get(dir)?.kind {
            Kind::Dir(children) => children
                .iter()
                .copied()
                .find(|&c| self.nodes[c].name == name),
            Kind::File(_) => None,
        }
    }

    /// The node at a `/`-separated path, if any.
    fn lookup(&self, path: &str) -> Option<usize> {
        path.split('/')
            .filter(|p| !p.is_empty())
            .try_fold(0, |n, name| self.child(n, name))
    }

    fn insert(&mut self, path: &str, mode: u32, kind: Kind) -> usize {
        let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let Some(last) = parts.pop() else { return 0 };
        let mut dir = 0;
        for p in parts {
            dir = match self.child(dir, p) {
                Some(c) if matches!(self.nodes[c].kind, Kind::Dir(_)) => c,
                _ => self.insert_at(dir, p, DMDIR | 0o555, Kind::Dir(Vec::new())),
            };
        }
        self.insert_at(dir, last, mode, kind)
    }

    fn insert_at(&mut self, dir: usize, name: &str, mode: u32, kind: Kind) -> usize {
        let replaced = self.child(dir, name);
        let id = self.nodes.len();
        let ty = if mode & DMDIR != 0 { QTDIR } else { QTFILE };
        self.nodes.push(MemNode {
            name: name.into(),
            parent: dir,
            qid: Qid {
                ty,
                vers: 0,
                path: id as u64,
            },
            mode,
            kind,
        });
        if let Kind::Dir(children) = &mut self.nodes[dir].kind {
            children.retain(|&c| Some(c) != replaced);
            children.push(id);
        }
        id
    }

    /// Add a directory (and any missing parents) with permission bits `perm` (e.g. 0o555).
    pub fn add_dir(&mut self, path: &str, perm: u32) -> &mut Self {
        self.insert(path, DMDIR | (perm & 0o777), Kind::Dir(Vec::new()));
        self
    }

    /// Add a file (and any missing parent directories) with permission bits `perm`.
    pub fn add_file(&mut self, path: &str, perm: u32, contents: impl Into<Vec<u8>>) -> &mut Self {
        self.insert(path, perm & 0o777, Kind::File(Mutex::new(contents.into())));
        self
    }

    /// The current contents of the file at `path`.
    pub fn contents(&self, path: &str) -> Option<Vec<u8>> {
        match &self.nodes[self.lookup(path)?].kind {
            Kind::File(data) => Some(lock(data).clone()),
            Kind::Dir(_) => None,
        }
    }

    fn node(&self, n: usize) -> NineResult<&MemNode> {
        self.nodes.get(n).ok_or_else(|| NineError::new(ENONEXIST))
    }

    fn stat_of(&self, n: usize) -> NineResult<Stat> {
        let node = self.node(n)?;
        let length = match &node.kind {
            Kind::File(data) => lock(data).len() as u64,
            Kind::Dir(_) => 0,
        };
        Ok(Stat {
            qid: node.qid,
            mode: node.mode,
            length,
            name: node.name.clone(),
            uid: self.owner.clone(),
            gid: self.owner.clone(),
            muid: self.owner.clone(),
            ..Stat::default()
        })
    }
}

impl FileTree for MemTree {
    type Node = usize;
    type Open = MemOpen;

    fn attach(&self, _uname: &str, _aname: &str) -> NineResult<(usize, Qid)> {
        Ok((0, self.nodes[0].qid))
    }

    fn walk1(&self, _uname: &str, dir: &usize, name: &str) -> NineResult<(usize, Qid)> {
        let node = self.node(*dir)?;
        let next = if name == ".." {
            Some(node.parent)
        } else {
            self.child(*dir, name)
        };
        let n = next.ok_or_else(|| NineError::new(ENONEXIST))?;
        Ok((n, self.nodes[n].qid))
    }

    fn stat(&self, node: &usize) -> NineResult<Stat> {
        self.stat_of(*node)
    }

    fn wstat(&self, _uname: &str, _node: &usize, _stat: &Stat) -> NineResult<()> {
        Err(NineError::new(EPERM))
    }

    /// Owner bits for the owner, other bits for everyone else.
    fn open(&self, uname: &str, node: &usize, mode: u8) -> NineResult<(MemOpen, Qid, u32)> {
        let n = self.node(*node)?;
        let perm = if uname == self.owner {
            (n.mode >> 6) & 7
        } else {
            n.mode & 7
        };
        let need = match mode & 3 {
            OWRITE => 2,
            ORDWR => 6,
            OEXEC => 1,
            _ => 4,
        } | if mode & OTRUNC != 0 { 2 } else { 0 };
        if perm & need != need {
            return Err(NineError::new(EPERM));
        }
        if let (Kind::File(data), true) = (&n.kind, mode & OTRUNC != 0) {
            lock(data).clear();
        }
        Ok((MemOpen { node: *node }, n.qid, 0))
    }

    fn readdir(&self, node: &usize) -> NineResult<Vec<Stat>> {
        match &self.node(*node)?.kind {
            Kind::Dir(children) => children.iter().map(|&c| self.stat_of(c)).collect(),
            Kind::File(_) => Err(NineError::new(EPERM)),
        }
    }

    fn read(
        &self,
        open: &mut MemOpen,
        offset: u64,
        count: u32,
        _cancel: &Cancel,
    ) -> NineResult<Vec<u8>> {
        match &self.node(open.node)?.kind {
            Kind::File(data) => {
                let data = lock(data);
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                let end = start.saturating_add(count as usize).min(data.len());
                Ok(data[start..end].to_vec())
            }
            Kind::Dir(_) => Err(NineError::new(EPERM)),
        }
    }

    fn write(
        &self,
        open: &mut MemOpen,
        offset: u64,
        buf: &[u8],
        _cancel: &Cancel,
    ) -> NineResult<u32> {
        match &self.node(open.node)?.kind {
            Kind::File(data) => {
                let mut data = lock(data);
                // Keep a hostile offset from asking for an absurd allocation.
                let start = usize::try_from(offset)
                    .ok()
                    .filter(|&o| o <= data.len() + (1 << 20));
                let start = start.ok_or_else(|| NineError::new("write offset too large"))?;
                let end = start + buf.len();
                if data.len() < end {
                    data.resize(end, 0);
                }
                data[start..end].copy_from_slice(buf);
                Ok(buf.len() as u32)
            }
            Kind::Dir(_) => Err(NineError::new(EPERM)),
        }
    }

    fn clunk(&self, _open: MemOpen) {}

    fn remove(&self, _uname: &str, _node: &usize) -> NineResult<()> {
        Err(NineError::new(EPERM))
    }
}
