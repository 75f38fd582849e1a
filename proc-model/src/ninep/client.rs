//! A small synchronous 9P2000 client (intro(5)) over TCP or a Unix socket, on proc-model's
//! codec: version, auth (Glass's shared-key scheme, [`super::auth`]), attach, walk, open,
//! read, write, stat, clunk. Used by `glass 9p`, `glass debug` and the demo. Remote errors
//! keep Plan 9's exact strings. Every reply is awaited at most [`Options::timeout`].

use super::auth::AuthKey;
use super::fs::{Stat, OREAD};
use super::msg::*;
use super::wire::{decode_dir_entries, Fid, Tag, IOHDRSZ, MAXWELEM, NOFID, NOTAG};
use std::io::{Read, Write};
use std::time::Duration;

/// Largest message size we ask for: 1 MiB of data plus the I/O header.
pub const MSIZE: u32 = (1 << 20) + IOHDRSZ;

/// How long the client waits for the server by default (connect, and each reply).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub enum ClientError {
    Io(std::io::Error),
    Protocol(String),
    /// An Rerror: the server's error string, verbatim.
    Remote(String),
    /// The server did not answer (or accept the connection) within this long.
    Timeout(Duration),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Io(e) => write!(f, "{e}"),
            ClientError::Protocol(s) => write!(f, "9P protocol error: {s}"),
            ClientError::Remote(s) => f.write_str(s),
            ClientError::Timeout(d) => write!(
                f,
                "timed out: no answer from the server within {} s (see --timeout)",
                d.as_secs_f64()
            ),
        }
    }
}

impl std::error::Error for ClientError {}

/// A socket timeout shows as WouldBlock (SO_RCVTIMEO, Linux) or TimedOut (connect).
fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        ClientError::Io(e)
    }
}

/// How to connect: how long to wait, and the key to authenticate with (if the server asks
/// for one: a server without auth answers Tauth with an error and the client attaches
/// without an afid).
#[derive(Clone, Debug)]
pub struct Options {
    /// `None`: wait forever.
    pub timeout: Option<Duration>,
    pub key: Option<AuthKey>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Some(DEFAULT_TIMEOUT),
            key: None,
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

trait Conn: Read + Write + Send {
    fn set_timeouts(&self, t: Option<Duration>) -> std::io::Result<()>;
}

impl Conn for std::net::TcpStream {
    fn set_timeouts(&self, t: Option<Duration>) -> std::io::Result<()> {
        self.set_read_timeout(t)?;
        self.set_write_timeout(t)
    }
}

impl Conn for std::os::unix::net::UnixStream {
    fn set_timeouts(&self, t: Option<Duration>) -> std::io::Result<()> {
        self.set_read_timeout(t)?;
        self.set_write_timeout(t)
    }
}

pub struct Client {
    conn: Box<dyn Conn>,
    msize: u32,
    next_tag: u16,
    next_fid: u32,
    root: Fid,
    timeout: Option<Duration>,
}

/// Connect to `host:port` (TCP) or `unix:PATH`, waiting at most `timeout` for a TCP
/// connection to be accepted (a Unix socket connects or fails at once).
fn dial(addr: &str, timeout: Option<Duration>) -> Result<Box<dyn Conn>> {
    let conn: Box<dyn Conn> = if let Some(path) = addr.strip_prefix("unix:") {
        Box::new(std::os::unix::net::UnixStream::connect(path)?)
    } else {
        let s = match timeout {
            None => std::net::TcpStream::connect(addr)?,
            Some(t) => {
                use std::net::ToSocketAddrs;
                let mut last = None;
                let mut found = None;
                for a in addr.to_socket_addrs()? {
                    match std::net::TcpStream::connect_timeout(&a, t) {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(e) if is_timeout(&e) => return Err(ClientError::Timeout(t)),
                        Err(e) => last = Some(e),
                    }
                }
                match (found, last) {
                    (Some(s), _) => s,
                    (None, Some(e)) => return Err(e.into()),
                    (None, None) => {
                        return Err(ClientError::Io(std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "address resolves to nothing",
                        )))
                    }
                }
            }
        };
        s.set_nodelay(true)?;
        Box::new(s)
    };
    conn.set_timeouts(timeout)?;
    Ok(conn)
}

impl Client {
    /// Connect, negotiate 9P2000 and attach as `uname`, with the default [`Options`]
    /// (30 s timeout, no key).
    pub fn connect(addr: &str, uname: &str) -> Result<Client> {
        Client::connect_with(addr, uname, &Options::default())
    }

