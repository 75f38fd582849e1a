//! The 9P2000 transport against hostile or careless clients (intro(5) framing, attach(5)
//! auth): the connection limit, the per-connection fid limit and its memory coming back at
//! close, backpressure instead of load errors, shared-key authentication, private Unix
//! sockets removed at exit, and the client's timeout against a server that never answers.

use proc_model::ninep::client::{Client, ClientError, Options};
use proc_model::ninep::errstr::*;
use proc_model::ninep::fs::{Cancel, FileTree, NineResult, Qid, Stat, OREAD};
use proc_model::ninep::memtree::{MemOpen, MemTree};
use proc_model::ninep::msg::*;
use proc_model::ninep::{AuthKey, Config, Fid, ListenAddr, Rmsg, ServerHandle, Tag, Tmsg};
use proc_model::ninep::{NOFID, NOTAG};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn tree() -> MemTree {
    let mut t = MemTree::new("glenda");
    t.add_dir("/d", 0o755)
        .add_file("/d/hello", 0o666, b"hello, 9p\n".to_vec());
    t
}

fn serve_with<T: FileTree>(t: T, addr: &str, config: Config) -> ServerHandle {
    let addr: ListenAddr = addr.parse().expect("addr");
    addr.serve(Arc::new(t), config).expect("serve")
}

fn tmp_sock(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("glass-hard-{}-{name}.sock", std::process::id()))
}

fn send(s: &mut impl Write, tag: u16, m: Tmsg) {
    s.write_all(&m.encode_frame(Tag(tag))).expect("send");
}

fn recv(s: &mut impl Read) -> (Tag, Rmsg) {
    let mut size = [0u8; 4];
    s.read_exact(&mut size).expect("reply size");
    let n = u32::from_le_bytes(size) as usize;
    let mut f = vec![0u8; n];
    f[..4].copy_from_slice(&size);
    s.read_exact(&mut f[4..]).expect("reply body");
    Rmsg::decode_frame(&f).expect("decodes")
}

fn rpc(s: &mut (impl Read + Write), tag: u16, m: Tmsg) -> Rmsg {
    send(s, tag, m);
    let (t, r) = recv(s);
    assert_eq!(t, Tag(tag));
    r
}

/// Tversion and Tattach of fid 0 as glenda.
fn handshake(s: &mut (impl Read + Write)) {
    let v = rpc(
        s,
        NOTAG.0,
        Tmsg::Version(Tversion {
            msize: 8192,
            version: "9P2000".into(),
        }),
    );
    assert!(matches!(v, Rmsg::Version(_)), "{v:?}");
    let a = rpc(
        s,
        1,
        Tmsg::Attach(Tattach {
            fid: Fid(0),
            afid: NOFID,
            uname: "glenda".into(),
            aname: String::new(),
        }),
    );
    assert!(matches!(a, Rmsg::Attach(_)), "{a:?}");
}

