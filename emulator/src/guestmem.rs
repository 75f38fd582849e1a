//! Guest memory as the kernel sees it: one address space's bytes and mappings behind a
//! trait, so system calls, pipes and signals can be unit-tested against a plain in-memory
//! fake ([`FakeMem`]) as rust-vmm's vm-memory does. The real implementation is the unicorn
//! engine of the address space (`cpu::Cpu`, in `cpu/mod.rs`). Every failed access is
//! `EFAULT`, the answer Linux gives a system call handed a bad pointer.

use crate::errno::{Errno, SysResult};

/// Whether `bytes` are all zero: an OR over 8-byte words with no early exit, which the
/// compiler vectorizes (a byte-wise `any` was 85% of a thread create+join loop, whose
/// MADV_DONTNEED of each 8 MiB stack looks for the pages that hold data).
pub fn is_zero(bytes: &[u8]) -> bool {
    let words = bytes.chunks_exact(8);
    let tail = words.remainder().iter().fold(0u8, |a, &b| a | b);
    words.fold(0u64, |a, w| {
        a | u64::from_ne_bytes(w.try_into().unwrap_or([0xff; 8]))
    }) == 0
        && tail == 0
}

/// One address space's memory: byte access and page mappings.
pub trait GuestMem {
    /// Fill `buf` from guest address `addr`; EFAULT if any byte is unmapped.
    fn read_into(&self, addr: u64, buf: &mut [u8]) -> SysResult<()>;
    /// Store `data` at `addr`; EFAULT if any byte is unmapped.
    fn write(&mut self, addr: u64, data: &[u8]) -> SysResult<()>;
    /// Map `[addr, addr+size)` with Linux PROT_* bits (page-aligned).
    fn map(&mut self, addr: u64, size: u64, prot: u32) -> SysResult<()>;
    fn unmap(&mut self, addr: u64, size: u64) -> SysResult<()>;
    fn protect(&mut self, addr: u64, size: u64, prot: u32) -> SysResult<()>;
    /// Grow the segment `[start, old_end)`, mapped whole with `prot`, to end at `new_end`
    /// (brk(2), mremap(2) in place); the range after it is free. The engine keeps a growing
    /// segment in one region (cpu/hostmem.rs); mapping the new part beside it is the same
    /// to a guest.
    fn grow(&mut self, start: u64, old_end: u64, new_end: u64, prot: u32) -> SysResult<()> {
        let _ = start;
        self.map(old_end, new_end - old_end, prot)
    }
    /// The program's text may have been written (its translations cannot be shared).
    fn text_written(&mut self) {}

    fn read(&self, addr: u64, len: usize) -> SysResult<Vec<u8>> {
        let mut b = vec![0u8; len];
        self.read_into(addr, &mut b)?;
        Ok(b)
    }

