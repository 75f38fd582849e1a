//! The one adapter between the machine and proc-model: implements `proc_model::machine::Machine`
//! for a running `Machine`. 9P connection threads never touch an engine: each call becomes a
//! closure sent to the machine thread, which runs it between quanta (docs/DESIGN.md "Threads"), and
//! the caller waits for the answer. Calls that must wait for a state (ctl `waitstop`, a `wait`
//! read) are parked on the machine side and answered when the state is reached, the process
//! exits, or the request is cancelled by a Tflush.

use crate::fdtable::{Console, FileKind, O_ACCMODE, O_RDONLY, O_WRONLY};
use crate::guestmem::GuestMem;
use crate::machine::{ExitStatus, Group, Machine, PState, ProcMut, ProcRef, Request};
use crate::param;
use crate::record::{hex, Rec};
use crate::vfs;
use proc_model::machine::{
    CtlMsg, FdEntry, FdTable, FpImage, GuestAddr, Pid, ProcError, ProcInfo, ProcState, Regs,
    SegKind, Segment, TextImage, WaitRecord,
};
use proc_model::ninep::fs::{Cancel, Qid, QTDIR, QTFILE};
use std::sync::mpsc::{channel, Sender};

/// What `status` showed of each process while the machine is idle (every process stopped
/// or blocked, the machine thread waiting for requests): nothing changes then but through a
/// request that changes something, so a second read of the same `status` is answered from
/// here on the connection's thread, without waking the machine thread (half the thread
/// switches of a round trip). The machine thread opens it when it starts waiting and clears
/// it before anything changes: a change served, a task run, the clock moved.
#[derive(Default)]
pub struct IdleInfos {
    open: std::sync::atomic::AtomicBool,
    infos: std::sync::Mutex<std::collections::BTreeMap<Pid, ProcInfo>>,
}

impl IdleInfos {
    fn infos(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<Pid, ProcInfo>> {
        self.infos.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The machine is idle from here until [`IdleInfos::clear`].
    pub fn open(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Something may change: forget everything.
    pub fn clear(&self) {
        if self.open.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.infos().clear();
        }
    }

    fn get(&self, pid: Pid) -> Option<ProcInfo> {
        if !self.open.load(std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        let infos = self.infos();
        // Checked again under the lock: clear() empties the map under it after closing.
        if !self.open.load(std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        infos.get(&pid).cloned()
    }

    /// Remember `info` (on the machine thread, while idle).
    fn put(&self, info: &ProcInfo) {
        if self.open.load(std::sync::atomic::Ordering::SeqCst) {
            self.infos().insert(info.pid, info.clone());
        }
    }
}

/// A handle on a machine's process table, usable from any thread.
pub struct ProcHandle {
    tx: Sender<Request>,
    eve: String,
    interrupter: crate::cpu::Interrupter,
    idle: std::sync::Arc<IdleInfos>,
}

/// Attach a handle to `m`: from now on the machine serves its requests between quanta.
pub fn attach(m: &mut Machine) -> ProcHandle {
    let (tx, rx) = channel();
    m.requests = Some(rx);
    m.console_async(tx.clone());
    ProcHandle {
        tx,
        eve: m.eve.clone(),
        interrupter: m.interrupter.clone(),
        idle: m.idle_infos.clone(),
    }
}

type Reply<T> = Sender<Result<T, ProcError>>;

impl ProcHandle {
    /// Run `f` on the machine thread and wait for its answer.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Machine) -> Result<T, ProcError> + Send + 'static,
    ) -> Result<T, ProcError> {
        let (rtx, rrx) = channel();
        self.tx
            .send(Request::Change(Box::new(move |m: &mut Machine| {
                let _ = rtx.send(f(m));
            })))
            .map_err(|_| ProcError::Exited)?;
        rrx.recv().map_err(|_| ProcError::Exited)?
    }

    /// Run `f`, which only looks, on the machine thread and wait for its answer: it may be
    /// answered in the middle of a quantum (the engine is stopped early at a block boundary
    /// and resumes there), as /proc's fair share allows.
    fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Machine) -> Result<T, ProcError> + Send + 'static,
    ) -> Result<T, ProcError> {
        let (rtx, rrx) = channel();
        self.tx
            .send(Request::Query(Box::new(move |m: &Machine| {
                let _ = rtx.send(f(m));
            })))
            .map_err(|_| ProcError::Exited)?;
        self.interrupter.interrupt();
        rrx.recv().map_err(|_| ProcError::Exited)?
    }

    /// Look at the process `pid` (live, or Broken and kept).
    fn view<T: Send + 'static>(
        &self,
        pid: Pid,
        f: impl FnOnce(ProcRef<'_>) -> Result<T, ProcError> + Send + 'static,
    ) -> Result<T, ProcError> {
        self.query(move |m| m.p9_proc(pid).ok_or(ProcError::Exited).and_then(f))
    }

    /// Like `call`, but `f` may keep the reply and answer later (parking); a cancel answers
    /// `interrupted` at once.
    fn call_parked<T: Send + 'static>(
        &self,
        cancel: &Cancel,
        f: impl FnOnce(&mut Machine, Reply<T>) + Send + 'static,
    ) -> Result<T, ProcError> {
        let (rtx, rrx) = channel();
        let ctx = rtx.clone();
        cancel.on_cancel(move || {
            let _ = ctx.send(Err(ProcError::Interrupted));
        });
        self.tx
            .send(Request::Change(Box::new(move |m: &mut Machine| f(m, rtx))))
            .map_err(|_| ProcError::Exited)?;
        rrx.recv().map_err(|_| ProcError::Exited)?
    }

