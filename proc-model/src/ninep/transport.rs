//! 9P2000 transports: TCP and Unix-socket listeners serving a [`FileTree`], one reader
//! thread per connection plus a per-connection worker pool for Tread/Twrite (which may
//! block; a read the tree calls quick, `FileTree::quick_read`, runs on the reader thread
//! instead), and the `host:port` / `unix:PATH` address syntax. Framing follows intro(5):
//! `size[4]` counts the whole message; a size below 7 or above the negotiated msize closes
//! that one connection and nothing else.
//!
//! Limits against a hostile client ([`Config`]): at most `max_conns` connections (the next
//! are accepted and closed at once); at most `max_outstanding` Tread/Twrite in flight per
//! connection, past which the reader stops reading the socket until one finishes
//! (backpressure, never an error for load); small thread stacks. A Unix socket is made
//! mode 0600 (bound inside a 0700 directory, then linked into place) and removed when the
//! server stops.

use super::fs::FileTree;
use super::msg::{Rmsg, Rread};
use super::server::{Config, Outbox, Received, Session};
use super::wire::{Tag, HEADER_LEN};
use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// A suggested default listen address: loopback only. 9P's registered port is 564, which
/// needs privileges; 5640 does not. Serving beyond loopback is the caller's explicit choice.
pub const DEFAULT_TCP_ADDR: &str = "127.0.0.1:5640";

/// Read buffer per connection.
const READ_BUFFER: usize = 64 * 1024;
/// How long a connection the server is shutting down waits for requests already in flight
/// before it closes, so a reply the tree has produced is still sent.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(1);
/// Stack of a connection's reader and worker threads. They decode, encode and call the
/// tree, which sends requests to the machine thread: none recurses. Rust's default of
/// 2 MiB made each idle connection reserve megabytes of address space.
const THREAD_STACK: usize = 256 * 1024;
/// How often a reader held back by backpressure looks whether the client hung up.
const BACKPRESSURE_POLL: std::time::Duration = std::time::Duration::from_millis(50);
/// intro(5) message types that become jobs (Tread, Twrite).
const TREAD: u8 = 116;
const TWRITE: u8 = 118;

/// Host-side transport errors (never sent to a client).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("bad 9P address {addr:?}: {why}")]
    BadAddr { addr: String, why: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: io::Error },
    #[error("cannot inspect listener: {0}")]
    Listener(io::Error),
}

/// Where a 9P server listens: `host:port` (TCP) or `unix:PATH` (Unix socket). Plan 9 dial
/// strings `tcp!host!port` and `unix!PATH` are accepted too.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ListenAddr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Tcp(a) => write!(f, "{a}"),
            ListenAddr::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

impl FromStr for ListenAddr {
    type Err = TransportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| TransportError::BadAddr {
            addr: s.to_string(),
            why: why.to_string(),
        };
        if let Some(path) = s.strip_prefix("unix:").or_else(|| s.strip_prefix("unix!")) {
            if path.is_empty() {
                return Err(bad("empty socket path"));
            }
            return Ok(ListenAddr::Unix(PathBuf::from(path)));
        }
        let hostport = match s.strip_prefix("tcp!") {
            Some(rest) => match rest.rsplit_once('!') {
                Some((host, port)) => format!("{host}:{port}"),
                None => return Err(bad("expected tcp!host!port")),
            },
            None => s.to_string(),
        };
        if let Ok(a) = hostport.parse::<SocketAddr>() {
            return Ok(ListenAddr::Tcp(a));
        }
        if !hostport.contains(':') {
            return Err(bad("expected host:port or unix:PATH"));
        }
        match hostport.to_socket_addrs() {
            Ok(mut addrs) => addrs
                .next()
                .map(ListenAddr::Tcp)
                .ok_or_else(|| bad("host has no address")),
            Err(e) => Err(bad(&e.to_string())),
        }
    }
}