    fn read_u32(&self, addr: u64) -> SysResult<u32> {
        let mut b = [0u8; 4];
        self.read_into(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn read_u64(&self, addr: u64) -> SysResult<u64> {
        let mut b = [0u8; 8];
        self.read_into(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn write_u32(&mut self, addr: u64, v: u32) -> SysResult<()> {
        self.write(addr, &v.to_le_bytes())
    }

    fn write_u64(&mut self, addr: u64, v: u64) -> SysResult<()> {
        self.write(addr, &v.to_le_bytes())
    }

    /// A NUL-terminated string of at most `max` bytes (ENAMETOOLONG past it). Read a page
    /// at a time, so a string that ends just before an unmapped page is fine.
    fn read_cstr(&self, addr: u64, max: usize) -> SysResult<Vec<u8>> {
        let mut out = Vec::new();
        let mut a = addr;
        while out.len() < max {
            let chunk = (crate::param::PAGE_SIZE - (a & (crate::param::PAGE_SIZE - 1))) as usize;
            let buf = self.read(a, chunk.min(max - out.len()))?;
            if let Some(i) = buf.iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..i]);
                return Ok(out);
            }
            out.extend_from_slice(&buf);
            a = a.checked_add(chunk as u64).ok_or(Errno::EFAULT)?;
        }
        Err(Errno::ENAMETOOLONG)
    }

    /// A `struct timespec {tv_sec, tv_nsec}` as nanoseconds; EINVAL if negative or if
    /// tv_nsec is not below 10^9 (nanosleep(2), ppoll(2), futex(2)).
    fn read_timespec(&self, addr: u64) -> SysResult<u64> {
        let b = self.read(addr, 16)?;
        let (s, ns) = (le64(&b[..8]) as i64, le64(&b[8..]) as i64);
        if s < 0 || !(0..1_000_000_000).contains(&ns) {
            return Err(Errno::EINVAL);
        }
        Ok((s as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ns as u64))
    }

    /// An array of `cnt` `struct iovec {base, len}` (readv(2)): at most IOV_MAX entries.
    fn read_iovecs(&self, iov: u64, cnt: u64) -> SysResult<Vec<(u64, u64)>> {
        if cnt > crate::param::IOV_MAX {
            return Err(Errno::EINVAL);
        }
        let raw = self.read(iov, cnt as usize * 16)?;
        Ok(raw
            .chunks_exact(16)
            .map(|c| (le64(&c[..8]), le64(&c[8..])))
            .collect())
    }
}

/// A little-endian u64 from the first 8 bytes of `b` (zero-padded if shorter).
pub fn le64(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = b.len().min(8);
    w[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(w)
}

/// A little-endian u32 from the first 4 bytes of `b` (zero-padded if shorter).
pub fn le32(b: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    let n = b.len().min(4);
    w[..n].copy_from_slice(&b[..n]);
    u32::from_le_bytes(w)
}

/// A plain in-memory address space for unit tests: mapped pages hold bytes, anything else
/// faults. It knows nothing of any arch or of the kernel.
#[derive(Default, Debug)]
pub struct FakeMem {
    pages: std::collections::BTreeMap<u64, (u32, Box<[u8]>)>,
}

impl FakeMem {
    const PAGE: u64 = crate::param::PAGE_SIZE;

    /// A fake with `[addr, addr+size)` mapped read-write.
    pub fn with(addr: u64, size: u64) -> FakeMem {
        let mut m = FakeMem::default();
        let _ = m.map(addr, size, 3);
        m
    }

    fn pages_of(addr: u64, len: u64) -> SysResult<impl Iterator<Item = u64>> {
        let end = addr.checked_add(len).ok_or(Errno::EFAULT)?;
        let first = addr & !(Self::PAGE - 1);
        Ok((first..end).step_by(Self::PAGE as usize))
    }
}

impl GuestMem for FakeMem {
    fn read_into(&self, addr: u64, buf: &mut [u8]) -> SysResult<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr.checked_add(done as u64).ok_or(Errno::EFAULT)?;
            let (page, off) = (a & !(Self::PAGE - 1), (a & (Self::PAGE - 1)) as usize);
            let (_, bytes) = self.pages.get(&page).ok_or(Errno::EFAULT)?;
            let n = (Self::PAGE as usize - off).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&bytes[off..off + n]);
            done += n;
        }
        Ok(())
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> SysResult<()> {
        // All or nothing, as a unicorn write that would fault stores nothing.
        for p in Self::pages_of(addr, data.len() as u64)? {
            if !self.pages.contains_key(&p) {
                return Err(Errno::EFAULT);
            }
        }
        let mut done = 0usize;
        while done < data.len() {
            let a = addr + done as u64;
            let (page, off) = (a & !(Self::PAGE - 1), (a & (Self::PAGE - 1)) as usize);
            let (_, bytes) = self.pages.get_mut(&page).ok_or(Errno::EFAULT)?;
            let n = (Self::PAGE as usize - off).min(data.len() - done);
            bytes[off..off + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    fn map(&mut self, addr: u64, size: u64, prot: u32) -> SysResult<()> {
        for p in Self::pages_of(addr, size)? {
            if self.pages.contains_key(&p) {
                return Err(Errno::ENOMEM);
            }
        }
        for p in Self::pages_of(addr, size)? {
            self.pages
                .insert(p, (prot, vec![0u8; Self::PAGE as usize].into()));
        }
        Ok(())
    }

    fn unmap(&mut self, addr: u64, size: u64) -> SysResult<()> {
        for p in Self::pages_of(addr, size)? {
            self.pages.remove(&p);
        }
        Ok(())
    }

    fn protect(&mut self, addr: u64, size: u64, prot: u32) -> SysResult<()> {
        for p in Self::pages_of(addr, size)? {
            self.pages.get_mut(&p).ok_or(Errno::ENOMEM)?.0 = prot;
        }
        Ok(())
    }
}

#[cfg(test)]
mod zero_tests {
    #[test]
    fn is_zero_sees_a_byte_anywhere() {
        let mut v = vec![0u8; 4099];
        assert!(super::is_zero(&v));
        for i in [0, 7, 8, 4095, 4096, 4098] {
            v[i] = 1;
            assert!(!super::is_zero(&v), "{i}");
            v[i] = 0;
        }
        assert!(super::is_zero(&[]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_read_across_pages_returns_the_bytes_written() {
        let mut m = FakeMem::with(0x1000, 0x2000);
        m.write(0x1ffe, b"abcd").expect("fake memory");
        assert_eq!(m.read(0x1ffe, 4).expect("fake memory"), b"abcd");
    }

    #[test]
    fn fake_write_past_mapping_is_efault_and_stores_nothing() {
        let mut m = FakeMem::with(0x1000, 0x1000);
        assert_eq!(m.write(0x1ffe, b"abcd"), Err(Errno::EFAULT));
        assert_eq!(m.read(0x1ffe, 2).expect("fake memory"), [0, 0]);
    }

    #[test]
    fn cstr_ending_before_unmapped_page_is_read() {
        let mut m = FakeMem::with(0x1000, 0x1000);
        m.write(0x1ffc, b"abc\0").expect("fake memory");
        assert_eq!(m.read_cstr(0x1ffc, 4096).expect("fake memory"), b"abc");
    }

    #[test]
    fn cstr_without_nul_before_max_is_enametoolong() {
        let mut m = FakeMem::with(0x1000, 0x1000);
        m.write(0x1000, &[b'x'; 16]).expect("fake memory");
        assert_eq!(m.read_cstr(0x1000, 8), Err(Errno::ENAMETOOLONG));
    }

    #[test]
    fn cstr_at_unmapped_address_is_efault() {
        let m = FakeMem::default();
        assert_eq!(m.read_cstr(0x5000, 8), Err(Errno::EFAULT));
    }

    #[test]
    fn iovecs_over_iov_max_are_einval() {
        let m = FakeMem::with(0x1000, 0x1000);
        assert_eq!(m.read_iovecs(0x1000, 1025), Err(Errno::EINVAL));
    }
}
