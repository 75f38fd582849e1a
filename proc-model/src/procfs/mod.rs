//! The /proc file tree (proc(3), 9front port/devproc.c) over a machine::Machine.
