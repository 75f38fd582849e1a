//! The Plan 9 `Ureg` layouts, the byte image of a process's `regs` file, for the three guest
//! arches: each field's name, byte offset and size, and the DWARF register number a debugger
//! unwinds with. Follows docs/plan9-proc-9p.md §1.6 (9front amd64/include/ureg.h,
//! arm64/include/ureg.h; riscv64 from the unofficial ports' ureg.h) and the DWARF register
//! numbering of each psABI. This is the one table of these offsets: the emulator marshals
//! registers through it and `glass debug` reads `regs` through it.

use crate::machine::{Amd64Gpr, Arch, Regs};

/// One field of a Ureg image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UregField {
    /// The register's name as Plan 9 (libmach, acid) spells it.
    pub name: &'static str,
    /// Byte offset in the image.
    pub offset: usize,
    /// Width in bytes: 8, or 2 for amd64's segment selectors.
    pub size: usize,
    /// The DWARF register number, for the registers call-frame information can name.
    pub dwarf: Option<u16>,
}

/// The Ureg of one arch: its size in bytes and its fields in offset order.
#[derive(Debug)]
pub struct UregLayout {
    pub size: usize,
    pub fields: &'static [UregField],
}

impl UregLayout {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&'static UregField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The value of `f` in `image` (little-endian), or None if the image is too short.
    pub fn get(&self, image: &[u8], f: &UregField) -> Option<u64> {
        let b = image.get(f.offset..f.offset + f.size)?;
        let mut w = [0u8; 8];
        w[..f.size].copy_from_slice(b);
        Some(u64::from_le_bytes(w))
    }

    /// Store `v` (truncated to the field's width) as field `f` of `image`.
    pub fn put(&self, image: &mut [u8], f: &UregField, v: u64) {
        if let Some(b) = image.get_mut(f.offset..f.offset + f.size) {
            b.copy_from_slice(&v.to_le_bytes()[..f.size]);
        }
    }
}

/// The Ureg layout of `arch`.
pub fn layout(arch: Arch) -> &'static UregLayout {
    match arch {
        Arch::X86_64 => &AMD64,
        Arch::Aarch64 => &ARM64,
        Arch::Riscv64 => &RISCV64,
    }
}

impl Regs {
    /// The arch whose Ureg these registers fill.
    pub fn arch(&self) -> Arch {
        match self {
            Regs::Amd64 { .. } => Arch::X86_64,
            Regs::Arm64 { .. } => Arch::Aarch64,
            Regs::Riscv64 { .. } => Arch::Riscv64,
        }
    }

    /// Registers read from a Ureg image of `arch` (missing bytes read as zero).
    pub fn from_ureg(arch: Arch, image: &[u8]) -> Regs {
        let l = layout(arch);
        let g = |name: &str| l.field(name).and_then(|f| l.get(image, f)).unwrap_or(0);
        // The numbered registers are the layout's first fields: amd64 ax..r15 (15), arm64
        // r0..r30 (31), riscv64 pc then x1..x31 (32).
        let word = |i: usize| l.fields.get(i).and_then(|f| l.get(image, f)).unwrap_or(0);
        match arch {
            Arch::X86_64 => Regs::Amd64 {
                gpr: Amd64Gpr {
                    ax: g("ax"),
                    bx: g("bx"),
                    cx: g("cx"),
                    dx: g("dx"),
                    si: g("si"),
                    di: g("di"),
                    bp: g("bp"),
                    r8: g("r8"),
                    r9: g("r9"),
                    r10: g("r10"),
                    r11: g("r11"),
                    r12: g("r12"),
                    r13: g("r13"),
                    r14: g("r14"),
                    r15: g("r15"),
                },
                ds: g("ds") as u16,
                es: g("es") as u16,
                fs: g("fs") as u16,
                gs: g("gs") as u16,
                trap_type: g("type"),
                error: g("error"),
                pc: g("pc"),
                cs: g("cs"),
                flags: g("flags"),
                sp: g("sp"),
                ss: g("ss"),
            },
            Arch::Aarch64 => Regs::Arm64 {
                x: std::array::from_fn(word),
                sp: g("sp"),
                pc: g("pc"),
                psr: g("psr"),
                trap_type: g("type"),
            },
            Arch::Riscv64 => Regs::Riscv64 {
                pc: g("pc"),
                // x[0] is the pc's slot in the image; the register itself reads as zero.
                x: std::array::from_fn(|i| if i == 0 { 0 } else { word(i) }),
                status: g("status"),
                ie: g("ie"),
                cause: g("type"),
                tval: g("tval"),
                curmode: g("curmode"),
            },
        }
    }

