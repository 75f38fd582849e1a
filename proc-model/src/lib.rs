//! proc-model: Plan 9 `/proc` (proc(3), 9front devproc.c) for emulated processes, served over 9P2000 (intro(5)).
//!
//! Layers, each usable alone:
//! - [`ninep`]: the 9P2000 wire codec, a sans-IO server core that owns sessions and fids, and
//!   the TCP / Unix-socket transports. It serves any [`ninep::fs::FileTree`].
//! - [`procfs`]: the `/proc` file tree (qids, modes, formats, error strings), a `FileTree`
//!   over any [`machine::Machine`].
//! - [`ctlstate`]: the ctl state machine, one table of what each ctl message does in each
//!   state, which every machine obeys; [`ctlcases`]: the conformance table, from the
//!   reference, that tests run against any machine.
//! - [`machine`]: the consumer-side trait a machine implements so its processes can be served.
//!   proc-model never sees unicorn; the emulator implements this trait in one adapter file.

pub mod ctlcases;
pub mod ctlstate;
pub mod machine;
pub mod ninep;
pub mod procfs;
pub mod ureg;
