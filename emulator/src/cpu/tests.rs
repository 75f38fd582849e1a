//! Unit tests of the CPU boundary: unicorn's register numbering the backends rely on, the
//! `struct stat` layouts (x86_64 against the host's own libc), Ureg marshaling through a real
//! engine, trap decoding, the syscall register map on a real instruction per arch, and signal
//! frames that sigreturn undoes.

use super::*;
use crate::guestmem::GuestMem;
use proc_model::machine::Regs;
use unicorn_engine::{RegisterARM64, RegisterRISCV, RegisterX86};

const ARCHES: [Arch; 3] = [Arch::X86_64, Arch::Aarch64, Arch::Riscv64];
const CODE: u64 = 0x1_0000;
const STACK: u64 = 0x8_0000;

/// A CPU of `arch` with `code` at CODE (pc there) and a 64 KiB stack below STACK.
fn cpu_with(arch: Arch, code: &[u8]) -> Cpu {
    let mut c = Cpu::new(arch).expect("engine");
    c.map(CODE, 0x1000, 5).expect("map code");
    c.write(CODE, code).expect("write code");
    c.map(STACK - 0x1_0000, 0x1_0000, 3).expect("map stack");
    c.set_pc(CODE);
    c.set_sp(STACK - 0x100);
    c
}

#[test]
fn reg_run_unicorn_numbers_register_files_consecutively() {
    let run = |first: i32, last: i32, n: i32| last - first == n - 1;
    assert!(run(RegisterARM64::X0 as i32, RegisterARM64::X28 as i32, 29));
    assert!(run(RegisterARM64::Q0 as i32, RegisterARM64::Q31 as i32, 32));
    assert!(run(RegisterRISCV::X0 as i32, RegisterRISCV::X31 as i32, 32));
    assert!(run(RegisterRISCV::F0 as i32, RegisterRISCV::F31 as i32, 32));
    assert!(run(RegisterX86::ST0 as i32, RegisterX86::ST7 as i32, 8));
    assert!(run(RegisterX86::XMM0 as i32, RegisterX86::XMM15 as i32, 16));
    assert_eq!(aarch64_x(29), RegisterARM64::X29 as i32);
    assert_eq!(aarch64_x(17), RegisterARM64::X17 as i32);
}

fn aarch64_x(i: usize) -> i32 {
    aarch64::Aarch64.user_regs()[i]
}

fn sample_stat() -> Stat {
    Stat {
        dev: 0x0101_0101_0101_0101,
        ino: 0x0202_0202_0202_0202,
        mode: 0x0303_0303,
        nlink: 0x0404_0404,
        uid: 0x0505_0505,
        gid: 0x0606_0606,
        rdev: 0x0707_0707_0707_0707,
        size: 0x0808_0808_0808_0808,
        blksize: 0x0909_0909,
        blocks: 0x0a0a_0a0a_0a0a_0a0a,
        atime: (0x0b0b_0b0b_0b0b_0b0b, 0x0c0c_0c0c),
        mtime: (0x0d0d_0d0d_0d0d_0d0d, 0x0e0e_0e0e),
        ctime: (0x0f0f_0f0f_0f0f_0f0f, 0x1010_1010),
    }
}

fn le(b: &[u8], off: usize, size: usize) -> u64 {
    let mut w = [0u8; 8];
    w[..size].copy_from_slice(&b[off..off + size]);
    u64::from_le_bytes(w)
}

