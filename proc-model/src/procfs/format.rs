//! Renderers of the /proc text and binary files, byte for byte as 9front prints them
//! (port/devproc.c, port/devcons.c readnum/readstr, libc fmtquote.c) and the Plan 9 Ureg
//! layouts of amd64, arm64 and riscv64 (docs/plan9-proc-9p.md §1.4, §1.6).

use crate::machine::{
    Amd64Gpr, Arch, FdEntry, FdTable, ProcInfo, ProcState, Regs, SegKind, Segment, WaitRecord,
};

/// NUMSIZE (port/portdat.h): the width of `ctl`, `noteid` and `ppid` reads.
pub const NUMSIZE: usize = 12;
/// STATSIZE: the length of a `status` line for names up to 27 bytes.
pub const STATSIZE: usize = 2 * 28 + 12 + 9 * 12;
/// ERRMAX (port/lib.h): notes, args and noteid writes must be shorter.
pub const ERRMAX: usize = 128;
/// 9front procargs' buffer: the args text is cut at this many bytes.
pub const ARGS_MAX: usize = 1024;

/// readnum(…, NUMSIZE): the value right-justified in 11 characters and one space.
pub fn readnum(n: u64) -> String {
    format!("{n:>11} ")
}

/// readstr: the bytes of `s` from `off`, at most `count`.
pub fn readstr(off: u64, count: u32, s: &[u8]) -> Vec<u8> {
    let Ok(off) = usize::try_from(off) else {
        return Vec::new();
    };
    if off >= s.len() {
        return Vec::new();
    }
    let end = s.len().min(off.saturating_add(count as usize));
    s[off..end].to_vec()
}

/// Plan 9 `%q` (libc fmtquote.c as the kernel uses it): a string that is empty or holds a
/// byte ≤ space or a `'` is put in single quotes, with every `'` doubled.
pub fn quote(s: &str) -> String {
    let needs = s.is_empty() || s.bytes().any(|b| b <= b' ' || b == b'\'');
    if !needs {
        return s.to_string();
    }
    let mut q = String::with_capacity(s.len() + 2);
    q.push('\'');
    for c in s.chars() {
        if c == '\'' {
            q.push('\'');
        }
        q.push(c);
    }
    q.push('\'');
    q
}

/// The state string of `status` (9front statename plus its override strings).
pub fn state_name(s: &ProcState) -> &str {
    match s {
        ProcState::Running => "Running",
        ProcState::Ready => "Ready",
        ProcState::Stopped => "Stopped",
        ProcState::Broken => "Broken",
        ProcState::Moribund => "Moribund",
        ProcState::Stopwait => "Stopwait",
        ProcState::Blocked(name) => name,
    }
}

/// `status`: `"%-27s %-27s %-11s " + "%11lud " ×8 + "%11lud\n"` (9front procstatus). Names
/// longer than 27 bytes widen the line, as 9front's `%-27s` pads but does not truncate.
pub fn status(p: &ProcInfo) -> String {
    let mut s = format!(
        "{:<27} {:<27} {:<11} ",
        p.name,
        p.user,
        state_name(&p.state)
    );
    let nums = [
        p.times_ms[0],
        p.times_ms[1],
        p.times_ms[2],
        p.times_ms[3],
        p.times_ms[4],
        p.times_ms[5],
        p.mem_kb,
        u64::from(p.base_pri),
    ];
    for n in nums {
        s.push_str(&format!("{n:>11} "));
    }
    s.push_str(&format!("{:>11}\n", p.pri));
    s
}

/// The segment type name of one Linux mapping (README: Text, Data, Bss, Stack are Plan 9's;
/// Anon, File and Shared name private anonymous, file and MAP_SHARED mappings).
pub fn seg_name(k: SegKind) -> &'static str {
    match k {
        SegKind::Text => "Text",
        SegKind::Data => "Data",
        SegKind::Bss => "Bss",
        SegKind::Stack => "Stack",
        SegKind::Anon => "Anon",
        SegKind::File => "File",
        SegKind::Shared => "Shared",
    }
}

