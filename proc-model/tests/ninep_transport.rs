//! 9P2000 transport tests over real sockets (intro(5) framing): many clients at once, a
//! misbehaving client (garbage size, oversize frame, abrupt close) disturbing no other,
//! Tflush of a blocked read while the same connection keeps serving, Unix sockets,
//! shutdown, and the `host:port` / `unix:PATH` address syntax.

use proc_model::ninep::fs::{Cancel, FileTree, NineError, NineResult, Qid, Stat, OREAD};
use proc_model::ninep::memtree::{MemOpen, MemTree};
use proc_model::ninep::msg::*;
use proc_model::ninep::{serve_tcp, serve_unix, Fid, ListenAddr, Rmsg, Tag, Tmsg, NOFID, NOTAG};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::time::Duration;

/// MemTree plus a file `block` whose reads wait until cancelled (like a `wait` read), and
/// `slow`, whose reads answer `late` after a moment (like a ctl write the machine carries out).
struct BlockTree {
    mem: MemTree,
    /// Set when a read of `slow` has begun.
    slow_started: std::sync::atomic::AtomicBool,
}

#[derive(Clone)]
enum Node {
    Mem(usize),
    Block,
    Slow,
}

enum Open {
    Mem(MemOpen),
    Block,
    Slow,
}

const SLOW_QID: Qid = Qid {
    ty: 0,
    vers: 0,
    path: 2 << 40,
};

const BLOCK_QID: Qid = Qid {
    ty: 0,
    vers: 0,
    path: 1 << 40,
};

impl FileTree for BlockTree {
    type Node = Node;
    type Open = Open;

    fn attach(&self, uname: &str, aname: &str) -> NineResult<(Node, Qid)> {
        self.mem
            .attach(uname, aname)
            .map(|(n, q)| (Node::Mem(n), q))
    }
    fn walk1(&self, uname: &str, dir: &Node, name: &str) -> NineResult<(Node, Qid)> {
        match dir {
            Node::Mem(0) if name == "block" => Ok((Node::Block, BLOCK_QID)),
            Node::Mem(0) if name == "slow" => Ok((Node::Slow, SLOW_QID)),
            Node::Mem(d) => self
                .mem
                .walk1(uname, d, name)
                .map(|(n, q)| (Node::Mem(n), q)),
            Node::Block | Node::Slow => Err(NineError::new("walk in non-directory")),
        }
    }
    fn stat(&self, node: &Node) -> NineResult<Stat> {
        match node {
            Node::Mem(n) => self.mem.stat(n),
            Node::Block => Ok(Stat {
                qid: BLOCK_QID,
                mode: 0o444,
                name: "block".into(),
                ..Stat::default()
            }),
            Node::Slow => Ok(Stat {
                qid: SLOW_QID,
                mode: 0o444,
                name: "slow".into(),
                ..Stat::default()
            }),
        }
    }
    fn wstat(&self, uname: &str, node: &Node, stat: &Stat) -> NineResult<()> {
        match node {
            Node::Mem(n) => self.mem.wstat(uname, n, stat),
            Node::Block | Node::Slow => Err(NineError::new("permission denied")),
        }
    }
    fn open(&self, uname: &str, node: &Node, mode: u8) -> NineResult<(Open, Qid, u32)> {
        match node {
            Node::Mem(n) => self
                .mem
                .open(uname, n, mode)
                .map(|(o, q, i)| (Open::Mem(o), q, i)),
            Node::Block => Ok((Open::Block, BLOCK_QID, 0)),
            Node::Slow => Ok((Open::Slow, SLOW_QID, 0)),
        }
    }
    fn readdir(&self, node: &Node) -> NineResult<Vec<Stat>> {
        match node {
            Node::Mem(n) => self.mem.readdir(n),
            Node::Block | Node::Slow => Err(NineError::new("not a directory")),
        }
    }
    fn read(
        &self,
        open: &mut Open,
        offset: u64,
        count: u32,
        cancel: &Cancel,
    ) -> NineResult<Vec<u8>> {
        match open {
            Open::Mem(o) => self.mem.read(o, offset, count, cancel),
            Open::Block => {
                let (tx, rx) = std::sync::mpsc::channel();
                cancel.on_cancel(move || {
                    let _ = tx.send(());
                });
                let _ = rx.recv();
                Err(NineError::new(proc_model::ninep::errstr::EINTR))
            }
            Open::Slow => {
                self.slow_started
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(200));
                Ok(b"late".to_vec())
            }
        }
    }
    fn write(&self, open: &mut Open, offset: u64, data: &[u8], cancel: &Cancel) -> NineResult<u32> {
        match open {
            Open::Mem(o) => self.mem.write(o, offset, data, cancel),
            Open::Block | Open::Slow => Err(NineError::new("permission denied")),
        }
    }
    fn clunk(&self, open: Open) {
        if let Open::Mem(o) = open {
            self.mem.clunk(o)
        }
    }
    fn remove(&self, uname: &str, node: &Node) -> NineResult<()> {
        match node {
            Node::Mem(n) => self.mem.remove(uname, n),
            Node::Block | Node::Slow => Err(NineError::new("permission denied")),
        }
    }
}

