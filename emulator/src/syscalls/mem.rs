//! Memory system calls (brk(2), mmap(2), munmap(2), mprotect(2), mremap(2)) over the
//! process's address space.

use crate::errno::{Errno, SysResult};
use crate::fdtable::FileKind;
use crate::limits;
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
    // Growth must fit RLIMIT_DATA (the heap), RLIMIT_AS and the machine's memory; brk
    // answers a refused move with the old break, as Linux's does.
    let want = page_up(a[0]);
    let top = page_up(cx.vm.brk());
    if want > top {
        let heap_after = cx.vm.heap().saturating_add(want - top);
        if heap_after > limits::soft(cx.g, limits::RLIMIT_DATA)
            || limits::check_map(cx.k.vfs.budget(), cx.g, cx.vm.size(), want - top).is_err()
        {
            return Ok(cx.vm.brk());
        }
    }
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
    // The growth this mapping may bring: RLIMIT_AS counts it all, the memory budget what
    // is accessible (a PROT_NONE reservation costs nothing until mprotect opens it).
    let charged = if prot & 7 != 0 { len } else { 0 };
    if cx.vm.size().saturating_add(len) > limits::soft(cx.g, limits::RLIMIT_AS) {
        return Err(Errno::ENOMEM);
    }
    cx.k.vfs.budget().check_guest(charged)?;
    // RLIMIT_DATA counts private writable mappings too (Linux 4.7+, mm/mmap.c
    // may_expand_vm) besides the heap.
    if flags & MAP_SHARED == 0
        && prot & PROT_WRITE != 0
        && data_bytes(cx.vm).saturating_add(len) > limits::soft(cx.g, limits::RLIMIT_DATA)
    {
        return Err(Errno::ENOMEM);
    }
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
            // Only the bytes the file has (the rest of the mapping reads as zeros), in a
            // buffer the budget check above has already bounded.
            FileKind::Host(h) => {
                let size = h.metadata().map_err(|_| Errno::EIO)?.len();
                let want = len.min(size.saturating_sub(off)) as usize;
                let mut buf = Vec::new();
                buf.try_reserve_exact(want).map_err(|_| Errno::ENOMEM)?;
                buf.resize(want, 0);
                let n = h.read_at(&mut buf, off).map_err(|_| Errno::EIO)?;
                buf.truncate(n);
                buf
            }
            FileKind::Mem(m) => m.borrow().read_at(off, len as usize),
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
    let (start, len, prot) = (a[0], page_up(a[1]), a[2] as u32 & 7);
    if start.checked_add(len).is_none_or(|end| end <= start) {
        return Err(Errno::ENOMEM);
    }
    if prot != 0 {
        let opened = cx.vm.none_bytes(start, start + len);
        cx.k.vfs.budget().check_guest(opened)?;
    }
    cx.vm.protect(cx.mem, start, len, prot)?;
    Ok(0)
}

/// The bytes RLIMIT_DATA counts: the heap and private writable mappings other than the
/// stack (mm/mmap.c is_data_mapping).
fn data_bytes(vm: &crate::vm::AddressSpace) -> u64 {
    vm.segs()
        .filter(|s| s.prot & PROT_WRITE != 0)
        .filter(|s| {
            matches!(
                s.kind,
                SegKind::Anon | SegKind::Data | SegKind::Bss | SegKind::File
            )
        })
        .map(|s| s.end - s.start)
        .sum()
}

pub fn mremap(cx: &mut Cx, a: [u64; 6]) -> SysResult<u64> {
    let (old, old_len, new_len, flags) = (a[0], page_up(a[1]), page_up(a[2]), a[3]);
    if old % PAGE_SIZE != 0 || new_len == 0 || flags & MREMAP_FIXED != 0 {
        return Err(Errno::EINVAL);
    }
    if new_len > old_len {
        // A move holds old and new at once for a moment; the growth is what stays.
        limits::check_map(cx.k.vfs.budget(), cx.g, cx.vm.size(), new_len - old_len)?;
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
    // Only pages holding something are written: writing zeros to an untouched page would
    // make the host back it, the opposite of what the guest asked for.
    let zeros = [0u8; PAGE_SIZE as usize];
    let mut buf = vec![0u8; CHUNK as usize];
    for (lo, hi) in pieces {
        let mut at = lo;
        while at < hi {
            let n = (hi - at).min(CHUNK) as usize;
            cx.mem.read_into(at, &mut buf[..n])?;
            for (pi, page) in buf[..n].chunks(PAGE_SIZE as usize).enumerate() {
                if !crate::guestmem::is_zero(page) {
                    cx.mem
                        .write(at + pi as u64 * PAGE_SIZE, &zeros[..page.len()])?;
                }
            }
            at += n as u64;
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
