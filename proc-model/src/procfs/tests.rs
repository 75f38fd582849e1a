//! Tests of the /proc tree over the fake machine (fake.rs) — they test proc-model's tree and
//! the fake, not Glass; the ctl rules themselves live in crate::ctlstate and are also run
//! against a real machine (tests/tests/ctl_table.rs). Driven through the real 9P2000
//! server core as a client would drive it: every request is encoded to a frame and handed to
//! `Session::receive_frame`, every reply must survive encode/decode, and transcripts are one
//! line per message (ninep::text). Expected values are taken from docs/plan9-proc-9p.md (the
//! section is cited at each test) and written out by hand, not copied from the program's output.

use super::fake::{regs_of, text_of, Fake, ANON_SIZE, CONS_QID, EVE, GLENDA, PIPE_QID, TEXT_SIZE};
use super::format::{ERRMAX, NUMSIZE, STATSIZE};
use super::{err, ProcFs};
use crate::ctlcases::{self, After, Expect};
use crate::ctlstate::{CtlState, PRI_NORMAL};
use crate::machine::{Arch, Pid, ProcState, Regs, NNOTE};
use crate::ninep::fs::{Stat, DMDIR, OEXEC, ORDWR, OREAD, OWRITE, QTDIR, QTFILE};
use crate::ninep::msg::*;
use crate::ninep::server::{Config, Done, Job, Received, Session};
use crate::ninep::testtree::{data, ename};
use crate::ninep::text;
use crate::ninep::wire::{decode_dir_entries, Fid, Tag, NOFID, NOTAG};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

type Tree = ProcFs<Fake>;

const MSIZE: u32 = 8192;
/// The largest read the session allows at MSIZE (msize - IOHDRSZ).
const IOUNIT: u32 = MSIZE - 24;

// ---- a 9P client over a sans-IO session ----

/// One client connection to a fresh fake machine, keeping a transcript.
struct H {
    fake: Arc<Fake>,
    s: Session<Tree>,
    log: Vec<String>,
    tag: u16,
    next_fid: u32,
}

/// A request that blocked in the machine: its job runs on its own thread, as the transport
/// runs it on a worker.
struct Blocked {
    tag: Tag,
    rx: mpsc::Receiver<Done>,
    th: thread::JoinHandle<()>,
}

enum Outcome {
    Replied(Rmsg),
    Blocked(Blocked),
}

impl H {
    fn new(uname: &str) -> H {
        Self::with(Fake::new(), uname)
    }

    /// Tversion and Tattach of fid 0 as `uname`; not logged.
    fn with(fake: Arc<Fake>, uname: &str) -> H {
        let tree = Arc::new(ProcFs::new(fake.clone()));
        let mut h = H {
            fake,
            s: Session::new(tree, Config::default()),
            log: Vec::new(),
            tag: 0,
            next_fid: 1,
        };
        let v = Tversion {
            msize: MSIZE,
            version: "9P2000".into(),
        };
        let r = h.send_tag(NOTAG, v.into());
        assert!(matches!(&r, Rmsg::Version(v) if v.msize == MSIZE), "{r:?}");
        let r = h.send(Tattach {
            fid: Fid(0),
            afid: NOFID,
            uname: uname.into(),
            aname: "".into(),
        });
        assert!(matches!(r, Rmsg::Attach(_)), "{r:?}");
        h.log.clear();
        h.tag = 0;
        h
    }

    /// A comment line in the transcript (a change made to the machine between requests).
    fn note(&mut self, s: &str) {
        self.log.push(format!("## {s}"));
    }

    fn next_tag(&mut self) -> Tag {
        self.tag += 1;
        Tag(self.tag)
    }

    fn record(&mut self, out: &[(Tag, Rmsg)]) {
        for (tag, r) in out {
            // Every reply must be a well-formed frame that decodes to itself.
            let frame = r.encode_frame(*tag);
            assert!(frame.len() <= MSIZE as usize, "reply larger than msize");
            let (t2, r2) = Rmsg::decode_frame(&frame).expect("reply decodes");
            assert_eq!((t2, &r2), (*tag, r));
            self.log.push(format!("<- {}", text::rmsg(*tag, r)));
        }
    }

    /// Hand the session one request as bytes; returns its job (if any) and the replies sent.
    fn start(&mut self, tag: Tag, m: Tmsg) -> (Option<Job<Tree>>, Vec<(Tag, Rmsg)>) {
        self.log.push(format!("-> {}", text::tmsg(tag, &m)));
        let mut out = Vec::new();
        let r = self.s.receive_frame(&m.encode_frame(tag), &mut out);
        self.record(&out);
        match r {
            Received::Job(j) => (Some(j), out),
            Received::Done => (None, out),
            Received::Close => panic!("session closed on {m:?}"),
        }
    }

    fn complete(&mut self, done: Done) -> Vec<(Tag, Rmsg)> {
        let mut out = Vec::new();
        self.s.complete(done, &mut out);
        self.record(&out);
        out
    }

    fn send_tag(&mut self, tag: Tag, m: Tmsg) -> Rmsg {
        let (job, mut out) = self.start(tag, m);
        if let Some(job) = job {
            out.extend(self.complete(job.run()));
        }
        assert_eq!(out.len(), 1, "expected one reply, got {out:?}");
        let (t, r) = out.pop().expect("one reply");
        assert_eq!(t, tag);
        r
    }

    /// Send a request that must not block; its one reply.
    fn send(&mut self, m: impl Into<Tmsg>) -> Rmsg {
        let tag = self.next_tag();
        self.send_tag(tag, m.into())
    }