    /// Run `f` on the live process `pid`.
    fn with<T: Send + 'static>(
        &self,
        pid: Pid,
        f: impl FnOnce(ProcMut<'_>) -> Result<T, ProcError> + Send + 'static,
    ) -> Result<T, ProcError> {
        self.call(move |m| m.p9_proc_mut(pid).ok_or(ProcError::Exited).and_then(f))
    }
}

fn ms(ns: u64) -> u64 {
    ns / 1_000_000
}

fn info(m: &Machine, p: ProcRef) -> ProcInfo {
    let (t, g) = (p.t, p.g);
    let state = match &t.state {
        _ if t.p9.broken.is_some() => ProcState::Broken,
        PState::Stopped => ProcState::Stopped,
        PState::Zombie(_) => ProcState::Moribund,
        PState::Blocked(w) => ProcState::Blocked(w.plan9_name().to_string()),
        PState::JobStopped(_) => ProcState::Blocked("Stopped".to_string()),
        // An admitted real-time process between its budget and its next release.
        _ if m.edf_waiting(t.tid) => ProcState::Blocked("Waitrelease".to_string()),
        _ if m.last_run == Some(t.tid) => ProcState::Running,
        _ => ProcState::Ready,
    };
    let mem: u64 = p.s.vm.segs().map(|s| s.end - s.start).sum();
    ProcInfo {
        pid: t.tid,
        slot: t.tid.0,
        ppid: g.ppid,
        noteid: t.p9.noteid,
        // 9P's text files show guest bytes that are not UTF-8 as U+FFFD.
        name: vfs::guest_display(&g.name),
        user: t.p9.user.clone(),
        state,
        arch: p.s.cpu.arch,
        args: if t.p9.execd {
            g.args.iter().map(|a| vfs::guest_display(a)).collect()
        } else {
            Vec::new()
        },
        times_ms: [
            ms(t.blocks * param::NS_PER_BLOCK),
            ms(t.syscalls * param::NS_PER_SYSCALL),
            ms(m.k.clock.ns.saturating_sub(t.start_ns)),
            0,
            0,
            0,
        ],
        mem_kb: mem / 1024,
        base_pri: t.p9.base_pri,
        pri: m.edf_shown_pri(t.tid, t.p9.pri),
        procmode: t.p9.procmode,
        private: t.p9.private,
        has_regs: true,
        has_fpregs: true,
    }
}

