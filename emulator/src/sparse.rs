//! Sparse overlay file contents: a length and the pages written so far, so host memory
//! follows what a guest writes, not the offsets it writes at (a hole reads as zeros, as
//! in Linux tmpfs, mm/shmem.c). Every page is charged to the machine's [`Budget`] before
//! it is allocated, and allocated fallibly: a full budget answers ENOSPC, a size past
//! [`MAX_FILE_SIZE`] EFBIG, and glass itself never aborts on a size a guest chose.

use crate::budget::Budget;
use crate::errno::{Errno, SysResult};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Bytes per stored page (the guest page size, as tmpfs stores files).
pub const PAGE: u64 = 4096;

/// The largest overlay file: 2^40 bytes (our choice; Linux tmpfs allows MAX_LFS_FILESIZE,
/// 2^63-1, but a sparse map that large would only be address arithmetic to overflow).
pub const MAX_FILE_SIZE: u64 = 1 << 40;

/// One overlay file's contents.
#[derive(Debug, Default)]
pub struct SparseFile {
    len: u64,
    /// Written pages by page number; every other page of [0, len) is a hole.
    pages: BTreeMap<u64, Box<[u8]>>,
    budget: Rc<Budget>,
}

impl SparseFile {
    /// An empty file charged to `budget`.
    pub fn new(budget: Rc<Budget>) -> SparseFile {
        SparseFile {
            len: 0,
            pages: BTreeMap::new(),
            budget,
        }
    }

    /// A file holding `data` (a copy-up of a host file).
    pub fn from_bytes(data: &[u8], budget: Rc<Budget>) -> SysResult<SparseFile> {
        let mut f = SparseFile::new(budget);
        f.write_at(0, data)?;
        Ok(f)
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Host bytes held (whole pages).
    pub fn allocated(&self) -> u64 {
        self.pages.len() as u64 * PAGE
    }

    /// Up to `len` bytes from `off` (fewer at the end of the file). The caller bounds
    /// `len` (read(2)'s MAX_IO).
    pub fn read_at(&self, off: u64, len: usize) -> Vec<u8> {
        let end = off.saturating_add(len as u64).min(self.len);
        if off >= end {
            return Vec::new();
        }
        let mut out = vec![0u8; (end - off) as usize];
        let (first, last) = (off / PAGE, (end - 1) / PAGE);
        for (&pn, page) in self.pages.range(first..=last) {
            let p_start = pn * PAGE;
            let a = off.max(p_start);
            let b = end.min(p_start + PAGE);
            out[(a - off) as usize..(b - off) as usize]
                .copy_from_slice(&page[(a - p_start) as usize..(b - p_start) as usize]);
        }
        out
    }

    /// Store `data` at `off`, growing the file: EFBIG past [`MAX_FILE_SIZE`], ENOSPC when
    /// the budget cannot take the new pages (nothing is written then).
    pub fn write_at(&mut self, off: u64, data: &[u8]) -> SysResult<()> {
        if data.is_empty() {
            return Ok(());
        }
        let end = off
            .checked_add(data.len() as u64)
            .filter(|&e| e <= MAX_FILE_SIZE)
            .ok_or(Errno::EFBIG)?;
        let (first, last) = (off / PAGE, (end - 1) / PAGE);
        let fresh = (first..=last)
            .filter(|pn| !self.pages.contains_key(pn))
            .count() as u64;
        self.budget.take_overlay(fresh * PAGE)?;
        let mut made = 0u64;
        for pn in first..=last {
            let p_start = pn * PAGE;
            let a = off.max(p_start);
            let b = end.min(p_start + PAGE);
            let page = match self.pages.entry(pn) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => match new_page() {
                    Some(p) => {
                        made += 1;
                        v.insert(p)
                    }
                    None => {
                        // The host refused: give back what was charged and not allocated.
                        self.budget
                            .release_overlay(fresh.saturating_sub(made) * PAGE);
                        return Err(Errno::ENOSPC);
                    }
                },
            };
            page[(a - p_start) as usize..(b - p_start) as usize]
                .copy_from_slice(&data[(a - off) as usize..(b - off) as usize]);
        }
        self.len = self.len.max(end);
        Ok(())
    }