/// `segment`: one line per segment, `"%-6s %c%c %8p %8p %4ld\n"` (9front procsegment);
/// `%p` is lower-case hex without `0x`.
pub fn segments(segs: &[Segment]) -> String {
    let mut s = String::new();
    for g in segs {
        s.push_str(&format!(
            "{:<6} {}{} {:>8x} {:>8x} {:>4}\n",
            seg_name(g.kind),
            if g.readonly { 'R' } else { ' ' },
            if g.profiled { 'P' } else { ' ' },
            g.base.0,
            g.top.0,
            g.refs
        ));
    }
    s
}

/// One `fd` line: `"%3d %.2s %C %4ld (%.16llux %lud %.2ux) %5ld %8lld %s\n"` (9front
/// procfdprint); the mode is two characters of `"r w rw"` at (mode&3)*2, empty for OEXEC.
pub fn fd_line(e: &FdEntry) -> String {
    let mode = match e.mode & 3 {
        0 => "r ",
        1 => "w ",
        2 => "rw",
        _ => "",
    };
    format!(
        "{:>3} {} {} {:>4} ({:016x} {} {:02x}) {:>5} {:>8} {}\n",
        e.fd,
        mode,
        e.dev_char,
        e.dev_no,
        e.qid.path,
        e.qid.vers,
        e.qid.ty,
        e.iounit,
        e.offset,
        e.path
    )
}

/// 9front's resume state of a one-line-per-read file (the channel's `nrock` and `mrock`):
/// the index of the next line to generate and the bytes generated so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineCursor {
    pub next: u32,
    pub produced: u64,
}

/// A read of a one-line-per-read file (9front procread, Qfd and Qns): a read at exactly the
/// bytes produced so far gets the next line by index (so lines that changed in between are
/// neither repeated nor skipped); any other offset restarts from the first line and skips
/// forward, answering the rest of the line that holds the offset. `next_line` generates the
/// line at the cursor's index and advances it, or answers None after the last one.
pub fn cursor_read(
    cur: &mut LineCursor,
    offset: u64,
    count: u32,
    mut next_line: impl FnMut(&mut u32) -> Option<String>,
) -> Vec<u8> {
    if offset == 0 || offset != cur.produced {
        *cur = LineCursor::default();
    }
    loop {
        let Some(line) = next_line(&mut cur.next) else {
            return Vec::new();
        };
        cur.produced += line.len() as u64;
        if cur.produced > offset {
            let start = line.len() - (cur.produced - offset) as usize;
            return readstr(start as u64, count, line.as_bytes());
        }
    }
}

/// The `fd` line at a cursor index (9front readfd1): index 0 is the current directory;
/// index k+1 is the first open fd numbered k or more.
pub fn fd_line_at(t: &FdTable, next: &mut u32) -> Option<String> {
    if *next == 0 {
        *next = 1;
        return Some(format!("{}\n", t.cwd));
    }
    let e = t.fds.iter().find(|e| e.fd >= *next - 1)?;
    *next = e.fd + 2;
    Some(fd_line(e))
}

