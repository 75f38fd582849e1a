//! Serving a machine's /proc over 9P2000: the adapter's handle wrapped in proc-model's /proc
//! tree, on a TCP or Unix-socket listener (default 127.0.0.1:5640). Who may serve where:
//! loopback TCP and Unix sockets always (loopback TCP without a key with a warning: any
//! local user can connect); any other TCP address only with `--auth KEYFILE`.

use glass_emulator::{Machine, RunReport};
use proc_model::ninep::{AuthKey, Config, ListenAddr, ServerHandle};
use proc_model::procfs::ProcFs;
use std::sync::Arc;

/// The default /proc address: loopback, port 5640 (9P's registered 564 needs privileges).
pub const DEFAULT_ADDR: &str = "127.0.0.1:5640";

/// How to serve: where, how many connections at once, and the key attaches must prove.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub addr: String,
    pub max_conns: usize,
    pub auth: Option<AuthKey>,
}

impl ServeOptions {
    /// Loopback or `unix:` serving with the defaults and no key.
    pub fn local(addr: &str) -> ServeOptions {
        ServeOptions {
            addr: addr.to_string(),
            max_conns: proc_model::ninep::server::DEFAULT_MAX_CONNS,
            auth: None,
        }
    }
}

/// The serving policy for `listen`: `Err` to refuse (a non-loopback TCP address without a
/// key); `Ok(Some(line))` for a warning to print (loopback TCP without a key).
pub fn check_policy(listen: &ListenAddr, has_key: bool) -> Result<Option<String>, String> {
    match listen {
        ListenAddr::Unix(_) => Ok(None),
        ListenAddr::Tcp(_) if has_key => Ok(None),
        ListenAddr::Tcp(a) if a.ip().is_loopback() => Ok(Some(format!(
            "glass: warning: /proc on {a} has no authentication: anyone who can connect to that \
             loopback port on this host (any local user) can control the machine; use a unix: \
             socket or --auth KEYFILE to restrict it"
        ))),
        ListenAddr::Tcp(a) => Err(format!(
            "refusing to serve /proc on {a} without --auth: it is not a loopback address, so \
             anyone who can reach it could control the machine; give --auth KEYFILE, or serve \
             on 127.0.0.1:PORT or unix:PATH"
        )),
    }
}

/// glibc malloc arenas the process may use. glibc gives each thread that allocates its own
/// arena (64 MiB of address space reserved each, up to 8 per core: mallopt(3) M_ARENA_MAX),
/// so 60 connection threads reserved almost 1 GiB, and under `ulimit -v` the guest's next
/// allocation could fail. Two arenas are plenty: connection threads allocate little.
const MALLOC_ARENAS: i32 = 2;

/// Cap glibc's arenas before connection threads exist (a no-op elsewhere than glibc).
fn cap_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; M_ARENA_MAX takes any int.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS);
    }
}

/// The socket file to unlink if glass is killed by SIGINT, SIGTERM or SIGHUP.
static SOCKET_TO_REMOVE: std::sync::OnceLock<std::ffi::CString> = std::sync::OnceLock::new();

/// On a fatal signal: unlink the socket, then die of the signal as before (the default
/// action, re-raised), so the exit status still says which signal it was. unlink(2),
/// signal(2) and raise(3) are async-signal-safe (signal-safety(7)); `get` is an atomic load.
extern "C" fn remove_socket_and_die(sig: libc::c_int) {
    if let Some(p) = SOCKET_TO_REMOVE.get() {
        // SAFETY: a NUL-terminated path that lives for the whole process.
        unsafe { libc::unlink(p.as_ptr()) };
    }
    // SAFETY: restoring the default action and re-raising are what the handler is for.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Remove the Unix socket at `path` also when glass is interrupted or terminated (its
/// normal end removes it through the server's shutdown).
fn remove_socket_on_signal(path: &std::path::Path) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return;
    };
    if SOCKET_TO_REMOVE.set(c).is_err() {
        return; // one served socket per glass process
    }
    let handler = remove_socket_and_die as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: installs a handler that only calls async-signal-safe functions.
        unsafe { libc::signal(sig, handler) };
    }
}

/// Attach `m`'s process table to a /proc server as `opts` says (after [`check_policy`]);
/// also returns the policy's warning, if any, for the caller to print.
pub fn serve_machine(
    m: &mut Machine,
    opts: &ServeOptions,
) -> Result<(ServerHandle, Option<String>), String> {
    let listen: ListenAddr = opts.addr.parse().map_err(|e| format!("{e}"))?;
    check_policy(&listen, opts.auth.is_some())?;
    cap_malloc_arenas();
    let handle = glass_emulator::proc_adapter::attach(m);
    let tree = Arc::new(ProcFs::new(Arc::new(handle)));
    let config = Config {
        max_conns: opts.max_conns,
        auth: opts.auth.clone(),
        ..Config::default()
    };
    let server = listen.serve(tree, config).map_err(|e| format!("{e}"))?;
    if let ListenAddr::Unix(p) = server.local_addr() {
        remove_socket_on_signal(p);
    }
    // The warning names the address really bound (the port, when 0 was asked for).
    let warning = check_policy(server.local_addr(), opts.auth.is_some())
        .ok()
        .flatten();
    Ok((server, warning))
}

/// Run a machine on a thread of its own (engines stay on the thread that made them) with
/// its /proc served on a loopback port. `make` builds the machine on that thread and the
/// finisher that turns its report into the thread's result there (it may read output the
/// guest wrote into thread-local buffers). Returns where /proc is served and the thread.
pub fn spawn_served<R: Send + 'static>(
    make: impl FnOnce() -> Result<(Machine, Box<dyn FnOnce(RunReport) -> R>), String> + Send + 'static,
) -> Result<(String, std::thread::JoinHandle<Option<R>>), String> {
    spawn_served_conns(proc_model::ninep::server::DEFAULT_MAX_CONNS, make)
}

/// [`spawn_served`] with room for `max_conns` connections at once.
pub fn spawn_served_conns<R: Send + 'static>(
    max_conns: usize,
    make: impl FnOnce() -> Result<(Machine, Box<dyn FnOnce(RunReport) -> R>), String> + Send + 'static,
) -> Result<(String, std::thread::JoinHandle<Option<R>>), String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let machine = std::thread::spawn(move || {
        let (mut m, finish) = match make() {
            Ok(x) => x,
            Err(e) => {
                let _ = tx.send(Err(e));
                return None;
            }
        };
        let opts = ServeOptions {
            max_conns,
            ..ServeOptions::local("127.0.0.1:0")
        };
        let server = match serve_machine(&mut m, &opts) {
            // Loopback for the demo and the bench, in this process: no warning wanted.
            Ok((s, _)) => s,
            Err(e) => {
                let _ = tx.send(Err(e));
                return None;
            }
        };
        let _ = tx.send(Ok(server.local_addr().to_string()));
        let report = m.run();
        server.shutdown();
        Some(finish(report))
    });
    match rx.recv() {
        Ok(Ok(addr)) => Ok((addr, machine)),
        Ok(Err(e)) => {
            let _ = machine.join();
            Err(e)
        }
        Err(_) => Err("the machine thread ended before serving /proc".into()),
    }
}
