//! Guest memory that Glass owns on the host (unicorn's `uc_mem_map_ptr`), for segments that
//! grow: the heap under brk(2) and buffers grown with mremap(2). A region unicorn allocates
//! itself cannot grow: each growth became one more region, and unicorn rebuilds its flat
//! view of all regions on every map (softmmu/memory.c `render_memory_region`, quadratic in
//! the region count), so a buffer grown a page at a time cost cubic time (4,000 growths:
//! 11 s). A host block grows with the host's mremap(2) (pages move, nothing is copied) and is
//! mapped again as one region, so a segment stays one region whatever its history.
//!
//! A block backs exactly one guest range while Glass has only mapped, grown, unmapped or
//! re-protected it whole. A partial munmap or mprotect makes unicorn split the region into
//! regions that point into the block (uc.c `split_region`, RAM_PREALLOC case); the block is
//! then *pinned*: it never moves again, its unmapped pages are returned to the host with
//! MADV_DONTNEED, and it is freed with the engine.

use std::ffi::c_void;

/// One anonymous private host mapping backing a guest range.
#[derive(Debug)]
pub(crate) struct HostBlock {
    ptr: *mut c_void,
    len: usize,
    /// Split by a partial unmap or protect: regions point into it, so it cannot move.
    pub pinned: bool,
}

impl HostBlock {
    /// A zero-filled block of `len` bytes (page-aligned); None if the host refuses.
    pub fn new(len: usize) -> Option<HostBlock> {
        // SAFETY: an anonymous private mapping at an address the kernel chooses touches no
        // existing memory; the result is checked for MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        (ptr != libc::MAP_FAILED).then_some(HostBlock {
            ptr,
            len,
            pinned: false,
        })
    }

    pub fn ptr(&self) -> *mut c_void {
        self.ptr
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the block is `len` readable and writable bytes for as long as it lives,
        // and `&mut self` means no other Rust reference to them exists.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.cast::<u8>(), self.len) }
    }

    /// Grow to `new_len` bytes, keeping the contents (the host may move the pages: the
    /// caller must have unmapped the engine's region first). False if the host refuses;
    /// the block is then unchanged.
    pub fn grow(&mut self, new_len: usize) -> bool {
        debug_assert!(!self.pinned);
        // SAFETY: `ptr`/`len` is exactly this block's mapping; MREMAP_MAYMOVE moves it
        // whole, and no region of the engine points into it while it moves (the caller
        // unmapped it). The result is checked for MAP_FAILED.
        let p = unsafe { libc::mremap(self.ptr, self.len, new_len, libc::MREMAP_MAYMOVE) };
        if p == libc::MAP_FAILED {
            return false;
        }
        self.ptr = p;
        self.len = new_len;
        true
    }

    /// Shrink to `new_len` bytes (0 < new_len < len) in place: a tail unmapped from the
    /// guest (brk(2) moving down) leaves a block that still backs exactly its region.
    pub fn shrink(&mut self, new_len: usize) -> bool {
        // SAFETY: shrinking a mapping with flags 0 never moves it; the tail it drops is no
        // longer mapped by the engine (the caller unmapped it).
        let p = unsafe { libc::mremap(self.ptr, self.len, new_len, 0) };
        if p == libc::MAP_FAILED {
            return false;
        }
        self.len = new_len;
        true
    }

    /// Give the pages of `[off, off+len)` back to the host (they read as zeros after).
    pub fn release(&mut self, off: usize, len: usize) {
        if off >= self.len || len == 0 {
            return;
        }
        let len = len.min(self.len - off);
        // SAFETY: the range lies inside this block's mapping (clamped above); the engine
        // no longer maps it, so nothing reads it while its pages go.
        unsafe {
            libc::madvise(
                self.ptr.cast::<u8>().add(off).cast(),
                len,
                libc::MADV_DONTNEED,
            );
        }
    }
}

impl Drop for HostBlock {
    fn drop(&mut self) {
        // SAFETY: this is the block's own mapping, dropped once; the engine that mapped it
        // is closed or no longer maps it (Cpu drops its engine before its blocks).
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_block_grow_keeps_contents_and_release_zeroes() {
        let mut b = HostBlock::new(4096).expect("host memory");
        b.as_mut_slice()[..4].copy_from_slice(b"heap");
        assert!(b.grow(3 * 4096));
        assert_eq!(b.len(), 3 * 4096);
        assert_eq!(&b.as_mut_slice()[..4], b"heap");
        assert!(b.as_mut_slice()[4096..].iter().all(|&x| x == 0));
        b.as_mut_slice()[8192] = 7;
        b.release(8192, 4096);
        assert_eq!(b.as_mut_slice()[8192], 0);
        assert!(b.shrink(4096));
        assert_eq!(&b.as_mut_slice()[..4], b"heap");
        assert_eq!(b.len(), 4096);
    }
}