/// The x86_64 layout against the host's own `struct stat` (the libc crate's, which follows
/// arch/x86/include/uapi/asm/stat.h): every field at libc's offset and width.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[test]
fn encode_stat_x86_64_matches_host_libc_struct_stat() {
    use std::mem::{offset_of, size_of};
    let st = sample_stat();
    let b = x86_64::X86_64.encode_stat(&st);
    assert_eq!(b.len(), size_of::<libc::stat>());
    let f = |off: usize, size: usize| le(&b, off, size);
    assert_eq!(f(offset_of!(libc::stat, st_dev), 8), st.dev);
    assert_eq!(f(offset_of!(libc::stat, st_ino), 8), st.ino);
    assert_eq!(f(offset_of!(libc::stat, st_nlink), 8), u64::from(st.nlink));
    assert_eq!(f(offset_of!(libc::stat, st_mode), 4), u64::from(st.mode));
    assert_eq!(f(offset_of!(libc::stat, st_uid), 4), u64::from(st.uid));
    assert_eq!(f(offset_of!(libc::stat, st_gid), 4), u64::from(st.gid));
    assert_eq!(f(offset_of!(libc::stat, st_rdev), 8), st.rdev);
    assert_eq!(f(offset_of!(libc::stat, st_size), 8), st.size);
    assert_eq!(
        f(offset_of!(libc::stat, st_blksize), 8),
        u64::from(st.blksize)
    );
    assert_eq!(f(offset_of!(libc::stat, st_blocks), 8), st.blocks);
    assert_eq!(f(offset_of!(libc::stat, st_atime), 8), st.atime.0 as u64);
    assert_eq!(f(offset_of!(libc::stat, st_atime_nsec), 8), st.atime.1);
    assert_eq!(f(offset_of!(libc::stat, st_mtime), 8), st.mtime.0 as u64);
    assert_eq!(f(offset_of!(libc::stat, st_mtime_nsec), 8), st.mtime.1);
    assert_eq!(f(offset_of!(libc::stat, st_ctime), 8), st.ctime.0 as u64);
    assert_eq!(f(offset_of!(libc::stat, st_ctime_nsec), 8), st.ctime.1);
}

/// asm-generic `struct stat` (include/uapi/asm-generic/stat.h): dev 0, ino 8, mode 16 (u32),
/// nlink 20 (u32), uid 24, gid 28, rdev 32, pad 40, size 48, blksize 56 (int), pad 60,
/// blocks 64, then the three timespecs from 72; 128 bytes; arm64 and riscv64 alike.
#[test]
fn encode_stat_asm_generic_fields_at_header_offsets() {
    let st = sample_stat();
    for arch in [Arch::Aarch64, Arch::Riscv64] {
        let b = backend(arch).encode_stat(&st);
        assert_eq!(b.len(), 128, "{arch:?}");
        for (field, off, size, want) in [
            ("st_dev", 0, 8, st.dev),
            ("st_ino", 8, 8, st.ino),
            ("st_mode", 16, 4, st.mode.into()),
            ("st_nlink", 20, 4, st.nlink.into()),
            ("st_uid", 24, 4, st.uid.into()),
            ("st_gid", 28, 4, st.gid.into()),
            ("st_rdev", 32, 8, st.rdev),
            ("__pad1", 40, 8, 0),
            ("st_size", 48, 8, st.size),
            ("st_blksize", 56, 4, st.blksize.into()),
            ("__pad2", 60, 4, 0),
            ("st_blocks", 64, 8, st.blocks),
            ("st_atime", 72, 8, st.atime.0 as u64),
            ("st_atime_nsec", 80, 8, st.atime.1),
            ("st_mtime", 88, 8, st.mtime.0 as u64),
            ("st_mtime_nsec", 96, 8, st.mtime.1),
            ("st_ctime", 104, 8, st.ctime.0 as u64),
            ("st_ctime_nsec", 112, 8, st.ctime.1),
            ("__unused", 120, 8, 0),
        ] {
            assert_eq!(le(&b, off, size), want, "{arch:?} {field}");
        }
    }
}

/// A Ureg image whose every byte is distinct per field, so a field taken from the wrong
/// offset shows.
fn distinct_image(arch: Arch) -> Vec<u8> {
    let l = ureg::layout(arch);
    let mut b = vec![0u8; l.size];
    for (i, f) in l.fields.iter().enumerate() {
        l.put(
            &mut b,
            f,
            0x0101_0101_0101_0101u64.wrapping_mul(i as u64 + 1),
        );
    }
    b
}