    /// Send a request that may block in the machine: run its job on a thread and wait until
    /// it either answers or is parked inside the fake.
    fn send_async(&mut self, m: impl Into<Tmsg>) -> Outcome {
        let parked = self.fake.parked();
        let tag = self.next_tag();
        let (job, mut out) = self.start(tag, m.into());
        let Some(job) = job else {
            assert_eq!(out.len(), 1, "{out:?}");
            return Outcome::Replied(out.pop().expect("one reply").1);
        };
        let (tx, rx) = mpsc::channel();
        let th = thread::spawn(move || {
            let _ = tx.send(job.run());
        });
        loop {
            match rx.recv_timeout(Duration::from_millis(2)) {
                Ok(done) => {
                    th.join().expect("job thread");
                    let mut out = self.complete(done);
                    assert_eq!(out.len(), 1, "{out:?}");
                    return Outcome::Replied(out.pop().expect("one reply").1);
                }
                Err(mpsc::RecvTimeoutError::Timeout) if self.fake.parked() > parked => {
                    self.log.push(format!("   (tag {} blocks)", tag.0));
                    return Outcome::Blocked(Blocked { tag, rx, th });
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!("job thread died"),
            }
        }
    }

    fn blocked(&mut self, m: impl Into<Tmsg>) -> Blocked {
        match self.send_async(m) {
            Outcome::Blocked(b) => b,
            Outcome::Replied(r) => panic!("expected the request to block, got {r:?}"),
        }
    }

    /// Write `waitstop` to the ctl file `path`, which blocks.
    fn blocked_waitstop(&mut self, path: &str) -> Blocked {
        let fid = self.open_path(path, OWRITE);
        self.blocked(Twrite {
            fid: Fid(fid),
            offset: 0,
            data: b"waitstop".to_vec(),
        })
    }

    /// Wait for a blocked request to end (after the test changed the machine).
    fn finish(&mut self, b: Blocked) -> Vec<(Tag, Rmsg)> {
        let done = b.rx.recv().expect("job ends");
        b.th.join().expect("job thread");
        self.complete(done)
    }

    /// Tflush a blocked request, then let it end; the replies that came out.
    fn flush(&mut self, b: Blocked) -> Vec<(Tag, Rmsg)> {
        let tag = self.next_tag();
        let (job, out) = self.start(tag, Tflush { oldtag: b.tag }.into());
        assert!(
            job.is_none() && out.is_empty(),
            "Rflush waits for {:?}",
            b.tag
        );
        let out = self.finish(b);
        assert_eq!(out.last().map(|(t, _)| *t), Some(tag), "{out:?}");
        out
    }

    fn fid(&mut self) -> u32 {
        self.next_fid += 1;
        self.next_fid
    }

    /// Twalk from the root fid to `path` ("" clones); the new fid and the reply.
    fn walk(&mut self, path: &str) -> (u32, Rmsg) {
        let newfid = self.fid();
        let wname = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let r = self.send(Twalk {
            fid: Fid(0),
            newfid: Fid(newfid),
            wname,
        });
        (newfid, r)
    }

    fn walk_ok(&mut self, path: &str) -> u32 {
        let want = path.split('/').filter(|s| !s.is_empty()).count();
        match self.walk(path) {
            (fid, Rmsg::Walk(w)) if w.wqid.len() == want => fid,
            (_, r) => panic!("walk {path}: {r:?}"),
        }
    }

    fn open(&mut self, fid: u32, mode: u8) -> Rmsg {
        self.send(Topen {
            fid: Fid(fid),
            mode,
        })
    }

    /// Walk and open; the reply to the open.
    fn try_open(&mut self, path: &str, mode: u8) -> Rmsg {
        let fid = self.walk_ok(path);
        self.open(fid, mode)
    }

    /// Walk and open, which must succeed; the open fid.
    fn open_path(&mut self, path: &str, mode: u8) -> u32 {
        let fid = self.walk_ok(path);
        match self.open(fid, mode) {
            Rmsg::Open(_) => fid,
            r => panic!("open {path}: {r:?}"),
        }
    }

    fn read(&mut self, fid: u32, offset: u64, count: u32) -> Rmsg {
        self.send(Tread {
            fid: Fid(fid),
            offset,
            count,
        })
    }

    fn write(&mut self, fid: u32, offset: u64, data: &[u8]) -> Rmsg {
        self.send(Twrite {
            fid: Fid(fid),
            offset,
            data: data.to_vec(),
        })
    }

    fn clunk(&mut self, fid: u32) {
        let r = self.send(Tclunk { fid: Fid(fid) });
        assert!(matches!(r, Rmsg::Clunk(_)), "{r:?}");
    }

    /// `cat path`: open, read at increasing offsets until a read returns 0, clunk.
    fn cat(&mut self, path: &str) -> Vec<u8> {
        let fid = self.open_path(path, OREAD);
        let mut all = Vec::new();
        loop {
            let d = data(&self.read(fid, all.len() as u64, IOUNIT));
            if d.is_empty() {
                break;
            }
            all.extend(d);
        }
        self.clunk(fid);
        all
    }

    fn cat_str(&mut self, path: &str) -> String {
        String::from_utf8(self.cat(path)).expect("text file")
    }

    /// The entries of a directory, read as a client does (offset 0, then where it ended).
    fn ls(&mut self, path: &str) -> Vec<Stat> {
        decode_dir_entries(&self.cat(path)).expect("whole stat entries")
    }

    /// Write one ctl message to `pid`'s ctl as this client.
    fn ctl(&mut self, pid: u32, msg: &str) -> Rmsg {
        let fid = self.open_path(&format!("{pid}/ctl"), OWRITE);
        let r = self.write(fid, 0, msg.as_bytes());
        self.clunk(fid);
        r
    }

    fn transcript(&self) -> String {
        self.log.join("\n") + "\n"
    }
}

fn written(r: &Rmsg) -> u32 {
    match r {
        Rmsg::Write(w) => w.count,
        r => panic!("expected Rwrite, got {r:?}"),
    }
}

fn le64(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(w)
}

/// A stat whose every field is "don't touch" (stat(5) wstat).
fn dont_touch() -> Stat {
    Stat {
        ty: u16::MAX,
        dev: u32::MAX,
        qid: crate::ninep::fs::Qid {
            ty: u8::MAX,
            vers: u32::MAX,
            path: u64::MAX,
        },
        mode: u32::MAX,
        atime: u32::MAX,
        mtime: u32::MAX,
        length: u64::MAX,
        name: String::new(),
        uid: String::new(),
        gid: String::new(),
        muid: String::new(),
    }
}

/// The pids of the fake in process-table order.
const TABLE_ORDER: [u32; 7] = [1, 2, 3, 12, 10, 6, 7];

// ---- rendered files ----

/// §1.4 status: `"%-27s %-27s %-11s " + "%11lud " ×8 + "%11lud\n"`, 176 bytes for short names.
#[test]
fn status_every_process_renders_176_byte_lines() {
    let mut h = H::new(EVE);
    let mut all = String::new();
    for pid in TABLE_ORDER {
        let s = h.cat_str(&format!("{pid}/status"));
        assert_eq!(s.len(), STATSIZE, "pid {pid}: {s:?}");
        assert_eq!(STATSIZE, 176);
        assert!(s.ends_with('\n'));
        all.push_str(&s);
    }
    // pid 1 field by field: name, user, state in 27/27/11 columns, then nine numbers, each
    // right-justified in 11 and followed by a space (the last by the newline).
    let s = all.lines().next().expect("pid 1").to_string() + "\n";
    assert_eq!(&s[0..28], format!("{:<27} ", "sh"));
    assert_eq!(&s[28..56], format!("{:<27} ", "eve"));
    assert_eq!(&s[56..68], "Await       ");
    // user, sys, real, child user, child sys, child real, memory KB, base pri, pri.
    let want = [10u64, 20, 5000, 3, 7, 120, 32, 10, 10];
    for (i, n) in want.iter().enumerate() {
        let f = &s[68 + 12 * i..68 + 12 * (i + 1)];
        let end = if i == 8 { "\n" } else { " " };
        assert_eq!(f, format!("{n:>11}{end}"), "field {}", i + 4);
    }
    // acid's getstatus: the third whitespace field is the state.
    let states: Vec<&str> = all
        .lines()
        .map(|l| l.split_whitespace().nth(2).expect("state"))
        .collect();
    assert_eq!(
        states,
        ["Await", "Stopped", "Ready", "Stopped", "Ready", "Broken", "Ready"]
    );
    insta::assert_snapshot!(all);
}

/// §1.4 segment: `"%-6s %c%c %8p %8p %4ld\n"`, Stack first; acid parses the stack top from
/// the first ≤63 bytes (§3.1).
#[test]
fn segment_stack_first_renders_plan9_lines() {
    let mut h = H::new(EVE);
    let s = h.cat_str("1/segment");
    assert_eq!(
        s,
        "Stack     7fffffffd000 7ffffffff000    1\n\
         Text   R    400000   402000    2\n\
         Data        402000   403000    1\n\
         Bss         403000   404000    1\n\
         Anon      7ffff7ff8000 7ffff7ffa000    1\n"
    );
    // acid attachproc: the first line starts with Stack; skip spaces, one token (the base),
    // spaces, then the top in hex.
    let fid = h.open_path("1/segment", OREAD);
    let head = String::from_utf8(data(&h.read(fid, 0, 63))).expect("text");
    let rest = head.strip_prefix("Stack").expect("Stack first");
    let mut tok = rest.split_whitespace();
    let _base = tok.next();
    let top = u64::from_str_radix(tok.next().expect("top"), 16).expect("hex");
    assert_eq!(top, 0x7fff_ffff_f000);
    let mut riscv = h.cat_str("12/segment");
    riscv.insert_str(0, "-- 12 (riscv64)\n");
    insta::assert_snapshot!(format!("-- 1 (amd64)\n{s}{riscv}"));
}

/// §1.4 fd (9front): the cwd line, then one line per fd in
/// `"%3d %.2s %C %4ld (%.16llux %lud %.2ux) %5ld %8lld %s\n"`; one line per read, the next
/// line when the offset is where the last read ended.
#[test]
fn fd_increasing_offsets_one_line_per_read() {
    let mut h = H::new(EVE);
    let mut shown = String::new();
    let mut lines = Vec::new();
    for pid in [3, 2] {
        shown.push_str(&format!("-- {pid}/fd\n"));
        let fid = h.open_path(&format!("{pid}/fd"), OREAD);
        let mut off = 0u64;
        loop {
            let d = String::from_utf8(data(&h.read(fid, off, IOUNIT))).expect("text");
            shown.push_str(&format!("{off:>4} | {d}"));
            if d.is_empty() {
                shown.push_str("(end)\n");
                break;
            }
            assert_eq!(d.matches('\n').count(), 1, "one line per read: {d:?}");
            off += d.len() as u64;
            lines.push(d);
        }
        h.clunk(fid);
    }
    assert_eq!(
        lines[..5],
        [
            "/home/glenda\n",
            "  0 r  |    0 (0000000000000001 0 00)     0        0 pipe:[1]\n",
            "  1 w  c    0 (0000000000000021 0 00)     0        0 /dev/cons\n",
            "  2 w  c    0 (0000000000000021 0 00)     0        0 /dev/cons\n",
            "  5 rw M    1 (00000000000002a7 3 00)  8192      120 /home/glenda/lib/profile\n",
        ]
    );
    // The two ends of the pipe carry one qid: wc's fd 0 and echo's fd 1.
    let pipe = format!(
        "({:016x} {} {:02x})",
        PIPE_QID.path, PIPE_QID.vers, PIPE_QID.ty
    );
    assert!(lines[1].contains(&pipe) && lines[1].starts_with("  0 r  |"));
    assert!(lines[7].contains(&pipe) && lines[7].starts_with("  1 w  |"));
    assert!(lines[6].contains(&format!("({:016x} ", CONS_QID.path)));
    insta::assert_snapshot!(shown);
}

/// §1.4 fd (9front procread Qfd): a read at the end of what was produced gets the next fd
/// by number, so an fd closed in between neither repeats a line nor cuts one.
#[test]
fn fd_resume_after_the_table_changes_gives_the_next_fd() {
    let mut h = H::new(EVE);
    let fid = h.open_path("2/fd", OREAD);
    let cwd = data(&h.read(fid, 0, IOUNIT));
    assert_eq!(cwd, b"/home/eve\n");
    let fd0 = String::from_utf8(data(&h.read(fid, cwd.len() as u64, IOUNIT))).expect("text");
    assert!(fd0.starts_with("  0 r  c"), "{fd0:?}");
    let ctl = h.open_path("2/ctl", OWRITE);
    assert_eq!(written(&h.write(ctl, 0, b"close 0")), 7);
    let off = (cwd.len() + fd0.len()) as u64;
    let fd1 = String::from_utf8(data(&h.read(fid, off, IOUNIT))).expect("text");
    assert!(fd1.starts_with("  1 w  |"), "the next fd, whole: {fd1:?}");
    let off = off + fd1.len() as u64;
    let fd2 = String::from_utf8(data(&h.read(fid, off, IOUNIT))).expect("text");
    assert!(fd2.starts_with("  2 w  c"), "{fd2:?}");
    assert!(data(&h.read(fid, off + fd2.len() as u64, IOUNIT)).is_empty());
}

/// §1.4 fd: any other offset restarts and returns the rest of the line holding it; a short
/// count returns part of a line; a Broken process (no fd group) reads as empty.
#[test]
fn fd_offset_inside_line_returns_rest_of_that_line() {
    let mut h = H::new(EVE);
    let fid = h.open_path("3/fd", OREAD);
    let cwd = "/home/glenda\n".len() as u64;
    assert_eq!(data(&h.read(fid, 0, 5)), b"/home");
    assert_eq!(data(&h.read(fid, 5, IOUNIT)), b"/glenda\n");
    let second = "  0 r  |    0 (0000000000000001 0 00)     0        0 pipe:[1]\n";
    assert_eq!(data(&h.read(fid, cwd + 4, IOUNIT)), &second.as_bytes()[4..]);
    // Back to the start at once.
    assert_eq!(data(&h.read(fid, 0, IOUNIT)), b"/home/glenda\n");
    assert!(data(&h.read(fid, 100_000, IOUNIT)).is_empty());
    let fid = h.open_path("6/fd", OREAD);
    assert!(data(&h.read(fid, 0, IOUNIT)).is_empty());
}

/// §1.4 args: `%q` quoting, space-joined; after a write, `"<text> [<written>]"`; a write at a
/// nonzero offset or of ERRMAX bytes is `read or write too large`.
#[test]
fn args_rendered_with_plan9_quoting_and_written_text() {
    let mut h = H::new(EVE);
    let mut shown = String::new();
    for pid in TABLE_ORDER {
        let a = h.cat_str(&format!("{pid}/args"));
        shown.push_str(&format!("{pid:>2} [{a}]\n"));
    }
    assert_eq!(h.cat_str("1/args"), "sh -c 'echo ''hi there'' | wc'");
    assert_eq!(h.cat_str("2/args"), "echo 'hi there'");
    assert_eq!(h.cat_str("7/args"), "", "forked, never exec'd");
    let fid = h.open_path("2/args", ORDWR);
    assert_eq!(written(&h.write(fid, 0, b"renamed")), 7);
    assert_eq!(ename(&h.write(fid, 1, b"x")), err::ETOOBIG);
    assert_eq!(ename(&h.write(fid, 0, &[b'a'; ERRMAX])), err::ETOOBIG);
    let after = h.cat_str("2/args");
    assert_eq!(after, "echo [renamed]");
    shown.push_str(&format!(
        "-- after writing 'renamed' to 2/args\n 2 [{after}]\n"
    ));
    insta::assert_snapshot!(shown);
}

/// §1.4 wait: one `"%d %lud %lud %lud %q"` record per read, the offset ignored, the record
/// removed; the stat length is the number of records; a short read loses the rest.
#[test]
fn wait_records_one_per_read_offset_ignored() {
    let mut h = H::new(EVE);
    let len = |h: &mut H| {
        let fid = h.walk_ok("1/wait");
        match h.send(Tstat { fid: Fid(fid) }) {
            Rmsg::Stat(s) => s.stat.length,
            r => panic!("{r:?}"),
        }
    };
    assert_eq!(len(&mut h), 2);
    let fid = h.open_path("1/wait", OREAD);
    let first = String::from_utf8(data(&h.read(fid, 0, IOUNIT))).expect("text");
    assert_eq!(first, "4 1 2 40 ''");
    assert_eq!(len(&mut h), 1);
    let second = String::from_utf8(data(&h.read(fid, 977, IOUNIT))).expect("text");
    assert_eq!(
        second,
        "6 0 1 12 'crash 6: sys: trap: fault read addr=0x0 pc=0x401234'"
    );
    assert_eq!(len(&mut h), 0);
    // A child exits; a short read takes its record and loses the rest of it.
    h.fake.exit(Pid(2), "");
    assert_eq!(data(&h.read(fid, 0, 3)), b"2 1");
    assert_eq!(len(&mut h), 0);
    insta::assert_snapshot!(format!("{first}\n{second}\n"));
}

/// §1.4 / §5.6: ctl, noteid and ppid read as readnum NUMSIZE: 11 columns and a space.
#[test]
fn numeric_files_ctl_noteid_ppid_are_numsize() {
    let mut h = H::new(EVE);
    let mut shown = String::new();
    for pid in [1, 2, 12] {
        for f in ["ctl", "noteid", "ppid"] {
            let s = h.cat_str(&format!("{pid}/{f}"));
            assert_eq!(s.len(), NUMSIZE);
            shown.push_str(&format!("{pid:>2}/{f:<6} [{s}]\n"));
        }
    }
    assert_eq!(h.cat_str("2/ctl"), "          2 ");
    assert_eq!(h.cat_str("2/noteid"), "          1 ");
    assert_eq!(h.cat_str("2/ppid"), "          1 ");
    assert_eq!(h.cat_str("1/ppid"), "          0 ");
    assert_eq!(h.cat_str("12/ctl"), "         12 ");
    // Offsets index into the 12-byte string.
    let fid = h.open_path("12/ctl", OREAD);
    assert_eq!(data(&h.read(fid, 9, 100)), b"12 ");
    assert!(data(&h.read(fid, 12, 100)).is_empty());
    insta::assert_snapshot!(shown);
}

/// §1.1, §1.2, §5.1, §5.2: `trace` first (eve, 0400, qid path 1 vers 0xFFFFFFFF), then one
/// directory per process in table order (not pid order), owned by its user, DMDIR|0555,
/// qid path slot<<5, vers pid; gid eve; length 0.
#[test]
fn root_listing_trace_first_then_table_order() {
    let mut h = H::new(EVE);
    let ls = h.ls("");
    let names: Vec<&str> = ls.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["trace", "1", "2", "3", "12", "10", "6", "7"]);
    let t = &ls[0];
    assert_eq!(
        (t.uid.as_str(), t.gid.as_str(), t.muid.as_str()),
        (EVE, EVE, EVE)
    );
    assert_eq!((t.mode, t.length), (0o400, 0));
    assert_eq!((t.qid.ty, t.qid.vers, t.qid.path), (QTFILE, 0xFFFF_FFFF, 1));
    for (i, d) in ls[1..].iter().enumerate() {
        let slot = i as u64 + 1;
        let user = if d.name == "3" { GLENDA } else { EVE };
        assert_eq!(d.uid, user);
        assert_eq!(d.muid, user);
        assert_eq!(d.gid, EVE);
        assert_eq!(d.mode, DMDIR | 0o555);
        assert_eq!(d.length, 0);
        assert_eq!(d.qid.ty, QTDIR);
        assert_eq!(d.qid.path, slot << 5);
        assert_eq!(d.qid.vers.to_string(), d.name);
    }
    let shown: String = ls.iter().map(|s| text::stat(s) + "\n").collect();
    insta::assert_snapshot!(shown);
}