    /// truncate(2): cut or extend (with a hole) to `len`; EFBIG past [`MAX_FILE_SIZE`].
    pub fn set_len(&mut self, len: u64) -> SysResult<()> {
        if len > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        if len < self.len {
            let keep = len.div_ceil(PAGE);
            let dropped = self.pages.split_off(&keep);
            self.budget.release_overlay(dropped.len() as u64 * PAGE);
            // The tail of the last kept page must read as zeros if the file grows again.
            if !len.is_multiple_of(PAGE) {
                if let Some(p) = self.pages.get_mut(&(len / PAGE)) {
                    p[(len % PAGE) as usize..].fill(0);
                }
            }
        }
        self.len = len;
        Ok(())
    }

    /// The whole contents in one buffer (exec of an overlay file); ENOMEM if the host
    /// cannot give that much.
    pub fn to_vec(&self) -> SysResult<Vec<u8>> {
        let n = usize::try_from(self.len).map_err(|_| Errno::ENOMEM)?;
        let mut v = Vec::new();
        v.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
        v.resize(n, 0);
        for (&pn, page) in &self.pages {
            let s = (pn * PAGE) as usize;
            let e = (s + PAGE as usize).min(n);
            if s < e {
                v[s..e].copy_from_slice(&page[..e - s]);
            }
        }
        Ok(v)
    }
}

/// A zeroed page, or None if the host has no memory for it.
fn new_page() -> Option<Box<[u8]>> {
    let mut v: Vec<u8> = Vec::new();
    v.try_reserve_exact(PAGE as usize).ok()?;
    v.resize(PAGE as usize, 0);
    Some(v.into_boxed_slice())
}

impl Drop for SparseFile {
    fn drop(&mut self) {
        self.budget.release_overlay(self.allocated());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> SparseFile {
        SparseFile::new(Rc::new(Budget::default()))
    }

    #[test]
    fn sparse_write_far_offset_allocates_one_page() {
        let mut f = file();
        f.write_at(1 << 30, b"x").expect("write");
        assert_eq!(f.len(), (1 << 30) + 1);
        assert_eq!(f.allocated(), PAGE);
        assert_eq!(f.read_at((1 << 30) - 2, 10), vec![0, 0, b'x']);
    }

    #[test]
    fn sparse_write_across_pages_reads_back() {
        let mut f = file();
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        f.write_at(4000, &data).expect("write");
        assert_eq!(f.read_at(4000, 10_000), data);
        assert_eq!(f.read_at(0, 4000), vec![0u8; 4000]);
        assert_eq!(f.allocated(), 4 * PAGE);
        assert_eq!(f.to_vec().expect("to_vec")[4000..], data[..]);
    }

    #[test]
    fn sparse_truncate_then_extend_reads_zeros() {
        let mut f = file();
        f.write_at(0, &[7u8; 6000]).expect("write");
        f.set_len(100).expect("truncate");
        assert_eq!(f.allocated(), PAGE);
        f.set_len(6000).expect("extend");
        let r = f.read_at(0, 6000);
        assert_eq!(&r[..100], &[7u8; 100][..]);
        assert!(r[100..].iter().all(|&b| b == 0));
    }

    #[test]
    fn sparse_past_budget_is_enospc_and_writes_nothing() {
        let b = Rc::new(Budget::new(2 * PAGE));
        let mut f = SparseFile::new(b.clone());
        f.write_at(0, &[1u8; 8192]).expect("two pages fit");
        assert_eq!(f.write_at(8192, b"y"), Err(Errno::ENOSPC));
        assert_eq!(f.len(), 8192);
        // Rewriting pages it already has costs nothing.
        assert_eq!(f.write_at(10, b"z"), Ok(()));
        drop(f);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn sparse_past_max_size_is_efbig() {
        let mut f = file();
        assert_eq!(f.write_at(MAX_FILE_SIZE, b"x"), Err(Errno::EFBIG));
        assert_eq!(f.write_at(u64::MAX, b"x"), Err(Errno::EFBIG));
        assert_eq!(f.set_len(MAX_FILE_SIZE + 1), Err(Errno::EFBIG));
        assert_eq!(f.len(), 0);
    }

    #[test]
    fn sparse_read_past_end_is_empty() {
        let mut f = file();
        f.write_at(0, b"abc").expect("write");
        assert!(f.read_at(3, 10).is_empty());
        assert!(f.read_at(u64::MAX, 10).is_empty());
        assert_eq!(f.read_at(1, 10), b"bc");
    }
}
