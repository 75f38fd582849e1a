//! Watchpoints (proc(3) `watchpt`; 9front pc64 debug registers, docs/plan9-proc-9p.md §1.4
//! and §3.3) on unicorn hooks. Only an engine whose process has watchpoints carries hooks:
//! a memory hook per watched data range (read and/or write), a code hook per watched
//! instruction, and, while any data watchpoint exists, a code hook on every instruction
//! that stops the run at the instruction after a watched access. So data watchpoints are
//! traps, as x86 debug registers are: the access has happened and pc is past the
//! instruction that made it. Execute watchpoints are faults: pc is at the instruction, not
//! yet run, and (as x86's RF flag) resuming there runs it once without firing again.
//!
//! Memory hooks are compiled into translated code (unicorn chooses the slow load/store
//! path at translation time) and so are code hooks: every change of the hooks flushes the
//! engine's translations and TLB, or already-translated blocks would skip them.

use super::{Cpu, Engine, HookState};
use proc_model::procfs::watchpt::Watchpt;
use unicorn_engine::unicorn_const::{HookType, MemType};
use unicorn_engine::{UcHookId, Unicorn};

/// The widest single guest access (an AVX store is 32 bytes; 64 leaves room): a memory hook
/// starts this far below its range, since unicorn matches a hook on the access's first byte
/// and an access that starts below a range can still overlap it.
const WIDEST_ACCESS: u64 = 64;

/// The hooks installed for one watchpoint list.
#[derive(Default)]
pub(crate) struct WatchHooks {
    list: Vec<Watchpt>,
    ids: Vec<UcHookId>,
}

/// Watchpoint state the hooks share with the machine (part of [`HookState`]).
#[derive(Debug, Default)]
pub(crate) struct WatchState {
    /// The list being watched, indexed as written.
    pub list: Vec<Watchpt>,
    /// Bit i: watchpoint i fired in this run.
    pub hits: u32,
    /// An execute watchpoint fired (the run stopped before the instruction).
    pub exec: bool,
    /// Resume flag: the execute watchpoint at this pc does not fire on this run's first
    /// instruction (x86 RF).
    pub resume_pc: Option<u64>,
}

fn overlaps(w: &Watchpt, addr: u64, size: usize) -> bool {
    let end = addr.saturating_add(size.max(1) as u64);
    addr < w.addr.saturating_add(w.len) && w.addr < end
}

fn data_hook(
    i: usize,
) -> impl FnMut(&mut Unicorn<'_, HookState>, MemType, u64, usize, i64) -> bool {
    move |uc, ty, addr, size, _value| {
        let d = &mut uc.get_data_mut().watch;
        if let Some(w) = d.list.get(i) {
            let kind = match ty {
                MemType::READ => w.read,
                MemType::WRITE => w.write,
                _ => false,
            };
            if kind && overlaps(w, addr, size) {
                d.hits |= 1 << i;
            }
        }
        true
    }
}

/// After a watched access, stop before the next instruction runs.
fn stop_after_hit(uc: &mut Unicorn<'_, HookState>, _pc: u64, _size: u32) {
    if uc.get_data().watch.hits != 0 {
        let _ = uc.emu_stop();
    }
}

fn exec_hook(i: usize) -> impl FnMut(&mut Unicorn<'_, HookState>, u64, u32) {
    move |uc, pc, _size| {
        let d = &mut uc.get_data_mut().watch;
        if d.resume_pc.take() == Some(pc) {
            return;
        }
        if d.list.get(i).is_some_and(|w| w.exec && w.addr == pc) {
            d.hits |= 1 << i;
            d.exec = true;
            let _ = uc.emu_stop();
        }
    }
}

fn install(uc: &mut Engine, list: &[Watchpt]) -> Vec<UcHookId> {
    let mut ids = Vec::new();
    for (i, w) in list.iter().enumerate() {
        let last = w.addr.saturating_add(w.len.max(1) - 1);
        if w.exec {
            ids.extend(uc.add_code_hook(w.addr, last, exec_hook(i)).ok());
        }
        let lo = w.addr.saturating_sub(WIDEST_ACCESS);
        if w.read {
            ids.extend(
                uc.add_mem_hook(HookType::MEM_READ, lo, last, data_hook(i))
                    .ok(),
            );
        }
        if w.write {
            ids.extend(
                uc.add_mem_hook(HookType::MEM_WRITE, lo, last, data_hook(i))
                    .ok(),
            );
        }
    }
    if list.iter().any(|w| w.read || w.write) {
        ids.extend(uc.add_code_hook(1, 0, stop_after_hit).ok());
    }
    ids
}

impl Cpu {
    /// Watch `list` in the runs that follow (an empty list removes every hook). Nothing
    /// changes, and nothing is flushed, when the list is the one already watched.
    pub fn set_watchpoints(&mut self, list: &[Watchpt]) {
        if self.watch.list == list {
            return;
        }
        for id in std::mem::take(&mut self.watch.ids) {
            let _ = self.uc.remove_hook(id);
        }
        self.watch.ids = install(&mut self.uc, list);
        self.watch.list = list.to_vec();
        let d = &mut self.uc.get_data_mut().watch;
        d.list = list.to_vec();
        d.resume_pc = None;
        let _ = self.uc.ctl_flush_tb();
        let _ = self.uc.ctl_flush_tlb();
    }

    /// Clear the hits before a run; an execute watchpoint that stopped the last run at this
    /// run's start pc lets that instruction run once.
    pub(super) fn watch_begin(&mut self, pc: u64) {
        let rf = self.watch_rf.take() == Some(pc);
        let d = &mut self.uc.get_data_mut().watch;
        d.hits = 0;
        d.exec = false;
        d.resume_pc = rf.then_some(pc);
    }

    /// The watchpoints that fired in the run that just ended (bit mask) and whether an
    /// execute watchpoint stopped it.
    pub(super) fn watch_end(&mut self, pc: u64) -> Option<(u32, bool)> {
        let d = &mut self.uc.get_data_mut().watch;
        d.resume_pc = None;
        if d.hits == 0 {
            return None;
        }
        let r = (std::mem::take(&mut d.hits), std::mem::take(&mut d.exec));
        if r.1 {
            self.watch_rf = Some(pc);
        }
        Some(r)
    }
}
