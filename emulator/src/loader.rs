//! The ELF loader: checks a program (System V gABI ch. 4–5, Linux fs/binfmt_elf.c), maps its
//! PT_LOAD segments as named segments, and builds the initial stack with argv, envp and auxv
//! as the x86-64 psABI §3.4.1 (and the aarch64/riscv64 Linux ABIs, which share the layout)
//! describes.

use crate::cpu::{Arch, Cpu};
use crate::param::{self, PAGE_SIZE};
use crate::vm::AddressSpace;
use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian as LE;
use proc_model::machine::SegKind;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not an ELF file (bad magic)")]
    NotElf,
    #[error("not a 64-bit ELF file (class {0})")]
    WrongClass(u8),
    #[error("not a little-endian ELF file")]
    WrongEndian,
    #[error("unsupported machine {0} (glass runs x86_64, aarch64 and riscv64 programs)")]
    UnsupportedMachine(u16),
    #[error("not an executable (ELF type {0}); glass runs static executables")]
    NotExecutable(u16),
    #[error(
        "dynamically linked: it asks for the interpreter {0}; glass runs static programs only"
    )]
    Dynamic(String),
    #[error("malformed ELF: {0}")]
    Malformed(String),
    #[error("loading failed: {0}")]
    Map(String),
}

/// What the loader learned from the headers.
pub struct Elf {
    pub arch: Arch,
    pub pie: bool,
    pub entry: u64,
    pub phoff: u64,
    pub phnum: u16,
    pub loads: Vec<Load>,
}

impl Elf {
    /// Bytes the PT_LOAD segments map (whole pages), before the stack.
    pub fn map_bytes(&self) -> u64 {
        self.loads
            .iter()
            .map(|l| page_up(l.vaddr.saturating_add(l.memsz)).saturating_sub(page_down(l.vaddr)))
            .fold(0u64, u64::saturating_add)
    }
}

pub struct Load {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    /// PROT_* bits.
    pub prot: u32,
}

/// Where the new image starts.
pub struct Start {
    pub entry: u64,
    pub sp: u64,
}

/// e_ident indices (gABI ch. 4).
const EI_CLASS: usize = 4;
const EI_DATA: usize = 5;

fn malformed(s: &str) -> LoadError {
    LoadError::Malformed(s.to_string())
}

pub fn parse(image: &[u8]) -> Result<Elf, LoadError> {
    if image.len() < 16 || &image[..4] != b"\x7fELF" {
        return Err(LoadError::NotElf);
    }
    if image[EI_CLASS] != elf::ELFCLASS64 {
        return Err(LoadError::WrongClass(image[EI_CLASS]));
    }
    if image[EI_DATA] != elf::ELFDATA2LSB {
        return Err(LoadError::WrongEndian);
    }
    let hdr =
        elf::FileHeader64::<LE>::parse(image).map_err(|e| LoadError::Malformed(e.to_string()))?;
    let arch = match hdr.e_machine(LE) {
        elf::EM_X86_64 => Arch::X86_64,
        elf::EM_AARCH64 => Arch::Aarch64,
        elf::EM_RISCV => Arch::Riscv64,
        m => return Err(LoadError::UnsupportedMachine(m)),
    };
    let pie = match hdr.e_type(LE) {
        elf::ET_EXEC => false,
        elf::ET_DYN => true,
        t => return Err(LoadError::NotExecutable(t)),
    };
    let phdrs = hdr
        .program_headers(LE, image)
        .map_err(|e| LoadError::Malformed(e.to_string()))?;
    let mut loads = Vec::new();
    for ph in phdrs {
        match ph.p_type(LE) {
            elf::PT_INTERP => {
                let data = ph
                    .data(LE, image)
                    .map_err(|_| malformed("PT_INTERP out of file"))?;
                let s = String::from_utf8_lossy(data)
                    .trim_end_matches('\0')
                    .to_string();
                return Err(LoadError::Dynamic(s));
            }
            elf::PT_LOAD => {
                let (vaddr, memsz, offset, filesz) = (
                    ph.p_vaddr(LE),
                    ph.p_memsz(LE),
                    ph.p_offset(LE),
                    ph.p_filesz(LE),
                );
                if filesz > memsz {
                    return Err(malformed("PT_LOAD filesz > memsz"));
                }
                // An all-bss PT_LOAD may have an offset past the end of the file (docs/DESIGN.md).
                if filesz > 0
                    && offset
                        .checked_add(filesz)
                        .is_none_or(|e| e > image.len() as u64)
                {
                    return Err(malformed("PT_LOAD extends past the end of the file"));
                }
                if vaddr
                    .checked_add(memsz)
                    .is_none_or(|e| e > param::STACK_TOP - param::STACK_SIZE)
                {
                    return Err(malformed("PT_LOAD address out of range"));
                }
                let f = ph.p_flags(LE);
                let prot = (if f & elf::PF_R != 0 { 1 } else { 0 })
                    | (if f & elf::PF_W != 0 { 2 } else { 0 })
                    | (if f & elf::PF_X != 0 { 4 } else { 0 });
                loads.push(Load {
                    vaddr,
                    memsz,
                    offset,
                    filesz,
                    prot,
                });
            }
            _ => {}
        }
    }
    if loads.is_empty() {
        return Err(malformed("no PT_LOAD segments"));
    }
    Ok(Elf {
        arch,
        pie,
        entry: hdr.e_entry(LE),
        phoff: hdr.e_phoff(LE),
        phnum: hdr.e_phnum(LE),
        loads,
    })
}