/// A recorded watchpoint list (its `watchpt` text) set again in a replay.
pub(crate) fn apply_set_watchpts(m: &mut Machine, pid: Pid, text: &str) {
    use proc_model::procfs::watchpt;
    let Some(p) = m.p9_proc_mut(pid) else { return };
    // A recording is outside input too: a list the machine would refuse is ignored.
    if let Ok(list) = watchpt::parse(text.as_bytes(), u64::MAX) {
        if watchpt::check_setup(&list).is_ok() {
            p.t.p9.watchpts = list;
        }
    }
}

fn fd_table(g: &Group) -> FdTable {
    let fds = g
        .fds
        .iter()
        .map(|(fd, e)| {
            let f = e.file.borrow();
            let mode = match f.flags & O_ACCMODE {
                O_RDONLY => 0,
                O_WRONLY => 1,
                _ => 2,
            };
            // Plan 9 device letters: `|` pipes (devpipe; both ends share one qid path, the
            // pipe's number, so a reader sees who holds which end), `c` the console and
            // /dev files (devcons), `M` files of the guest root (the mount driver).
            let (dev_char, ty, qpath) = match &f.kind {
                FileKind::Console(_) | FileKind::Dev(_) => ('c', QTFILE, vfs::path_ino(&f.path)),
                FileKind::Dir(_) => ('M', QTDIR, vfs::path_ino(&f.path)),
                FileKind::PipeRead(pp) | FileKind::PipeWrite(pp) => ('|', QTFILE, pp.borrow().id),
                _ => ('M', QTFILE, vfs::path_ino(&f.path)),
            };
            let path = match &f.kind {
                FileKind::Console(Console::Stdin | Console::Stdout | Console::Stderr) => {
                    "/dev/cons".to_string()
                }
                _ => vfs::guest_display(&f.path),
            };
            FdEntry {
                fd: fd as u32,
                mode,
                dev_char,
                dev_no: 0,
                qid: Qid {
                    ty,
                    vers: 0,
                    path: qpath,
                },
                iounit: 0,
                offset: f.offset,
                path,
            }
        })
        .collect();
    FdTable {
        cwd: vfs::guest_display(&g.cwd),
        fds,
    }
}

/// Park `reply` until process `pid` is Stopped or Broken (Ok) or gone (Exited). Only one
/// debugger may wait on a process at a time.
fn park_until_stopped(m: &mut Machine, pid: Pid, reply: Reply<()>, cancel: Cancel) {
    let stopped = move |m: &Machine| match m.p9_proc(pid) {
        None => Some(Err(ProcError::Exited)),
        Some(p) if p.t.p9.broken.is_some() || matches!(p.t.state, PState::Stopped) => Some(Ok(())),
        Some(p) if p.t.state.is_zombie() => Some(Err(ProcError::Exited)),
        Some(_) => None,
    };
    if let Some(r) = stopped(m) {
        let _ = reply.send(r);
        return;
    }
    match m.p9_proc_mut(pid) {
        Some(p) if p.t.p9.waiter => {
            let _ = reply.send(Err(ProcError::InUse));
            return;
        }
        Some(p) => p.t.p9.waiter = true,
        None => {
            let _ = reply.send(Err(ProcError::Exited));
            return;
        }
    }
    m.parked.push(Box::new(move |m: &mut Machine| {
        let r = if cancel.is_cancelled() {
            Some(Err(ProcError::Interrupted))
        } else {
            stopped(m)
        };
        match r {
            Some(r) => {
                if let Some(p) = m.p9_proc_mut(pid) {
                    p.t.p9.waiter = false;
                }
                let _ = reply.send(r);
                true
            }
            None => false,
        }
    }));
}