    /// The Ureg image of these registers.
    pub fn to_ureg(&self) -> Vec<u8> {
        let l = layout(self.arch());
        let mut b = vec![0u8; l.size];
        let mut put = |name: &str, v: u64| {
            if let Some(f) = l.field(name) {
                l.put(&mut b, f, v);
            }
        };
        match self {
            Regs::Amd64 {
                gpr,
                ds,
                es,
                fs,
                gs,
                trap_type,
                error,
                pc,
                cs,
                flags,
                sp,
                ss,
            } => {
                for (name, v) in [
                    ("ax", gpr.ax),
                    ("bx", gpr.bx),
                    ("cx", gpr.cx),
                    ("dx", gpr.dx),
                    ("si", gpr.si),
                    ("di", gpr.di),
                    ("bp", gpr.bp),
                    ("r8", gpr.r8),
                    ("r9", gpr.r9),
                    ("r10", gpr.r10),
                    ("r11", gpr.r11),
                    ("r12", gpr.r12),
                    ("r13", gpr.r13),
                    ("r14", gpr.r14),
                    ("r15", gpr.r15),
                    ("ds", u64::from(*ds)),
                    ("es", u64::from(*es)),
                    ("fs", u64::from(*fs)),
                    ("gs", u64::from(*gs)),
                    ("type", *trap_type),
                    ("error", *error),
                    ("pc", *pc),
                    ("cs", *cs),
                    ("flags", *flags),
                    ("sp", *sp),
                    ("ss", *ss),
                ] {
                    put(name, v);
                }
            }
            Regs::Arm64 {
                x,
                sp,
                pc,
                psr,
                trap_type,
            } => {
                for (f, v) in l.fields.iter().zip(x) {
                    put(f.name, *v);
                }
                put("sp", *sp);
                put("pc", *pc);
                put("psr", *psr);
                put("type", *trap_type);
            }
            Regs::Riscv64 {
                pc,
                x,
                status,
                ie,
                cause,
                tval,
                curmode,
            } => {
                for (f, v) in l.fields.iter().zip(x).skip(1) {
                    put(f.name, *v);
                }
                put("pc", *pc);
                put("status", *status);
                put("ie", *ie);
                put("type", *cause);
                put("tval", *tval);
                put("curmode", *curmode);
            }
        }
        b
    }
}

const fn w(name: &'static str, offset: usize, dwarf: Option<u16>) -> UregField {
    UregField {
        name,
        offset,
        size: 8,
        dwarf,
    }
}

const fn sel(name: &'static str, offset: usize) -> UregField {
    UregField {
        name,
        offset,
        size: 2,
        dwarf: None,
    }
}

/// amd64, 184 bytes. DWARF numbers from the System V x86-64 psABI §3.6.2 (rax 0, rdx 1,
/// rcx 2, rbx 3, rsi 4, rdi 5, rbp 6, rsp 7, r8–r15 8–15).
static AMD64: UregLayout = UregLayout {
    size: 184,
    fields: &[
        w("ax", 0, Some(0)),
        w("bx", 8, Some(3)),
        w("cx", 16, Some(2)),
        w("dx", 24, Some(1)),
        w("si", 32, Some(4)),
        w("di", 40, Some(5)),
        w("bp", 48, Some(6)),
        w("r8", 56, Some(8)),
        w("r9", 64, Some(9)),
        w("r10", 72, Some(10)),
        w("r11", 80, Some(11)),
        w("r12", 88, Some(12)),
        w("r13", 96, Some(13)),
        w("r14", 104, Some(14)),
        w("r15", 112, Some(15)),
        sel("ds", 120),
        sel("es", 122),
        sel("fs", 124),
        sel("gs", 126),
        w("type", 128, None),
        w("error", 136, None),
        w("pc", 144, None),
        w("cs", 152, None),
        w("flags", 160, None),
        w("sp", 168, Some(7)),
        w("ss", 176, None),
    ],
};