fn page_down(a: u64) -> u64 {
    a & !(PAGE_SIZE - 1)
}

fn page_up(a: u64) -> u64 {
    a.saturating_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

/// auxv keys (Linux include/uapi/linux/auxvec.h).
mod at {
    pub const NULL: u64 = 0;
    pub const PHDR: u64 = 3;
    pub const PHENT: u64 = 4;
    pub const PHNUM: u64 = 5;
    pub const PAGESZ: u64 = 6;
    pub const BASE: u64 = 7;
    pub const FLAGS: u64 = 8;
    pub const ENTRY: u64 = 9;
    pub const UID: u64 = 11;
    pub const EUID: u64 = 12;
    pub const GID: u64 = 13;
    pub const EGID: u64 = 14;
    pub const PLATFORM: u64 = 15;
    pub const HWCAP: u64 = 16;
    pub const CLKTCK: u64 = 17;
    pub const SECURE: u64 = 23;
    pub const RANDOM: u64 = 25;
    pub const HWCAP2: u64 = 26;
    pub const EXECFN: u64 = 31;
}

/// AT_HWCAP for x86_64 is CPUID.1:EDX of the emulated CPU (fpu, tsc, cmov, mmx, fxsr, sse,
/// sse2 and friends), as Linux reports it.
const X86_64_HWCAP: u64 = 0x078b_fbff;

/// Map the program into a fresh address space and build its stack. Returns entry and sp.
#[allow(clippy::too_many_arguments)]
pub fn load(
    cpu: &mut Cpu,
    vm: &mut AddressSpace,
    elf: &Elf,
    image: &[u8],
    argv: &[String],
    envp: &[String],
    execfn: &str,
    random: &[u8; 16],
    keep: &[(u64, u64)],
) -> Result<Start, LoadError> {
    let min_vaddr = elf
        .loads
        .iter()
        .map(|l| page_down(l.vaddr))
        .min()
        .unwrap_or(0);
    // Linux's load_bias (fs/binfmt_elf.c): ELF_ET_DYN_BASE minus the first vaddr, in
    // wrapping arithmetic, so a PIE linked above the base moves down to it.
    let bias = if elf.pie {
        param::PIE_BASE.wrapping_sub(min_vaddr)
    } else {
        0
    };
    // Every address below is at most PIE_BASE plus a span parse bounded: it cannot wrap.
    let at = |vaddr: u64| vaddr.wrapping_add(bias);
    let map_err = |what: &str, a: u64| LoadError::Map(format!("{what} at {a:#x}"));

    // Map each PT_LOAD page range; pages shared by two segments get the union of their rights.
    let mut mapped_end = 0u64;
    let mut phdr_addr = 0;
    let mut data_end = 0u64;
    let mut bss_top = 0u64;
    for l in &elf.loads {
        let start = page_down(at(l.vaddr));
        let end = page_up(at(l.vaddr) + l.memsz);
        let from = start.max(mapped_end);
        // Text already in a reused engine, byte for byte: keep it (and its translations).
        if l.prot & 2 == 0 && from == start && keep.contains(&(start, end)) {
            if (l.offset..l.offset + l.filesz).contains(&elf.phoff) {
                phdr_addr = at(l.vaddr) + (elf.phoff - l.offset);
            }
            vm.add(start, end, l.prot | 1, SegKind::Text);
            bss_top = bss_top.max(end);
            mapped_end = mapped_end.max(end);
            continue;
        }
        if from < end {
            // Writable while loading (see AddressSpace::copy_into); protected below. The
            // zero fill past the file's bytes is an engine region of its own: unicorn
            // copies a whole region to split it (uc.c split_region), so a change of rights
            // on the page shared with the segment before would otherwise have copied (and
            // so made the host back) every page of a large bss, which Linux maps lazily.
            let file_end = page_up(at(l.vaddr) + l.filesz).clamp(from, end);
            for (a, b) in [(from, file_end), (file_end, end)] {
                if a < b {
                    cpu.map(a, b - a, l.prot | 3).map_err(|_| {
                        LoadError::Map(format!(
                            "cannot map {} KiB of PT_LOAD at {a:#x} (out of memory, or overlapping)",
                            (b - a) >> 10
                        ))
                    })?;
                }
            }
        }
        if start < mapped_end {
            // The shared page: widen its protection.
            let _ = cpu.protect(
                start,
                PAGE_SIZE,
                l.prot | 1 | vm.prot_at(start).unwrap_or(0),
            );
        }
        if l.filesz > 0 {
            let bytes = &image[l.offset as usize..(l.offset + l.filesz) as usize];
            cpu.write(at(l.vaddr), bytes)
                .map_err(|_| map_err("writing PT_LOAD", at(l.vaddr)))?;
        }
        if (l.offset..l.offset + l.filesz).contains(&elf.phoff) {
            phdr_addr = at(l.vaddr) + (elf.phoff - l.offset);
        }
        // Name the pieces: read-only → Text; writable file bytes → Data; zero fill → Bss.
        if l.prot & 2 == 0 {
            vm.add(start.max(mapped_end), end, l.prot | 1, SegKind::Text);
        } else {
            let file_end = page_up(at(l.vaddr) + l.filesz);
            if file_end > start.max(mapped_end) {
                vm.add(
                    start.max(mapped_end),
                    file_end.min(end),
                    l.prot | 1,
                    SegKind::Data,
                );
            }
            if end > file_end {
                vm.add(file_end.max(start), end, l.prot | 1, SegKind::Bss);
            }
            data_end = data_end.max(file_end.min(end));
        }
        bss_top = bss_top.max(end);
        mapped_end = mapped_end.max(end);
    }
    // Now give every loaded page its own rights.
    for seg in vm.segs().cloned().collect::<Vec<_>>() {
        if seg.prot & 2 == 0 && !keep.contains(&(seg.start, seg.end)) {
            cpu.protect(seg.start, seg.end - seg.start, seg.prot)
                .map_err(|_| map_err("protecting PT_LOAD", seg.start))?;
        }
    }
    vm.init_brk(bss_top.max(data_end));

    // The stack.
    if let Some(code) = Cpu::sigtramp(elf.arch) {
        let a = param::SIGTRAMP_ADDR;
        if keep.contains(&(a, a + PAGE_SIZE)) {
            vm.add(a, a + PAGE_SIZE, 5, SegKind::Text);
        } else {
            cpu.map(a, PAGE_SIZE, 3)
                .map_err(|_| map_err("sigreturn page", a))?;
            cpu.write(a, code)
                .map_err(|_| map_err("sigreturn page", a))?;
            cpu.protect(a, PAGE_SIZE, 5)
                .map_err(|_| map_err("sigreturn page", a))?;
            vm.add(a, a + PAGE_SIZE, 5, SegKind::Text);
        }
    }
    // The stack: a first piece is mapped; the rest grows on demand down to STACK_SIZE. The
    // first piece holds the strings and pointer tables of argv and envp whatever their size
    // (execve has kept them under ARG_MAX), with STACK_INITIAL to spare below them.
    let table_bytes: usize = argv
        .iter()
        .chain(envp.iter())
        .map(|s| s.len() + 1 + 8)
        .sum::<usize>()
        + execfn.len()
        + 4096;
    let initial = (param::STACK_INITIAL + table_bytes as u64)
        .div_ceil(PAGE_SIZE)
        .saturating_mul(PAGE_SIZE)
        .min(param::STACK_SIZE);
    let stack_base = param::STACK_TOP - initial;
    cpu.map(stack_base, initial, 3)
        .map_err(|_| map_err("stack", stack_base))?;
    cpu.set_stack_bounds(stack_base, param::STACK_TOP - param::STACK_SIZE);
    vm.add(stack_base, param::STACK_TOP, 3, SegKind::Stack);

    let mut sp = param::STACK_TOP;
    let push_bytes = |cpu: &mut Cpu, sp: &mut u64, b: &[u8]| -> Result<u64, LoadError> {
        *sp -= b.len() as u64;
        cpu.write(*sp, b).map_err(|_| map_err("stack write", *sp))?;
        Ok(*sp)
    };
    // Strings reach the guest as the bytes they stand for (vfs::to_guest).
    let cstr = |s: &str| {
        let mut v = crate::vfs::to_guest(s);
        v.push(0);
        v
    };
    // An 8-byte end marker, then the strings (Linux puts execfn at the very top).
    push_bytes(cpu, &mut sp, &[0u8; 8])?;
    let execfn_addr = push_bytes(cpu, &mut sp, &cstr(execfn))?;
    let mut env_addrs = Vec::with_capacity(envp.len());
    for e in envp.iter().rev() {
        env_addrs.push(push_bytes(cpu, &mut sp, &cstr(e))?);
    }
    env_addrs.reverse();
    let mut arg_addrs = Vec::with_capacity(argv.len());
    for a in argv.iter().rev() {
        arg_addrs.push(push_bytes(cpu, &mut sp, &cstr(a))?);
    }
    arg_addrs.reverse();
    let platform_addr = push_bytes(cpu, &mut sp, &cstr(crate::cpu::arch_name(elf.arch)))?;
    sp &= !15;
    let random_addr = push_bytes(cpu, &mut sp, random)?;
    sp &= !15;

    // An entry below the first segment wraps to an address no one maps: the program faults
    // at its first instruction, as under Linux.
    let entry = elf.entry.wrapping_add(bias);
    let hwcap = if elf.arch == Arch::X86_64 {
        X86_64_HWCAP
    } else {
        0
    };
    let auxv: Vec<(u64, u64)> = vec![
        (at::HWCAP, hwcap),
        (at::PAGESZ, PAGE_SIZE),
        (at::CLKTCK, 100),
        (at::PHDR, phdr_addr),
        (at::PHENT, 56),
        (at::PHNUM, u64::from(elf.phnum)),
        (at::BASE, 0),
        (at::FLAGS, 0),
        (at::ENTRY, entry),
        (at::UID, u64::from(param::GUEST_UID)),
        (at::EUID, u64::from(param::GUEST_UID)),
        (at::GID, u64::from(param::GUEST_GID)),
        (at::EGID, u64::from(param::GUEST_GID)),
        (at::SECURE, 0),
        (at::RANDOM, random_addr),
        (at::HWCAP2, 0),
        (at::EXECFN, execfn_addr),
        (at::PLATFORM, platform_addr),
        (at::NULL, 0),
    ];
    // argc, argv…, 0, envp…, 0, auxv pairs; rsp 16-aligned at argc.
    let words = 1 + arg_addrs.len() + 1 + env_addrs.len() + 1 + auxv.len() * 2;
    sp -= (words * 8) as u64;
    sp &= !15;
    let mut table: Vec<u8> = Vec::with_capacity(words * 8);
    table.extend_from_slice(&(argv.len() as u64).to_le_bytes());
    for a in &arg_addrs {
        table.extend_from_slice(&a.to_le_bytes());
    }
    table.extend_from_slice(&0u64.to_le_bytes());
    for e in &env_addrs {
        table.extend_from_slice(&e.to_le_bytes());
    }
    table.extend_from_slice(&0u64.to_le_bytes());
    for (k, v) in &auxv {
        table.extend_from_slice(&k.to_le_bytes());
        table.extend_from_slice(&v.to_le_bytes());
    }
    cpu.write(sp, &table)
        .map_err(|_| map_err("stack write", sp))?;
    Ok(Start { entry, sp })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(class: u8, data: u8, machine: u16, ty: u16) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = class;
        h[5] = data;
        h[6] = 1;
        h[16..18].copy_from_slice(&ty.to_le_bytes());
        h[18..20].copy_from_slice(&machine.to_le_bytes());
        h[20..24].copy_from_slice(&1u32.to_le_bytes());
        h[52..54].copy_from_slice(&64u16.to_le_bytes());
        h[54..56].copy_from_slice(&56u16.to_le_bytes());
        h
    }

    #[test]
    fn parse_not_elf_refused() {
        assert!(matches!(
            parse(b"#!/bin/sh\necho hi\n"),
            Err(LoadError::NotElf)
        ));
    }

    #[test]
    fn parse_32bit_refused_with_class() {
        let e = parse(&header(1, 1, 3, 2)).err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("not a 64-bit ELF file (class 1)"));
    }

    #[test]
    fn parse_big_endian_refused() {
        assert!(matches!(
            parse(&header(2, 2, 62, 2)),
            Err(LoadError::WrongEndian)
        ));
    }

    #[test]
    fn parse_unknown_machine_refused() {
        assert!(matches!(
            parse(&header(2, 1, 40, 2)),
            Err(LoadError::UnsupportedMachine(40))
        ));
    }

    #[test]
    fn parse_relocatable_refused() {
        assert!(matches!(
            parse(&header(2, 1, 62, 1)),
            Err(LoadError::NotExecutable(1))
        ));
    }

    #[test]
    fn parse_dynamic_names_interpreter() {
        let mut h = header(2, 1, 62, 2);
        h[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        h[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        let interp = b"/lib64/ld-linux-x86-64.so.2\0";
        let mut ph = vec![0u8; 56];
        ph[0..4].copy_from_slice(&3u32.to_le_bytes()); // PT_INTERP
        ph[8..16].copy_from_slice(&120u64.to_le_bytes()); // p_offset
        ph[32..40].copy_from_slice(&(interp.len() as u64).to_le_bytes()); // p_filesz
        h.extend_from_slice(&ph);
        h.extend_from_slice(interp);
        let e = parse(&h).err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("dynamically linked: it asks for the interpreter /lib64/ld-linux-x86-64.so.2; glass runs static programs only")
        );
    }

    /// The program's bytes need not be 8-byte aligned in memory: found by the AFL `elf`
    /// target, whose input buffer is not, and every seed was refused ("Invalid ELF header
    /// size or alignment") until object's unaligned header types were used.
    #[test]
    fn parse_unaligned_image_same_as_aligned() {
        let mut h = header(2, 1, 62, 2);
        h[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        h[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        let mut ph = vec![0u8; 56];
        ph[0..4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        ph[4..8].copy_from_slice(&5u32.to_le_bytes()); // R+X
        ph[16..24].copy_from_slice(&0x40_0000u64.to_le_bytes()); // p_vaddr
        ph[32..40].copy_from_slice(&120u64.to_le_bytes()); // p_filesz
        ph[40..48].copy_from_slice(&120u64.to_le_bytes()); // p_memsz
        ph[48..56].copy_from_slice(&4096u64.to_le_bytes()); // p_align
        h.extend_from_slice(&ph);
        let aligned = parse(&h)
            .map(|e| (e.arch, e.loads.len()))
            .map_err(|e| e.to_string());
        assert!(aligned.is_ok(), "{:?}", aligned.err());
        for skew in 1..8 {
            let mut buf = vec![0u8; skew];
            buf.extend_from_slice(&h);
            let unaligned = parse(&buf[skew..])
                .map(|e| (e.arch, e.loads.len()))
                .map_err(|e| e.to_string());
            assert_eq!(unaligned, aligned, "skew {skew}");
        }
    }

    /// A PIE of one PT_LOAD at `vaddr` with entry `entry`.
    fn pie(vaddr: u64, entry: u64) -> Vec<u8> {
        let mut h = header(2, 1, 62, 3);
        h[24..32].copy_from_slice(&entry.to_le_bytes()); // e_entry
        h[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        h[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        let mut ph = vec![0u8; 56];
        ph[0..4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        ph[4..8].copy_from_slice(&5u32.to_le_bytes()); // R+X
        ph[16..24].copy_from_slice(&vaddr.to_le_bytes()); // p_vaddr
        ph[32..40].copy_from_slice(&128u64.to_le_bytes()); // p_filesz
        ph[40..48].copy_from_slice(&128u64.to_le_bytes()); // p_memsz
        h.extend_from_slice(&ph);
        h.resize(128, 0x90);
        h
    }

    /// Found by the AFL `elf` target (fuzz/seeds/elf/regress-*): a PIE linked above
    /// PIE_BASE overflowed the load bias, and an entry point near 2^64 overflowed when the
    /// bias was added. Both load now, as under Linux: the PIE moves down to the base, and
    /// the entry wraps to an address the program will fault at.
    #[test]
    fn load_pie_above_base_and_huge_entry_no_overflow() {
        let high = 0x7000_0000_0000;
        assert!(crate::fuzzing::elf(&pie(high, high + 0x78)));
        assert!(crate::fuzzing::elf(&pie(0x1000, u64::MAX - 8)));
    }
}