/// §1.2: the root stats as `/`, and a pid directory stats as owned by eve (devstat's
/// fallback), though the root lists it under the process's user.
#[test]
fn stat_root_and_pid_dir_owned_by_eve() {
    let mut h = H::new(EVE);
    let root = match h.send(Tstat { fid: Fid(0) }) {
        Rmsg::Stat(s) => s.stat,
        r => panic!("{r:?}"),
    };
    assert_eq!((root.name.as_str(), root.uid.as_str()), ("/", EVE));
    assert_eq!(root.mode, DMDIR | 0o555);
    let fid = h.walk_ok("3");
    let d = match h.send(Tstat { fid: Fid(fid) }) {
        Rmsg::Stat(s) => s.stat,
        r => panic!("{r:?}"),
    };
    assert_eq!(
        (d.name.as_str(), d.uid.as_str(), d.gid.as_str()),
        ("3", EVE, EVE)
    );
    assert_eq!((d.mode, d.qid.path, d.qid.vers), (DMDIR | 0o555, 3 << 5, 3));
}

/// §1.1, §1.2 table: procdir order; modes from perm or procmode 0640; stat lengths: status
/// 176, regs/kregs sizeof(Ureg) by arch, fpregs sizeof(FPsave), wait the record count, the
/// rest (mem, text included) 0; uid/muid the process user, gid eve.
#[test]
fn pid_dir_listing_procdir_order_modes_lengths() {
    let mut h = H::new(EVE);
    let ls = h.ls("1");
    let want: [(&str, u32, u64); 21] = [
        ("args", 0o660, 0),
        ("ctl", 0o640, 0),
        ("fd", 0o444, 0),
        ("fpregs", 0o640, 832),
        ("kfpregs", 0o440, 832),
        ("kregs", 0o440, 184),
        ("mem", 0o640, 0),
        ("note", 0o640, 0),
        ("noteid", 0o664, 0),
        ("notepg", 0o640, 0),
        ("ns", 0o444, 0),
        ("ppid", 0o444, 0),
        ("proc", 0o440, 0),
        ("regs", 0o640, 184),
        ("segment", 0o444, 0),
        ("status", 0o444, 176),
        ("text", 0o640, 0),
        ("wait", 0o440, 2),
        ("profile", 0o440, 0),
        ("syscall", 0o440, 0),
        ("watchpt", 0o640, 0),
    ];
    assert_eq!(ls.len(), want.len());
    for (st, (name, mode, len)) in ls.iter().zip(want) {
        assert_eq!(
            (st.name.as_str(), st.mode, st.length),
            (name, mode, len),
            "{name}"
        );
        assert_eq!(
            (st.uid.as_str(), st.gid.as_str(), st.muid.as_str()),
            (EVE, EVE, EVE)
        );
        assert_eq!((st.qid.ty, st.qid.vers), (QTFILE, 1));
        assert_eq!(st.qid.path >> 5, 1, "slot bits");
    }
    // 9front's enum order with KFPSTATE (amd64): Qargs 2 … Qwatchpt 22, in listing order.
    let types: Vec<u64> = ls.iter().map(|s| s.qid.path & 0x1f).collect();
    assert_eq!(types, (2..=22).collect::<Vec<u64>>());
    // Another user's files: owned by glenda, gid still eve.
    let wc = h.ls("3");
    assert!(wc
        .iter()
        .all(|s| s.uid == GLENDA && s.muid == GLENDA && s.gid == EVE));
    // Ureg and FPsave sizes by arch.
    let len_of = |ls: &[Stat], name: &str| {
        ls.iter()
            .find(|s| s.name == name)
            .map(|s| s.length)
            .expect("entry")
    };
    let arm = h.ls("10");
    let rv = h.ls("12");
    assert_eq!((len_of(&arm, "regs"), len_of(&arm, "kregs")), (280, 280));
    assert_eq!(len_of(&arm, "fpregs"), 520);
    assert_eq!(len_of(&rv, "regs"), 296);
    assert_eq!(len_of(&rv, "fpregs"), 264);
    assert_eq!(len_of(&arm, "kfpregs"), 520);
    // riscv64 has no KFPSTATE port: no kfpregs, the other numbers unchanged.
    assert!(rv.iter().all(|s| s.name != "kfpregs"));
    assert_eq!(rv.len(), 20);
    let (_, r) = h.walk("12/kfpregs");
    assert!(matches!(&r, Rmsg::Walk(w) if w.wqid.len() == 1), "{r:?}");
    // No saved registers does not change the length (a table constant in 9front).
    assert_eq!(len_of(&h.ls("7"), "regs"), 184);
    let shown: String = ls.iter().map(|s| text::stat(s) + "\n").collect();
    insta::assert_snapshot!(shown);
}

