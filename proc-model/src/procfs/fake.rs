//! A small deterministic machine for the /proc tree tests: a fixed process table with real
//! segment bytes, fd tables, notes and wait records, so the tests can drive `ProcFs` through
//! the 9P server core without an emulator. What a ctl message does is not decided here: the
//! fake asks [`crate::ctlstate::ctl_effect`], the same table the emulator's adapter obeys,
//! and only carries out the answer on its own process table.
//!
//! The table, in process-table (slot) order, which is not pid order:
//!
//! | slot | pid | text  | user   | arch    | state          | notes                           |
//! |------|-----|-------|--------|---------|----------------|---------------------------------|
//! | 1    | 1   | sh    | eve    | x86_64  | Blocked(Await) | `sh -c "echo 'hi there' \| wc"` |
//! | 2    | 2   | echo  | eve    | x86_64  | Stopped        | writes the pipe                 |
//! | 3    | 3   | wc    | glenda | x86_64  | Ready          | reads the pipe                  |
//! | 4    | 12  | hello | eve    | riscv64 | Stopped        |                                 |
//! | 5    | 10  | cat   | eve    | aarch64 | Ready          |                                 |
//! | 6    | 6   | crash | eve    | x86_64  | Broken         | died of a page fault            |
//! | 7    | 7   | sh    | eve    | x86_64  | Ready          | forked, never exec'd, no regs   |
//!
//! How it carries out an effect, simplified in the direction of "the machine answers at
//! once" (the states reached are the real machine's, the timing is not): `stop` of a process
//! that is not Stopped or Broken stops it immediately (9front waits for the next return to user
//! mode); `startstop`, `startsyscall` and `step` run the process to its next stop at once
//! (`startstop` as if it hit a breakpoint: it is Stopped with `sys: breakpoint` queued, §5.10).
//! `waitstop` and a `wait` read really block, until the state is reached (a test calls
//! [`Fake::set_state`] or [`Fake::exit`]), the process exits, or the request is cancelled.

use crate::ctlstate::{ctl_effect, CtlEffect, CtlState, CtlTarget, Resume, EGREG, PRI_NORMAL};
use crate::machine::{
    Amd64Gpr, Arch, CtlMsg, FdEntry, FdTable, FpImage, GuestAddr, Machine, Pid, ProcError,
    ProcInfo, ProcState, Regs, SegKind, Segment, TextImage, WaitRecord, NNOTE,
};
use crate::ninep::fs::{Cancel, Qid, ORDWR, OREAD, OWRITE, QTFILE};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// The host owner.
pub const EVE: &str = "eve";
/// Another user, owner of pid 3.
pub const GLENDA: &str = "glenda";

/// One segment and its bytes (top - base of them).
pub struct FakeSeg {
    pub seg: Segment,
    pub bytes: Vec<u8>,
}

/// One process of the fake.
pub struct FakeProc {
    pub info: ProcInfo,
    pub segs: Vec<FakeSeg>,
    pub regs: Option<Regs>,
    pub fpregs: Option<FpImage>,
    /// `None` once the fd group is released (Broken, §2.2).
    pub fds: Option<FdTable>,
    pub notes: VecDeque<String>,
    pub waits: VecDeque<WaitRecord>,
    pub args_text: Option<String>,
    pub text: Option<TextImage>,
    pub hang: bool,
    /// A debugger waits in `waitstop` (9front p->pdbg).
    pub stop_waiter: bool,
    /// Someone reads `wait` (9front p->qwaitr).
    pub wait_reader: bool,
    /// ctl `profile` counters.
    pub profile: Option<Vec<u32>>,
    /// The `watchpt` list (kept, never enforced: the fake runs no code).
    pub watchpts: Vec<crate::procfs::watchpt::Watchpt>,
}

struct Table {
    procs: Vec<FakeProc>,
    /// Requests blocked inside the fake right now.
    parked: usize,
    /// Every image `set_regs` received, in order.
    set_regs: Vec<(Pid, Regs)>,
}

impl Table {
    fn get(&self, pid: Pid) -> Result<&FakeProc, ProcError> {
        self.procs
            .iter()
            .find(|p| p.info.pid == pid)
            .ok_or(ProcError::Exited)
    }