fn threads_now() -> usize {
    let s = std::fs::read_to_string("/proc/self/status").expect("status");
    s.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("Threads line")
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---- connection limit ----

#[test]
fn conns_past_limit_ten_thousand_refused_server_still_answers() {
    let sock = tmp_sock("limit");
    let server = serve_with(
        tree(),
        &format!("unix:{}", sock.display()),
        Config {
            max_conns: 4,
            ..Config::default()
        },
    );
    let mut idle: Vec<UnixStream> = (0..4)
        .map(|_| {
            let mut s = UnixStream::connect(&sock).expect("connect");
            handshake(&mut s);
            s
        })
        .collect();
    wait_until("4 connections", 10, || server.connections() == 4);
    let threads_before = threads_now();
    for i in 0..10_000 {
        let mut s = UnixStream::connect(&sock).expect("connect is accepted");
        // Refused cleanly: the server closes it at once, so the read ends (EOF or reset).
        let mut b = [0u8; 1];
        let n = s.read(&mut b).unwrap_or(0);
        assert_eq!(n, 0, "attempt {i} got data from a full server");
    }
    assert!(server.refused() >= 10_000, "refused {}", server.refused());
    assert_eq!(server.connections(), 4);
    assert!(
        threads_now() <= threads_before + 2,
        "refusals must not cost threads: {threads_before} -> {}",
        threads_now()
    );
    // The served ones still work, and a freed slot serves a new client normally.
    let r = rpc(&mut idle[0], 5, Tmsg::Stat(Tstat { fid: Fid(0) }));
    assert!(matches!(r, Rmsg::Stat(_)), "{r:?}");
    drop(idle.pop());
    wait_until("a free slot", 10, || server.connections() == 3);
    let addr = format!("unix:{}", sock.display());
    let mut c = Client::connect(&addr, "glenda").expect("a normal client after the storm");
    assert_eq!(c.read_file("/d/hello").expect("read"), b"hello, 9p\n");
    server.shutdown();
}

// ---- fid limit and memory ----

#[test]
fn fids_past_limit_too_many_fids_and_table_gone_after_close() {
    let server = serve_with(
        tree(),
        "127.0.0.1:0",
        Config {
            max_fids: 100,
            ..Config::default()
        },
    );
    let mut s = TcpStream::connect(server.local_addr().to_string()).expect("connect");
    handshake(&mut s);
    // Fid 0 is the root; clones 1..=99 fill the table.
    for newfid in 1..100u32 {
        let r = rpc(
            &mut s,
            2,
            Tmsg::Walk(Twalk {
                fid: Fid(0),
                newfid: Fid(newfid),
                wname: vec![],
            }),
        );
        assert!(matches!(r, Rmsg::Walk(_)), "fid {newfid}: {r:?}");
    }
    let r = rpc(
        &mut s,
        2,
        Tmsg::Walk(Twalk {
            fid: Fid(0),
            newfid: Fid(100),
            wname: vec!["d".into()],
        }),
    );
    assert_eq!(r, Rmsg::error(ETOO_MANY_FIDS));
    let r = rpc(
        &mut s,
        3,
        Tmsg::Attach(Tattach {
            fid: Fid(500),
            afid: NOFID,
            uname: "glenda".into(),
            aname: String::new(),
        }),
    );
    assert_eq!(r, Rmsg::error(ETOO_MANY_FIDS));
    assert_eq!(server.live_fids(), 100);
    // A clunk makes room again.
    assert_eq!(
        rpc(&mut s, 4, Tmsg::Clunk(Tclunk { fid: Fid(99) })),
        Rmsg::Clunk(Rclunk {})
    );
    let r = rpc(
        &mut s,
        5,
        Tmsg::Walk(Twalk {
            fid: Fid(0),
            newfid: Fid(100),
            wname: vec![],
        }),
    );
    assert!(matches!(r, Rmsg::Walk(_)), "{r:?}");
    drop(s);
    wait_until("the fid table to go", 10, || server.live_fids() == 0);
    server.shutdown();
}

// ---- backpressure ----

/// MemTree whose file reads take a few milliseconds, so jobs pile up behind a client that
/// pipelines.
struct SlowTree(MemTree);

impl FileTree for SlowTree {
    type Node = usize;
    type Open = MemOpen;
    fn attach(&self, uname: &str, aname: &str) -> NineResult<(usize, Qid)> {
        self.0.attach(uname, aname)
    }
    fn walk1(&self, uname: &str, dir: &usize, name: &str) -> NineResult<(usize, Qid)> {
        self.0.walk1(uname, dir, name)
    }
    fn stat(&self, node: &usize) -> NineResult<Stat> {
        self.0.stat(node)
    }
    fn open(&self, uname: &str, node: &usize, mode: u8) -> NineResult<(MemOpen, Qid, u32)> {
        self.0.open(uname, node, mode)
    }
    fn readdir(&self, node: &usize) -> NineResult<Vec<Stat>> {
        self.0.readdir(node)
    }
    fn read(&self, o: &mut MemOpen, off: u64, n: u32, c: &Cancel) -> NineResult<Vec<u8>> {
        std::thread::sleep(Duration::from_millis(2));
        self.0.read(o, off, n, c)
    }
    fn write(&self, o: &mut MemOpen, off: u64, d: &[u8], c: &Cancel) -> NineResult<u32> {
        self.0.write(o, off, d, c)
    }
    fn wstat(&self, uname: &str, node: &usize, stat: &Stat) -> NineResult<()> {
        self.0.wstat(uname, node, stat)
    }
    fn clunk(&self, open: MemOpen) {
        self.0.clunk(open)
    }
    fn remove(&self, uname: &str, node: &usize) -> NineResult<()> {
        self.0.remove(uname, node)
    }
}

#[test]
fn pipelined_requests_past_inflight_bound_all_answered_no_load_error() {
    const N: u16 = 6000;
    let server = serve_with(SlowTree(tree()), "127.0.0.1:0", Config::default());
    let mut s = TcpStream::connect(server.local_addr().to_string()).expect("connect");
    handshake(&mut s);
    for (tag, m) in [
        (
            2,
            Tmsg::Walk(Twalk {
                fid: Fid(0),
                newfid: Fid(1),
                wname: vec!["d".into(), "hello".into()],
            }),
        ),
        (
            3,
            Tmsg::Open(Topen {
                fid: Fid(1),
                mode: OREAD,
            }),
        ),
    ] {
        let r = rpc(&mut s, tag, m);
        assert!(!matches!(r, Rmsg::Error(_)), "{r:?}");
    }
    // One thread pipelines N requests (reads of the slow file and stats of /, alternating)
    // without reading; the replies are read only after a pause.
    let mut w = s.try_clone().expect("clone");
    let writer = std::thread::spawn(move || {
        let mut buf = Vec::new();
        for tag in 0..N {
            let m = if tag % 2 == 0 {
                Tmsg::Read(Tread {
                    fid: Fid(1),
                    offset: 0,
                    count: 5,
                })
            } else {
                Tmsg::Stat(Tstat { fid: Fid(0) })
            };
            m.encode_frame_into(Tag(tag), &mut buf);
        }
        w.write_all(&buf).expect("pipeline");
    });
    std::thread::sleep(Duration::from_millis(500));
    let mut seen = vec![false; N as usize];
    for _ in 0..N {
        let (Tag(tag), r) = recv(&mut s);
        let i = tag as usize;
        assert!(i < seen.len() && !seen[i], "tag {tag} unexpected or twice");
        seen[i] = true;
        match (tag % 2, &r) {
            (0, Rmsg::Read(d)) => assert_eq!(d.data, b"hello"),
            (1, Rmsg::Stat(st)) => assert_eq!(st.stat.name, "/"),
            _ => panic!("tag {tag}: {r:?}"),
        }
    }
    writer.join().expect("writer");
    server.shutdown();
}

// ---- authentication ----

fn key(b: u8) -> AuthKey {
    AuthKey::new(vec![b; 32]).expect("32 bytes")
}

fn opts(k: Option<AuthKey>) -> Options {
    Options {
        timeout: Some(Duration::from_secs(10)),
        key: k,
    }
}

#[test]
fn auth_server_refuses_keyless_and_wrong_key_accepts_right_key() {
    let server = serve_with(
        tree(),
        "127.0.0.1:0",
        Config {
            auth: Some(key(1)),
            ..Config::default()
        },
    );
    let addr = server.local_addr().to_string();
    match Client::connect_with(&addr, "glenda", &opts(None)) {
        Err(ClientError::Remote(e)) => assert_eq!(e, ENOT_AUTHENTICATED),
        r => panic!("attach without a key: {:?}", r.map(|_| ())),
    }
    match Client::connect_with(&addr, "glenda", &opts(Some(key(2)))) {
        Err(ClientError::Remote(e)) => assert_eq!(e, EAUTH_FAILED),
        r => panic!("attach with the wrong key: {:?}", r.map(|_| ())),
    }
    let mut c = Client::connect_with(&addr, "glenda", &opts(Some(key(1)))).expect("right key");
    assert_eq!(c.read_file("/d/hello").expect("read"), b"hello, 9p\n");
    // The auth fid was clunked after the attach: only the root fid is left.
    assert_eq!(server.live_fids(), 1);
    server.shutdown();
}

#[test]
fn auth_raw_exchange_uname_mismatch_and_replayed_nonce_refused() {
    let server = serve_with(
        tree(),
        "127.0.0.1:0",
        Config {
            auth: Some(key(1)),
            ..Config::default()
        },
    );
    let mut s = TcpStream::connect(server.local_addr().to_string()).expect("connect");
    let v = Tversion {
        msize: 8192,
        version: "9P2000".into(),
    };
    assert!(matches!(
        rpc(&mut s, NOTAG.0, Tmsg::Version(v)),
        Rmsg::Version(_)
    ));
    let auth = |afid: u32| {
        Tmsg::Auth(Tauth {
            afid: Fid(afid),
            uname: "glenda".into(),
            aname: String::new(),
        })
    };
    assert!(matches!(rpc(&mut s, 1, auth(7)), Rmsg::Auth(a) if a.aqid.ty == 0x08));
    assert_eq!(rpc(&mut s, 1, auth(u32::MAX)), Rmsg::error(EBADFID));
    let read = Tmsg::Read(Tread {
        fid: Fid(7),
        offset: 0,
        count: 100,
    });
    let nonce = match rpc(&mut s, 2, read) {
        Rmsg::Read(r) => r.data,
        r => panic!("{r:?}"),
    };
    assert_eq!(nonce.len(), 32);
    let mac = key(1).response(&nonce, "glenda", "");
    let w = Tmsg::Write(Twrite {
        fid: Fid(7),
        offset: 0,
        data: mac.to_vec(),
    });
    assert_eq!(rpc(&mut s, 3, w), Rmsg::Write(Rwrite { count: 32 }));
    let attach = |uname: &str| {
        Tmsg::Attach(Tattach {
            fid: Fid(0),
            afid: Fid(7),
            uname: uname.into(),
            aname: String::new(),
        })
    };
    assert_eq!(
        rpc(&mut s, 4, attach("bootes")),
        Rmsg::error("auth uname mismatch: glenda vs bootes")
    );
    assert!(matches!(rpc(&mut s, 4, attach("glenda")), Rmsg::Attach(_)));
    // A second auth fid gets a fresh nonce: the old MAC does not answer it.
    assert!(matches!(rpc(&mut s, 5, auth(8)), Rmsg::Auth(_)));
    let w = Tmsg::Write(Twrite {
        fid: Fid(8),
        offset: 0,
        data: mac.to_vec(),
    });
    assert_eq!(rpc(&mut s, 6, w), Rmsg::error(EAUTH_FAILED));
    server.shutdown();
}

#[test]
fn auth_client_with_key_on_keyless_server_attaches_without_afid() {
    let server = serve_with(tree(), "127.0.0.1:0", Config::default());
    let addr = server.local_addr().to_string();
    let mut c = Client::connect_with(&addr, "glenda", &opts(Some(key(1)))).expect("connect");
    assert_eq!(c.read_file("/d/hello").expect("read"), b"hello, 9p\n");
    server.shutdown();
}

// ---- Unix socket ----

#[test]
fn unix_socket_mode_0600_and_removed_at_shutdown() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let sock = tmp_sock("mode");
    let server = serve_with(
        tree(),
        &format!("unix:{}", sock.display()),
        Config::default(),
    );
    let md = std::fs::symlink_metadata(&sock).expect("socket exists");
    assert!(md.file_type().is_socket());
    assert_eq!(md.permissions().mode() & 0o777, 0o600);
    // No private bind directory is left beside it.
    let dir = sock.parent().expect("parent");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .expect("tmp")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!(".glass-9p-{}-", std::process::id()))
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let mut c = Client::connect(&format!("unix:{}", sock.display()), "glenda").expect("connect");
    assert_eq!(c.read_file("/d/hello").expect("read"), b"hello, 9p\n");
    drop(c);
    server.shutdown();
    assert!(!sock.exists(), "socket left behind");
}