// ---- transcripts ----

#[test]
fn transcript_walk_open_read_status() {
    let mut h = H::new(EVE);
    let fid = h.walk_ok("3/status");
    h.open(fid, OREAD);
    let d = data(&h.read(fid, 0, IOUNIT));
    assert_eq!(d.len(), STATSIZE);
    assert!(d.starts_with(format!("{:<27} {:<27} Ready ", "wc", GLENDA).as_bytes()));
    // Read at the end, and from the middle.
    h.read(fid, STATSIZE as u64, IOUNIT);
    h.read(fid, 56, 11);
    h.send(Tstat { fid: Fid(fid) });
    h.clunk(fid);
    // `..` from a process directory is the root.
    h.send(Twalk {
        fid: Fid(0),
        newfid: Fid(9),
        wname: vec!["3".into(), "..".into(), "2".into(), "status".into()],
    });
    insta::assert_snapshot!(h.transcript());
}

/// §1.4 mem read: the address must be in a segment (`bad arg in system call` in a gap), the
/// count is clipped to the end of the segment holding the address, and the process need not
/// be stopped (wc is Ready).
#[test]
fn transcript_mem_read_segment_bounded() {
    let mut h = H::new(EVE);
    let fid = h.open_path("3/mem", OREAD);
    let text_top = 0x40_0000 + TEXT_SIZE;
    h.note("3/segment: Stack 7fffffffd000-7ffffffff000, Text 400000-402000, Data -403000,");
    h.note("           Bss -404000, Anon 7ffff7ff8000-7ffff7ffa000");
    // Inside Text, running past its end: only up to the end (not into Data, which follows).
    h.note("Text top - 4 (0x401ffc), 32 bytes");
    let d = data(&h.read(fid, text_top - 4, 32));
    assert_eq!(d, [0xfc, 0xfd, 0xfe, 0xff]);
    // The last byte of a segment: one byte.
    h.note("the last byte of Text (0x401fff)");
    assert_eq!(data(&h.read(fid, text_top - 1, 100)), [0xff]);
    // At the segment end: the next segment, Data.
    h.note("Text top = Data base (0x402000)");
    assert_eq!(data(&h.read(fid, text_top, 16)), b"data of wc\0\0\0\0\0\0");
    // The gap between Bss and the mapping, address 0, and the top of the last segment.
    h.note("the gap after Bss (0x404000), address 0, Anon top (0x7ffff7ffa000)");
    assert_eq!(ename(&h.read(fid, 0x40_4000, 16)), err::EBADARG);
    assert_eq!(ename(&h.read(fid, 0, 16)), err::EBADARG);
    assert_eq!(
        ename(&h.read(fid, 0x7fff_f7ff_8000 + ANON_SIZE, 1)),
        err::EBADARG
    );
    // The top of the stack holds argv; the mapping, its pattern.
    h.note("Stack top - 8 (0x7fffffffeff8), 64 bytes; Anon base (0x7ffff7ff8000)");
    assert_eq!(
        data(&h.read(fid, 0x7fff_ffff_f000 - 8, 64)),
        b"\0\0\0\0\0wc\0"
    );
    assert_eq!(data(&h.read(fid, 0x7fff_f7ff_8000, 8)), b"anonanon");
    insta::assert_snapshot!(h.transcript());
}

/// §1.4 mem write, §5.9: only while Stopped (`bad process or channel control request`
/// otherwise); a write crossing the segment end fails whole with `bad arg in system call`
/// and changes nothing; a write into Text while Stopped succeeds.
#[test]
fn transcript_mem_write_stopped_only() {
    let mut h = H::new(EVE);
    let fid = h.open_path("2/mem", ORDWR);
    let data_base = 0x40_2000u64;
    for state in [ProcState::Ready, ProcState::Running] {
        h.note(&format!("pid 2 is {}", super::format::state_name(&state)));
        h.fake.set_state(Pid(2), state);
        assert_eq!(
            ename(&h.write(fid, data_base + 16, b"patched")),
            err::EBADCTL
        );
    }
    h.note("pid 2 is Stopped");
    h.fake.set_state(Pid(2), ProcState::Stopped);
    h.note("Data base + 16 (0x402010)");
    assert_eq!(written(&h.write(fid, data_base + 16, b"patched")), 7);
    assert_eq!(
        data(&h.read(fid, data_base, 24)),
        b"data of echo\0\0\0\0patched\0"
    );
    // Across the end of Data into Bss: refused whole.
    h.note("8 bytes at Data top - 4 (0x402ffc), across into Bss: nothing written");
    let data_top = data_base + 0x1000;
    assert_eq!(
        ename(&h.write(fid, data_top - 4, b"XXXXXXXX")),
        err::EBADARG
    );
    assert_eq!(data(&h.read(fid, data_top - 4, 4)), [0u8; 4]);
    assert_eq!(data(&h.read(fid, data_top, 4)), [0u8; 4]);
    // In the gap.
    h.note("the gap after Bss (0x404000)");
    assert_eq!(ename(&h.write(fid, 0x40_4000, b"X")), err::EBADARG);
    // A breakpoint into Text.
    h.note("int3 into Text at 0x400100");
    assert_eq!(written(&h.write(fid, 0x40_0100, b"\xcc")), 1);
    assert_eq!(data(&h.read(fid, 0x40_0100, 2)), b"\xcc\x01");
    insta::assert_snapshot!(h.transcript());
    // The fake does what 9front's txt2data does: the text slot becomes a private Data copy.
    let seg = h.cat_str("2/segment");
    assert_eq!(
        seg.lines().nth(1),
        Some("Data        400000   402000    1"),
        "{seg}"
    );
}

// ---- error strings ----

/// §1.1: a pid name must be nonzero, all digits and print back the same.
#[test]
fn walk_malformed_or_missing_pid_file_does_not_exist() {
    let mut h = H::new(EVE);
    for name in ["007", "+7", "0", "99", "-7", " 7", "7 ", "4294967303", "x"] {
        let (_, r) = h.walk(name);
        assert_eq!(ename(&r), err::ENONEXIST, "{name:?}");
    }
    h.walk_ok("7");
    let (_, r) = h.walk("7/nosuchfile");
    assert!(
        matches!(&r, Rmsg::Walk(w) if w.wqid.len() == 1),
        "partial walk: {r:?}"
    );
}

/// §5.3: after the process exits, fids opened before give `process exited` on I/O; a walk
/// into it from the root gives `file does not exist`; a walk that continues from a
/// pid-directory fid walked before the exit succeeds (procgen has no pid check) and so do
/// stats of such fids, but opening any of its files gives `process exited`.
#[test]
fn io_after_process_exit_process_exited() {
    let mut h = H::new(EVE);
    let status = h.open_path("2/status", OREAD);
    let ctl = h.open_path("2/ctl", OWRITE);
    let walked = h.walk_ok("2/segment");
    let dir = h.walk_ok("2");
    h.fake.exit(Pid(2), "");
    assert_eq!(ename(&h.read(status, 0, 100)), err::EPROCDIED);
    assert_eq!(ename(&h.write(ctl, 0, b"stop")), err::EPROCDIED);
    assert_eq!(ename(&h.open(walked, OREAD)), err::EPROCDIED);
    match h.send(Tstat { fid: Fid(status) }) {
        Rmsg::Stat(s) => assert_eq!(
            (s.stat.name.as_str(), s.stat.qid.path, s.stat.qid.vers),
            ("status", (2 << 5) | super::Q::Status as u64, 2)
        ),
        r => panic!("stat after exit: {r:?}"),
    }
    match h.send(Tstat { fid: Fid(dir) }) {
        Rmsg::Stat(s) => assert_eq!((s.stat.name.as_str(), s.stat.mode), ("2", DMDIR | 0o555)),
        r => panic!("stat of the directory after exit: {r:?}"),
    }
    let (_, r) = h.walk("2");
    assert_eq!(ename(&r), err::ENONEXIST);
    let r = h.send(Twalk {
        fid: Fid(dir),
        newfid: Fid(99),
        wname: vec!["status".into()],
    });
    assert!(matches!(&r, Rmsg::Walk(w) if w.wqid.len() == 1), "{r:?}");
    assert_eq!(ename(&h.open(99, OREAD)), err::EPROCDIED);
}