/// Carry out a ctl message as proc-model's one table (`ctlstate::ctl_effect`) says.
fn ctl(m: &mut Machine, pid: Pid, msg: CtlMsg, reply: Reply<()>, cancel: Cancel) {
    use crate::debug::Trace;
    use proc_model::ctlstate::{ctl_effect, CtlEffect, CtlState, CtlTarget, Resume};
    let Some(p) = m.p9_proc_mut(pid) else {
        let _ = reply.send(Err(ProcError::Exited));
        return;
    };
    let now = |r: Result<(), ProcError>| {
        let _ = reply.send(r);
    };
    let state = if p.t.p9.broken.is_some() {
        CtlState::Broken
    } else if matches!(p.t.state, PState::Stopped) {
        CtlState::Stopped
    } else {
        CtlState::Live
    };
    let target = CtlTarget {
        state,
        notes_pending: !p.t.p9.notes.is_empty(),
    };
    let effect = match ctl_effect(target, &msg) {
        Ok(e) => e,
        Err(e) => return now(Err(e)),
    };
    match effect {
        CtlEffect::Nothing => {
            // devproc.c CMtrace: toggle, or set, the process's /proc/trace events.
            if let CtlMsg::Trace(on) = msg {
                p.t.p9.sched_trace = on.unwrap_or(!p.t.p9.sched_trace);
            }
            now(Ok(()))
        }
        CtlEffect::Stop => {
            // procstopwait refuses a second debugger before it records the stop request.
            if p.t.p9.waiter {
                return now(Err(ProcError::InUse));
            }
            // Requests run between quanta, so a runnable process is at a safe point and stops
            // now; one inside a system call stops when the call completes (as on Plan 9).
            match p.t.state {
                PState::Ready | PState::Running => p.t.state = PState::Stopped,
                _ => p.t.stop_req = true,
            }
            park_until_stopped(m, pid, reply, cancel)
        }
        CtlEffect::WaitStop => park_until_stopped(m, pid, reply, cancel),
        CtlEffect::Resume(mode) => {
            match mode {
                // One instruction, then Stopped; the tracing mode stays as it was.
                Resume::Step => p.t.p9.step = true,
                Resume::StartStop => p.t.p9.trace = Trace::StartStop,
                Resume::StartSyscall => p.t.p9.trace = Trace::StartSyscall,
                Resume::Run => p.t.p9.trace = Trace::None,
            }
            p.t.state = PState::Ready;
            if mode.waits() {
                park_until_stopped(m, pid, reply, cancel)
            } else {
                now(Ok(()))
            }
        }
        CtlEffect::Release => {
            m.broken.retain(|d| d.task.tid != pid);
            if let Some(t) = m.tasks.get_mut(&pid) {
                t.p9.broken = None;
            }
            now(Ok(()))
        }
        CtlEffect::Kill => {
            if let Some(t) = m.tasks.get_mut(&pid) {
                t.p9.trace = Trace::None;
                m.kill(pid, ExitStatus::Signal(crate::signal::SIGKILL));
            }
            now(Ok(()))
        }
        CtlEffect::Close(fd) => {
            // An fd above the highest does nothing (§2.2 close).
            if let Ok(fd) = i32::try_from(fd) {
                let _ = p.g.fds.close(fd);
            }
            now(Ok(()))
        }
        CtlEffect::CloseFiles => {
            p.g.fds = Default::default();
            now(Ok(()))
        }
        CtlEffect::Private => {
            p.t.p9.private = true;
            now(Ok(()))
        }
        CtlEffect::Hang(on) => {
            p.t.p9.hang = on;
            now(Ok(()))
        }
        CtlEffect::Pri { pri, fixed } => {
            p.t.p9.base_pri = pri;
            p.t.p9.pri = pri;
            p.t.p9.fixed_pri = fixed;
            now(Ok(()))
        }
        CtlEffect::Interrupt => {
            m.ctl_interrupt(pid);
            now(Ok(()))
        }
        CtlEffect::RealTime(rt) => now(m.edf_ctl(pid, rt)),
        CtlEffect::Profile => {
            // The text segment (TSEG): the first executable Text in slot order (a static
            // ELF's first Text is often its read-only header page), counters from zero.
            let text =
                p.s.vm
                    .plan9_order()
                    .into_iter()
                    .find(|s| s.kind == SegKind::Text && s.prot & 4 != 0);
            match text {
                None => now(Err(ProcError::Other(proc_model::ctlstate::EGREG.into()))),
                Some(s) => {
                    let n = ((s.end - s.start) >> 3) as usize;
                    p.t.p9.profile = Some((s.start, vec![0; n]));
                    now(Ok(()))
                }
            }
        }
        CtlEffect::ClearInterrupt => {
            p.t.p9.interrupt_pending = false;
            now(Ok(()))
        }
    }
}