impl ListenAddr {
    /// Bind a listener at this address and serve `tree` on it.
    pub fn serve<T: FileTree>(
        &self,
        tree: Arc<T>,
        config: Config,
    ) -> Result<ServerHandle, TransportError> {
        let bind_err = |source| TransportError::Bind {
            addr: self.to_string(),
            source,
        };
        match self {
            ListenAddr::Tcp(a) => Ok(serve_tcp_with(
                tree,
                TcpListener::bind(a).map_err(bind_err)?,
                config,
            )?),
            ListenAddr::Unix(p) => {
                remove_stale_socket(p);
                let (listener, id) = bind_unix_private(p).map_err(bind_err)?;
                // The listener's own name is the private path it was bound at, gone now:
                // the server's address (and the one its waker dials) is `p`.
                let mut h = start(tree, config, self.clone(), Box::new(listener));
                h.owned_socket = Some((p.clone(), id));
                Ok(h)
            }
        }
    }
}

/// Bind a Unix socket at `p` that only its owner can connect to: bind inside a fresh 0700
/// directory beside `p` (so no umask and no moment of wider access), chmod 0600, then
/// hard-link it to `p` (which, unlike rename, fails rather than replace a file already
/// there). Returns the listener and the socket's (dev, inode), so only that file is removed
/// at the end.
fn bind_unix_private(p: &Path) -> io::Result<(UnixListener, (u64, u64))> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let dir = parent.join(format!(
        ".glass-9p-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    let tmp = dir.join("s");
    let bound = (|| {
        let l = UnixListener::bind(&tmp)?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        std::fs::hard_link(&tmp, p)?;
        let md = std::fs::symlink_metadata(p)?;
        Ok((l, (md.dev(), md.ino())))
    })();
    let _ = std::fs::remove_file(&tmp);
    let _ = std::fs::remove_dir(&dir);
    bound
}

/// Remove the socket file at `p` if it is still the one we bound.
fn remove_own_socket(p: &Path, id: (u64, u64)) {
    use std::os::unix::fs::MetadataExt;
    if let Ok(md) = std::fs::symlink_metadata(p) {
        if (md.dev(), md.ino()) == id {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A socket file nobody listens on (left by a server that died) would make bind fail.
fn remove_stale_socket(p: &std::path::Path) {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(md) = std::fs::symlink_metadata(p) {
        if md.file_type().is_socket() && UnixStream::connect(p).is_err() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Bind `addr` and serve `tree` with the default configuration.
pub fn serve<T: FileTree>(tree: Arc<T>, addr: &ListenAddr) -> Result<ServerHandle, TransportError> {
    addr.serve(tree, Config::default())
}

/// Serve `tree` on an already bound TCP listener (bind 127.0.0.1 unless you mean otherwise).
pub fn serve_tcp<T: FileTree>(
    tree: Arc<T>,
    listener: TcpListener,
) -> Result<ServerHandle, TransportError> {
    serve_tcp_with(tree, listener, Config::default())
}

pub fn serve_tcp_with<T: FileTree>(
    tree: Arc<T>,
    listener: TcpListener,
    config: Config,
) -> Result<ServerHandle, TransportError> {
    let local = listener.local_addr().map_err(TransportError::Listener)?;
    Ok(start(
        tree,
        config,
        ListenAddr::Tcp(local),
        Box::new(listener),
    ))
}

/// Serve `tree` on an already bound Unix-socket listener.
pub fn serve_unix<T: FileTree>(
    tree: Arc<T>,
    listener: UnixListener,
) -> Result<ServerHandle, TransportError> {
    serve_unix_with(tree, listener, Config::default())
}

pub fn serve_unix_with<T: FileTree>(
    tree: Arc<T>,
    listener: UnixListener,
    config: Config,
) -> Result<ServerHandle, TransportError> {
    let local = listener.local_addr().map_err(TransportError::Listener)?;
    let path = local.as_pathname().map(PathBuf::from).unwrap_or_default();
    Ok(start(
        tree,
        config,
        ListenAddr::Unix(path),
        Box::new(listener),
    ))
}

/// Serve one already connected stream on the calling thread until it closes (for stdio-like
/// pipes, socketpairs and tests). `S` must be cloneable into a reader and a writer.
pub fn serve_connection<T: FileTree, S: Stream>(tree: Arc<T>, config: Config, stream: S) {
    run_connection(tree, config, stream, &AtomicBool::new(false))
}

/// A byte stream a connection runs on.
pub trait Stream: Read + Write + Send + Sized + 'static {
    fn try_clone_stream(&self) -> io::Result<Self>;
    fn shutdown_stream(&self);
    /// Stop reading requests (the reader sees a clean end); replies can still be written.
    fn shutdown_read(&self);
    /// Whether the peer has hung up or the stream failed, without reading from it (asked
    /// while backpressure keeps the reader off the stream). `false` when unknown.
    fn hung_up(&self) -> bool {
        false
    }
}

/// poll(2) the descriptor for hang-up or error without consuming anything.
fn fd_hung_up(fd: std::os::fd::RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd on our stack for the duration of the call; timeout 0.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

impl Stream for TcpStream {
    fn try_clone_stream(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn shutdown_stream(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
    fn shutdown_read(&self) {
        let _ = self.shutdown(Shutdown::Read);
    }
    fn hung_up(&self) -> bool {
        fd_hung_up(self.as_raw_fd())
    }
}

impl Stream for UnixStream {
    fn try_clone_stream(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn shutdown_stream(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
    fn shutdown_read(&self) {
        let _ = self.shutdown(Shutdown::Read);
    }
    fn hung_up(&self) -> bool {
        fd_hung_up(self.as_raw_fd())
    }
}

/// A listener of either kind, boxed so the accept loop is written once.
trait Listener: Send + Sync + 'static {
    fn accept_conn(&self) -> io::Result<Conn>;
    /// Make a blocked `accept` return (by connecting to ourselves).
    fn wake(&self, local: &ListenAddr);
}

enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Listener for TcpListener {
    fn accept_conn(&self) -> io::Result<Conn> {
        let (s, _) = self.accept()?;
        let _ = s.set_nodelay(true);
        Ok(Conn::Tcp(s))
    }
    fn wake(&self, local: &ListenAddr) {
        if let ListenAddr::Tcp(mut a) = local.clone() {
            if a.ip().is_unspecified() {
                a.set_ip(match a {
                    SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                    SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                });
            }
            let _ = TcpStream::connect_timeout(&a, std::time::Duration::from_secs(1));
        }
    }
}

impl Listener for UnixListener {
    fn accept_conn(&self) -> io::Result<Conn> {
        Ok(Conn::Unix(self.accept()?.0))
    }
    fn wake(&self, local: &ListenAddr) {
        if let ListenAddr::Unix(p) = local {
            let _ = UnixStream::connect(p);
        }
    }
}

struct Registry {
    next: AtomicU64,
    /// Connections closed at once because `max_conns` were being served.
    refused: AtomicU64,
    /// Live connections: a way to shut each down, and its reader thread.
    conns: Mutex<HashMap<u64, ConnEntry>>,
}

struct ConnEntry {
    close: Box<dyn Fn() + Send>,
    reader: JoinHandle<()>,
}

fn lock<S>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running server. Dropping it shuts it down.
pub struct ServerHandle {
    local: ListenAddr,
    stop: Arc<AtomicBool>,
    registry: Arc<Registry>,
    accept: Option<JoinHandle<()>>,
    waker: Arc<dyn Fn() + Send + Sync>,
    live_fids: super::server::FidGauge,
    /// The socket file this server made (path, (dev, inode)), removed when it stops.
    owned_socket: Option<(PathBuf, (u64, u64))>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// Where the server listens (with the real port when bound to port 0).
    pub fn local_addr(&self) -> &ListenAddr {
        &self.local
    }

    /// Number of connections being served now.
    pub fn connections(&self) -> usize {
        lock(&self.registry.conns).len()
    }

    /// Number of connections refused (closed at once) because the limit was reached.
    pub fn refused(&self) -> u64 {
        self.registry.refused.load(Ordering::SeqCst)
    }

    /// Number of fids alive over all this server's connections.
    pub fn live_fids(&self) -> usize {
        self.live_fids.get()
    }

    /// Stop accepting, stop every connection's requests, let each answer what it has in
    /// flight (for at most a second; then the rest are cancelled), and wait for the accept
    /// and connection threads to end.
    pub fn shutdown(mut self) {
        self.stop_all();
    }

    fn stop_all(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        (self.waker)();
        let _ = accept.join();
        let conns: Vec<_> = lock(&self.registry.conns).drain().collect();
        let mut readers = Vec::new();
        for (_, conn) in conns {
            (conn.close)();
            readers.push(conn.reader);
        }
        for r in readers {
            let _ = r.join();
        }
        if let Some((p, id)) = self.owned_socket.take() {
            remove_own_socket(&p, id);
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn start<T: FileTree>(
    tree: Arc<T>,
    config: Config,
    local: ListenAddr,
    listener: Box<dyn Listener>,
) -> ServerHandle {
    let stop = Arc::new(AtomicBool::new(false));
    let registry = Arc::new(Registry {
        next: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        conns: Mutex::new(HashMap::new()),
    });
    let listener: Arc<dyn Listener> = Arc::from(listener);
    let waker = {
        let (l, local) = (listener.clone(), local.clone());
        Arc::new(move || l.wake(&local)) as Arc<dyn Fn() + Send + Sync>
    };
    let live_fids = config.live_fids.clone();
    let accept = {
        let (stop, registry) = (stop.clone(), registry.clone());
        std::thread::Builder::new()
            .name("9p-accept".into())
            .stack_size(THREAD_STACK)
            .spawn(move || accept_loop(tree, config, &*listener, &stop, &registry))
            .ok()
    };
    ServerHandle {
        local,
        stop,
        registry,
        accept,
        waker,
        live_fids,
        owned_socket: None,
    }
}

fn accept_loop<T: FileTree>(
    tree: Arc<T>,
    config: Config,
    listener: &dyn Listener,
    stop: &AtomicBool,
    registry: &Arc<Registry>,
) {
    loop {
        let conn = listener.accept_conn();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let conn = match conn {
            Ok(c) => c,
            Err(e)
                if e.kind() == io::ErrorKind::Interrupted
                    || e.kind() == io::ErrorKind::ConnectionAborted =>
            {
                continue
            }
            Err(_) => {
                // Out of file descriptors and the like: back off instead of spinning.
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
        };
        if lock(&registry.conns).len() >= config.max_conns.max(1) {
            // Full: close it now (the client sees EOF), keep serving the others.
            registry.refused.fetch_add(1, Ordering::SeqCst);
            drop(conn);
            continue;
        }
        match conn {
            Conn::Tcp(s) => spawn_connection(tree.clone(), config.clone(), s, registry),
            Conn::Unix(s) => spawn_connection(tree.clone(), config.clone(), s, registry),
        }
    }
}

fn spawn_connection<T: FileTree, S: Stream>(
    tree: Arc<T>,
    config: Config,
    stream: S,
    registry: &Arc<Registry>,
) {
    let Ok(closer) = stream.try_clone_stream() else {
        return;
    };
    let id = registry.next.fetch_add(1, Ordering::Relaxed);
    let stopping = Arc::new(AtomicBool::new(false));
    let stop_flag = stopping.clone();
    // Register before the thread can finish, so its own removal always finds the entry.
    let mut conns = lock(&registry.conns);
    let reg = registry.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("9p-conn-{id}"))
        .stack_size(THREAD_STACK)
        .spawn(move || {
            run_connection(tree, config, stream, &stopping);
            lock(&reg.conns).remove(&id);
        });
    if let Ok(handle) = spawned {
        // The server's close stops the requests; the connection answers those in flight,
        // then ends.
        let close = Box::new(move || {
            stop_flag.store(true, Ordering::SeqCst);
            closer.shutdown_read();
        });
        conns.insert(
            id,
            ConnEntry {
                close,
                reader: handle,
            },
        );
    }
}

/// The writing half of a connection. Replies arrive with the session locked, in order.
struct Writer<S: Stream> {
    stream: Mutex<S>,
    buf: Mutex<Vec<u8>>,
    dead: AtomicBool,
}

impl<S: Stream> Outbox for &Writer<S> {
    fn reply(&mut self, tag: Tag, msg: Rmsg) {
        if self.dead.load(Ordering::Relaxed) {
            return;
        }
        let mut buf = lock(&self.buf);
        buf.clear();
        // An Rread's data goes to the socket as it is, after its 11-byte header: a 1 MiB
        // read of mem is not copied once more into a frame buffer.
        let data: &[u8] = match &msg {
            Rmsg::Read(r) if r.data.len() > READ_BUFFER => {
                Rread::encode_header(tag, r.data.len(), &mut buf);
                &r.data
            }
            _ => {
                msg.encode_frame_into(tag, &mut buf);
                &[]
            }
        };
        let mut stream = lock(&self.stream);
        if write_all_vectored(&mut *stream, &buf, data)
            .and_then(|()| stream.flush())
            .is_err()
        {
            self.dead.store(true, Ordering::Relaxed);
            stream.shutdown_stream(); // wakes the reader, which tears the connection down
        }
        if buf.capacity() > READ_BUFFER {
            *buf = Vec::new(); // do not keep a 1 MiB buffer per idle connection
        }
    }
}

/// Write `head` then `tail`, with as few system calls as the socket allows.
fn write_all_vectored(w: &mut impl Write, head: &[u8], tail: &[u8]) -> io::Result<()> {
    let (mut head, mut tail) = (head, tail);
    while !head.is_empty() || !tail.is_empty() {
        let n = match w.write_vectored(&[io::IoSlice::new(head), io::IoSlice::new(tail)]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let from_head = n.min(head.len());
        head = &head[from_head..];
        tail = &tail[n - from_head..];
    }
    Ok(())
}

/// Read one frame: `Ok(None)` at a clean end of stream; `Err` for a garbage size, a frame
/// over `max`, or a stream that ends mid-frame.
fn read_frame(r: &mut impl Read, max: u32) -> io::Result<Option<Vec<u8>>> {
    let mut size = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut size[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let n = u32::from_le_bytes(size);
    if (n as usize) < HEADER_LEN || n > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("9P frame size {n} outside 7..={max}"),
        ));
    }
    let mut frame = vec![0u8; n as usize];
    frame[..4].copy_from_slice(&size);
    r.read_exact(&mut frame[4..])?;
    Ok(Some(frame))
}

type Task = Box<dyn FnOnce() + Send>;

/// Worker threads for one connection's jobs. A job that blocks holds its worker; a new
/// worker is started whenever no idle one is free, so a blocked `wait` read never delays
/// another request. Idle workers stay until the connection closes.
struct Pool {
    tx: Option<mpsc::Sender<Task>>,
    rx: Arc<Mutex<mpsc::Receiver<Task>>>,
    idle: Arc<AtomicUsize>,
    name: String,
}

impl Pool {
    fn new(name: String) -> Self {
        let (tx, rx) = mpsc::channel();
        Pool {
            tx: Some(tx),
            rx: Arc::new(Mutex::new(rx)),
            idle: Arc::new(AtomicUsize::new(0)),
            name,
        }
    }

    fn submit(&self, task: Task) {
        // Reserve an idle worker, or start one: either way some worker is free for the task.
        let reserved = self
            .idle
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if !reserved {
            let (rx, idle) = (self.rx.clone(), self.idle.clone());
            let spawned = std::thread::Builder::new()
                .name(self.name.clone())
                .stack_size(THREAD_STACK)
                .spawn(move || loop {
                    let task = lock(&rx).recv();
                    match task {
                        Ok(task) => {
                            task();
                            idle.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => return,
                    }
                });
            if spawned.is_err() {
                // No thread to be had: run it here rather than lose the reply.
                task();
                return;
            }
        }
        if let Some(tx) = &self.tx {
            let _ = tx.send(task);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.tx = None; // workers exit once the queue is drained
    }
}

/// Serve one connection until it ends. `stopping` is set when the server closes it: the
/// requests already in flight are then answered (within DRAIN) before the close.
fn run_connection<T: FileTree, S: Stream>(
    tree: Arc<T>,
    config: Config,
    stream: S,
    stopping: &AtomicBool,
) {
    let Ok(write_half) = stream.try_clone_stream() else {
        return;
    };
    let session = Arc::new(Session::new(tree, config));
    let writer = Arc::new(Writer {
        stream: Mutex::new(write_half),
        buf: Mutex::new(Vec::new()),
        dead: AtomicBool::new(false),
    });
    let pool = Pool::new(format!(
        "{}-worker",
        std::thread::current().name().unwrap_or("9p-conn")
    ));
    let mut reader = BufReader::with_capacity(READ_BUFFER, stream);
    // On any exit (even a panic in the tree on this thread) cancel jobs and clunk fids.
    struct Teardown<T: FileTree, S: Stream>(Arc<Session<T>>, Arc<Writer<S>>);
    impl<T: FileTree, S: Stream> Drop for Teardown<T, S> {
        fn drop(&mut self) {
            self.1.dead.store(true, Ordering::Relaxed);
            lock(&self.1.stream).shutdown_stream();
            self.0.close();
        }
    }
    let _teardown = Teardown(session.clone(), writer.clone());
    let max_jobs = session.config().max_outstanding;
    let inflight = Arc::new(InFlight::default());
    while !writer.dead.load(Ordering::Relaxed) {
        let frame = match read_frame(&mut reader, session.msize()) {
            Ok(Some(f)) => f,
            Ok(None) if stopping.load(Ordering::SeqCst) => {
                drain(&session, &writer);
                break;
            }
            Ok(None) | Err(_) => break,
        };
        // Backpressure: a request that may become a job waits (and the socket is not read)
        // until fewer than max_jobs are in flight. Requests answered at once, Tflush among
        // them, never wait, so a client can still flush a blocked read. While waiting, a
        // client that hangs up (or half-closes: 9P clients do not, they need the replies)
        // or a server that stops ends the wait.
        if matches!(frame.get(4), Some(&TREAD) | Some(&TWRITE))
            && !inflight.wait_below(max_jobs, || {
                writer.dead.load(Ordering::Relaxed)
                    || stopping.load(Ordering::SeqCst)
                    || reader.get_ref().hung_up()
            })
        {
            if stopping.load(Ordering::SeqCst) {
                drain(&session, &writer);
            }
            break;
        }
        match session.receive_frame(&frame, &mut &*writer) {
            Received::Done => {}
            Received::Close => break,
            // A quick read (status, regs, a directory: one short trip to the machine,
            // never a wait) runs here: one thread hop less per round trip.
            Received::Job(job) if job.is_quick() => {
                let done = job.run();
                session.complete(done, &mut &*writer);
            }
            Received::Job(job) => {
                let (session, writer) = (session.clone(), writer.clone());
                inflight.add();
                let inflight = inflight.clone();
                pool.submit(Box::new(move || {
                    let done = job.run();
                    session.complete(done, &mut &*writer);
                    inflight.done();
                }));
            }
        }
    }
}

/// The server stops taking requests: answer the ones in flight (for at most DRAIN).
fn drain<T: FileTree, S: Stream>(session: &Session<T>, writer: &Writer<S>) {
    let deadline = std::time::Instant::now() + DRAIN;
    while session.outstanding() > 0
        && !writer.dead.load(Ordering::Relaxed)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// A connection's jobs in flight, counted by the transport (a job counts until its reply
/// is written, even if a Tversion made the session forget it).
#[derive(Default)]
struct InFlight {
    n: Mutex<usize>,
    cv: Condvar,
}

impl InFlight {
    fn add(&self) {
        *lock(&self.n) += 1;
    }

    fn done(&self) {
        let mut n = lock(&self.n);
        *n = n.saturating_sub(1);
        self.cv.notify_all();
    }

    /// Wait until fewer than `max` are in flight: `true`; or until `give_up()` says the
    /// connection is ending: `false`.
    fn wait_below(&self, max: usize, give_up: impl Fn() -> bool) -> bool {
        let mut n = lock(&self.n);
        while *n >= max {
            if give_up() {
                return false;
            }
            n = self
                .cv
                .wait_timeout(n, BACKPRESSURE_POLL)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        true
    }
}
