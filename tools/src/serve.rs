//! Serving a machine's /proc over 9P2000: the adapter's handle wrapped in proc-model's /proc
//! tree, on a TCP or Unix-socket listener (default 127.0.0.1:5640; any other interface only
//! when the user names it).

use glass_emulator::Machine;
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