// The changes a /proc client can make to the machine, as functions of the machine alone:
// a served run applies them for its clients, a replay applies them from the recording
// (record.rs), so both take the same path.

/// A write to process `pid`'s `mem`.
pub fn apply_write_mem(m: &mut Machine, pid: Pid, addr: u64, data: &[u8]) -> Result<(), ProcError> {
    let p = m.p9_proc_mut(pid).ok_or(ProcError::Exited)?;
    p.s.cpu.write(addr, data).map_err(|_| ProcError::BadArg)?;
    // A write into Text makes that segment a private Data copy (9front txt2data).
    p.s.vm.txt2data(addr);
    // Code written from outside must be seen by already-translated blocks.
    if p.s.vm.prot_at(addr).is_some_and(|prot| prot & 4 != 0) {
        p.s.cpu.invalidate_code(addr, addr + data.len() as u64);
    }
    Ok(())
}

/// A write of a whole Ureg image to process `pid`'s `regs`.
pub fn apply_set_ureg(m: &mut Machine, pid: Pid, ureg: &[u8]) -> Result<(), ProcError> {
    let p = m.p9_proc_mut(pid).ok_or(ProcError::Exited)?;
    if !p.s.cpu.set_ureg(ureg) {
        return Err(ProcError::BadArg);
    }
    Ok(())
}

/// A write of an FPsave image to process `pid`'s `fpregs`.
pub fn apply_set_fpregs(m: &mut Machine, pid: Pid, image: FpImage) -> Result<(), ProcError> {
    let p = m.p9_proc_mut(pid).ok_or(ProcError::Exited)?;
    p.s.cpu.fp_restore(&image);
    Ok(())
}

/// A ctl message from a recording: carried out as a client's would be, with nobody waiting
/// for the answer (a wait it starts is withdrawn at once, as by a Tflush).
pub fn apply_ctl(m: &mut Machine, pid: Pid, msg: CtlMsg) {
    let (reply, _) = channel();
    let cancel = Cancel::default();
    cancel.cancel();
    ctl(m, pid, msg, reply, cancel);
}

/// A note written to process `pid`'s `note`.
pub fn apply_post_note(m: &mut Machine, pid: Pid, note: String) -> Result<(), ProcError> {
    // A Broken process (kept for inspection) takes no note (postnote).
    let Some(p) = m.p9_proc_mut(pid) else {
        return Err(ProcError::Exited);
    };
    if p.t.p9.broken.is_some() || p.t.state.is_zombie() || p.t.p9.notes.len() >= crate::debug::NNOTE
    {
        return Err(ProcError::NoteNotPosted);
    }
    // The note stays queued as written (a `sys: …` text too) until the process returns to
    // user mode; posting interrupts a blocked system call.
    p.t.p9.notes.push_back(note);
    m.note_interrupts(pid);
    Ok(())
}