    /// Connect, negotiate 9P2000, authenticate if `opts.key` is given and attach as `uname`.
    pub fn connect_with(addr: &str, uname: &str, opts: &Options) -> Result<Client> {
        let conn = dial(addr, opts.timeout)?;
        let mut c = Client {
            conn,
            msize: MSIZE,
            next_tag: 0,
            next_fid: 1,
            root: Fid(0),
            timeout: opts.timeout,
        };
        match c.rpc_tag(
            NOTAG,
            Tmsg::Version(Tversion {
                msize: MSIZE,
                version: "9P2000".into(),
            }),
        )? {
            Rmsg::Version(v) if v.version == "9P2000" => c.msize = v.msize.min(MSIZE),
            Rmsg::Version(v) => {
                return Err(ClientError::Protocol(format!(
                    "server speaks {:?}",
                    v.version
                )))
            }
            r => return Err(unexpected(&r)),
        }
        let afid = match &opts.key {
            Some(key) => c.authenticate(key, uname, "")?,
            None => NOFID,
        };
        let r = c.rpc(Tmsg::Attach(Tattach {
            fid: c.root,
            afid,
            uname: uname.into(),
            aname: String::new(),
        }));
        if afid != NOFID {
            let _ = c.clunk(afid);
        }
        match r? {
            Rmsg::Attach(_) => Ok(c),
            r => Err(unexpected(&r)),
        }
    }

    /// Glass's challenge–response ([`super::auth`]): Tauth, read the nonce, write the MAC.
    /// Returns the verified afid, or NOFID if the server needs no authentication.
    fn authenticate(&mut self, key: &AuthKey, uname: &str, aname: &str) -> Result<Fid> {
        let afid = self.new_fid();
        match self.rpc(Tmsg::Auth(Tauth {
            afid,
            uname: uname.into(),
            aname: aname.into(),
        })) {
            Ok(Rmsg::Auth(_)) => {}
            // lib9p's answer when there is nothing to prove: attach without an afid.
            Err(ClientError::Remote(e)) if e.ends_with("authentication not required") => {
                return Ok(NOFID)
            }
            Ok(r) => return Err(unexpected(&r)),
            Err(e) => return Err(e),
        }
        let nonce = self.read(afid, 0, super::auth::NONCE_LEN as u32)?;
        let mac = key.response(&nonce, uname, aname);
        self.write(afid, 0, &mac)?;
        Ok(afid)
    }

