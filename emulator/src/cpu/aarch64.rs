//! aarch64 backend (not yet supported): `svc #0` arrives as unicorn interrupt 2 with pc past
//! it; the page size must be set to 4096 before the first map (DESIGN.md). Until this backend
//! lands, `Cpu::new` refuses aarch64 programs with a clear error.