/// dev.c devwalk: `.` is accepted and answers the directory's own qid, at the root and in
/// a pid directory.
#[test]
fn walk_dot_returns_same_qid() {
    let mut h = H::new(EVE);
    let r = h.send(Twalk {
        fid: Fid(0),
        newfid: Fid(50),
        wname: vec![".".into(), "2".into(), ".".into(), "status".into()],
    });
    let root = crate::ninep::fs::Qid {
        ty: QTDIR,
        vers: 0,
        path: 0,
    };
    let dir2 = crate::ninep::fs::Qid {
        ty: QTDIR,
        vers: 2,
        path: 2 << 5,
    };
    match r {
        Rmsg::Walk(w) => {
            assert_eq!(w.wqid[..3], [root, dir2, dir2]);
            assert_eq!(w.wqid[3].path, (2 << 5) | super::Q::Status as u64);
        }
        r => panic!("{r:?}"),
    }
}

/// §1.3 mode bits (sysfile.c openmode before the device): OEXEC is a read open that needs
/// read permission; a directory refuses it; undefined bits are `bad arg in system call`;
/// a directory opened for anything but OREAD is `permission denied` (kernel, not lib9p's
/// `is a directory`).
#[test]
fn open_mode_bits_as_the_kernel_checks_them() {
    let mut h = H::new(EVE);
    assert!(matches!(h.try_open("2/status", OEXEC), Rmsg::Open(_)));
    assert!(matches!(h.try_open("2/ctl", OEXEC), Rmsg::Open(_)));
    let fid = h.open_path("2/ppid", OEXEC);
    assert_eq!(data(&h.read(fid, 0, 100)), b"          1 ");
    // glenda's process: eve reads 0640 files by the group bits, others nothing.
    let mut bob = H::new("bob");
    assert_eq!(ename(&bob.try_open("3/ctl", OEXEC)), err::EPERM);
    for path in ["", "2"] {
        for mode in [OEXEC, OWRITE, ORDWR, OREAD | 0x10, OREAD | 0x40] {
            assert_eq!(
                ename(&h.try_open(path, mode)),
                err::EPERM,
                "{path:?} {mode:#x}"
            );
        }
        assert!(matches!(h.try_open(path, OREAD | 0x20), Rmsg::Open(_)));
    }
    for mode in [0x04, 0x80, OREAD | 0x08] {
        assert_eq!(
            ename(&h.try_open("2/status", mode)),
            err::EBADARG,
            "{mode:#x}"
        );
        assert_eq!(ename(&h.try_open("2", mode)), err::EBADARG, "dir {mode:#x}");
    }
}

/// §1.5: create anywhere in #p is `permission denied` (devcreate), not lib9p's
/// `create prohibited`.
#[test]
fn create_anywhere_permission_denied() {
    let mut h = H::new(EVE);
    for path in ["", "2"] {
        let fid = h.walk_ok(path);
        let r = h.send(Tcreate {
            fid: Fid(fid),
            name: "x".into(),
            perm: 0o644,
            mode: OREAD,
        });
        assert_eq!(ename(&r), err::EPERM, "{path:?}");
    }
}

/// §1.5: a malformed stat in Twstat is `stat buffer too small` (Eshortstat), sent as raw
/// bytes since no encoder makes one.
#[test]
fn wstat_malformed_stat_buffer_too_small() {
    let mut h = H::new(EVE);
    let fid = h.walk_ok("2/ctl");
    // Twstat: size[4] type[1]=126 tag[2] fid[4] nstat[2] stat[nstat]; a stat of 3 bytes.
    let mut body = vec![126u8, 7, 0];
    body.extend(fid.to_le_bytes());
    body.extend(3u16.to_le_bytes());
    body.extend([1, 2, 3]);
    let mut frame = ((body.len() + 4) as u32).to_le_bytes().to_vec();
    frame.extend(body);
    let mut out = Vec::new();
    let r = h.s.receive_frame(&frame, &mut out);
    assert!(matches!(r, Received::Done), "one Rerror, no job");
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].0, Tag(7));
    assert_eq!(ename(&out[0].1), "stat buffer too small");
}

/// §1.3 text: no permission check beyond the open mode and `none`, so another user opens a
/// 0640 text; the open is the executable's channel and reads on after the process exits.
#[test]
fn text_other_user_opens_and_reads_after_exit() {
    let mut bob = H::new("bob");
    assert_eq!(ename(&bob.try_open("2/status", OWRITE)), err::EPERM);
    let fid = bob.open_path("2/text", OREAD);
    bob.fake.exit(Pid(2), "");
    let exe = text_of("echo");
    assert_eq!(data(&bob.read(fid, 0, IOUNIT)), &exe.bytes[..]);
    let mut none = H::new("none");
    assert_eq!(ename(&none.try_open("2/text", OREAD)), err::EPERM);
}

/// §1.4 args: 9front procargs prints into a 1024-byte buffer, so at most 1023 bytes.
#[test]
fn args_long_text_cut_at_1023_bytes() {
    let mut h = H::new(EVE);
    let fid = h.open_path("2/args", OWRITE);
    // A written args text is short (< ERRMAX), so make the argv itself long.
    h.clunk(fid);
    h.fake
        .set_args(Pid(2), vec!["a".repeat(700), "b".repeat(700)]);
    let a = h.cat("2/args");
    assert_eq!(a.len(), 1023);
    assert_eq!(a[..701], *format!("{} ", "a".repeat(700)).as_bytes());
}

/// 9front procwrite Qnoteid: a group nobody is in is `bad arg in system call`, as is a
/// value ≤ 0; a group of another user's process is `permission denied`.
#[test]
fn noteid_write_missing_group_bad_arg_other_user_permission_denied() {
    let mut h = H::new(EVE);
    let fid = h.open_path("2/noteid", OWRITE);
    assert_eq!(ename(&h.write(fid, 0, b"-5")), err::EBADARG);
    assert_eq!(ename(&h.write(fid, 0, b"0")), err::EBADARG);
    assert_eq!(ename(&h.write(fid, 0, b"4242")), err::EBADARG);
    assert_eq!(written(&h.write(fid, 0, b"2")), 1, "its own pid");
    // glenda's process 3 may not join eve's group 12 (pid 12 leads it).
    let mut g = H::new(GLENDA);
    let fid = g.open_path("3/noteid", OWRITE);
    assert_eq!(ename(&g.write(fid, 0, b"12")), err::EPERM);
    assert_eq!(ename(&g.write(fid, 0, b"4242")), err::EBADARG);
}

/// §1.4 profile / §2.2 profile: off until ctl `profile`, then 4-byte counters, one per 8
/// bytes of text (the stat length says how many), and `segment` flags the text `P`.
#[test]
fn profile_off_then_counters_per_8_bytes_of_text() {
    let mut h = H::new(EVE);
    let fid = h.open_path("2/profile", OREAD);
    assert_eq!(ename(&h.read(fid, 0, 100)), err::EPROFILE);
    assert_eq!(written(&h.ctl(2, "profile")), 7);
    let c = h.cat("2/profile");
    assert_eq!(c.len() as u64, TEXT_SIZE / 8 * 4);
    assert!(c.iter().all(|&b| b == 0));
    let st = h.walk_ok("2/profile");
    match h.send(Tstat { fid: Fid(st) }) {
        Rmsg::Stat(s) => assert_eq!(s.stat.length, TEXT_SIZE / 8 * 4),
        r => panic!("{r:?}"),
    }
    let seg = h.cat_str("2/segment");
    assert!(seg.lines().any(|l| l.starts_with("Text   RP ")), "{seg}");
}

/// §1.4 kfpregs: read-only, and a Linux guest's process never has the kernel FP state saved
/// (`process has no saved registers`).
#[test]
fn kfpregs_oread_only_no_saved_registers() {
    let mut h = H::new(EVE);
    assert_eq!(ename(&h.try_open("2/kfpregs", OWRITE)), err::EPERM);
    let fid = h.open_path("2/kfpregs", OREAD);
    assert_eq!(ename(&h.read(fid, 0, 100)), err::ENOREG);
}

/// §1.4 watchpt: lines in 9front's format, the stat length 42 per entry, appended at a
/// nonzero offset, replaced at 0, validated whole, cleared by an OTRUNC open.
#[test]
fn watchpt_write_read_append_truncate() {
    let mut h = H::new(EVE);
    let fid = h.open_path("2/watchpt", ORDWR);
    assert_eq!(written(&h.write(fid, 0, b"rw 0x401000 4\n")), 14);
    assert_eq!(written(&h.write(fid, 14, b"x 4198400 1\n")), 12);
    let want = "rw- 0x0000000000401000 0x0000000000000004\n\
                --x 0x0000000000401000 0x0000000000000001\n";
    assert_eq!(h.cat_str("2/watchpt"), want);
    let st = h.walk_ok("2/watchpt");
    match h.send(Tstat { fid: Fid(st) }) {
        Rmsg::Stat(s) => assert_eq!(s.stat.length, 84),
        r => panic!("{r:?}"),
    }
    assert_eq!(
        ename(&h.write(fid, 0, b"r 0x1000 4\nzz 0x2000 4\n")),
        "invalid type"
    );
    assert_eq!(
        h.cat_str("2/watchpt"),
        want,
        "a failed write changes nothing"
    );
    let t = h.walk_ok("2/watchpt");
    assert!(matches!(h.open(t, OWRITE | 0x10), Rmsg::Open(_)));
    assert_eq!(h.cat_str("2/watchpt"), "");
}

