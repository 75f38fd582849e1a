//! riscv64 backend (not yet supported): `ecall` arrives as unicorn interrupt 8 with pc already
//! advanced; the FPU must be enabled through mstatus.FS (DESIGN.md). Until this backend lands,
//! `Cpu::new` refuses riscv64 programs with a clear error.
