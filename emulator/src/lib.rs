//! The Glass machine: unmodified static Linux programs run on unicorn CPUs under a
//! deterministic Linux-ABI kernel (docs/DESIGN.md). `Machine::new` loads a program from a guest
//! root, `Machine::run` runs it to the end and returns the exit status and the run digest.

pub mod budget;
pub mod cpu;
pub mod debug;
pub mod errno;
pub mod fdtable;
pub mod fuzzing;
pub mod guestmem;
pub mod limits;
pub mod linuxproc;
pub mod loader;
pub mod machine;
pub mod param;
pub mod pipe;
pub mod proc;
pub mod proc_adapter;
pub mod record;
pub mod rng;
pub mod sched;
pub mod schedtrace;
pub mod share;
pub mod signal;
pub mod sparse;
pub mod syscalls;
pub mod timeline;
pub mod trace;
pub mod vfs;
pub mod vm;

pub use machine::{Config, ConsoleIo, ExitStatus, Machine, MachineError};
pub use sched::RunReport;