/// §1.4 wait: one reader at a time (`device or object already in use`), and records come
/// newest first (pexit pushes at the head).
#[test]
fn wait_second_reader_in_use_records_newest_first() {
    let mut h = H::new(EVE);
    let fid = h.open_path("1/wait", OREAD);
    data(&h.read(fid, 0, IOUNIT));
    data(&h.read(fid, 0, IOUNIT));
    let b = h.blocked(Tread {
        fid: Fid(fid),
        offset: 0,
        count: IOUNIT,
    });
    let other = h.open_path("1/wait", OREAD);
    assert_eq!(ename(&h.read(other, 0, IOUNIT)), err::EINUSE);
    let out = h.flush(b);
    assert!(matches!(&out[..], [(_, Rmsg::Flush(_))]), "{out:?}");
    h.fake.exit(Pid(2), "");
    h.fake.exit(Pid(3), "");
    let first = String::from_utf8(data(&h.read(other, 0, IOUNIT))).expect("text");
    assert!(first.starts_with("3 "), "newest first: {first:?}");
    let second = String::from_utf8(data(&h.read(other, 0, IOUNIT))).expect("text");
    assert!(second.starts_with("2 "), "{second:?}");
}

/// §1.3: status, ppid, proc, kregs, segment, ns and fd open OREAD only.
#[test]
fn open_read_only_files_for_writing_permission_denied() {
    let mut h = H::new(EVE);
    for f in ["status", "ppid", "proc", "kregs", "segment", "ns", "fd"] {
        for mode in [OWRITE, ORDWR] {
            let r = h.try_open(&format!("2/{f}"), mode);
            assert_eq!(ename(&r), err::EPERM, "{f} mode {mode}");
        }
    }
    // OEXEC is a read open (sysfile.c openmode), so eve may open its own ctl with it.
    assert!(matches!(h.try_open("2/ctl", OEXEC), Rmsg::Open(_)));
    assert!(matches!(h.try_open("2/status", OREAD), Rmsg::Open(_)));
}

/// §1.2 devpermcheck: owner bits for the owner, group bits for eve, other bits for the rest;
/// with procmode 0640 eve may only read another user's ctl, and others nothing.
#[test]
fn open_other_users_ctl_permission_by_class() {
    let mut eve = H::new(EVE);
    assert!(matches!(eve.try_open("3/ctl", OREAD), Rmsg::Open(_)));
    assert_eq!(ename(&eve.try_open("3/ctl", OWRITE)), err::EPERM);
    assert_eq!(ename(&eve.try_open("3/mem", ORDWR)), err::EPERM);
    assert_eq!(ename(&eve.try_open("3/note", OWRITE)), err::EPERM);
    let mut glenda = H::new(GLENDA);
    assert_eq!(ename(&glenda.try_open("1/ctl", OWRITE)), err::EPERM);
    assert_eq!(ename(&glenda.try_open("1/ctl", OREAD)), err::EPERM);
    assert!(matches!(glenda.try_open("3/ctl", ORDWR), Rmsg::Open(_)));
    // 0444 files are readable by anyone.
    assert!(matches!(glenda.try_open("1/status", OREAD), Rmsg::Open(_)));
    let mut bob = H::new("bob");
    assert_eq!(ename(&bob.try_open("3/ctl", OWRITE)), err::EPERM);
    // `none` may open nothing of another process.
    let mut none = H::new("none");
    assert_eq!(ename(&none.try_open("1/status", OREAD)), err::EPERM);
}

/// §2.2 private: mem, regs, fpregs, profile and syscall opens fail from then on.
#[test]
fn ctl_private_then_open_mem_permission_denied() {
    let mut h = H::new(EVE);
    assert!(matches!(h.try_open("2/mem", OREAD), Rmsg::Open(_)));
    assert_eq!(written(&h.ctl(2, "private")), 7);
    for f in ["mem", "regs", "fpregs", "profile", "syscall"] {
        assert_eq!(
            ename(&h.try_open(&format!("2/{f}"), OREAD)),
            err::EPERM,
            "{f}"
        );
    }
    assert!(matches!(h.try_open("2/ctl", OWRITE), Rmsg::Open(_)));
    assert!(matches!(h.try_open("2/status", OREAD), Rmsg::Open(_)));
}

/// §2.1: the parse errors, with the fields re-quoted.
#[test]
fn ctl_parse_errors_exact_strings() {
    let mut h = H::new(EVE);
    let fid = h.open_path("2/ctl", OWRITE);
    let cases: [(&[u8], &str); 7] = [
        (b"", "empty control message"),
        (b"\n", "empty control message"),
        (b"frob", "unknown control message \"frob\""),
        (b"frob 'a b'\n", "unknown control message \"frob 'a b'\""),
        (b"stop now", "wrong #args in control message \"stop now\""),
        (b"close", "wrong #args in control message \"close\""),
        (b"trace 1 2", "args"),
    ];
    for (msg, want) in cases {
        assert_eq!(ename(&h.write(fid, 0, msg)), want, "{msg:?}");
    }
}

/// §1.4 note write: the length must be < ERRMAX (128).
#[test]
fn note_write_128_bytes_read_or_write_too_large() {
    let mut h = H::new(EVE);
    let fid = h.open_path("2/note", ORDWR);
    assert_eq!(ename(&h.write(fid, 0, &[b'n'; ERRMAX])), err::ETOOBIG);
    assert_eq!(written(&h.write(fid, 0, &[b'n'; ERRMAX - 1])), 127);
    let d = data(&h.read(fid, 0, 200));
    assert_eq!(d.len(), 128, "127 bytes and the NUL");
    assert_eq!(d[127], 0);
}

/// §1.4 note read: count ≥ 1, else `read or write too small`.
#[test]
fn note_read_count_zero_read_or_write_too_small() {
    let mut h = H::new(EVE);
    let fid = h.open_path("2/note", OREAD);
    assert_eq!(ename(&h.read(fid, 0, 0)), err::ETOOSMALL);
}

/// §1.4 note read: the oldest note plus a NUL, removed; cut to count-1 and the NUL; an empty
/// queue reads 0 bytes at once.
#[test]
fn note_read_returns_note_and_nul_then_empty() {
    let mut h = H::new(EVE);
    let fid = h.open_path("2/note", ORDWR);
    assert!(data(&h.read(fid, 0, 128)).is_empty());
    assert_eq!(written(&h.write(fid, 0, b"hangup")), 6);
    assert_eq!(written(&h.write(fid, 0, b"interrupt")), 9);
    assert_eq!(data(&h.read(fid, 0, 128)), b"hangup\0");
    assert_eq!(data(&h.read(fid, 0, 4)), b"int\0");
    assert!(
        data(&h.read(fid, 0, 128)).is_empty(),
        "the cut note is gone"
    );
}

/// §2.3: NNOTE = 5; the sixth is `note not posted`, as is any note to a Broken process.
#[test]
fn note_sixth_posted_note_not_posted() {
    let mut h = H::new(EVE);
    assert_eq!(NNOTE, 5);
    let fid = h.open_path("2/note", ORDWR);
    for i in 0..5 {
        assert_eq!(written(&h.write(fid, 0, format!("n{i}").as_bytes())), 2);
    }
    assert_eq!(ename(&h.write(fid, 0, b"n5")), err::ENONOTE);
    assert_eq!(data(&h.read(fid, 0, 128)), b"n0\0");
    assert_eq!(written(&h.write(fid, 0, b"n5")), 2);
    let broken = h.open_path("6/note", OWRITE);
    assert_eq!(ename(&h.write(broken, 0, b"hangup")), err::ENONOTE);
}

/// §1.3 notepg: write-only; a write posts to every process of the note group remembered at
/// open.
#[test]
fn notepg_open_for_reading_permission_denied() {
    let mut h = H::new(EVE);
    assert_eq!(ename(&h.try_open("2/notepg", OREAD)), err::EPERM);
    assert_eq!(ename(&h.try_open("2/notepg", ORDWR)), err::EPERM);
    let fid = h.open_path("2/notepg", OWRITE);
    assert_eq!(written(&h.write(fid, 0, b"hangup")), 6);
    // Group 1 is sh, echo, wc and the forked sh (the Broken crash takes no notes).
    for pid in [1, 2, 3, 7] {
        let n = h
            .fake
            .with_proc(Pid(pid), |p| p.notes.clone())
            .expect("live");
        assert_eq!(n, ["hangup"], "pid {pid}");
    }
    for pid in [12, 10, 6] {
        let n = h.fake.with_proc(Pid(pid), |p| p.notes.len()).expect("live");
        assert_eq!(n, 0, "pid {pid}");
    }
}

/// §1.3 notepg: the open remembers the note group; writes go to it even after the process
/// has left the group or exited.
#[test]
fn notepg_write_after_process_exits_posts_to_remembered_group() {
    let mut h = H::new(EVE);
    let fid = h.open_path("2/notepg", OWRITE);
    // echo moves to a group of its own, then exits.
    let noteid = h.open_path("2/noteid", OWRITE);
    assert_eq!(written(&h.write(noteid, 0, b"2")), 1);
    h.fake.exit(Pid(2), "");
    assert_eq!(written(&h.write(fid, 0, b"hangup")), 6);
    assert_eq!(ename(&h.write(fid, 0, &[b'n'; ERRMAX])), err::ETOOBIG);
    for pid in [1, 3, 7] {
        let n = h
            .fake
            .with_proc(Pid(pid), |p| p.notes.clone())
            .expect("live");
        assert_eq!(n, ["hangup"], "pid {pid}");
    }
}

/// §1.5: Twstat on a directory is `permission denied`.
#[test]
fn wstat_pid_dir_permission_denied() {
    let mut h = H::new(EVE);
    for path in ["2", ""] {
        let fid = h.walk_ok(path);
        let r = h.send(Twstat {
            fid: Fid(fid),
            stat: Stat {
                mode: DMDIR | 0o700,
                ..dont_touch()
            },
        });
        assert_eq!(ename(&r), err::EPERM, "{path:?}");
    }
}

