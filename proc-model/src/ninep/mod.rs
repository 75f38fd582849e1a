//! 9P2000 (Plan 9 manual section 5): codec, sans-IO server core and transports.
//!
//! - [`wire`] and [`msg`]: the wire format (intro(5)); every message implements [`Wire`].
//! - [`server`]: the sans-IO core; one [`Session`] per connection owns its fids and tags and
//!   serves any [`FileTree`].
//! - [`transport`]: TCP and Unix-socket listeners, a thread per connection, a worker pool
//!   per connection for requests that may block; [`ListenAddr`] parses `host:port` and
//!   `unix:PATH`.
//! - [`text`]: one readable line per message, for transcripts.
//! - [`client`]: a small synchronous client (for `glass 9p`, `glass debug`, the demo, tests).
//! - [`errstr`]: the Plan 9 error strings the core sends.
//! - [`fuzzing`]: invariant-checking entry points for the fuzzers (`fuzz/`, and a seeded
//!   in-suite run).
//! - [`auth`]: the shared-key challenge–response run through Tauth's auth fid.
//! - [`memtree`]: a small in-memory [`FileTree`] for examples, interoperability tests and
//!   9P throughput yardsticks.

pub mod auth;
pub mod client;
pub mod errstr;
pub mod fs;
pub mod fuzzing;
pub mod memtree;
pub mod msg;
pub mod server;
pub mod text;
pub mod transport;
pub mod wire;

pub use auth::AuthKey;
pub use fs::{Cancel, FileTree, NineError, NineResult, Qid, Stat};
pub use msg::{Rmsg, Tmsg};
pub use server::{Config, FidGauge, Session};
pub use transport::{
    serve, serve_tcp, serve_tcp_with, serve_unix, serve_unix_with, ListenAddr, ServerHandle,
    TransportError,
};
pub use wire::{DecodeError, Fid, Reader, Tag, Wire, NOFID, NOTAG};

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
pub(crate) mod testtree;
#[cfg(test)]
mod wire_tests;
