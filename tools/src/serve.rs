//! Serving a machine's /proc over 9P2000: the adapter's handle wrapped in proc-model's /proc
//! tree, on a TCP or Unix-socket listener (default 127.0.0.1:5640; any other interface only
//! when the user names it).

use glass_emulator::{Machine, RunReport};
use proc_model::ninep::{Config, ListenAddr, ServerHandle};
use proc_model::procfs::ProcFs;
use std::sync::Arc;

/// The default /proc address: loopback, port 5640 (9P's registered 564 needs privileges).
pub const DEFAULT_ADDR: &str = "127.0.0.1:5640";

/// Attach `m`'s process table to a /proc server listening at `addr`.
pub fn serve_machine(m: &mut Machine, addr: &str) -> Result<ServerHandle, String> {
    let listen: ListenAddr = addr.parse().map_err(|e| format!("{e}"))?;
    let handle = glass_emulator::proc_adapter::attach(m);
    let tree = Arc::new(ProcFs::new(Arc::new(handle)));
    listen
        .serve(tree, Config::default())
        .map_err(|e| format!("{e}"))
}

/// Run a machine on a thread of its own (engines stay on the thread that made them) with
/// its /proc served on a loopback port. `make` builds the machine on that thread and the
/// finisher that turns its report into the thread's result there (it may read output the
/// guest wrote into thread-local buffers). Returns where /proc is served and the thread.
pub fn spawn_served<R: Send + 'static>(
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
        let server = match serve_machine(&mut m, "127.0.0.1:0") {
            Ok(s) => s,
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