/// §1.5: a wstat of mode by the owner sets procmode, the default mode of all the process's
/// files; a non-owner non-eve is refused.
#[test]
fn wstat_mode_sets_procmode_of_every_file() {
    let mut h = H::new(EVE);
    let fid = h.walk_ok("2/ctl");
    let r = h.send(Twstat {
        fid: Fid(fid),
        stat: Stat {
            mode: 0o604,
            ..dont_touch()
        },
    });
    assert!(matches!(r, Rmsg::Wstat(_)), "{r:?}");
    let modes: Vec<(String, u32)> = h
        .ls("2")
        .into_iter()
        .map(|s| (s.name, s.mode))
        .filter(|(n, _)| ["ctl", "mem", "args", "status", "wait"].contains(&n.as_str()))
        .collect();
    let want = [
        ("args", 0o664),
        ("ctl", 0o604),
        ("mem", 0o604),
        ("status", 0o444),
        ("wait", 0o404),
    ];
    assert_eq!(
        modes,
        want.map(|(n, m)| (n.to_string(), m)).to_vec(),
        "perm | procmode&0444, or procmode"
    );
    // Now others may read eve's ctl.
    let mut bob = H::with(h.fake.clone(), "bob");
    assert!(matches!(bob.try_open("2/ctl", OREAD), Rmsg::Open(_)));
    let fid = bob.walk_ok("2/ctl");
    let r = bob.send(Twstat {
        fid: Fid(fid),
        stat: Stat {
            mode: 0o666,
            ..dont_touch()
        },
    });
    assert_eq!(ename(&r), err::EPERM);
}

/// §1.5, §4.4 remove: always `permission denied`, and the fid is clunked all the same.
#[test]
fn remove_any_file_permission_denied_fid_clunked() {
    let mut h = H::new(EVE);
    for path in ["2/ctl", "2", "trace"] {
        let fid = h.walk_ok(path);
        assert_eq!(ename(&h.send(Tremove { fid: Fid(fid) })), err::EPERM);
        assert_eq!(ename(&h.send(Tstat { fid: Fid(fid) })), "unknown fid");
    }
}

/// §1.4 regs/fpregs: `process has no saved registers` until the process has entered the
/// kernel (pid 7 forked and never ran).
#[test]
fn regs_without_saved_registers_no_saved_registers() {
    let mut h = H::new(EVE);
    let regs = h.open_path("7/regs", ORDWR);
    assert_eq!(ename(&h.read(regs, 0, 184)), err::ENOREG);
    assert_eq!(ename(&h.write(regs, 144, &[0; 8])), err::ENOREG);
    let fp = h.open_path("7/fpregs", OREAD);
    assert_eq!(ename(&h.read(fp, 0, 832)), err::ENOREG);
    // kregs is a zero image regardless.
    let k = h.open_path("7/kregs", OREAD);
    assert_eq!(data(&h.read(k, 0, 1000)), [0u8; 184]);
}

/// §1.3, §3.1: text opens as the executable: Ropen carries its qid, not the /proc file's,
/// and reads give its bytes. Only OREAD.
#[test]
fn text_open_returns_executable_qid_and_bytes() {
    let mut h = H::new(EVE);
    let fid = h.walk_ok("2/text");
    let opened = match h.open(fid, OREAD) {
        Rmsg::Open(o) => o.qid,
        r => panic!("{r:?}"),
    };
    let exe = text_of("echo");
    assert_eq!(opened, exe.qid);
    assert_ne!(
        opened.path,
        (2 << 5) | super::Q::Text as u64,
        "not the /proc/2/text qid"
    );
    let mut bytes = data(&h.read(fid, 0, 8));
    bytes.extend(data(&h.read(fid, 8, IOUNIT)));
    assert_eq!(bytes, &exe.bytes[..]);
    assert!(data(&h.read(fid, bytes.len() as u64, IOUNIT)).is_empty());
    // Once open, the fid is the executable's channel: its stat describes the binary, as
    // acid's checkqid expects (§1.3, §3.1).
    match h.send(Tstat { fid: Fid(fid) }) {
        Rmsg::Stat(s) => assert_eq!(
            (s.stat.qid, s.stat.length),
            (exe.qid, exe.bytes.len() as u64)
        ),
        r => panic!("{r:?}"),
    }
    assert_eq!(ename(&h.try_open("2/text", ORDWR)), err::EPERM);
    // The /proc entry itself: length 0 until opened (§5.7).
    let f = h.walk_ok("2/text");
    match h.send(Tstat { fid: Fid(f) }) {
        Rmsg::Stat(s) => {
            assert_eq!(
                (s.stat.length, s.stat.qid.path),
                (0, (2 << 5) | super::Q::Text as u64)
            );
        }
        r => panic!("{r:?}"),
    }
}

/// §1.3 trace: eve only, OREAD only, one open at a time (`already open`).
#[test]
fn trace_second_open_already_open() {
    let mut h = H::new(EVE);
    let first = h.open_path("trace", OREAD);
    assert_eq!(ename(&h.try_open("trace", OREAD)), err::EALREADY_OPEN);
    assert_eq!(ename(&h.try_open("trace", OWRITE)), err::EPERM);
    h.clunk(first);
    assert!(matches!(h.try_open("trace", OREAD), Rmsg::Open(_)));
    let mut glenda = H::new(GLENDA);
    assert_eq!(ename(&glenda.try_open("trace", OREAD)), err::EPERM);
}

// ---- registers ----

/// §1.6 amd64 Ureg: 184 bytes; ax 0, bx 8, …, r15 112, type 128, error 136, pc 144, cs 152,
/// flags 160, sp 168, ss 176.
#[test]
fn regs_amd64_image_offsets_match_ureg() {
    let mut h = H::new(EVE);
    let fid = h.open_path("2/regs", OREAD);
    let b = data(&h.read(fid, 0, 4096));
    assert_eq!(b.len(), 184);
    let Regs::Amd64 { gpr, pc, sp, .. } = regs_of(Arch::X86_64, Pid(2)) else {
        panic!("arch")
    };
    assert_eq!(le64(&b, 0), gpr.ax);
    assert_eq!(le64(&b, 0), 0xa2);
    assert_eq!(le64(&b, 8), 0xb0, "bx");
    assert_eq!(le64(&b, 48), 0xb9, "bp");
    assert_eq!(le64(&b, 56), 0x108, "r8");
    assert_eq!(le64(&b, 112), 0x10f, "r15");
    assert_eq!(le64(&b, 128), 64, "type: VectorSYSCALL");
    assert_eq!(le64(&b, 144), pc);
    assert_eq!(le64(&b, 144), 0x40_0102);
    assert_eq!(le64(&b, 152), 0x33, "cs");
    assert_eq!(le64(&b, 160), 0x246, "flags");
    assert_eq!(le64(&b, 168), sp);
    assert_eq!(le64(&b, 168), 0x7fff_ffff_ef00);
    assert_eq!(le64(&b, 176), 0x2b, "ss");
    // Clipped reads; an offset at the end reads 0.
    assert_eq!(data(&h.read(fid, 144, 8)), 0x40_0102u64.to_le_bytes());
    assert_eq!(data(&h.read(fid, 180, 100)).len(), 4);
    assert!(data(&h.read(fid, 184, 100)).is_empty());
    // A page fault leaves type 14 (the Broken crash).
    let fid = h.open_path("6/regs", OREAD);
    let b = data(&h.read(fid, 0, 184));
    assert_eq!((le64(&b, 128), le64(&b, 144)), (14, 0x401234));
}

/// §1.4 regs write: bytes at the offset, then setregisters' clean-up; no Stopped check.
#[test]
fn regs_write_pc_at_144_reaches_set_regs() {
    let mut h = H::new(EVE);
    let fid = h.open_path("2/regs", ORDWR);
    assert_eq!(written(&h.write(fid, 144, &0x40_0180u64.to_le_bytes())), 8);
    let log = h.fake.set_regs_log();
    assert_eq!(log.len(), 1);
    let mut want = regs_of(Arch::X86_64, Pid(2));
    if let Regs::Amd64 { pc, .. } = &mut want {
        *pc = 0x40_0180;
    }
    assert_eq!(log[0], (Pid(2), want));
    assert_eq!(data(&h.read(fid, 144, 8)), 0x40_0180u64.to_le_bytes());
    // A kernel pc is masked to user space; cs cannot be changed; a write past the end is
    // clipped to the image.
    assert_eq!(
        written(&h.write(fid, 144, &0xffff_8000_0040_0200u64.to_le_bytes())),
        8
    );
    assert_eq!(written(&h.write(fid, 152, &0x8u64.to_le_bytes())), 8);
    assert_eq!(written(&h.write(fid, 180, &[0xee; 8])), 4);
    let b = data(&h.read(fid, 0, 184));
    assert_eq!(le64(&b, 144), 0x40_0200);
    assert_eq!(le64(&b, 152), 0x33);
    assert_eq!(
        le64(&b, 176),
        0x2b,
        "the clipped write hit ss, which is kept"
    );
    // No Stopped check for regs: sh is blocked in await.
    let sh = h.open_path("1/regs", ORDWR);
    assert_eq!(written(&h.write(sh, 0, &7u64.to_le_bytes())), 8);
    assert!(
        matches!(h.fake.set_regs_log().last(), Some((Pid(1), Regs::Amd64 { gpr, .. })) if gpr.ax == 7)
    );
}