/// arm64, 280 bytes: r0–r30 at 8·i, then sp, pc, psr, type. DWARF numbers from the AArch64
/// DWARF ABI (x0–x30 are 0–30, sp 31).
static ARM64: UregLayout = UregLayout {
    size: 280,
    fields: &[
        w("r0", 0, Some(0)),
        w("r1", 8, Some(1)),
        w("r2", 16, Some(2)),
        w("r3", 24, Some(3)),
        w("r4", 32, Some(4)),
        w("r5", 40, Some(5)),
        w("r6", 48, Some(6)),
        w("r7", 56, Some(7)),
        w("r8", 64, Some(8)),
        w("r9", 72, Some(9)),
        w("r10", 80, Some(10)),
        w("r11", 88, Some(11)),
        w("r12", 96, Some(12)),
        w("r13", 104, Some(13)),
        w("r14", 112, Some(14)),
        w("r15", 120, Some(15)),
        w("r16", 128, Some(16)),
        w("r17", 136, Some(17)),
        w("r18", 144, Some(18)),
        w("r19", 152, Some(19)),
        w("r20", 160, Some(20)),
        w("r21", 168, Some(21)),
        w("r22", 176, Some(22)),
        w("r23", 184, Some(23)),
        w("r24", 192, Some(24)),
        w("r25", 200, Some(25)),
        w("r26", 208, Some(26)),
        w("r27", 216, Some(27)),
        w("r28", 224, Some(28)),
        w("r29", 232, Some(29)),
        w("r30", 240, Some(30)),
        w("sp", 248, Some(31)),
        w("pc", 256, None),
        w("psr", 264, None),
        w("type", 272, None),
    ],
};