    /// Change how long each reply is awaited (`None`: forever), for requests that block by
    /// design (ctl `startstop`, a `wait` read).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.conn.set_timeouts(timeout)?;
        self.timeout = timeout;
        Ok(())
    }

    /// The reply timeout in force.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The negotiated message size.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn msize(&self) -> u32 {
        self.msize
    }

    fn rpc_tag(&mut self, tag: Tag, t: Tmsg) -> Result<Rmsg> {
        let r = (|| {
            self.conn.write_all(&t.encode_frame(tag))?;
            let mut head = [0u8; 7];
            self.conn.read_exact(&mut head)?;
            self.finish_reply(tag, head)
        })();
        match (r, self.timeout) {
            (Err(ClientError::Io(e)), Some(t)) if is_timeout(&e) => Err(ClientError::Timeout(t)),
            (r, _) => r,
        }
    }

    /// The rest of the reply whose first 7 bytes (size, type, tag) are `head`.
    fn finish_reply(&mut self, tag: Tag, head: [u8; 7]) -> Result<Rmsg> {
        let n = self.frame_size(&head)?;
        let mut frame = vec![0u8; n];
        frame[..7].copy_from_slice(&head);
        self.conn.read_exact(&mut frame[7..])?;
        let (rtag, r) =
            Rmsg::decode_frame(&frame).map_err(|e| ClientError::Protocol(format!("{e:?}")))?;
        if rtag != tag {
            return Err(ClientError::Protocol(format!(
                "reply tag {rtag} for request tag {tag}"
            )));
        }
        match r {
            Rmsg::Error(e) => Err(ClientError::Remote(e.ename)),
            r => Ok(r),
        }
    }

    fn frame_size(&self, head: &[u8; 7]) -> Result<usize> {
        let n = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if n < 7 || n > self.msize as usize + 64 {
            return Err(ClientError::Protocol(format!("bad frame size {n}")));
        }
        Ok(n)
    }

    fn new_tag(&mut self) -> Tag {
        let tag = Tag(self.next_tag);
        self.next_tag = (self.next_tag + 1) % 0xFFFF;
        tag
    }

    fn rpc(&mut self, t: Tmsg) -> Result<Rmsg> {
        let tag = self.new_tag();
        self.rpc_tag(tag, t)
    }

    fn new_fid(&mut self) -> Fid {
        let f = Fid(self.next_fid);
        self.next_fid += 1;
        f
    }

    /// Walk from the root to `path`; returns a new fid.
    pub fn walk(&mut self, path: &str) -> Result<Fid> {
        let names: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let fid = self.new_fid();
        let mut from = self.root;
        if names.is_empty() {
            self.rpc(Tmsg::Walk(Twalk {
                fid: from,
                newfid: fid,
                wname: vec![],
            }))?;
            return Ok(fid);
        }
        for chunk in names.chunks(MAXWELEM) {
            match self.rpc(Tmsg::Walk(Twalk {
                fid: from,
                newfid: fid,
                wname: chunk.to_vec(),
            }))? {
                Rmsg::Walk(w) if w.wqid.len() == chunk.len() => from = fid,
                Rmsg::Walk(w) => {
                    if from == fid {
                        let _ = self.clunk(fid);
                    }
                    return Err(ClientError::Remote(format!(
                        "'{}' does not exist",
                        chunk[w.wqid.len()]
                    )));
                }
                r => return Err(unexpected(&r)),
            }
        }
        Ok(fid)
    }

    /// Open a walked fid; returns the iounit to use.
    pub fn open(&mut self, fid: Fid, mode: u8) -> Result<u32> {
        match self.rpc(Tmsg::Open(Topen { fid, mode }))? {
            Rmsg::Open(o) => Ok(if o.iounit == 0 {
                self.msize - IOHDRSZ
            } else {
                o.iounit
            }),
            r => Err(unexpected(&r)),
        }
    }

    /// Walk to `path` and open it.
    pub fn open_path(&mut self, path: &str, mode: u8) -> Result<(Fid, u32)> {
        let fid = self.walk(path)?;
        match self.open(fid, mode) {
            Ok(io) => Ok((fid, io)),
            Err(e) => {
                let _ = self.clunk(fid);
                Err(e)
            }
        }
    }

    pub fn read(&mut self, fid: Fid, offset: u64, count: u32) -> Result<Vec<u8>> {
        let count = count.min(self.msize - IOHDRSZ);
        match self.rpc(Tmsg::Read(Tread { fid, offset, count }))? {
            Rmsg::Read(r) => Ok(r.data),
            r => Err(unexpected(&r)),
        }
    }

    /// Read at most `buf.len()` bytes (and one message's worth) at `offset` straight into
    /// `buf`, as read(2) does: an Rread's data is received in place, never copied. Returns
    /// the count; 0 is the end of the file.
    pub fn read_into(&mut self, fid: Fid, offset: u64, buf: &mut [u8]) -> Result<usize> {
        match (self.read_into_inner(fid, offset, buf), self.timeout) {
            (Err(ClientError::Io(e)), Some(t)) if is_timeout(&e) => Err(ClientError::Timeout(t)),
            (r, _) => r,
        }
    }

    fn read_into_inner(&mut self, fid: Fid, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let count = (buf.len() as u64).min(u64::from(self.msize - IOHDRSZ)) as u32;
        let tag = self.new_tag();
        self.conn
            .write_all(&Tmsg::Read(Tread { fid, offset, count }).encode_frame(tag))?;
        let mut head = [0u8; 7];
        self.conn.read_exact(&mut head)?;
        if head[4] != Rread::TYPE {
            let r = self.finish_reply(tag, head)?;
            return Err(unexpected(&r));
        }
        let n = self.frame_size(&head)?;
        let rtag = Tag(u16::from_le_bytes([head[5], head[6]]));
        let mut cnt = [0u8; 4];
        if n < 11 {
            return Err(ClientError::Protocol(format!("Rread of {n} bytes")));
        }
        self.conn.read_exact(&mut cnt)?;
        let got = u32::from_le_bytes(cnt) as usize;
        if rtag != tag || got != n - 11 || got > count as usize {
            return Err(ClientError::Protocol(format!(
                "Rread tag {rtag} count {got} in {n} bytes, for tag {tag} count {count}"
            )));
        }
        self.conn.read_exact(&mut buf[..got])?;
        Ok(got)
    }

    pub fn write(&mut self, fid: Fid, offset: u64, data: &[u8]) -> Result<u32> {
        let n = data.len().min((self.msize - IOHDRSZ) as usize);
        match self.rpc(Tmsg::Write(Twrite {
            fid,
            offset,
            data: data[..n].to_vec(),
        }))? {
            Rmsg::Write(w) => Ok(w.count),
            r => Err(unexpected(&r)),
        }
    }

    pub fn clunk(&mut self, fid: Fid) -> Result<()> {
        self.rpc(Tmsg::Clunk(Tclunk { fid })).map(|_| ())
    }

    pub fn stat(&mut self, path: &str) -> Result<Stat> {
        let fid = self.walk(path)?;
        let r = self.rpc(Tmsg::Stat(Tstat { fid }));
        let _ = self.clunk(fid);
        match r? {
            Rmsg::Stat(s) => Ok(s.stat),
            r => Err(unexpected(&r)),
        }
    }

    /// Read a whole file: reads at increasing offsets until one returns nothing.
    pub fn read_file(&mut self, path: &str) -> Result<Vec<u8>> {
        let (fid, iounit) = self.open_path(path, OREAD)?;
        let mut out = Vec::new();
        let r = loop {
            match self.read(fid, out.len() as u64, iounit) {
                Ok(d) if d.is_empty() => break Ok(()),
                Ok(d) => out.extend_from_slice(&d),
                Err(e) => break Err(e),
            }
        };
        let _ = self.clunk(fid);
        r.map(|_| out)
    }

    /// One read of at most `count` bytes at `offset` (what one-record files like `wait`,
    /// `note` and `mem` want).
    pub fn read_once(&mut self, path: &str, offset: u64, count: u32) -> Result<Vec<u8>> {
        let (fid, _) = self.open_path(path, OREAD)?;
        let r = self.read(fid, offset, count);
        let _ = self.clunk(fid);
        r
    }

    /// Write `data` at `offset` of `path` in one message.
    pub fn write_file(&mut self, path: &str, offset: u64, data: &[u8]) -> Result<u32> {
        let (fid, _) = self.open_path(path, super::fs::OWRITE)?;
        let r = self.write(fid, offset, data);
        let _ = self.clunk(fid);
        r
    }

    /// The entries of a directory.
    pub fn ls(&mut self, path: &str) -> Result<Vec<Stat>> {
        let (fid, iounit) = self.open_path(path, OREAD)?;
        let mut out = Vec::new();
        let mut offset = 0u64;
        let r = loop {
            match self.read(fid, offset, iounit) {
                Ok(d) if d.is_empty() => break Ok(()),
                Ok(d) => {
                    offset += d.len() as u64;
                    match decode_dir_entries(&d) {
                        Ok(mut v) => out.append(&mut v),
                        Err(e) => break Err(ClientError::Protocol(format!("{e:?}"))),
                    }
                }
                Err(e) => break Err(e),
            }
        };
        let _ = self.clunk(fid);
        r.map(|_| out)
    }
}