#[test]
fn unix_socket_path_taken_by_a_file_bind_fails_file_kept() {
    let path = tmp_sock("taken");
    std::fs::write(&path, b"not a socket").expect("write");
    let addr: ListenAddr = format!("unix:{}", path.display()).parse().expect("addr");
    assert!(addr.serve(Arc::new(tree()), Config::default()).is_err());
    assert_eq!(std::fs::read(&path).expect("kept"), b"not a socket");
    std::fs::remove_file(&path).expect("cleanup");
}

// ---- NOFID ----

#[test]
fn nofid_as_new_fid_bad_fid_over_the_wire() {
    let server = serve_with(tree(), "127.0.0.1:0", Config::default());
    let mut s = TcpStream::connect(server.local_addr().to_string()).expect("connect");
    handshake(&mut s);
    let r = rpc(
        &mut s,
        2,
        Tmsg::Attach(Tattach {
            fid: NOFID,
            afid: NOFID,
            uname: "glenda".into(),
            aname: String::new(),
        }),
    );
    assert_eq!(r, Rmsg::error(EBADFID));
    let r = rpc(
        &mut s,
        3,
        Tmsg::Walk(Twalk {
            fid: Fid(0),
            newfid: NOFID,
            wname: vec![],
        }),
    );
    assert_eq!(r, Rmsg::error(EBADFID));
    assert_eq!(server.live_fids(), 1);
    server.shutdown();
}

// ---- client timeout ----

#[test]
fn client_timeout_server_never_answers_times_out() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    // Accept and hold the connection, never answering.
    let holder = std::thread::spawn(move || l.accept().map(|(s, _)| s));
    let t0 = Instant::now();
    let o = Options {
        timeout: Some(Duration::from_secs(1)),
        key: None,
    };
    match Client::connect_with(&addr, "glenda", &o) {
        Err(e @ ClientError::Timeout(_)) => {
            assert!(e.to_string().contains("timed out"), "{e}");
        }
        r => panic!("expected a timeout, got {:?}", r.map(|_| ())),
    }
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    drop(holder.join());
}