/// A note written to `notepg` (postnotepg): every live member of note group `noteid` but
/// `except`, each woken from a blocked call.
pub fn apply_post_notepg(m: &mut Machine, noteid: u32, note: &str, except: Option<Pid>) {
    let mut posted = Vec::new();
    for t in m.tasks.values_mut().filter(|t| !t.state.is_zombie()) {
        if t.p9.noteid == noteid
            && Some(t.tid) != except
            && t.p9.broken.is_none()
            && t.p9.notes.len() < crate::debug::NNOTE
        {
            t.p9.notes.push_back(note.to_string());
            posted.push(t.tid);
        }
    }
    for tid in posted {
        m.note_interrupts(tid);
    }
}

impl proc_model::machine::Machine for ProcHandle {
    fn eve(&self) -> String {
        self.eve.clone()
    }

    fn processes(&self) -> Vec<ProcInfo> {
        self.query(|m| {
            let live = m
                .tasks
                .values()
                .filter(|t| !t.state.is_zombie() || t.p9.broken.is_some());
            let kept = m.broken.iter().map(|d| d.task.tid);
            Ok(live
                .map(|t| t.tid)
                .chain(kept)
                .filter_map(|pid| m.p9_proc(pid).map(|p| info(m, p)))
                .collect())
        })
        .unwrap_or_default()
    }

    fn info(&self, pid: Pid) -> Result<ProcInfo, ProcError> {
        if let Some(i) = self.idle.get(pid) {
            return Ok(i);
        }
        self.query(move |m| {
            let i = m
                .p9_proc(pid)
                .map(|p| info(m, p))
                .ok_or(ProcError::Exited)?;
            m.idle_infos.put(&i);
            Ok(i)
        })
    }

    fn segments(&self, pid: Pid) -> Result<Vec<Segment>, ProcError> {
        self.view(pid, |p| {
            Ok(p.s
                .vm
                .plan9_order()
                .into_iter()
                .map(|s| Segment {
                    kind: s.kind,
                    base: GuestAddr(s.start),
                    top: GuestAddr(s.end),
                    readonly: s.prot & 2 == 0 && !s.debug_copy,
                    refs: 1,
                    profiled: p.t.p9.profile.as_ref().is_some_and(|(b, _)| *b == s.start),
                })
                .collect())
        })
    }

    fn read_mem(&self, pid: Pid, addr: GuestAddr, len: usize) -> Result<Vec<u8>, ProcError> {
        self.view(pid, move |p| {
            p.s.cpu.read(addr.0, len).map_err(|_| ProcError::BadArg)
        })
    }

    fn read_mem_in_segment(
        &self,
        pid: Pid,
        addr: GuestAddr,
        max: usize,
    ) -> Result<Vec<u8>, ProcError> {
        // One trip to the machine thread for the bound and the bytes.
        self.view(pid, move |p| {
            let seg = p.s.vm.find(addr.0).ok_or(ProcError::BadArg)?;
            let n = (seg.end - addr.0).min(max as u64) as usize;
            p.s.cpu.read(addr.0, n).map_err(|_| ProcError::BadArg)
        })
    }

    fn write_mem(&self, pid: Pid, addr: GuestAddr, data: &[u8]) -> Result<(), ProcError> {
        let data = data.to_vec();
        self.call(move |m| {
            m.p9_proc(pid).ok_or(ProcError::Exited)?;
            m.tape_log(|at| Rec::Mem {
                at,
                pid: pid.0,
                addr: addr.0,
                data: hex(&data),
            });
            apply_write_mem(m, pid, addr.0, &data)
        })
    }

    fn regs(&self, pid: Pid) -> Result<Regs, ProcError> {
        // Not a query: the engine holds one thread's registers at a time, and reading
        // another thread's loads them (Machine::parts), which only happens between quanta.
        self.with(pid, |p| {
            Ok(Regs::from_ureg(p.s.cpu.arch, &p.s.cpu.ureg(p.t.last_trap)))
        })
    }