/// A `regs` write then read: the general registers, pc and sp come back as written; the
/// Ureg `type` is the one passed; the kernel's constant fields keep their values (amd64 cs
/// 0x33 and ss 0x2b, riscv64 status 0); arm64's psr keeps only NZCV (9front setregisters).
#[test]
fn set_ureg_then_ureg_keeps_what_a_regs_write_may_change() {
    for arch in ARCHES {
        let mut c = Cpu::new(arch).expect("engine");
        let img = distinct_image(arch);
        assert!(c.set_ureg(&img), "{arch:?}");
        let back = c.ureg(64);
        let l = ureg::layout(arch);
        let get = |b: &[u8], name: &str| l.get(b, l.field(name).expect(name)).expect(name);
        for f in l.fields.iter().filter(|f| f.dwarf.is_some()) {
            assert_eq!(l.get(&back, f), l.get(&img, f), "{arch:?} {}", f.name);
        }
        assert_eq!(get(&back, "pc"), get(&img, "pc"), "{arch:?}");
        assert_eq!(get(&back, "type"), 64, "{arch:?}");
        match arch {
            Arch::X86_64 => {
                assert_eq!(get(&back, "cs"), 0x33);
                assert_eq!(get(&back, "ss"), 0x2b);
            }
            Arch::Aarch64 => assert_eq!(get(&back, "psr"), get(&img, "psr") & 0xf000_0000),
            Arch::Riscv64 => assert_eq!(get(&back, "status"), 0),
        }
        let regs = Regs::from_ureg(arch, &back);
        assert_eq!(regs.arch(), arch);
        assert!(
            !c.set_ureg(&img[..img.len() - 1]),
            "a short image is refused"
        );
    }
}

/// Trap notes, signals, stop pcs and Ureg types as 9front names them (pc64/trap.c; arm64
/// EXCP_BKPT 7 and EXCP_UDEF 1; riscv causes 3 and 2) and as the scheduler used to decode them.
#[test]
fn trap_decodes_each_arch_exception_as_9front_names_it() {
    let t = |arch, code: &[u8], pc: u64, exit| {
        let mut c = cpu_with(arch, code);
        c.set_pc(pc);
        c.trap(exit).expect("a trap")
    };
    // int3 leaves pc after the 1-byte instruction; the stop is at the instruction.
    let x = t(Arch::X86_64, &[0xcc], CODE + 1, RunExit::Interrupt(3));
    assert_eq!(x, Trap::new("sys: breakpoint", SIGTRAP, CODE, 3));
    let x = t(Arch::X86_64, &[], CODE, RunExit::Interrupt(0));
    assert_eq!(x, Trap::new("sys: trap: divide error", SIGFPE, CODE, 0));
    let x = t(Arch::X86_64, &[], CODE, RunExit::InvalidInsn);
    assert_eq!(
        x,
        Trap::new("sys: trap: invalid opcode", SIGILL, CODE, 6).with_si(2, CODE)
    );
    // arm64 BRK: pc at the brk stays; pc past it goes back 4.
    let brk = [0x00, 0x00, 0x20, 0xd4];
    let a = t(Arch::Aarch64, &brk, CODE, RunExit::Interrupt(7));
    assert_eq!(a, Trap::new("sys: breakpoint", SIGTRAP, CODE, 0x3c));
    let a = t(Arch::Aarch64, &brk, CODE + 4, RunExit::Interrupt(7));
    assert_eq!(a.pc, CODE);
    let a = t(Arch::Aarch64, &[], CODE, RunExit::Interrupt(1));
    assert_eq!(
        a,
        Trap::new("sys: trap: illegal instruction", SIGILL, CODE, 0).with_si(1, CODE)
    );
    // riscv: ebreak comes with pc at it; other exceptions with pc past the instruction.
    let r = t(Arch::Riscv64, &[], CODE, RunExit::Interrupt(3));
    assert_eq!(r, Trap::new("sys: breakpoint", SIGTRAP, CODE, 3));
    let r = t(Arch::Riscv64, &[], CODE + 4, RunExit::Interrupt(2));
    assert_eq!(
        r,
        Trap::new("sys: trap: illegal instruction", SIGILL, CODE, 2).with_si(1, CODE)
    );
    let r = t(Arch::Riscv64, &[], CODE + 4, RunExit::Interrupt(5));
    assert_eq!(r, Trap::new("sys: trap: exception 5", SIGSEGV, CODE, 5));
    // Faults read the same everywhere; an instruction fetch is a read.
    for arch in ARCHES {
        let fault = |write, exec| RunExit::Fault {
            write,
            addr: 0x10,
            exec,
        };
        let f = t(arch, &[], CODE, fault(true, false));
        assert_eq!(
            f,
            Trap::new("sys: trap: fault write addr=0x10", SIGSEGV, CODE, 14)
        );
        assert_eq!(
            t(arch, &[], CODE, fault(false, true)).note,
            "sys: trap: fault read addr=0x10"
        );
    }
}