/// riscv64, 296 bytes: word 0 is the pc (standing in for x0), words 1–31 are x1–x31 by
/// their ABI names, then status, ie, type (the trap cause), tval, curmode. DWARF numbers from
/// the RISC-V ELF psABI (x0–x31 are 0–31).
static RISCV64: UregLayout = UregLayout {
    size: 296,
    fields: &[
        w("pc", 0, None),
        w("ra", 8, Some(1)),
        w("sp", 16, Some(2)),
        w("gp", 24, Some(3)),
        w("tp", 32, Some(4)),
        w("t0", 40, Some(5)),
        w("t1", 48, Some(6)),
        w("t2", 56, Some(7)),
        w("s0", 64, Some(8)),
        w("s1", 72, Some(9)),
        w("a0", 80, Some(10)),
        w("a1", 88, Some(11)),
        w("a2", 96, Some(12)),
        w("a3", 104, Some(13)),
        w("a4", 112, Some(14)),
        w("a5", 120, Some(15)),
        w("a6", 128, Some(16)),
        w("a7", 136, Some(17)),
        w("s2", 144, Some(18)),
        w("s3", 152, Some(19)),
        w("s4", 160, Some(20)),
        w("s5", 168, Some(21)),
        w("s6", 176, Some(22)),
        w("s7", 184, Some(23)),
        w("s8", 192, Some(24)),
        w("s9", 200, Some(25)),
        w("s10", 208, Some(26)),
        w("s11", 216, Some(27)),
        w("t3", 224, Some(28)),
        w("t4", 232, Some(29)),
        w("t5", 240, Some(30)),
        w("t6", 248, Some(31)),
        w("status", 256, None),
        w("ie", 264, None),
        w("type", 272, None),
        w("tval", 280, None),
        w("curmode", 288, None),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Every layout tiles its image: fields in offset order, none overlapping, none past the
    /// end, and the last one ending at the size (§1.6: 184, 280 and 296 bytes).
    #[test]
    fn ureg_layouts_tile_their_documented_sizes() {
        for (arch, size) in [
            (Arch::X86_64, 184),
            (Arch::Aarch64, 280),
            (Arch::Riscv64, 296),
        ] {
            let l = layout(arch);
            assert_eq!(l.size, size, "{arch:?}");
            let mut end = 0;
            for f in l.fields {
                assert_eq!(f.offset, end, "{arch:?} {}", f.name);
                end = f.offset + f.size;
            }
            assert_eq!(end, size, "{arch:?}");
        }
    }

    /// Offsets the reference names outright (§1.6): amd64 pc 144 and sp 168, gs 126 (u16);
    /// arm64 r30 240, sp 248, type 272; riscv64 pc at 0, sp (x2) at 16, type 272.
    #[test]
    fn ureg_field_offsets_match_the_reference() {
        let at = |arch, name| layout(arch).field(name).map(|f| (f.offset, f.size));
        assert_eq!(at(Arch::X86_64, "pc"), Some((144, 8)));
        assert_eq!(at(Arch::X86_64, "sp"), Some((168, 8)));
        assert_eq!(at(Arch::X86_64, "gs"), Some((126, 2)));
        assert_eq!(at(Arch::Aarch64, "r30"), Some((240, 8)));
        assert_eq!(at(Arch::Aarch64, "sp"), Some((248, 8)));
        assert_eq!(at(Arch::Aarch64, "type"), Some((272, 8)));
        assert_eq!(at(Arch::Riscv64, "pc"), Some((0, 8)));
        assert_eq!(at(Arch::Riscv64, "sp"), Some((16, 8)));
        assert_eq!(at(Arch::Riscv64, "type"), Some((272, 8)));
    }

    /// Registers with every word distinct, so a field read from the wrong offset shows.
    fn sample(arch: Arch) -> Regs {
        let n = |i: u64| 0x1111_0000_0000_0000 | (i << 8) | i;
        match arch {
            Arch::X86_64 => Regs::Amd64 {
                gpr: Amd64Gpr {
                    ax: n(1),
                    bx: n(2),
                    cx: n(3),
                    dx: n(4),
                    si: n(5),
                    di: n(6),
                    bp: n(7),
                    r8: n(8),
                    r9: n(9),
                    r10: n(10),
                    r11: n(11),
                    r12: n(12),
                    r13: n(13),
                    r14: n(14),
                    r15: n(15),
                },
                ds: 0x2b,
                es: 0x2c,
                fs: 0x2d,
                gs: 0x2e,
                trap_type: 64,
                error: n(16),
                pc: n(17),
                cs: 0x33,
                flags: n(18),
                sp: n(19),
                ss: 0x2b,
            },
            Arch::Aarch64 => Regs::Arm64 {
                x: std::array::from_fn(|i| n(i as u64 + 1)),
                sp: n(40),
                pc: n(41),
                psr: 0x6000_0000,
                trap_type: 0x3c,
            },
            Arch::Riscv64 => Regs::Riscv64 {
                pc: n(50),
                x: std::array::from_fn(|i| if i == 0 { 0 } else { n(i as u64) }),
                status: n(60),
                ie: n(61),
                cause: 3,
                tval: n(62),
                curmode: n(63),
            },
        }
    }

    /// The table-driven image equals the one procfs's own encoder builds field by field from
    /// the reference (procfs/format.rs `ureg`), and decoding it gives the registers back.
    #[test]
    fn regs_to_ureg_matches_procfs_encoder_and_round_trips() {
        for arch in [Arch::X86_64, Arch::Aarch64, Arch::Riscv64] {
            let r = sample(arch);
            let image = r.to_ureg();
            assert_eq!(image, crate::procfs::format::ureg(&r), "{arch:?}");
            assert_eq!(Regs::from_ureg(arch, &image), r, "{arch:?}");
            assert_eq!(r.arch(), arch);
        }
    }

    #[test]
    fn ureg_put_then_get_round_trips_at_the_field_width() {
        let l = layout(Arch::X86_64);
        let mut b = vec![0u8; l.size];
        let gs = l.field("gs").expect("gs");
        l.put(&mut b, gs, 0x1_002b);
        assert_eq!(l.get(&b, gs), Some(0x2b));
        assert_eq!(&b[126..128], &[0x2b, 0]);
        assert_eq!(l.get(&b[..100], gs), None);
    }
}