fn tree() -> Arc<BlockTree> {
    let mut mem = MemTree::new("glenda");
    mem.add_file("hello", 0o444, "hello, world\n")
        .add_file("dir/f", 0o666, "f\n");
    Arc::new(BlockTree {
        mem,
        slow_started: Default::default(),
    })
}

fn tcp_server() -> (proc_model::ninep::ServerHandle, std::net::SocketAddr) {
    tcp_server_of(tree())
}

fn tcp_server_of(tree: Arc<BlockTree>) -> (proc_model::ninep::ServerHandle, std::net::SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server = serve_tcp(tree, listener).expect("serve");
    let ListenAddr::Tcp(addr) = server.local_addr().clone() else {
        panic!("not tcp")
    };
    (server, addr)
}

/// A minimal synchronous 9P client over any stream.
struct Client<S: Read + Write> {
    s: S,
}

impl<S: Read + Write> Client<S> {
    fn send(&mut self, tag: u16, m: impl Into<Tmsg>) {
        self.s
            .write_all(&m.into().encode_frame(Tag(tag)))
            .expect("write");
    }

    /// The next reply, or None if the server closed the connection.
    fn recv(&mut self) -> Option<(Tag, Rmsg)> {
        let mut size = [0u8; 4];
        self.s.read_exact(&mut size).ok()?;
        let mut frame = size.to_vec();
        frame.resize(u32::from_le_bytes(size) as usize, 0);
        self.s.read_exact(&mut frame[4..]).ok()?;
        Some(Rmsg::decode_frame(&frame).expect("well-formed reply"))
    }

    fn rpc(&mut self, tag: u16, m: impl Into<Tmsg>) -> Rmsg {
        self.send(tag, m);
        let (t, r) = self.recv().expect("reply");
        assert_eq!(t, Tag(tag));
        r
    }

    fn handshake(&mut self) {
        self.handshake_msize(8192);
    }

    fn handshake_msize(&mut self, msize: u32) {
        let r = self.rpc(
            NOTAG.0,
            Tversion {
                msize,
                version: "9P2000".into(),
            },
        );
        assert_eq!(
            r,
            Rmsg::Version(Rversion {
                msize,
                version: "9P2000".into()
            })
        );
        let r = self.rpc(
            1,
            Tattach {
                fid: Fid(0),
                afid: NOFID,
                uname: "glenda".into(),
                aname: "".into(),
            },
        );
        assert!(matches!(r, Rmsg::Attach(_)), "{r:?}");
    }

    /// Walk fid 1 to the root file `name`, open it, and send a 10-byte Tread with `tag`
    /// without waiting for its reply.
    fn start_read(&mut self, name: &str, tag: u16) {
        self.rpc(
            2,
            Twalk {
                fid: Fid(0),
                newfid: Fid(1),
                wname: vec![name.into()],
            },
        );
        self.rpc(
            3,
            Topen {
                fid: Fid(1),
                mode: OREAD,
            },
        );
        self.send(
            tag,
            Tread {
                fid: Fid(1),
                offset: 0,
                count: 10,
            },
        );
    }

    fn cat(&mut self, fid: u32, path: &[&str]) -> Vec<u8> {
        self.cat_count(fid, path, 8000)
    }

    fn cat_count(&mut self, fid: u32, path: &[&str], count: u32) -> Vec<u8> {
        let wname = path.iter().map(|s| s.to_string()).collect();
        let r = self.rpc(
            2,
            Twalk {
                fid: Fid(0),
                newfid: Fid(fid),
                wname,
            },
        );
        assert!(
            matches!(r, Rmsg::Walk(ref w) if w.wqid.len() == path.len()),
            "{r:?}"
        );
        assert!(matches!(
            self.rpc(
                3,
                Topen {
                    fid: Fid(fid),
                    mode: OREAD
                }
            ),
            Rmsg::Open(_)
        ));
        let data = match self.rpc(
            4,
            Tread {
                fid: Fid(fid),
                offset: 0,
                count,
            },
        ) {
            Rmsg::Read(r) => r.data,
            r => panic!("{r:?}"),
        };
        assert_eq!(
            self.rpc(5, Tclunk { fid: Fid(fid) }),
            Rmsg::Clunk(Rclunk {})
        );
        data
    }
}