/// Each arch's syscall instruction after loading the number 172 (getpid on the asm-generic
/// arches): the run stops for a syscall with the number in place; the result lands in the
/// ABI's register; a restart puts pc back on the instruction (and the number back in rax).
#[test]
fn syscall_instruction_stops_with_number_result_and_restart() {
    for (arch, code, insn) in [
        // mov eax, 172; syscall
        (
            Arch::X86_64,
            &[0xb8, 0xac, 0x00, 0x00, 0x00, 0x0f, 0x05][..],
            5,
        ),
        // movz x8, #172; svc #0
        (
            Arch::Aarch64,
            &[0x88, 0x15, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4][..],
            4,
        ),
        // addi a7, zero, 172; ecall
        (
            Arch::Riscv64,
            &[0x93, 0x08, 0xc0, 0x0a, 0x73, 0x00, 0x00, 0x00][..],
            4,
        ),
    ] {
        let mut c = cpu_with(arch, code);
        let (exit, _) = c.run(100);
        assert_eq!(exit, RunExit::Syscall, "{arch:?}");
        assert_eq!(c.trap(exit), None, "{arch:?}");
        assert_eq!(c.syscall_args().0, 172, "{arch:?}");
        c.set_syscall_ret(7);
        let ret_field = match arch {
            Arch::X86_64 => "ax",
            Arch::Aarch64 => "r0",
            Arch::Riscv64 => "a0",
        };
        let l = ureg::layout(arch);
        let img = c.ureg(64);
        assert_eq!(l.get(&img, l.field(ret_field).expect("ret")), Some(7));
        c.restart_syscall(172);
        assert_eq!(c.pc(), CODE + insn, "{arch:?}");
        assert_eq!(c.syscall_args().0, 172, "{arch:?}");
    }
}

/// enter_handler then sigreturn (sp where the restorer leaves it) gives back every register
/// a Ureg shows and the old mask; the handler starts with the signal number as its first
/// argument and the restorer as its return address.
#[test]
fn sigreturn_undoes_enter_handler_on_each_arch() {
    for arch in ARCHES {
        let mut c = cpu_with(arch, &[]);
        let mut img = distinct_image(arch);
        let l = ureg::layout(arch);
        // A sane stack and flags to come back to.
        let put = |img: &mut Vec<u8>, name: &str, v: u64| {
            l.put(img, l.field(name).expect(name), v);
        };
        put(&mut img, "sp", STACK - 0x200);
        put(&mut img, "pc", CODE + 0x40);
        match arch {
            Arch::X86_64 => put(&mut img, "flags", 0x246),
            Arch::Aarch64 => put(&mut img, "psr", 0x6000_0000),
            Arch::Riscv64 => {}
        }
        assert!(c.set_ureg(&img));
        let before = c.ureg(0);
        let info = [0x5au8; 128];
        assert!(c.enter_handler(10, CODE + 0x100, CODE + 0x200, 0xabc, &info, None));
        assert_eq!(c.pc(), CODE + 0x100, "{arch:?}");
        let (first, ret_addr) = match arch {
            Arch::X86_64 => (c.ureg(0)[40..48].to_vec(), c.read_u64(c.sp()).expect("ret")),
            Arch::Aarch64 => (c.ureg(0)[0..8].to_vec(), {
                let u = c.ureg(0);
                le(&u, 240, 8)
            }),
            Arch::Riscv64 => (c.ureg(0)[80..88].to_vec(), le(&c.ureg(0), 8, 8)),
        };
        assert_eq!(le(&first, 0, 8), 10, "{arch:?} signal number");
        assert_eq!(ret_addr, CODE + 0x200, "{arch:?} return address");
        if arch == Arch::X86_64 {
            // The restorer's `ret` pops the return address before rt_sigreturn.
            let sp = c.sp();
            c.set_sp(sp + 8);
        }
        assert_eq!(c.sigreturn(), Some(0xabc), "{arch:?}");
        assert_eq!(c.ureg(0), before, "{arch:?}");
    }
}