    fn set_regs(&self, pid: Pid, regs: Regs) -> Result<(), ProcError> {
        self.call(move |m| {
            let arch = m.p9_proc(pid).ok_or(ProcError::Exited)?.s.cpu.arch;
            if regs.arch() != arch {
                return Err(ProcError::BadArg);
            }
            let ureg = regs.to_ureg();
            m.tape_log(|at| Rec::Regs {
                at,
                pid: pid.0,
                ureg: hex(&ureg),
            });
            apply_set_ureg(m, pid, &ureg)
        })
    }

    fn fpregs(&self, pid: Pid) -> Result<FpImage, ProcError> {
        // As for regs: the thread's registers are loaded first.
        self.with(pid, |p| Ok(p.s.cpu.fp_save()))
    }

    fn set_fpregs(&self, pid: Pid, image: FpImage) -> Result<(), ProcError> {
        self.call(move |m| {
            m.p9_proc(pid).ok_or(ProcError::Exited)?;
            m.tape_log(|at| Rec::Fpregs {
                at,
                pid: pid.0,
                image: hex(&image),
            });
            apply_set_fpregs(m, pid, image)
        })
    }

    fn fds(&self, pid: Pid) -> Result<FdTable, ProcError> {
        self.view(pid, |p| Ok(fd_table(p.g)))
    }

    fn text(&self, pid: Pid) -> Result<TextImage, ProcError> {
        self.view(pid, |p| {
            Ok(TextImage {
                qid: Qid {
                    ty: QTFILE,
                    vers: 0,
                    path: vfs::path_ino(&p.g.exe),
                },
                bytes: p.g.image.clone(),
                name: vfs::guest_display(&p.g.exe),
            })
        })
    }

    fn set_args_text(&self, pid: Pid, text: String) -> Result<(), ProcError> {
        self.with(pid, move |p| {
            p.t.p9.args_text = Some(text);
            Ok(())
        })
    }

    fn args_text(&self, pid: Pid) -> Result<Option<String>, ProcError> {
        self.view(pid, |p| Ok(p.t.p9.args_text.clone()))
    }

    fn post_note(&self, pid: Pid, note: &str) -> Result<(), ProcError> {
        let note = note.to_string();
        self.call(move |m| {
            if m.live(pid) {
                m.tape_log(|at| Rec::Note {
                    at,
                    pid: pid.0,
                    note: note.clone(),
                });
            }
            apply_post_note(m, pid, note)
        })
    }

    fn post_notepg(&self, noteid: u32, note: &str, except: Option<Pid>) -> Result<(), ProcError> {
        let note = note.to_string();
        self.call(move |m| {
            m.tape_log(|at| Rec::Notepg {
                at,
                noteid,
                note: note.clone(),
                except: except.map(|p| p.0),
            });
            apply_post_notepg(m, noteid, &note, except);
            Ok(())
        })
    }

    fn take_note(&self, pid: Pid) -> Result<Option<String>, ProcError> {
        self.with(pid, |p| Ok(p.t.p9.notes.pop_front()))
    }

    fn set_noteid(&self, pid: Pid, noteid: u32) -> Result<(), ProcError> {
        self.with(pid, move |p| {
            p.t.p9.noteid = noteid;
            Ok(())
        })
    }

