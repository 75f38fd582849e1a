//! `glass debug`: a source-level debugger that speaks only 9P to a machine's /proc, plus the
//! program's ELF file for symbols (acid's model, Plan 9 sys/lib/acid/port).

pub mod symbols;