/// A fork's copy has the parent's registers, TLS and FP state.
#[test]
fn copy_regs_from_copies_registers_tls_and_fp() {
    for arch in ARCHES {
        let mut parent = cpu_with(arch, &[]);
        assert!(parent.set_ureg(&distinct_image(arch)));
        parent.set_tls(0x7777_0000);
        let mut fp = parent.fp_save();
        for (i, b) in fp.iter_mut().enumerate().take(64) {
            *b = i as u8;
        }
        parent.fp_restore(&fp);
        let mut child = Cpu::new(arch).expect("engine");
        child.copy_regs_from(&parent);
        assert_eq!(child.ureg(0), parent.ureg(0), "{arch:?}");
        assert_eq!(child.tls(), 0x7777_0000, "{arch:?}");
        assert_eq!(child.fp_save(), parent.fp_save(), "{arch:?}");
    }
}

/// A segment grown a page at a time stays one engine region (hostmem.rs) and keeps its
/// bytes; a partial unmap pins its block and the next growth moves it to a fresh one; a tail
/// cut off shrinks the block in place, and growing again reads zeros there.
#[test]
fn grow_segment_stays_one_region_and_keeps_contents() {
    const BASE: u64 = 0x4000_0000;
    let mut c = Cpu::new(Arch::X86_64).expect("engine");
    c.map(BASE, 0x1000, 3).expect("map");
    c.write(BASE, b"first").expect("write");
    for i in 1..300u64 {
        c.grow(BASE, BASE + i * 0x1000, BASE + (i + 1) * 0x1000, 3)
            .expect("grow");
        c.write(BASE + i * 0x1000, &i.to_le_bytes())
            .expect("write new page");
    }
    let regions = c.uc.mem_regions().expect("regions");
    assert_eq!(regions.len(), 1, "{regions:?}");
    assert_eq!(c.read(BASE, 5).expect("read"), b"first");
    assert_eq!(c.read_u64(BASE + 299 * 0x1000).expect("read"), 299);

    // A tail cut off: still one region, the block shrinks; regrown pages are zero.
    c.unmap(BASE + 200 * 0x1000, 100 * 0x1000)
        .expect("unmap tail");
    assert!(!c.blocks[&BASE].pinned);
    c.grow(BASE, BASE + 200 * 0x1000, BASE + 300 * 0x1000, 3)
        .expect("grow again");
    assert_eq!(c.read_u64(BASE + 250 * 0x1000).expect("read"), 0);
    assert_eq!(c.read_u64(BASE + 199 * 0x1000).expect("read"), 199);

    // A hole pins the block; growing the head moves it to a new one.
    c.unmap(BASE + 10 * 0x1000, 0x1000).expect("unmap hole");
    assert!(c.blocks[&BASE].pinned);
    c.grow(BASE, BASE + 10 * 0x1000, BASE + 11 * 0x1000, 3)
        .expect("grow head");
    assert!(!c.blocks[&BASE].pinned);
    assert_eq!(c.read(BASE, 5).expect("read"), b"first");
    assert_eq!(c.read_u64(BASE + 10 * 0x1000).expect("read"), 0);
    assert_eq!(c.read_u64(BASE + 11 * 0x1000).expect("read"), 11);
    assert_eq!(c.retired.len(), 1);
}