/// §1.6 arm64 Ureg (280: r0…r30, sp 248, pc 256, psr 264, type 272) and riscv64 (296: pc
/// in word 0, r1 link, r2 sp, status 256, ie 264, cause 272, tval 280, curmode 288).
#[test]
fn regs_arm64_and_riscv64_images() {
    let mut h = H::new(EVE);
    let fid = h.open_path("10/regs", OREAD);
    let b = data(&h.read(fid, 0, 4096));
    assert_eq!(b.len(), 280);
    assert_eq!(le64(&b, 0), 0x1000, "r0");
    assert_eq!(le64(&b, 240), 0x1000 + 30, "r30 link");
    assert_eq!(le64(&b, 248), 0xffff_ffff_ef00, "sp");
    assert_eq!(le64(&b, 256), 0x40_0200, "pc");
    assert_eq!(le64(&b, 264), 0x6000_0000, "psr");
    assert_eq!(le64(&b, 272), 0x15, "type");
    let fid = h.open_path("10/fpregs", OREAD);
    assert_eq!(data(&h.read(fid, 0, 4096)).len(), 520);

    let fid = h.open_path("12/regs", OREAD);
    let b = data(&h.read(fid, 0, 4096));
    assert_eq!(b.len(), 296);
    assert_eq!(le64(&b, 0), 0x1_0300, "pc in word 0");
    assert_eq!(le64(&b, 8), 0x1_0100, "r1 link");
    assert_eq!(le64(&b, 16), 0x3f_ffff_ef00, "r2 sp");
    assert_eq!(le64(&b, 24), 0x2003, "r3");
    assert_eq!(le64(&b, 248), 0x2000 + 31, "r31");
    assert_eq!(le64(&b, 256), 0x2_0000_4020, "status");
    assert_eq!(le64(&b, 272), 8, "cause");
    // A write of the pc goes to word 0.
    let fid = h.open_path("12/regs", ORDWR);
    assert_eq!(written(&h.write(fid, 0, &0x1_0400u64.to_le_bytes())), 8);
    assert!(matches!(
        h.fake.set_regs_log().last(),
        Some((Pid(12), Regs::Riscv64 { pc: 0x1_0400, .. }))
    ));
}

// ---- ctl: the state machine, carried out by the fake ----

/// The fake's state for a conformance-table state (Live: Ready).
fn fake_state(s: CtlState) -> ProcState {
    match s {
        CtlState::Live => ProcState::Ready,
        CtlState::Stopped => ProcState::Stopped,
        CtlState::Broken => ProcState::Broken,
    }
}

/// Write `msg` as eve to pid 10 (cat, owned by eve) in `state`: what the client saw, and one
/// row `state | message | result` with the changes the fake made.
fn ctl_row(state: CtlState, msg: &str) -> (Expect, String) {
    let fake = Fake::new();
    let pid = Pid(10);
    fake.set_state(pid, fake_state(state));
    let mut h = H::with(fake, EVE);
    let before = h.fake.summary(pid).expect("live");
    let fid = h.open_path("10/ctl", OWRITE);
    let result = match h.send_async(Twrite {
        fid: Fid(fid),
        offset: 0,
        data: msg.as_bytes().to_vec(),
    }) {
        Outcome::Replied(Rmsg::Write(w)) => {
            assert_eq!(w.count as usize, msg.len());
            Ok("ok".to_string())
        }
        Outcome::Replied(Rmsg::Error(e)) => Err(e.ename),
        Outcome::Replied(r) => panic!("{r:?}"),
        Outcome::Blocked(b) => {
            let out = h.flush(b);
            assert!(matches!(&out[..], [(_, Rmsg::Flush(_))]), "{out:?}");
            Ok("blocks until Stopped; Tflush → Rflush".to_string())
        }
    };
    // The state as a client sees it, through status.
    let after_state = match h.walk("10/status") {
        (fid, Rmsg::Walk(w)) if w.wqid.len() == 2 => {
            h.open(fid, OREAD);
            let s = String::from_utf8(data(&h.read(fid, 0, IOUNIT))).expect("text");
            s.split_whitespace().nth(2).expect("state").to_string()
        }
        _ => "exited".to_string(),
    };
    let after = match after_state.as_str() {
        "Stopped" => After::Stopped,
        "Broken" => After::Broken,
        "exited" => After::Exited,
        _ => After::Live,
    };
    let seen = match &result {
        Ok(r) if r.starts_with("blocks") => Expect::Waits,
        Ok(_) => Expect::Ok(after),
        // Compared by value below; the oracle's strings are 'static.
        Err(e) => Expect::Err(match ctlcases::expected(state, msg) {
            Expect::Err(want) if want == e => want,
            _ => "(an unexpected error)",
        }),
    };
    let changes = match h.fake.summary(pid) {
        None => String::new(),
        Some(after) => before
            .iter()
            .zip(&after)
            .filter(|(b, a)| b.1 != a.1 && b.0 != "state")
            .map(|(b, a)| format!("{} {}→{}", b.0, b.1, a.1))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let was_state = fake_state(state);
    let was = super::format::state_name(&was_state);
    let mut row = format!("{:<8} | {:<14} | ", was, text::quote(msg));
    match result {
        Ok(r) => {
            row.push_str(&format!("{r} → {after_state}"));
            if !changes.is_empty() {
                row.push_str(&format!(" ({changes})"));
            }
        }
        Err(e) => {
            row.push_str(&e);
            assert_eq!(after_state, was, "an error changes nothing: {msg:?}");
            assert!(
                changes.is_empty(),
                "an error changes nothing: {msg:?} {changes}"
            );
        }
    }
    (seen, row)
}

/// §2.1, §2.2, §5.9: the fake carries out every ctl message in Ready, Stopped and Broken as
/// the conformance table (crate::ctlcases, from the reference) says; the snapshot adds the
/// changes the fake made to its own table (flags, fds, notes).
#[test]
fn ctl_fake_each_message_in_each_state_follows_conformance_table() {
    let mut table = String::from("state    | message        | result\n");
    for &state in &ctlcases::STATES {
        for &msg in ctlcases::MESSAGES {
            let (seen, row) = ctl_row(state, msg);
            assert_eq!(seen, ctlcases::expected(state, msg), "{row}");
            table.push_str(&row);
            table.push('\n');
        }
    }
    insta::assert_snapshot!(table);
}

/// §2.2 pri: above PriNormal (10) needs eve: glenda, owner of wc, is refused.
#[test]
fn ctl_pri_above_normal_not_eve_permission_denied() {
    let mut h = H::new(GLENDA);
    assert_eq!(ename(&h.ctl(3, "pri 20")), err::EPERM);
    assert_eq!(ename(&h.ctl(3, "fixedpri 11")), err::EPERM);
    assert_eq!(written(&h.ctl(3, "pri 5")), 5);
}

/// §2.2 waitstop: blocks until the process is Stopped, then answers.
#[test]
fn ctl_waitstop_blocks_until_stopped() {
    let mut h = H::new(EVE);
    let b = h.blocked_waitstop("10/ctl");
    // Another debugger waiting on the same process: in use.
    let other = h.open_path("10/ctl", OWRITE);
    assert_eq!(ename(&h.write(other, 0, b"waitstop")), err::EINUSE);
    h.note("pid 10 stops");
    h.fake.set_state(Pid(10), ProcState::Stopped);
    let out = h.finish(b);
    assert!(
        matches!(&out[..], [(_, Rmsg::Write(w))] if w.count == 8),
        "{out:?}"
    );
    insta::assert_snapshot!(h.transcript());
}

/// §5.3: a waitstop whose process exits ends with `process exited`.
#[test]
fn ctl_waitstop_process_exits_process_exited() {
    let mut h = H::new(EVE);
    let b = h.blocked_waitstop("10/ctl");
    h.fake.exit(Pid(10), "");
    let out = h.finish(b);
    assert!(
        matches!(&out[..], [(_, Rmsg::Error(e))] if e.ename == err::EPROCDIED),
        "{out:?}"
    );
}

/// §1.4 wait, §5.4: a read with no record blocks until a child exits; Tflush cancels it.
#[test]
fn wait_read_blocks_until_child_exits() {
    let mut h = H::new(EVE);
    let fid = h.open_path("1/wait", OREAD);
    data(&h.read(fid, 0, IOUNIT));
    data(&h.read(fid, 0, IOUNIT));
    let b = h.blocked(Tread {
        fid: Fid(fid),
        offset: 0,
        count: IOUNIT,
    });
    h.note("echo (pid 2) is killed");
    assert_eq!(written(&h.ctl(2, "kill")), 4);
    let out = h.finish(b);
    assert!(
        matches!(&out[..], [(_, Rmsg::Read(r))] if r.data == b"2 1 1 30 'echo 2: Killed'"),
        "{out:?}"
    );
    let b = h.blocked(Tread {
        fid: Fid(fid),
        offset: 0,
        count: IOUNIT,
    });
    let out = h.flush(b);
    assert!(matches!(&out[..], [(_, Rmsg::Flush(_))]), "{out:?}");
    insta::assert_snapshot!(h.transcript());
}

/// §2.2 pri: eve may raise a priority above PriNormal; status shows it as base and
/// current priority (9front procpriority sets both).
#[test]
fn ctl_pri_above_normal_as_eve_sets_both_priorities() {
    let mut h = H::new(EVE);
    assert_eq!(written(&h.ctl(2, "pri 15")), 6);
    let s = h.cat_str("2/status");
    assert!(s.ends_with(&format!("{:>11} {:>11}\n", 15, 15)), "{s:?}");
    assert_eq!(PRI_NORMAL, 10, "PriNormal (9front port/portdat.h)");
}