    fn wait_record(&self, pid: Pid, cancel: &Cancel) -> Result<WaitRecord, ProcError> {
        // Blocks until a child of `pid` ends (its record is queued), or `pid` itself ends.
        let c = cancel.clone();
        self.call_parked(cancel, move |m, reply: Reply<WaitRecord>| {
            // The target's own wait4 holds the wait lock (9front qwaitr): a reader through
            // /proc conflicts with it rather than stealing its child.
            if let Some(p) = m.p9_proc(pid) {
                if matches!(p.t.state, PState::Blocked(crate::machine::Wait::Child)) {
                    let _ = reply.send(Err(ProcError::InUse));
                    return;
                }
            }
            let check = move |m: &mut Machine| -> bool {
                if c.is_cancelled() {
                    return true;
                }
                let r = match m.p9_proc_mut(pid) {
                    None => Some(Err(ProcError::Exited)),
                    Some(p) => match p.t.p9.waitq.pop_front() {
                        Some(rec) => Some(Ok(rec)),
                        None if p.t.state.is_zombie() => Some(Err(ProcError::Exited)),
                        None => None,
                    },
                };
                match r {
                    Some(r) => {
                        let _ = reply.send(r);
                        true
                    }
                    None => false,
                }
            };
            if !check(m) {
                m.parked.push(Box::new(check));
            }
        })
    }

    fn wait_count(&self, pid: Pid) -> Result<u64, ProcError> {
        self.view(pid, |p| Ok(p.t.p9.waitq.len() as u64))
    }

    fn ctl(&self, pid: Pid, msg: &CtlMsg, cancel: &Cancel) -> Result<(), ProcError> {
        let msg = msg.clone();
        let c = cancel.clone();
        self.call_parked(cancel, move |m, reply| {
            if m.p9_proc(pid).is_some() {
                m.tape_log(|at| Rec::Ctl {
                    at,
                    pid: pid.0,
                    msg: crate::record::ctl_text(&msg),
                });
            }
            ctl(m, pid, msg, reply, c)
        })
    }

    fn set_procmode(&self, pid: Pid, mode: u32) -> Result<(), ProcError> {
        self.with(pid, move |p| {
            p.t.p9.procmode = mode & 0o777;
            Ok(())
        })
    }

    fn set_user(&self, pid: Pid, user: &str) -> Result<(), ProcError> {
        let user = user.to_string();
        self.with(pid, move |p| {
            p.t.p9.user = user;
            Ok(())
        })
    }

    fn profile_counts(&self, pid: Pid) -> Result<Option<Vec<u32>>, ProcError> {
        self.view(pid, |p| Ok(p.t.p9.profile.as_ref().map(|(_, c)| c.clone())))
    }

    fn syscall_text(&self, pid: Pid) -> Result<String, ProcError> {
        self.view(pid, |p| Ok(p.t.p9.syscall_text.clone()))
    }

    fn watchpoints(
        &self,
        pid: Pid,
    ) -> Result<Vec<proc_model::procfs::watchpt::Watchpt>, ProcError> {
        self.with(pid, |p| Ok(p.t.p9.watchpts.clone()))
    }

    fn set_watchpoints(
        &self,
        pid: Pid,
        list: Vec<proc_model::procfs::watchpt::Watchpt>,
    ) -> Result<(), ProcError> {
        use proc_model::procfs::watchpt;
        watchpt::check_setup(&list).map_err(|e| ProcError::Other(e.to_string()))?;
        self.call(move |m| {
            m.p9_proc(pid).ok_or(ProcError::Exited)?;
            m.tape_log(|at| Rec::Watchpt {
                at,
                pid: pid.0,
                list: list.iter().map(watchpt::line).collect(),
            });
            if let Some(p) = m.p9_proc_mut(pid) {
                p.t.p9.watchpts = list;
            }
            Ok(())
        })
    }

    fn trace_open(&self, open: bool) {
        let _ = self.call(move |m| {
            m.trace_set_open(open);
            Ok(())
        });
    }

    fn trace_read(&self, max: usize) -> Vec<u8> {
        self.call(move |m| Ok(m.trace_take(max)))
            .unwrap_or_default()
    }

    fn time(&self) -> Option<String> {
        self.query(|m| Ok(m.tape_time())).ok().flatten()
    }

    fn seek(&self, when: &str, cancel: &Cancel) -> Result<(), ProcError> {
        let u = crate::record::Until::parse(when).map_err(ProcError::Other)?;
        self.call_parked(cancel, move |m, reply| m.tape_seek(u, reply))
    }
}
