//! The machine's memory budget (`glass run --max-memory`): one ceiling over everything a
//! guest can make glass hold — the mapped guest memory of every address space, a fixed
//! charge per engine, and the bytes of the in-memory overlay's files. Checks are made
//! before memory is taken, so a guest hears ENOMEM/ENOSPC the way a Linux kernel with
//! strict overcommit (vm.overcommit_memory=2, Documentation/mm/overcommit-accounting.rst)
//! answers, and never makes glass's own allocation fail.

use crate::errno::{Errno, SysResult};
use std::cell::Cell;

/// Shared by the kernel and the overlay (`Rc<Budget>`): the ceiling and what is charged.
#[derive(Debug)]
pub struct Budget {
    limit: Cell<u64>,
    /// Guest memory: mapped bytes of every address space plus the per-engine charge.
    guest: Cell<u64>,
    /// Bytes held by overlay files (whole pages).
    overlay: Cell<u64>,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::new(u64::MAX)
    }
}

impl Budget {
    pub fn new(limit: u64) -> Budget {
        Budget {
            limit: Cell::new(limit),
            guest: Cell::new(0),
            overlay: Cell::new(0),
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit.get()
    }

    pub fn set_limit(&self, limit: u64) {
        self.limit.set(limit);
    }

    /// Everything charged now.
    pub fn used(&self) -> u64 {
        self.guest.get().saturating_add(self.overlay.get())
    }

    pub fn guest(&self) -> u64 {
        self.guest.get()
    }

    pub fn overlay(&self) -> u64 {
        self.overlay.get()
    }

    /// Would `more` bytes still fit?
    pub fn fits(&self, more: u64) -> bool {
        self.used()
            .checked_add(more)
            .is_some_and(|u| u <= self.limit.get())
    }

    /// Guest memory may grow by `more` bytes, or ENOMEM (mmap(2), brk(2), fork(2)).
    pub fn check_guest(&self, more: u64) -> SysResult<()> {
        if self.fits(more) {
            Ok(())
        } else {
            Err(Errno::ENOMEM)
        }
    }

    /// An address space's charge moved from `old` to `new` bytes (after the fact: the
    /// caller checked the growth with [`Budget::check_guest`], or cannot refuse it, like
    /// stack growth; [`Budget::over`] then tells the machine to act).
    pub fn recharge_guest(&self, old: u64, new: u64) {
        self.guest
            .set(self.guest.get().saturating_sub(old).saturating_add(new));
    }

    /// Take `bytes` for overlay file contents, or ENOSPC (a full tmpfs answers so).
    pub fn take_overlay(&self, bytes: u64) -> SysResult<()> {
        if !self.fits(bytes) {
            return Err(Errno::ENOSPC);
        }
        self.overlay.set(self.overlay.get() + bytes);
        Ok(())
    }

    pub fn release_overlay(&self, bytes: u64) {
        self.overlay.set(self.overlay.get().saturating_sub(bytes));
    }

    /// Is more charged than the ceiling allows (after growth nobody could refuse)?
    pub fn over(&self) -> bool {
        self.used() > self.limit.get()
    }
}

/// Parse a size as `glass run --max-memory` takes it: a number with an optional binary
/// suffix K, M, G or T (KiB, MiB, GiB, TiB, as ulimit and qemu's `-m` count).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, shift) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 10),
        (i, 'm' | 'M') => (&s[..i], 20),
        (i, 'g' | 'G') => (&s[..i], 30),
        (i, 't' | 'T') => (&s[..i], 40),
        _ => (s, 0),
    };
    let n: u64 = num.parse().ok()?;
    n.checked_mul(1u64 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_overlay_past_limit_is_enospc() {
        let b = Budget::new(8192);
        assert_eq!(b.take_overlay(4096), Ok(()));
        assert_eq!(b.take_overlay(8192), Err(Errno::ENOSPC));
        b.release_overlay(4096);
        assert_eq!(b.take_overlay(8192), Ok(()));
        assert_eq!(b.used(), 8192);
    }

    #[test]
    fn budget_guest_growth_past_limit_is_enomem() {
        let b = Budget::new(1 << 20);
        b.recharge_guest(0, 1 << 19);
        assert_eq!(b.check_guest(1 << 19), Ok(()));
        assert_eq!(b.check_guest((1 << 19) + 1), Err(Errno::ENOMEM));
        b.recharge_guest(1 << 19, (1 << 20) + 1);
        assert!(b.over());
    }

    #[test]
    fn parse_size_binary_suffixes() {
        assert_eq!(parse_size("256M"), Some(256 << 20));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("1K"), Some(1024));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("99999999999T"), None);
    }
}