fn unexpected(r: &Rmsg) -> ClientError {
    ClientError::Protocol(format!("unexpected reply {}", r.name()))
}

/// Plan 9 `ls -l` style mode string: d/a/l/-, then rwx for owner, group, other.
pub fn mode_string(mode: u32) -> String {
    let mut s = String::new();
    s.push(if mode & 0x8000_0000 != 0 {
        'd'
    } else if mode & 0x4000_0000 != 0 {
        'a'
    } else {
        '-'
    });
    s.push(if mode & 0x2000_0000 != 0 { 'l' } else { '-' });
    for shift in [6, 3, 0] {
        let b = (mode >> shift) & 7;
        s.push(if b & 4 != 0 { 'r' } else { '-' });
        s.push(if b & 2 != 0 { 'w' } else { '-' });
        s.push(if b & 1 != 0 { 'x' } else { '-' });
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ninep::memtree::MemTree;
    use crate::ninep::ListenAddr;
    use std::sync::Arc;

    #[test]
    fn client_against_memtree_over_tcp_reads_lists_writes_and_reports_errors() {
        let mut t = MemTree::new("glenda");
        t.add_dir("/d", 0o755)
            .add_file("/d/hello", 0o666, b"hello, 9p\n".to_vec());
        let addr: ListenAddr = "127.0.0.1:0".parse().expect("addr");
        let server = addr.serve(Arc::new(t), Default::default()).expect("serve");
        let local = server.local_addr().to_string();
        let mut c = Client::connect(&local, "glenda").expect("connect");
        assert_eq!(c.msize(), MSIZE);
        assert_eq!(c.read_file("/d/hello").expect("read"), b"hello, 9p\n");
        let names: Vec<String> = c
            .ls("/d")
            .expect("ls")
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["hello"]);
        assert_eq!(c.write_file("/d/hello", 0, b"HELLO").expect("write"), 5);
        assert_eq!(c.read_file("/d/hello").expect("read"), b"HELLO, 9p\n");
        assert_eq!(c.stat("/d/hello").expect("stat").length, 10);
        match c.read_file("/d/nope") {
            Err(ClientError::Remote(s)) => assert!(!s.is_empty()),
            r => panic!("expected a remote error, got {r:?}"),
        }
        assert_eq!(mode_string(0x8000_01ed), "d-rwxr-xr-x");
        server.shutdown();
    }
}