    fn get_mut(&mut self, pid: Pid) -> Result<&mut FakeProc, ProcError> {
        self.procs
            .iter_mut()
            .find(|p| p.info.pid == pid)
            .ok_or(ProcError::Exited)
    }

    /// Remove `pid`; unless it was Broken (whose record went out when it broke), queue its
    /// wait record on its parent (proc(3) wait: `"<text> <pid>: <exitstring>"`, or empty).
    fn exit(&mut self, pid: Pid, exitstr: &str) {
        let Some(i) = self.procs.iter().position(|p| p.info.pid == pid) else {
            return;
        };
        let p = self.procs.remove(i);
        if p.info.state == ProcState::Broken {
            return;
        }
        let msg = if exitstr.is_empty() {
            String::new()
        } else {
            format!("{} {}: {}", p.info.name, pid.0, exitstr)
        };
        let t = p.info.times_ms;
        let rec = WaitRecord {
            pid,
            times_ms: [t[0] + t[3], t[1] + t[4], t[2]],
            msg,
        };
        // pexit pushes at the head of the parent's queue: newest first (§1.4 wait).
        if let Ok(parent) = self.get_mut(p.info.ppid) {
            parent.waits.push_front(rec);
        }
    }
}

struct Shared {
    table: Mutex<Table>,
    cv: Condvar,
}

