//! A process's address space: the named segments (Plan 9's Text, Data, Bss, Stack, plus one
//! per mmap) kept in step with the engine's mappings, the program break (brk(2)) and mmap
//! placement (mmap(2), munmap(2), mprotect(2), mremap(2)). Placement is a fixed function of
//! the process's history: top-down first fit below `param::MMAP_TOP`.

use crate::errno::{Errno, SysResult};
use crate::guestmem::GuestMem;
use crate::param::{self, PAGE_SIZE};
use proc_model::machine::SegKind;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seg {
    pub start: u64,
    pub end: u64,
    /// PROT_* bits.
    pub prot: u32,
    pub kind: SegKind,
    /// Written through /proc `mem` while it was Text: Plan 9's txt2data made it a private
    /// `Data` copy, which `segment` shows without `R` (the guest's protection is unchanged).
    pub debug_copy: bool,
}

#[derive(Clone, Debug, Default)]
pub struct AddressSpace {
    segs: BTreeMap<u64, Seg>,
    brk_start: u64,
    brk: u64,
}

pub fn page_up(a: u64) -> u64 {
    a.saturating_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

impl AddressSpace {
    pub fn add(&mut self, start: u64, end: u64, prot: u32, kind: SegKind) {
        if start < end {
            self.segs.insert(
                start,
                Seg {
                    start,
                    end,
                    prot,
                    kind,
                    debug_copy: false,
                },
            );
        }
    }

    /// Bytes mapped with some access (what the memory budget charges: PROT_NONE
    /// reservations cost no host memory and are not charged, as Linux does not account
    /// them either).
    pub fn charge(&self) -> u64 {
        self.segs
            .values()
            .filter(|s| s.prot & 7 != 0)
            .map(|s| s.end - s.start)
            .sum()
    }

    /// Bytes mapped in all (RLIMIT_AS counts every mapping).
    pub fn size(&self) -> u64 {
        self.segs.values().map(|s| s.end - s.start).sum()
    }

    /// Bytes of [a, b) mapped PROT_NONE (what mprotect to an accessible mode adds).
    pub fn none_bytes(&self, a: u64, b: u64) -> u64 {
        self.segs
            .values()
            .filter(|s| s.prot & 7 == 0 && s.start < b && s.end > a)
            .map(|s| s.end.min(b) - s.start.max(a))
            .sum()
    }

    /// Bytes of the heap (the break above its start: RLIMIT_DATA counts it).
    pub fn heap(&self) -> u64 {
        self.brk - self.brk_start
    }

    pub fn segs(&self) -> impl Iterator<Item = &Seg> {
        self.segs.values()
    }

    pub fn prot_at(&self, addr: u64) -> Option<u32> {
        self.find(addr).map(|s| s.prot)
    }

    pub fn find(&self, addr: u64) -> Option<&Seg> {
        self.segs
            .range(..=addr)
            .next_back()
            .map(|(_, s)| s)
            .filter(|s| addr < s.end)
    }

    /// 9front txt2data: a debugger's write into Text turns that segment into a private Data
    /// copy (devproc procctlmemio), so breakpoints never show as shared text.
    pub fn txt2data(&mut self, addr: u64) {
        let Some(start) = self.find(addr).map(|s| s.start) else {
            return;
        };
        if let Some(s) = self.segs.get_mut(&start) {
            if s.kind == SegKind::Text {
                s.kind = SegKind::Data;
                s.debug_copy = true;
            }
        }
    }

    pub fn init_brk(&mut self, at: u64) {
        self.brk_start = page_up(at);
        self.brk = self.brk_start;
    }

    pub fn brk(&self) -> u64 {
        self.brk
    }

    /// Is [a, b) free of segments?
    fn is_free(&self, a: u64, b: u64) -> bool {
        if let Some((_, s)) = self.segs.range(..b).next_back() {
            if s.end > a {
                return false;
            }
        }
        true
    }

    /// brk(2): move the break; the Bss segment grows and shrinks with it.
    pub fn set_brk(&mut self, mem: &mut dyn GuestMem, want: u64) -> u64 {
        if want < self.brk_start {
            return self.brk;
        }
        let old_top = page_up(self.brk);
        let new_top = page_up(want);
        if new_top > old_top {
            if !self.is_free(old_top, new_top) {
                return self.brk;
            }
            // Grow the heap segment that ends at the old top as one piece (GuestMem::grow).
            let heap = self
                .segs
                .range(..old_top)
                .next_back()
                .map(|(_, s)| s)
                .filter(|s| s.end == old_top && s.kind == SegKind::Bss && s.prot == 3)
                .map(|s| s.start);
            let grown = match heap {
                Some(start) => mem.grow(start, old_top, new_top, 3),
                None => mem.map(old_top, new_top - old_top, 3),
            };
            if grown.is_err() {
                return self.brk;
            }
        } else if new_top < old_top && mem.unmap(new_top, old_top - new_top).is_err() {
            return self.brk;
        }
        self.brk = want;
        // Keep one Bss segment ending at the break: extend the segment that ends at the old
        // top (the ELF's bss), or start one.
        let bss_key = self
            .segs
            .range(..=old_top)
            .next_back()
            .filter(|(_, s)| s.end == old_top && s.kind == SegKind::Bss)
            .map(|(k, _)| *k);
        match bss_key {
            Some(k) => {
                if new_top <= k {
                    self.segs.remove(&k);
                } else if let Some(s) = self.segs.get_mut(&k) {
                    s.end = new_top;
                }
            }
            None => self.add(self.brk_start, new_top, 3, SegKind::Bss),
        }
        self.brk
    }

    /// Choose an address for `len` bytes: the highest free range below MMAP_TOP.
    pub fn place(&self, len: u64) -> SysResult<u64> {
        let mut top = param::MMAP_TOP;
        for s in self.segs.range(..param::MMAP_TOP).rev().map(|(_, s)| s) {
            if s.end <= top && top - s.end >= len {
                return Ok(top - len);
            }
            top = top.min(s.start);
        }
        if top >= param::MMAP_BOTTOM + len {
            Ok(top - len)
        } else {
            Err(Errno::ENOMEM)
        }
    }

    /// Take [a, b) out of the segment map, returning the removed pieces; pieces of segments
    /// that stick out stay.
    fn carve(&mut self, a: u64, b: u64) -> Vec<Seg> {
        let keys: Vec<u64> = self
            .segs
            .range(..b)
            .rev()
            .take_while(|(_, s)| s.end > a || s.start >= a)
            .filter(|(_, s)| s.end > a)
            .map(|(k, _)| *k)
            .collect();
        let mut out = Vec::new();
        for k in keys {
            let Some(s) = self.segs.remove(&k) else {
                continue;
            };
            if s.start < a {
                self.add(s.start, a, s.prot, s.kind);
            }
            if s.end > b {
                self.add(b, s.end, s.prot, s.kind);
            }
            out.push(Seg {
                start: s.start.max(a),
                end: s.end.min(b),
                prot: s.prot,
                kind: s.kind,
                debug_copy: s.debug_copy,
            });
        }
        out.sort_by_key(|s| s.start);
        out
    }

    /// Map fresh zeroed memory at [a, a+len) (replacing what is there, as MAP_FIXED does).
    pub fn map(
        &mut self,
        mem: &mut dyn GuestMem,
        a: u64,
        len: u64,
        prot: u32,
        kind: SegKind,
    ) -> SysResult<()> {
        self.unmap(mem, a, len)?;
        mem.map(a, len, prot)?;
        self.add(a, a + len, prot, kind);
        Ok(())
    }

    pub fn unmap(&mut self, mem: &mut dyn GuestMem, a: u64, len: u64) -> SysResult<()> {
        for piece in self.carve(a, a + len) {
            mem.unmap(piece.start, piece.end - piece.start)?;
        }
        Ok(())
    }

    /// mprotect(2): every page of the range must be mapped (else ENOMEM).
    pub fn protect(
        &mut self,
        mem: &mut dyn GuestMem,
        a: u64,
        len: u64,
        prot: u32,
    ) -> SysResult<()> {
        let mut covered = a;
        for s in self
            .segs
            .range(..a + len)
            .map(|(_, s)| s)
            .filter(|s| s.end > a)
        {
            if s.start > covered {
                return Err(Errno::ENOMEM);
            }
            covered = s.end;
        }
        if covered < a + len {
            return Err(Errno::ENOMEM);
        }
        for piece in self.carve(a, a + len) {
            if piece.kind == SegKind::Text && prot & 2 != 0 {
                mem.text_written();
            }
            mem.protect(piece.start, piece.end - piece.start, prot)?;
            self.add(piece.start, piece.end, prot, piece.kind);
        }
        Ok(())
    }

    /// mremap(2) without MREMAP_FIXED: grow or shrink in place when possible, else move.
    pub fn remap(
        &mut self,
        mem: &mut dyn GuestMem,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
    ) -> SysResult<u64> {
        let seg = self.find(old).cloned().ok_or(Errno::EFAULT)?;
        if old + old_len > seg.end {
            return Err(Errno::EFAULT);
        }
        if new_len <= old_len {
            self.unmap(mem, old + new_len, old_len - new_len)?;
            return Ok(old);
        }
        let grow_from = old + old_len;
        if seg.end == grow_from && self.is_free(grow_from, old + new_len) {
            mem.grow(seg.start, grow_from, old + new_len, seg.prot)?;
            if let Some(s) = self.segs.get_mut(&seg.start) {
                s.end = old + new_len;
            }
            return Ok(old);
        }
        if !may_move {
            return Err(Errno::ENOMEM);
        }
        let new = self.place(new_len)?;
        self.map(mem, new, new_len, seg.prot | 3, seg.kind)?;
        // Copied a chunk at a time, and only pages that are not all zero, so a large
        // mapping costs no buffer of its size and its untouched pages stay unbacked.
        const CHUNK: u64 = 64 * 1024;
        let mut buf = vec![0u8; CHUNK as usize];
        let mut at = 0;
        while at < old_len {
            let n = CHUNK.min(old_len - at) as usize;
            mem.read_into(old + at, &mut buf[..n])?;
            for (pi, page) in buf[..n].chunks(PAGE_SIZE as usize).enumerate() {
                if !crate::guestmem::is_zero(page) {
                    mem.write(new + at + pi as u64 * PAGE_SIZE, page)?;
                }
            }
            at += n as u64;
        }
        if seg.prot & 2 == 0 {
            self.protect(mem, new, new_len, seg.prot)?;
        }
        self.unmap(mem, old, old_len)?;
        Ok(new)
    }

    /// Map every segment into `to` and copy the pages that are not all zero (fork). Pages
    /// never touched stay unbacked in the child, as in the parent.
    /// Segments in `keep` are already present in `to` (a reused engine) and are skipped.
    pub fn copy_into(
        &self,
        from: &dyn GuestMem,
        to: &mut dyn GuestMem,
        keep: &[(u64, u64)],
    ) -> SysResult<()> {
        const CHUNK: u64 = 64 * 1024;
        let mut buf = vec![0u8; CHUNK as usize];
        for s in self
            .segs
            .values()
            .filter(|s| !keep.contains(&(s.start, s.end)))
        {
            // Map writable while copying: unicorn's host writes into a read-only region
            // flip its protection (and rebuild the memory map) on every call.
            to.map(s.start, s.end - s.start, s.prot | 2)?;
            let mut a = s.start;
            while a < s.end {
                let n = CHUNK.min(s.end - a) as usize;
                from.read_into(a, &mut buf[..n])?;
                for (pi, page) in buf[..n].chunks(PAGE_SIZE as usize).enumerate() {
                    if !crate::guestmem::is_zero(page) {
                        to.write(a + pi as u64 * PAGE_SIZE, page)?;
                    }
                }
                a += n as u64;
            }
            if s.prot & 2 == 0 {
                to.protect(s.start, s.end - s.start, s.prot)?;
            }
        }
        Ok(())
    }

    /// Follow the engine's stack growth: the Stack segment starts at `lo`.
    pub fn sync_stack(&mut self, lo: u64) {
        let Some((&k, _)) = self.segs.iter().find(|(_, s)| s.kind == SegKind::Stack) else {
            return;
        };
        if lo < k {
            if let Some(mut s) = self.segs.remove(&k) {
                s.start = lo;
                self.segs.insert(lo, s);
            }
        }
    }

    /// The program's text ranges (what a reused engine may keep).
    pub fn text_ranges(&self) -> Vec<(u64, u64)> {
        self.segs
            .values()
            .filter(|s| s.kind == SegKind::Text && s.prot & 2 == 0)
            .map(|s| (s.start, s.end))
            .collect()
    }

    /// Segments in Plan 9 slot order: Stack first, then Text, Data, Bss, then the rest by
    /// address (proc(3) segment).
    pub fn plan9_order(&self) -> Vec<Seg> {
        let rank = |k: SegKind| match k {
            SegKind::Stack => 0,
            SegKind::Text => 1,
            SegKind::Data => 2,
            SegKind::Bss => 3,
            _ => 4,
        };
        let mut v: Vec<Seg> = self.segs.values().cloned().collect();
        v.sort_by_key(|s| (rank(s.kind), s.start));
        v
    }
}
