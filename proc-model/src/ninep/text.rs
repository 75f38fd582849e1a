//! One readable line per 9P2000 message, for transcripts and debugging, in the spirit of
//! Plan 9's fcallfmt (lib9p `fcall(2)`): `Twalk tag 1 fid 0 newfid 1 nwname 2 [a b]`,
//! `Rerror tag 1 'file does not exist'`. Qids print as `(path vers type)` and modes as
//! `d-rwxr-xr-x`, as Plan 9 does.

use super::fs::{Qid, Stat, DMAPPEND, DMDIR, DMEXCL, ORCLOSE, OTRUNC, QTAPPEND, QTDIR, QTEXCL};
use super::msg::{Rmsg, Tmsg};
use super::wire::Tag;
use std::fmt::Write;

/// Bytes of read/write data shown before `...`.
const DATA_SHOWN: usize = 48;

/// A quoted string with non-printing characters escaped.
pub fn quote(s: &str) -> String {
    quote_bytes(s.as_bytes(), usize::MAX)
}

/// Quote up to `max` bytes: printable ASCII as is, `'` and `\` escaped, the rest as `\xNN`.
pub fn quote_bytes(b: &[u8], max: usize) -> String {
    let mut s = String::from("'");
    for &c in b.iter().take(max) {
        match c {
            b'\'' => s.push_str("\\'"),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\x{c:02x}");
            }
        }
    }
    s.push('\'');
    if b.len() > max {
        s.push_str("...");
    }
    s
}

/// `(path vers type)` with the type letters of Plan 9's qid format: d, a, l.
pub fn qid(q: &Qid) -> String {
    let mut t = String::new();
    for (bit, c) in [(QTDIR, 'd'), (QTAPPEND, 'a'), (QTEXCL, 'l')] {
        if q.ty & bit != 0 {
            t.push(c);
        }
    }
    let other = q.ty & !(QTDIR | QTAPPEND | QTEXCL);
    if other != 0 {
        let _ = write!(t, "{other:#x}");
    }
    format!(
        "({:016x} {} {})",
        q.path,
        q.vers,
        if t.is_empty() { "f" } else { &t }
    )
}

/// `d-rwxr-xr-x` (ls(1) style, as Plan 9's dirmodefmt), `a`/`l` for append/exclusive.
pub fn mode(m: u32) -> String {
    let mut s = String::new();
    s.push(if m & DMDIR != 0 {
        'd'
    } else if m & DMAPPEND != 0 {
        'a'
    } else if m & DMEXCL != 0 {
        'l'
    } else {
        '-'
    });
    s.push('-');
    for shift in [6, 3, 0] {
        let bits = (m >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// Open mode as OREAD/OWRITE/ORDWR/OEXEC with |OTRUNC, |ORCLOSE and any other bits in hex.
pub fn open_mode(m: u8) -> String {
    let mut s = String::from(["OREAD", "OWRITE", "ORDWR", "OEXEC"][(m & 3) as usize]);
    if m & OTRUNC != 0 {
        s.push_str("|OTRUNC");
    }
    if m & ORCLOSE != 0 {
        s.push_str("|ORCLOSE");
    }
    let other = m & !(3 | OTRUNC | ORCLOSE);
    if other != 0 {
        let _ = write!(s, "|{other:#x}");
    }
    s
}

/// A stat record on one line: `'name' 'uid' 'gid' 'muid' q (…) m d-r-xr-xr-x at 0 mt 0 l 0 t 0 d 0`.
pub fn stat(d: &Stat) -> String {
    format!(
        "{} {} {} {} q {} m {} at {} mt {} l {} t {} d {}",
        quote(&d.name),
        quote(&d.uid),
        quote(&d.gid),
        quote(&d.muid),
        qid(&d.qid),
        mode(d.mode),
        d.atime,
        d.mtime,
        d.length,
        d.ty,
        d.dev
    )
}

/// One line for a request.
pub fn tmsg(tag: Tag, m: &Tmsg) -> String {
    let body = match m {
        Tmsg::Version(t) => format!("msize {} version {}", t.msize, quote(&t.version)),
        Tmsg::Auth(t) => format!(
            "afid {} uname {} aname {}",
            t.afid,
            quote(&t.uname),
            quote(&t.aname)
        ),
        Tmsg::Attach(t) => {
            format!(
                "fid {} afid {} uname {} aname {}",
                t.fid,
                t.afid,
                quote(&t.uname),
                quote(&t.aname)
            )
        }
        Tmsg::Flush(t) => format!("oldtag {}", t.oldtag),
        Tmsg::Walk(t) => {
            let names: Vec<String> = t
                .wname
                .iter()
                .map(|n| {
                    if n.is_empty() || n.contains([' ', '\'', ']']) {
                        quote(n)
                    } else {
                        n.clone()
                    }
                })
                .collect();
            format!(
                "fid {} newfid {} nwname {} [{}]",
                t.fid,
                t.newfid,
                t.wname.len(),
                names.join(" ")
            )
        }
        Tmsg::Open(t) => format!("fid {} mode {}", t.fid, open_mode(t.mode)),
        Tmsg::Create(t) => {
            format!(
                "fid {} name {} perm {} mode {}",
                t.fid,
                quote(&t.name),
                mode(t.perm),
                open_mode(t.mode)
            )
        }
        Tmsg::Read(t) => format!("fid {} offset {} count {}", t.fid, t.offset, t.count),
        Tmsg::Write(t) => format!(
            "fid {} offset {} count {} {}",
            t.fid,
            t.offset,
            t.data.len(),
            quote_bytes(&t.data, DATA_SHOWN)
        ),
        Tmsg::Clunk(t) => format!("fid {}", t.fid),
        Tmsg::Remove(t) => format!("fid {}", t.fid),
        Tmsg::Stat(t) => format!("fid {}", t.fid),
        Tmsg::Wstat(t) => format!("fid {} stat {}", t.fid, stat(&t.stat)),
    };
    format!("{} tag {} {}", m.name(), tag, body)
}

/// One line for a reply.
pub fn rmsg(tag: Tag, m: &Rmsg) -> String {
    let body = match m {
        Rmsg::Version(r) => format!(" msize {} version {}", r.msize, quote(&r.version)),
        Rmsg::Auth(r) => format!(" aqid {}", qid(&r.aqid)),
        Rmsg::Attach(r) => format!(" qid {}", qid(&r.qid)),
        Rmsg::Error(r) => format!(" {}", quote(&r.ename)),
        Rmsg::Walk(r) => {
            let q: Vec<String> = r.wqid.iter().map(qid).collect();
            format!(" nwqid {} [{}]", r.wqid.len(), q.join(" "))
        }
        Rmsg::Open(r) => format!(" qid {} iounit {}", qid(&r.qid), r.iounit),
        Rmsg::Create(r) => format!(" qid {} iounit {}", qid(&r.qid), r.iounit),
        Rmsg::Read(r) => format!(
            " count {} {}",
            r.data.len(),
            quote_bytes(&r.data, DATA_SHOWN)
        ),
        Rmsg::Write(r) => format!(" count {}", r.count),
        Rmsg::Stat(r) => format!(" stat {}", stat(&r.stat)),
        Rmsg::Flush(_) | Rmsg::Clunk(_) | Rmsg::Remove(_) | Rmsg::Wstat(_) => String::new(),
    };
    format!("{} tag {}{}", m.name(), tag, body)
}