/// The fake machine. Cheap to build; every test makes its own.
pub struct Fake {
    shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---- the fixed state ----

/// Segment addresses of one arch: (stack base, stack top, text base, anon base). Text, Data
/// and Bss follow each other from the text base (8 KiB, 4 KiB, 4 KiB); the stack and the
/// anonymous mapping are 8 KiB. Between Bss and the mapping is a gap.
fn layout(arch: Arch) -> (u64, u64, u64, u64) {
    match arch {
        Arch::X86_64 => (
            0x7fff_ffff_d000,
            0x7fff_ffff_f000,
            0x40_0000,
            0x7fff_f7ff_8000,
        ),
        Arch::Aarch64 => (
            0xffff_ffff_d000,
            0xffff_ffff_f000,
            0x40_0000,
            0xffff_b7ff_8000,
        ),
        Arch::Riscv64 => (0x3f_ffff_d000, 0x3f_ffff_f000, 0x1_0000, 0x3f_f7ff_8000),
    }
}

pub const TEXT_SIZE: u64 = 0x2000;
pub const DATA_SIZE: u64 = 0x1000;
pub const BSS_SIZE: u64 = 0x1000;
pub const STACK_SIZE: u64 = 0x2000;
pub const ANON_SIZE: u64 = 0x2000;

/// The segments of a process of `arch`, with recognisable bytes: Text opens with an ELF
/// header and counts up; Data opens with `data of <name>`; Bss is zero; the stack ends with
/// the argument strings; the mapping repeats `anon`.
fn segments_of(arch: Arch, name: &str, args: &[&str], text_refs: u32) -> Vec<FakeSeg> {
    let (stack_base, stack_top, text, anon) = layout(arch);
    let seg = |kind, base: u64, size: u64, readonly, refs| Segment {
        kind,
        base: GuestAddr(base),
        top: GuestAddr(base + size),
        readonly,
        refs,
        profiled: false,
    };
    let mut text_bytes: Vec<u8> = (0..TEXT_SIZE).map(|i| i as u8).collect();
    text_bytes[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
    let mut data = vec![0u8; DATA_SIZE as usize];
    let tag = format!("data of {name}");
    data[..tag.len()].copy_from_slice(tag.as_bytes());
    let mut stack = vec![0u8; STACK_SIZE as usize];
    let strings: Vec<u8> = args.iter().flat_map(|a| a.bytes().chain([0])).collect();
    let at = stack.len() - strings.len();
    stack[at..].copy_from_slice(&strings);
    let anon_bytes: Vec<u8> = b"anon"
        .iter()
        .copied()
        .cycle()
        .take(ANON_SIZE as usize)
        .collect();
    vec![
        FakeSeg {
            seg: seg(SegKind::Stack, stack_base, stack_top - stack_base, false, 1),
            bytes: stack,
        },
        FakeSeg {
            seg: seg(SegKind::Text, text, TEXT_SIZE, true, text_refs),
            bytes: text_bytes,
        },
        FakeSeg {
            seg: seg(SegKind::Data, text + TEXT_SIZE, DATA_SIZE, false, 1),
            bytes: data,
        },
        FakeSeg {
            seg: seg(
                SegKind::Bss,
                text + TEXT_SIZE + DATA_SIZE,
                BSS_SIZE,
                false,
                1,
            ),
            bytes: vec![0; BSS_SIZE as usize],
        },
        FakeSeg {
            seg: seg(SegKind::Anon, anon, ANON_SIZE, false, 1),
            bytes: anon_bytes,
        },
    ]
}

/// Saved user registers: distinct values so a test can tell every slot apart.
pub fn regs_of(arch: Arch, pid: Pid) -> Regs {
    let (_, stack_top, text, _) = layout(arch);
    let p = u64::from(pid.0);
    match arch {
        Arch::X86_64 => Regs::Amd64 {
            gpr: Amd64Gpr {
                ax: 0xa0 + p,
                bx: 0xb0,
                cx: 0xc0,
                dx: 0xd0,
                si: 0x51,
                di: 0xd1,
                bp: 0xb9,
                r8: 0x108,
                r9: 0x109,
                r10: 0x10a,
                r11: 0x10b,
                r12: 0x10c,
                r13: 0x10d,
                r14: 0x10e,
                r15: 0x10f,
            },
            ds: 0,
            es: 0,
            fs: 0,
            gs: 0,
            // VectorSYSCALL: the registers were saved on a system-call entry.
            trap_type: 64,
            error: 0,
            pc: text + 0x100 + p,
            cs: 0x33,
            flags: 0x246,
            sp: stack_top - 0x100,
            ss: 0x2b,
        },
        Arch::Aarch64 => {
            let mut x = [0u64; 31];
            for (i, v) in x.iter_mut().enumerate() {
                *v = 0x1000 + i as u64;
            }
            Regs::Arm64 {
                x,
                sp: stack_top - 0x100,
                pc: text + 0x200,
                psr: 0x6000_0000,
                // ESR exception class 0x15: SVC from AArch64.
                trap_type: 0x15,
            }
        }
        Arch::Riscv64 => {
            let mut x = [0u64; 32];
            for (i, v) in x.iter_mut().enumerate().skip(1) {
                *v = 0x2000 + i as u64;
            }
            x[1] = text + 0x100; // ra
            x[2] = stack_top - 0x100; // sp
            Regs::Riscv64 {
                pc: text + 0x300,
                x,
                status: 0x2_0000_4020,
                ie: 0,
                // Environment call from U-mode.
                cause: 8,
                tval: 0,
                curmode: 0,
            }
        }
    }
}

/// A saved FP image of the arch's FPsave size: amd64 fcw 0x037f, mxcsr 0x1f80 (the FNINIT
/// and reset values); the others all zero.
fn fpregs_of(arch: Arch) -> FpImage {
    let mut b = vec![0u8; super::format::fpsave_size(arch)];
    if arch == Arch::X86_64 {
        b[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        b[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    }
    b
}

/// The pipe between echo and wc: one qid, both ends (devpipe).
pub const PIPE_QID: Qid = Qid {
    ty: QTFILE,
    vers: 0,
    path: 1,
};
/// The console's qid.
pub const CONS_QID: Qid = Qid {
    ty: QTFILE,
    vers: 0,
    path: 0x21,
};

fn cons(fd: u32, mode: u8) -> FdEntry {
    FdEntry {
        fd,
        mode,
        dev_char: 'c',
        dev_no: 0,
        qid: CONS_QID,
        iounit: 0,
        offset: 0,
        path: "/dev/cons".into(),
    }
}

fn pipe_end(fd: u32, mode: u8) -> FdEntry {
    FdEntry {
        fd,
        mode,
        dev_char: '|',
        dev_no: 0,
        qid: PIPE_QID,
        iounit: 0,
        offset: 0,
        path: "pipe:[1]".into(),
    }
}

/// The executable of a program: its qid (the guest file's, not a /proc qid) and bytes.
pub fn text_of(name: &str) -> TextImage {
    let path = match name {
        "sh" => 0x1001,
        "echo" => 0x1002,
        "wc" => 0x1003,
        "cat" => 0x1004,
        "hello" => 0x1005,
        _ => 0x1006,
    };
    let mut bytes = b"\x7fELF\x02\x01\x01\x00".to_vec();
    bytes.extend_from_slice(format!("executable /bin/{name}\n").as_bytes());
    TextImage {
        qid: Qid {
            ty: QTFILE,
            vers: 7,
            path,
        },
        bytes: bytes.into(),
        name: format!("/bin/{name}"),
    }
}

struct Spec {
    pid: u32,
    slot: u32,
    name: &'static str,
    user: &'static str,
    state: ProcState,
    arch: Arch,
    args: &'static [&'static str],
    times_ms: [u64; 6],
    fds: Vec<FdEntry>,
    cwd: &'static str,
    text_refs: u32,
    has_regs: bool,
}

fn build(s: Spec) -> FakeProc {
    let pid = Pid(s.pid);
    let segs = segments_of(s.arch, s.name, s.args, s.text_refs);
    let mem_kb = segs.iter().map(|g| g.bytes.len() as u64).sum::<u64>() / 1024;
    let noteid = match s.pid {
        1..=3 | 6 | 7 => 1,
        n => n,
    };
    let broken = s.state == ProcState::Broken;
    FakeProc {
        info: ProcInfo {
            pid,
            slot: s.slot,
            ppid: Pid(if s.pid == 1 { 0 } else { 1 }),
            noteid,
            name: s.name.into(),
            user: s.user.into(),
            state: s.state,
            arch: s.arch,
            args: s.args.iter().map(|a| a.to_string()).collect(),
            times_ms: s.times_ms,
            mem_kb,
            base_pri: PRI_NORMAL,
            pri: PRI_NORMAL,
            procmode: 0o640,
            private: false,
            has_regs: s.has_regs,
            has_fpregs: s.has_regs,
        },
        segs,
        regs: s.has_regs.then(|| regs_of(s.arch, pid)),
        fpregs: s.has_regs.then(|| fpregs_of(s.arch)),
        fds: (!broken).then(|| FdTable {
            cwd: s.cwd.into(),
            fds: s.fds,
        }),
        notes: VecDeque::new(),
        waits: VecDeque::new(),
        args_text: None,
        text: Some(text_of(s.name)),
        hang: false,
        stop_waiter: false,
        wait_reader: false,
        profile: None,
        watchpts: Vec::new(),
    }
}

fn fixed_table() -> Vec<FakeProc> {
    let mut sh = build(Spec {
        pid: 1,
        slot: 1,
        name: "sh",
        user: EVE,
        state: ProcState::Blocked("Await".into()),
        arch: Arch::X86_64,
        args: &["sh", "-c", "echo 'hi there' | wc"],
        times_ms: [10, 20, 5000, 3, 7, 120],
        fds: vec![cons(0, OREAD), cons(1, OWRITE), cons(2, OWRITE)],
        cwd: "/home/eve",
        text_refs: 2,
        has_regs: true,
    });
    // Children that have already gone: one exited normally, and the Broken one, whose record
    // was sent when it broke (§2.2 Broken).
    sh.waits.push_back(WaitRecord {
        pid: Pid(4),
        times_ms: [1, 2, 40],
        msg: String::new(),
    });
    sh.waits.push_back(WaitRecord {
        pid: Pid(6),
        times_ms: [0, 1, 12],
        msg: "crash 6: sys: trap: fault read addr=0x0 pc=0x401234".into(),
    });
    let mut wc_fds = vec![pipe_end(0, OREAD), cons(1, OWRITE), cons(2, OWRITE)];
    wc_fds.push(FdEntry {
        fd: 5,
        mode: ORDWR,
        dev_char: 'M',
        dev_no: 1,
        qid: Qid {
            ty: QTFILE,
            vers: 3,
            path: 0x2a7,
        },
        iounit: 8192,
        offset: 120,
        path: "/home/glenda/lib/profile".into(),
    });
    vec![
        sh,
        build(Spec {
            pid: 2,
            slot: 2,
            name: "echo",
            user: EVE,
            state: ProcState::Stopped,
            arch: Arch::X86_64,
            args: &["echo", "hi there"],
            times_ms: [1, 1, 30, 0, 0, 0],
            fds: vec![cons(0, OREAD), pipe_end(1, OWRITE), cons(2, OWRITE)],
            cwd: "/home/eve",
            text_refs: 1,
            has_regs: true,
        }),
        build(Spec {
            pid: 3,
            slot: 3,
            name: "wc",
            user: GLENDA,
            state: ProcState::Ready,
            arch: Arch::X86_64,
            args: &["wc"],
            times_ms: [2, 3, 31, 0, 0, 0],
            fds: wc_fds,
            cwd: "/home/glenda",
            text_refs: 1,
            has_regs: true,
        }),
        build(Spec {
            pid: 12,
            slot: 4,
            name: "hello",
            user: EVE,
            state: ProcState::Stopped,
            arch: Arch::Riscv64,
            args: &["hello", "world"],
            times_ms: [4, 5, 60, 0, 0, 0],
            fds: vec![cons(0, OREAD), cons(1, OWRITE), cons(2, OWRITE)],
            cwd: "/",
            text_refs: 1,
            has_regs: true,
        }),
        build(Spec {
            pid: 10,
            slot: 5,
            name: "cat",
            user: EVE,
            state: ProcState::Ready,
            arch: Arch::Aarch64,
            args: &["cat"],
            times_ms: [6, 7, 70, 0, 0, 0],
            fds: vec![cons(0, OREAD), cons(1, OWRITE), cons(2, OWRITE)],
            cwd: "/",
            text_refs: 1,
            has_regs: true,
        }),
        build(Spec {
            pid: 6,
            slot: 6,
            name: "crash",
            user: EVE,
            state: ProcState::Broken,
            arch: Arch::X86_64,
            args: &["crash"],
            times_ms: [0, 1, 12, 0, 0, 0],
            fds: vec![],
            cwd: "/",
            text_refs: 1,
            has_regs: true,
        }),
        build(Spec {
            pid: 7,
            slot: 7,
            name: "sh",
            user: EVE,
            state: ProcState::Ready,
            arch: Arch::X86_64,
            args: &[],
            times_ms: [0, 0, 1, 0, 0, 0],
            fds: vec![cons(0, OREAD), cons(1, OWRITE), cons(2, OWRITE)],
            cwd: "/home/eve",
            text_refs: 2,
            has_regs: false,
        }),
    ]
    .into_iter()
    .map(|mut p| {
        if p.info.pid == Pid(6) {
            // Died of a page fault at a null pointer: Ureg type 14.
            if let Some(Regs::Amd64 { trap_type, pc, .. }) = &mut p.regs {
                *trap_type = 14;
                *pc = 0x401234;
            }
        }
        p
    })
    .collect()
}

// ---- the test-facing side ----

impl Fake {
    /// The fixed state described in the module comment.
    pub fn new() -> Arc<Fake> {
        Arc::new(Fake {
            shared: Arc::new(Shared {
                table: Mutex::new(Table {
                    procs: fixed_table(),
                    parked: 0,
                    set_regs: Vec::new(),
                }),
                cv: Condvar::new(),
            }),
        })
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        lock(&self.shared.table)
    }

    /// Change a process's state, as the machine would; Broken releases the fd group.
    pub fn set_state(&self, pid: Pid, state: ProcState) {
        let mut t = self.table();
        if let Ok(p) = t.get_mut(pid) {
            if state == ProcState::Broken {
                p.fds = None;
            }
            p.info.state = state;
        }
        self.shared.cv.notify_all();
    }

    /// The process exits with `exitstr` (empty for a normal exit).
    pub fn exit(&self, pid: Pid, exitstr: &str) {
        self.table().exit(pid, exitstr);
        self.shared.cv.notify_all();
    }

    /// How many requests are blocked inside the fake.
    /// Replace the argv of `pid` (as an exec would).
    pub fn set_args(&self, pid: Pid, args: Vec<String>) {
        if let Ok(p) = self.table().get_mut(pid) {
            p.info.args = args;
        }
    }

    pub fn parked(&self) -> usize {
        self.table().parked
    }

    /// Every register set `set_regs` received.
    pub fn set_regs_log(&self) -> Vec<(Pid, Regs)> {
        self.table().set_regs.clone()
    }

    /// Look at one process (None if it has gone).
    pub fn with_proc<R>(&self, pid: Pid, f: impl FnOnce(&FakeProc) -> R) -> Option<R> {
        self.table().get(pid).ok().map(f)
    }

    /// The things a ctl message can change, by name, for before/after tables.
    pub fn summary(&self, pid: Pid) -> Option<Vec<(&'static str, String)>> {
        self.with_proc(pid, |p| {
            vec![
                (
                    "state",
                    super::format::state_name(&p.info.state).to_string(),
                ),
                ("pri", p.info.pri.to_string()),
                ("hang", p.hang.to_string()),
                ("private", p.info.private.to_string()),
                (
                    "fds",
                    p.fds.as_ref().map_or("none".to_string(), |t| {
                        let fds: Vec<String> = t.fds.iter().map(|e| e.fd.to_string()).collect();
                        format!("[{}]", fds.join(","))
                    }),
                ),
                ("notes", p.notes.len().to_string()),
            ]
        })
    }

    /// Block until `ready` answers, the request is cancelled, or never. Counts itself in
    /// `parked` while it waits so a test can tell "blocked" from "not yet run".
    fn park<T>(
        &self,
        cancel: &Cancel,
        mut ready: impl FnMut(&mut Table) -> Option<Result<T, ProcError>>,
    ) -> Result<T, ProcError> {
        let shared = Arc::clone(&self.shared);
        cancel.on_cancel(move || {
            // Taking the lock orders this wake-up after the waiter's check.
            let _t = lock(&shared.table);
            shared.cv.notify_all();
        });
        let mut t = self.table();
        let mut parked = false;
        let r = loop {
            if let Some(r) = ready(&mut t) {
                break r;
            }
            if cancel.is_cancelled() {
                break Err(ProcError::Interrupted);
            }
            if !parked {
                parked = true;
                t.parked += 1;
            }
            t = self.shared.cv.wait(t).unwrap_or_else(|e| e.into_inner());
        };
        if parked {
            t.parked -= 1;
        }
        r
    }
}

fn find_seg(p: &FakeProc, addr: u64, len: usize) -> Result<usize, ProcError> {
    let end = addr.checked_add(len as u64).ok_or(ProcError::BadArg)?;
    p.segs
        .iter()
        .position(|s| s.seg.base.0 <= addr && end <= s.seg.top.0 && addr < s.seg.top.0)
        .ok_or(ProcError::BadArg)
}

impl Machine for Fake {
    fn eve(&self) -> String {
        EVE.into()
    }

    fn processes(&self) -> Vec<ProcInfo> {
        self.table().procs.iter().map(|p| p.info.clone()).collect()
    }

    fn info(&self, pid: Pid) -> Result<ProcInfo, ProcError> {
        self.table().get(pid).map(|p| p.info.clone())
    }

    fn segments(&self, pid: Pid) -> Result<Vec<Segment>, ProcError> {
        let t = self.table();
        Ok(t.get(pid)?.segs.iter().map(|s| s.seg.clone()).collect())
    }

    fn read_mem(&self, pid: Pid, addr: GuestAddr, len: usize) -> Result<Vec<u8>, ProcError> {
        let t = self.table();
        let p = t.get(pid)?;
        let s = &p.segs[find_seg(p, addr.0, len)?];
        let off = (addr.0 - s.seg.base.0) as usize;
        Ok(s.bytes[off..off + len].to_vec())
    }

    fn write_mem(&self, pid: Pid, addr: GuestAddr, data: &[u8]) -> Result<(), ProcError> {
        let mut t = self.table();
        let p = t.get_mut(pid)?;
        let i = find_seg(p, addr.0, data.len())?;
        let s = &mut p.segs[i];
        if s.seg.kind == SegKind::Text {
            // txt2data (9front port/segment.c): a write into text first gives the process a
            // private Data-type copy of the segment, so the shared image is never changed.
            s.seg.kind = SegKind::Data;
            s.seg.readonly = false;
            s.seg.refs = 1;
        }
        let off = (addr.0 - s.seg.base.0) as usize;
        s.bytes[off..off + data.len()].copy_from_slice(data);
        Ok(())
    }

    fn regs(&self, pid: Pid) -> Result<Regs, ProcError> {
        self.table().get(pid)?.regs.clone().ok_or(ProcError::NoRegs)
    }

    fn set_regs(&self, pid: Pid, regs: Regs) -> Result<(), ProcError> {
        let mut t = self.table();
        let p = t.get_mut(pid)?;
        if p.regs.is_none() {
            return Err(ProcError::NoRegs);
        }
        p.regs = Some(regs.clone());
        t.set_regs.push((pid, regs));
        Ok(())
    }

    fn fpregs(&self, pid: Pid) -> Result<FpImage, ProcError> {
        self.table()
            .get(pid)?
            .fpregs
            .clone()
            .ok_or(ProcError::NoRegs)
    }

    fn set_fpregs(&self, pid: Pid, image: FpImage) -> Result<(), ProcError> {
        let mut t = self.table();
        let p = t.get_mut(pid)?;
        if p.fpregs.is_none() {
            return Err(ProcError::NoRegs);
        }
        p.fpregs = Some(image);
        Ok(())
    }

    fn fds(&self, pid: Pid) -> Result<FdTable, ProcError> {
        self.table().get(pid)?.fds.clone().ok_or(ProcError::Exited)
    }

    fn text(&self, pid: Pid) -> Result<TextImage, ProcError> {
        self.table()
            .get(pid)?
            .text
            .clone()
            .ok_or(ProcError::NotExist)
    }

    fn set_args_text(&self, pid: Pid, text: String) -> Result<(), ProcError> {
        self.table().get_mut(pid)?.args_text = Some(text);
        Ok(())
    }

    fn args_text(&self, pid: Pid) -> Result<Option<String>, ProcError> {
        Ok(self.table().get(pid)?.args_text.clone())
    }

    fn post_note(&self, pid: Pid, note: &str) -> Result<(), ProcError> {
        let mut t = self.table();
        let p = t.get_mut(pid)?;
        // postnote: a Broken process or a full queue takes no note.
        if p.info.state == ProcState::Broken || p.notes.len() >= NNOTE {
            return Err(ProcError::NoteNotPosted);
        }
        p.notes.push_back(note.to_string());
        Ok(())
    }

    fn post_notepg(&self, noteid: u32, note: &str, except: Option<Pid>) -> Result<(), ProcError> {
        let mut t = self.table();
        for p in t.procs.iter_mut() {
            let skip = Some(p.info.pid) == except
                || p.info.noteid != noteid
                || p.info.state == ProcState::Broken
                || p.notes.len() >= NNOTE;
            if !skip {
                p.notes.push_back(note.to_string());
            }
        }
        Ok(())
    }

    fn take_note(&self, pid: Pid) -> Result<Option<String>, ProcError> {
        Ok(self.table().get_mut(pid)?.notes.pop_front())
    }

    fn set_noteid(&self, pid: Pid, noteid: u32) -> Result<(), ProcError> {
        self.table().get_mut(pid)?.info.noteid = noteid;
        Ok(())
    }

    fn wait_record(&self, pid: Pid, cancel: &Cancel) -> Result<WaitRecord, ProcError> {
        {
            let mut t = self.table();
            let p = t.get_mut(pid)?;
            if p.wait_reader {
                return Err(ProcError::InUse);
            }
            p.wait_reader = true;
        }
        let r = self.park(cancel, |t| match t.get_mut(pid) {
            Err(e) => Some(Err(e)),
            Ok(p) => p.waits.pop_front().map(Ok),
        });
        if let Ok(p) = self.table().get_mut(pid) {
            p.wait_reader = false;
        }
        r
    }

    fn wait_count(&self, pid: Pid) -> Result<u64, ProcError> {
        Ok(self.table().get(pid)?.waits.len() as u64)
    }

    fn ctl(&self, pid: Pid, msg: &CtlMsg, cancel: &Cancel) -> Result<(), ProcError> {
        let mut t = self.table();
        let p = t.get_mut(pid)?;
        let target = CtlTarget {
            state: CtlState::of(&p.info.state),
            notes_pending: !p.notes.is_empty(),
        };
        match ctl_effect(target, msg)? {
            // The fake runs no scheduler: real-time messages are accepted and do nothing.
            CtlEffect::Nothing | CtlEffect::RealTime(_) => {}
            CtlEffect::Stop => p.info.state = ProcState::Stopped,
            CtlEffect::WaitStop => {
                if p.stop_waiter {
                    return Err(ProcError::InUse);
                }
                p.stop_waiter = true;
                drop(t);
                let r = self.park(cancel, |t| match t.get(pid) {
                    Err(e) => Some(Err(e)),
                    Ok(p) => matches!(p.info.state, ProcState::Stopped | ProcState::Broken)
                        .then_some(Ok(())),
                });
                if let Ok(p) = self.table().get_mut(pid) {
                    p.stop_waiter = false;
                }
                return r;
            }
            CtlEffect::Resume(Resume::Run) => p.info.state = ProcState::Ready,
            CtlEffect::Resume(Resume::StartStop) => {
                // Runs until its next trap: a breakpoint, which stops it with the note still
                // queued, undelivered (§5.10).
                if p.notes.len() < NNOTE {
                    p.notes.push_back("sys: breakpoint".into());
                }
            }
            // Runs to the next system-call entry, or one instruction: Stopped again.
            CtlEffect::Resume(Resume::StartSyscall | Resume::Step) => {}
            // Killed: it exits with `Killed`. Released (Broken): its wait record went out
            // when it broke, so it just goes.
            CtlEffect::Kill => t.exit(pid, "Killed"),
            CtlEffect::Release => t.exit(pid, ""),
            CtlEffect::Close(fd) => {
                let fds = p.fds.as_mut().ok_or(ProcError::Exited)?;
                fds.fds.retain(|e| e.fd != fd);
            }
            CtlEffect::CloseFiles => p.fds.as_mut().ok_or(ProcError::Exited)?.fds.clear(),
            CtlEffect::Hang(on) => p.hang = on,
            CtlEffect::Private => p.info.private = true,
            // Counters for the text segment, all zero: the fake never runs.
            CtlEffect::Profile => {
                let text = p.segs.iter_mut().find(|s| s.seg.kind == SegKind::Text);
                let text = text.ok_or(ProcError::Other(EGREG.into()))?;
                text.seg.profiled = true;
                p.profile = Some(vec![0; text.bytes.len() >> 3]);
            }
            CtlEffect::Pri { pri, .. } => {
                p.info.base_pri = pri;
                p.info.pri = pri;
            }
            // The fake has no system calls to interrupt.
            CtlEffect::Interrupt | CtlEffect::ClearInterrupt => {}
        }
        self.shared.cv.notify_all();
        Ok(())
    }

    fn set_procmode(&self, pid: Pid, mode: u32) -> Result<(), ProcError> {
        self.table().get_mut(pid)?.info.procmode = mode;
        Ok(())
    }

    fn set_user(&self, pid: Pid, user: &str) -> Result<(), ProcError> {
        self.table().get_mut(pid)?.info.user = user.to_string();
        Ok(())
    }

    fn profile_counts(&self, pid: Pid) -> Result<Option<Vec<u32>>, ProcError> {
        Ok(self.table().get(pid)?.profile.clone())
    }

    fn syscall_text(&self, pid: Pid) -> Result<String, ProcError> {
        self.table().get(pid).map(|_| String::new())
    }

    fn watchpoints(&self, pid: Pid) -> Result<Vec<crate::procfs::watchpt::Watchpt>, ProcError> {
        Ok(self.table().get(pid)?.watchpts.clone())
    }

    fn set_watchpoints(
        &self,
        pid: Pid,
        list: Vec<crate::procfs::watchpt::Watchpt>,
    ) -> Result<(), ProcError> {
        self.table().get_mut(pid)?.watchpts = list;
        Ok(())
    }
}
