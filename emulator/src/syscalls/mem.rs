//! Memory system calls (brk(2), mmap(2), munmap(2), mprotect(2), mremap(2)) over the
//! process's address space.

use crate::errno::{Errno, SysResult};
use crate::fdtable::FileKind;
use crate::param::PAGE_SIZE;
use crate::syscalls::Cx;
use crate::vm::page_up;
use proc_model::machine::SegKind;
use std::os::unix::fs::FileExt;

/// mman-common.h.
const PROT_WRITE: u32 = 0x2;
const MAP_SHARED: u64 = 0x01;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
const MREMAP_MAYMOVE: u64 = 1;
const MREMAP_FIXED: u64 = 2;

pub fn brk(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    Ok(cx.vm.set_brk(cx.mem, a[0]))
}

pub fn mmap(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let (addr, len, prot, flags, fd, off) = (a[0], a[1], a[2] as u32, a[3], a[4] as i32, a[5]);
    if len == 0 || addr % PAGE_SIZE != 0 || off % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len);
    if len == 0 || len > (1 << 40) {
        return Err(Errno::ENOMEM);
    }
    let at = if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0 {
        if flags & MAP_FIXED_NOREPLACE != 0
            && cx.vm.segs().any(|s| s.start < addr + len && s.end > addr)
        {
            return Err(Errno::EEXIST);
        }
        addr
    } else {
        cx.vm.place(len)?
    };
    let kind = if flags & MAP_SHARED != 0 {
        SegKind::Shared
    } else if flags & MAP_ANONYMOUS != 0 {
        SegKind::Anon
    } else {
        SegKind::File
    };
    // File contents are copied in (a private mapping; MAP_SHARED files are not written back).
    let contents = if flags & MAP_ANONYMOUS == 0 {
        let f = cx.g.fds.get(fd)?;
        let f = f.borrow();
        if !f.readable() {
            return Err(Errno::EACCES);
        }
        match &f.kind {
            FileKind::Host(h) => {
                let mut buf = vec![0u8; len as usize];
                let n = h.read_at(&mut buf, off).map_err(|_| Errno::EIO)?;
                buf.truncate(n);
                buf
            }
            FileKind::Mem(m) => {
                let m = m.borrow();
                let s = (off as usize).min(m.len());
                m[s..(s + len as usize).min(m.len())].to_vec()
            }
            FileKind::Dev(_) => Vec::new(),
            _ => return Err(Errno::ENODEV),
        }
    } else {
        Vec::new()
    };
    cx.vm.map(
        cx.mem,
        at,
        len,
        prot | if contents.is_empty() { 0 } else { PROT_WRITE },
        kind,
    )?;
    if !contents.is_empty() {
        cx.mem.write(at, &contents)?;
        if prot & PROT_WRITE == 0 {
            cx.vm.protect(cx.mem, at, len, prot)?;
        }
    }
    Ok(at)
}

pub fn munmap(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    if !a[0].is_multiple_of(PAGE_SIZE) || a[1] == 0 {
        return Err(Errno::EINVAL);
    }
    cx.vm.unmap(cx.mem, a[0], page_up(a[1]))?;
    Ok(0)
}

pub fn mprotect(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    if !a[0].is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    if a[1] == 0 {
        return Ok(0);
    }
    // mm/mprotect.c: a range that wraps past the top of the address space is ENOMEM (the
    // syscall fuzzer's first find: the end overflowed in AddressSpace::protect).
    let len = page_up(a[1]);
    if a[0].checked_add(len).is_none_or(|end| end <= a[0]) {
        return Err(Errno::ENOMEM);
    }
    cx.vm.protect(cx.mem, a[0], len, a[2] as u32 & 7)?;
    Ok(0)
}