fn connect(addr: std::net::SocketAddr) -> Client<TcpStream> {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    Client { s }
}

#[test]
fn transport_many_clients_served_at_once() {
    let (_server, addr) = tcp_server();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = connect(addr);
                c.handshake();
                for i in 0..20 {
                    assert_eq!(c.cat(10 + i, &["hello"]), b"hello, world\n");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
}

/// A server of one file, `big`, holding `content`.
fn big_file_server(content: &[u8]) -> (proc_model::ninep::ServerHandle, std::net::SocketAddr) {
    let mut mem = MemTree::new("glenda");
    mem.add_file("big", 0o444, content.to_vec());
    tcp_server_of(Arc::new(BlockTree {
        mem,
        slow_started: Default::default(),
    }))
}

/// A big Rread goes out as header plus data in one vectored write: the frame on the wire is
/// exactly the codec's, and a small reply after it is framed right.
#[test]
fn transport_big_read_reply_is_one_well_formed_frame() {
    let content: Vec<u8> = (0..(1u32 << 20)).map(|i| (i * 7 % 251) as u8).collect();
    let (_server, addr) = big_file_server(&content);
    let mut c = connect(addr);
    c.handshake_msize((1 << 20) + 24);
    assert_eq!(c.cat_count(10, &["big"], 1 << 20), content);
    assert!(c.cat_count(11, &["big"], 100) == content[..100]);
}

/// The crate's own client reads a big file in place (`read_into`), in buffer-sized pieces,
/// and an Rerror still comes back as the server's string.
#[test]
fn client_read_into_receives_in_place_and_keeps_errors() {
    use proc_model::ninep::client::{Client as P9, ClientError};
    let content: Vec<u8> = (0..(3u32 << 19)).map(|i| (i * 13 % 253) as u8).collect();
    let (_server, addr) = big_file_server(&content);
    let mut c = P9::connect(&addr.to_string(), "glenda").expect("connect");
    let (fid, _) = c.open_path("/big", OREAD).expect("open");
    let mut buf = vec![0u8; 1 << 20];
    let mut got = Vec::new();
    loop {
        let n = c.read_into(fid, got.len() as u64, &mut buf).expect("read");
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, content);
    let mut small = [0u8; 5];
    assert_eq!(c.read_into(fid, 3, &mut small).expect("read"), 5);
    assert_eq!(small, content[3..8]);
    c.clunk(fid).expect("clunk");
    match c.read_into(fid, 0, &mut small) {
        Err(ClientError::Remote(s)) => assert_eq!(s, "unknown fid"),
        r => panic!("{r:?}"),
    }
}

#[test]
fn transport_garbage_size_closes_only_that_connection() {
    let (server, addr) = tcp_server();
    let mut good = connect(addr);
    good.handshake();
    let mut bad = connect(addr);
    bad.s
        .write_all(&[3, 0, 0, 0, 0xde, 0xad, 0xbe])
        .expect("write");
    assert!(bad.recv().is_none(), "a size below 7 closes the connection");
    assert_eq!(good.cat(1, &["hello"]), b"hello, world\n");
    let mut later = connect(addr);
    later.handshake();
    assert_eq!(later.cat(1, &["dir", "f"]), b"f\n");
    drop(server);
}

#[test]
fn transport_frame_over_msize_closes_only_that_connection() {
    let (_server, addr) = tcp_server();
    let mut good = connect(addr);
    good.handshake();
    let mut bad = connect(addr);
    bad.handshake();
    bad.send(
        9,
        Twrite {
            fid: Fid(0),
            offset: 0,
            data: vec![0; 9000],
        },
    );
    assert!(
        bad.recv().is_none(),
        "a frame over msize closes the connection"
    );
    assert_eq!(good.cat(1, &["hello"]), b"hello, world\n");
}

#[test]
fn transport_bad_body_answered_and_connection_kept() {
    let (_server, addr) = tcp_server();
    let mut c = connect(addr);
    c.handshake();
    // Tclunk with a 3-byte fid: the tag is readable, the body is not.
    c.s.write_all(&[10, 0, 0, 0, 120, 7, 0, 1, 0, 0])
        .expect("write");
    assert_eq!(c.recv(), Some((Tag(7), Rmsg::error("9P protocol botch"))));
    // An unknown message type (Tlopen) is answered too.
    c.s.write_all(&[7, 0, 0, 0, 12, 8, 0]).expect("write");
    assert_eq!(c.recv(), Some((Tag(8), Rmsg::error("unknown message"))));
    assert_eq!(c.cat(1, &["hello"]), b"hello, world\n");
}

#[test]
fn transport_abrupt_close_mid_frame_disturbs_no_one() {
    let (server, addr) = tcp_server();
    let mut good = connect(addr);
    good.handshake();
    {
        let mut bad = connect(addr);
        bad.handshake();
        bad.s.write_all(&[100, 0, 0, 0, 118, 1]).expect("write");
    } // dropped mid-frame
    {
        let mut blocked = connect(addr);
        blocked.handshake();
        blocked.start_read("block", 4);
    } // dropped with a read blocked in the tree: the close cancels it
    assert_eq!(good.cat(1, &["hello"]), b"hello, world\n");
    // Both dead connections are torn down.
    for _ in 0..200 {
        if server.connections() == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.connections(), 1);
}

#[test]
fn transport_flush_of_blocked_read_while_connection_serves() {
    let (_server, addr) = tcp_server();
    let mut c = connect(addr);
    c.handshake();
    c.start_read("block", 10);
    // The blocked read holds a worker; the connection still answers other requests.
    assert_eq!(c.cat(2, &["hello"]), b"hello, world\n");
    c.send(11, Tflush { oldtag: Tag(10) });
    assert_eq!(
        c.recv(),
        Some((Tag(11), Rmsg::Flush(Rflush {}))),
        "only the Rflush, no reply to tag 10"
    );
    assert_eq!(c.rpc(10, Tclunk { fid: Fid(1) }), Rmsg::Clunk(Rclunk {}));
}

#[test]
fn transport_unix_socket_serves() {
    let dir = std::env::temp_dir().join(format!("glass-9p-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join("9p.sock");
    let _ = std::fs::remove_file(&path);
    let server = serve_unix(tree(), UnixListener::bind(&path).expect("bind")).expect("serve");
    assert_eq!(server.local_addr(), &ListenAddr::Unix(path.clone()));
    let mut c = Client {
        s: UnixStream::connect(&path).expect("connect"),
    };
    c.handshake();
    assert_eq!(c.cat(1, &["hello"]), b"hello, world\n");
    server.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn transport_shutdown_closes_connections() {
    let (server, addr) = tcp_server();
    let mut c = connect(addr);
    c.handshake();
    server.shutdown();
    c.send(2, Tstat { fid: Fid(0) });
    assert!(c.recv().is_none());
    assert!(TcpStream::connect(addr).is_err() || connect(addr).recv().is_none());
}

#[test]
fn transport_shutdown_answers_requests_in_flight_first() {
    let t = tree();
    let (server, addr) = tcp_server_of(t.clone());
    let mut c = connect(addr);
    c.handshake();
    c.start_read("slow", 10);
    while !t.slow_started.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    // The read is in flight when the server shuts down: its reply still arrives, then EOF.
    server.shutdown();
    match c.recv() {
        Some((Tag(10), Rmsg::Read(r))) => assert_eq!(r.data, b"late"),
        r => panic!("expected the in-flight Rread before the close: {r:?}"),
    }
    assert!(c.recv().is_none());
}

#[test]
fn addr_host_port_parses_tcp() {
    let a: ListenAddr = "127.0.0.1:564".parse().expect("parse");
    assert_eq!(
        a,
        ListenAddr::Tcp("127.0.0.1:564".parse().expect("sockaddr"))
    );
    let a: ListenAddr = "[::1]:5640".parse().expect("parse");
    assert_eq!(a.to_string(), "[::1]:5640");
    assert!(
        matches!("localhost:5640".parse::<ListenAddr>(), Ok(ListenAddr::Tcp(a)) if a.port() == 5640)
    );
}

#[test]
fn addr_unix_prefix_parses_path() {
    let a: ListenAddr = "unix:/tmp/glass.sock".parse().expect("parse");
    assert_eq!(a, ListenAddr::Unix("/tmp/glass.sock".into()));
    assert_eq!(a.to_string(), "unix:/tmp/glass.sock");
}

#[test]
fn addr_plan9_dial_strings_parse() {
    let a: ListenAddr = "tcp!127.0.0.1!564".parse().expect("parse");
    assert_eq!(
        a,
        ListenAddr::Tcp("127.0.0.1:564".parse().expect("sockaddr"))
    );
    let a: ListenAddr = "unix!/tmp/s".parse().expect("parse");
    assert_eq!(a, ListenAddr::Unix("/tmp/s".into()));
}

#[test]
fn addr_garbage_is_an_error() {
    for s in ["", "564", "unix:", "tcp!nohost", "host:notaport"] {
        assert!(s.parse::<ListenAddr>().is_err(), "{s:?} parsed");
    }
}