/// `args` when none were written: each argument `%q`-quoted, joined by single spaces, cut
/// at 9front's 1 KiB buffer.
pub fn args(argv: &[String]) -> String {
    let mut s = argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
    if s.len() > ARGS_MAX {
        let mut cut = ARGS_MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// A `wait` record: `"%d %lud %lud %lud %q"`.
pub fn wait_record(w: &WaitRecord) -> String {
    format!(
        "{} {} {} {} {}",
        w.pid.0,
        w.times_ms[0],
        w.times_ms[1],
        w.times_ms[2],
        quote(&w.msg)
    )
}

/// sizeof(Ureg) for an arch (amd64 184, arm64 280, riscv64 296).
pub fn ureg_size(a: Arch) -> usize {
    match a {
        Arch::X86_64 => 184,
        Arch::Aarch64 => 280,
        Arch::Riscv64 => 296,
    }
}

/// sizeof(FPsave): amd64 832 (FXSAVE + XSAVE header + upper YMM), arm64 520; riscv64 (no
/// Plan 9 mainline port) f0–f31 as 8 bytes each then fcsr as 4: 260, padded to 264.
pub fn fpsave_size(a: Arch) -> usize {
    match a {
        Arch::X86_64 => 832,
        Arch::Aarch64 => 520,
        Arch::Riscv64 => 264,
    }
}

fn put(buf: &mut [u8], off: usize, v: u64) {
    buf[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

fn get(buf: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[off..off + 8]);
    u64::from_le_bytes(b)
}

fn get16(buf: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([buf[off], buf[off + 1]])
}

/// Encode registers as the Ureg image of their arch (docs/plan9-proc-9p.md §1.6).
pub fn ureg(r: &Regs) -> Vec<u8> {
    match r {
        Regs::Amd64 {
            gpr,
            ds,
            es,
            fs,
            gs,
            trap_type,
            error,
            pc,
            cs,
            flags,
            sp,
            ss,
        } => {
            let mut b = vec![0u8; ureg_size(Arch::X86_64)];
            let g = [
                gpr.ax, gpr.bx, gpr.cx, gpr.dx, gpr.si, gpr.di, gpr.bp, gpr.r8, gpr.r9, gpr.r10,
                gpr.r11, gpr.r12, gpr.r13, gpr.r14, gpr.r15,
            ];
            for (i, v) in g.iter().enumerate() {
                put(&mut b, 8 * i, *v);
            }
            b[120..122].copy_from_slice(&ds.to_le_bytes());
            b[122..124].copy_from_slice(&es.to_le_bytes());
            b[124..126].copy_from_slice(&fs.to_le_bytes());
            b[126..128].copy_from_slice(&gs.to_le_bytes());
            put(&mut b, 128, *trap_type);
            put(&mut b, 136, *error);
            put(&mut b, 144, *pc);
            put(&mut b, 152, *cs);
            put(&mut b, 160, *flags);
            put(&mut b, 168, *sp);
            put(&mut b, 176, *ss);
            b
        }
        Regs::Arm64 {
            x,
            sp,
            pc,
            psr,
            trap_type,
        } => {
            let mut b = vec![0u8; ureg_size(Arch::Aarch64)];
            for (i, v) in x.iter().enumerate() {
                put(&mut b, 8 * i, *v);
            }
            put(&mut b, 248, *sp);
            put(&mut b, 256, *pc);
            put(&mut b, 264, *psr);
            put(&mut b, 272, *trap_type);
            b
        }
        Regs::Riscv64 {
            pc,
            x,
            status,
            ie,
            cause,
            tval,
            curmode,
        } => {
            let mut b = vec![0u8; ureg_size(Arch::Riscv64)];
            put(&mut b, 0, *pc);
            for (i, v) in x.iter().enumerate().skip(1) {
                put(&mut b, 8 * i, *v);
            }
            put(&mut b, 256, *status);
            put(&mut b, 264, *ie);
            put(&mut b, 272, *cause);
            put(&mut b, 280, *tval);
            put(&mut b, 288, *curmode);
            b
        }
    }
}

/// Decode a Ureg image written over `old` (whole image, already patched with the write),
/// cleaning it up as 9front's setregisters does: amd64 keeps cs and ss, takes only the low
/// 8 bits of the written flags and masks pc to user space; arm64 lets only NZCV change.
pub fn ureg_decode(old: &Regs, b: &[u8]) -> Regs {
    match old {
        Regs::Amd64 {
            cs,
            ss,
            flags,
            ds,
            es,
            fs,
            gs,
            ..
        } => {
            let g = |i: usize| get(b, 8 * i);
            Regs::Amd64 {
                gpr: Amd64Gpr {
                    ax: g(0),
                    bx: g(1),
                    cx: g(2),
                    dx: g(3),
                    si: g(4),
                    di: g(5),
                    bp: g(6),
                    r8: g(7),
                    r9: g(8),
                    r10: g(9),
                    r11: g(10),
                    r12: g(11),
                    r13: g(12),
                    r14: g(13),
                    r15: g(14),
                },
                ds: if get16(b, 120) == 0 {
                    *ds
                } else {
                    get16(b, 120)
                },
                es: if get16(b, 122) == 0 {
                    *es
                } else {
                    get16(b, 122)
                },
                fs: if get16(b, 124) == 0 {
                    *fs
                } else {
                    get16(b, 124)
                },
                gs: if get16(b, 126) == 0 {
                    *gs
                } else {
                    get16(b, 126)
                },
                trap_type: get(b, 128),
                error: get(b, 136),
                pc: get(b, 144) & 0x0000_7fff_ffff_ffff,
                cs: *cs,
                flags: (flags & !0xff) | (get(b, 160) & 0xff),
                sp: get(b, 168),
                ss: *ss,
            }
        }
        Regs::Arm64 { psr, .. } => {
            let mut x = [0u64; 31];
            for (i, v) in x.iter_mut().enumerate() {
                *v = get(b, 8 * i);
            }
            const NZCV: u64 = 0xf000_0000;
            Regs::Arm64 {
                x,
                sp: get(b, 248),
                pc: get(b, 256),
                psr: (psr & !NZCV) | (get(b, 264) & NZCV),
                trap_type: get(b, 272),
            }
        }
        Regs::Riscv64 { .. } => {
            let mut x = [0u64; 32];
            for (i, v) in x.iter_mut().enumerate().skip(1) {
                *v = get(b, 8 * i);
            }
            Regs::Riscv64 {
                pc: get(b, 0),
                x,
                status: get(b, 256),
                ie: get(b, 264),
                cause: get(b, 272),
                tval: get(b, 280),
                curmode: get(b, 288),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{GuestAddr, Pid};
    use crate::ninep::fs::Qid;

    #[test]
    fn readnum_width_is_numsize_with_trailing_space() {
        assert_eq!(readnum(42), "         42 ");
        assert_eq!(readnum(42).len(), NUMSIZE);
    }

    #[test]
    fn quote_plain_empty_space_and_quote() {
        assert_eq!(quote("ls"), "ls");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it''s'");
        assert_eq!(quote("#c"), "#c");
    }

    #[test]
    fn segment_line_matches_reference_illustration() {
        let s = segments(&[Segment {
            kind: SegKind::Text,
            base: GuestAddr(0x200000),
            top: GuestAddr(0x210000),
            readonly: true,
            refs: 1,
            profiled: false,
        }]);
        assert_eq!(s, "Text   R    200000   210000    1\n");
    }

    #[test]
    fn fd_line_matches_reference_illustration() {
        let e = FdEntry {
            fd: 0,
            mode: 0,
            dev_char: 'M',
            dev_no: 1,
            qid: Qid {
                ty: 0,
                vers: 0,
                path: 1,
            },
            iounit: 8192,
            offset: 0,
            path: "/dev/cons".into(),
        };
        assert_eq!(
            fd_line(&e),
            "  0 r  M    1 (0000000000000001 0 00)  8192        0 /dev/cons\n"
        );
    }

    #[test]
    fn status_short_names_are_statsize() {
        let p = ProcInfo {
            pid: Pid(1),
            slot: 1,
            ppid: Pid(0),
            noteid: 1,
            name: "sh".into(),
            user: "eve".into(),
            state: ProcState::Blocked("Pread".into()),
            arch: Arch::X86_64,
            args: vec![],
            times_ms: [1, 2, 3, 4, 5, 6],
            mem_kb: 100,
            base_pri: 10,
            pri: 10,
            procmode: 0o640,
            private: false,
            has_regs: true,
            has_fpregs: true,
        };
        let s = status(&p);
        assert_eq!(s.len(), STATSIZE);
        assert!(s.ends_with("         10\n"));
        assert_eq!(s.split_whitespace().nth(2), Some("Pread"));
    }

    #[test]
    fn cursor_read_resumes_by_index_and_restarts_by_offset() {
        let mut t = FdTable {
            cwd: "/".into(),
            fds: vec![],
        };
        let e = |fd: u32, path: &str| FdEntry {
            fd,
            mode: 0,
            dev_char: 'M',
            dev_no: 0,
            qid: Qid::default(),
            iounit: 0,
            offset: 0,
            path: path.into(),
        };
        t.fds = vec![e(0, "a"), e(3, "b")];
        let mut c = LineCursor::default();
        assert_eq!(cursor_read(&mut c, 0, 100, |n| fd_line_at(&t, n)), b"/\n");
        let l0 = fd_line(&t.fds[0]);
        assert_eq!(
            cursor_read(&mut c, 2, 100, |n| fd_line_at(&t, n)),
            l0.as_bytes()
        );
        // fd 0 closes and fd 1 opens between reads: the next read goes on after fd 0.
        t.fds = vec![e(1, "new"), e(3, "b")];
        let off = 2 + l0.len() as u64;
        let l1 = fd_line(&t.fds[0]);
        assert_eq!(
            cursor_read(&mut c, off, 100, |n| fd_line_at(&t, n)),
            l1.as_bytes()
        );
        let l3 = fd_line(&t.fds[1]);
        let off = off + l1.len() as u64;
        assert_eq!(
            cursor_read(&mut c, off, 100, |n| fd_line_at(&t, n)),
            l3.as_bytes()
        );
        assert_eq!(
            cursor_read(&mut c, off + l3.len() as u64, 100, |n| fd_line_at(&t, n)),
            b""
        );
        // Any other offset: from the start, the rest of the line holding it.
        assert_eq!(cursor_read(&mut c, 1, 100, |n| fd_line_at(&t, n)), b"\n");
        assert_eq!(cursor_read(&mut c, 0, 1, |n| fd_line_at(&t, n)), b"/");
    }

    #[test]
    fn ureg_amd64_roundtrip_and_setregisters_cleanup() {
        let r = Regs::Amd64 {
            gpr: Amd64Gpr {
                ax: 1,
                r15: 15,
                ..Default::default()
            },
            ds: 0,
            es: 0,
            fs: 0,
            gs: 0,
            trap_type: 3,
            error: 0,
            pc: 0x401000,
            cs: 0x33,
            flags: 0x246,
            sp: 0x7ffc_0000,
            ss: 0x2b,
        };
        let mut b = ureg(&r);
        assert_eq!(b.len(), 184);
        assert_eq!(get(&b, 0), 1);
        assert_eq!(get(&b, 112), 15);
        assert_eq!(get(&b, 144), 0x401000);
        assert_eq!(ureg_decode(&r, &b), r);
        // A write of cs, ss and the high flag bits is ignored; pc is masked to user space.
        put(&mut b, 152, 0x8);
        put(&mut b, 176, 0x10);
        put(&mut b, 160, 0xffff_ff01);
        put(&mut b, 144, 0xffff_8000_0040_1000);
        let Regs::Amd64 {
            cs, ss, flags, pc, ..
        } = ureg_decode(&r, &b)
        else {
            panic!("arch changed")
        };
        assert_eq!(
            (cs, ss, flags, pc),
            (0x33, 0x2b, 0x201, 0x0000_0000_0040_1000)
        );
    }

    #[test]
    fn ureg_riscv64_pc_in_word_zero() {
        let mut x = [0u64; 32];
        x[2] = 0x7fff_0000;
        let r = Regs::Riscv64 {
            pc: 0x10000,
            x,
            status: 0,
            ie: 0,
            cause: 8,
            tval: 0,
            curmode: 0,
        };
        let b = ureg(&r);
        assert_eq!(b.len(), 296);
        assert_eq!(get(&b, 0), 0x10000);
        assert_eq!(get(&b, 16), 0x7fff_0000);
        assert_eq!(get(&b, 272), 8);
        assert_eq!(ureg_decode(&r, &b), r);
    }
}