pub fn mremap(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let (old, old_len, new_len, flags) = (a[0], page_up(a[1]), page_up(a[2]), a[3]);
    if old % PAGE_SIZE != 0 || new_len == 0 || flags & MREMAP_FIXED != 0 {
        return Err(Errno::EINVAL);
    }
    cx.vm
        .remap(cx.mem, old, old_len, new_len, flags & MREMAP_MAYMOVE != 0)
}

/// madvise(addr, len, advice): MADV_DONTNEED on private anonymous memory (anonymous mmap,
/// bss, heap, stack) zeroes it, as Linux drops the pages and the next touch finds zeros —
/// Go's scavenger relies on that. Every other advice is a hint and succeeds.
pub fn madvise(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    const MADV_DONTNEED: u64 = 4;
    const CHUNK: u64 = 1 << 20;
    if !a[0].is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    if a[2] != MADV_DONTNEED || a[1] == 0 {
        return Ok(0);
    }
    let (start, end) = (a[0], a[0].checked_add(page_up(a[1])).ok_or(Errno::EINVAL)?);
    let pieces: Vec<(u64, u64)> = cx
        .vm
        .segs()
        .filter(|s| s.start < end && s.end > start)
        .filter(|s| matches!(s.kind, SegKind::Anon | SegKind::Bss | SegKind::Stack))
        .filter(|s| s.prot & PROT_WRITE != 0)
        .map(|s| (s.start.max(start), s.end.min(end)))
        .collect();
    let zeros = vec![0u8; CHUNK as usize];
    for (lo, hi) in pieces {
        let mut at = lo;
        while at < hi {
            let n = (hi - at).min(CHUNK);
            cx.mem.write(at, &zeros[..n as usize])?;
            at += n;
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guestmem::GuestMem;
    use crate::syscalls::testing::{Bench, MEM, MEM_SIZE};

    /// Found by the syscalls fuzz target: the end of the range overflowed (a panic).
    #[test]
    fn mprotect_range_wrapping_the_address_space_is_enomem() {
        let mut b = Bench::new();
        b.vm.add(MEM, MEM + MEM_SIZE, 3, SegKind::Anon);
        assert_eq!(
            mprotect(&mut b.cx(), [MEM, u64::MAX - MEM, 1, 0, 0, 0]),
            Err(Errno::ENOMEM)
        );
        assert_eq!(
            mprotect(&mut b.cx(), [MEM, u64::MAX, 1, 0, 0, 0]),
            Err(Errno::ENOMEM)
        );
        assert_eq!(mprotect(&mut b.cx(), [MEM, 0x1000, 1, 0, 0, 0]), Ok(0));
    }

    #[test]
    fn madvise_dontneed_zeroes_anonymous_memory() {
        let mut b = Bench::new();
        b.vm.add(MEM, MEM + MEM_SIZE, 3, SegKind::Anon);
        b.mem.write(MEM + 0x1000, b"data").expect("bench memory");
        assert_eq!(madvise(&mut b.cx(), [MEM + 0x1000, 4, 4, 0, 0, 0]), Ok(0));
        assert_eq!(b.mem.read(MEM + 0x1000, 4).expect("bench memory"), [0; 4]);
    }

    #[test]
    fn madvise_other_advice_keeps_contents_and_unaligned_is_einval() {
        let mut b = Bench::new();
        b.vm.add(MEM, MEM + MEM_SIZE, 3, SegKind::Anon);
        b.mem.write(MEM, b"data").expect("bench memory");
        assert_eq!(madvise(&mut b.cx(), [MEM, 4096, 8, 0, 0, 0]), Ok(0));
        assert_eq!(b.mem.read(MEM, 4).expect("bench memory"), b"data");
        assert_eq!(
            madvise(&mut b.cx(), [MEM + 1, 4, 4, 0, 0, 0]),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn munmap_unaligned_is_einval() {
        let mut b = Bench::new();
        assert_eq!(
            munmap(&mut b.cx(), [MEM + 1, 4096, 0, 0, 0, 0]),
            Err(Errno::EINVAL)
        );
    }
}
