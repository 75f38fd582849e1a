//! 9P2000 wire primitives: little-endian integers, `s` strings, qids and stat records, the
//! `Wire` trait every message implements, and the bounds-checked `Reader` (intro(5), stat(5)).

use super::fs::{Qid, Stat};
use std::fmt;

/// The tag of a request (intro(5)); `NOTAG` is reserved for Tversion.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Tag(pub u16);

/// A fid: the client's handle on a file (intro(5)); `NOFID` means "none" (attach(5) afid).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Fid(pub u32);

/// fcall.h: the tag of Tversion.
pub const NOTAG: Tag = Tag(0xFFFF);
/// fcall.h: no fid (attach(5): afid when not authenticating).
pub const NOFID: Fid = Fid(0xFFFF_FFFF);
/// fcall.h MAXWELEM: the most names in one Twalk and qids in one Rwalk.
pub const MAXWELEM: usize = 16;
/// fcall.h IOHDRSZ: room for a Tread/Twrite/Rread header, so iounit = msize - IOHDRSZ.
pub const IOHDRSZ: u32 = 24;
/// fcall.h STATFIXLEN: a stat record without its four strings' bytes, size field included.
pub const STATFIXLEN: usize = 49;
/// intro(5): `size[4] type[1] tag[2]`.
pub const HEADER_LEN: usize = 7;
/// A qid on the wire: `type[1] vers[4] path[8]`.
pub const QID_LEN: usize = 13;

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == NOTAG {
            f.write_str("NOTAG")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl fmt::Debug for Fid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Fid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == NOFID {
            f.write_str("NOFID")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// Why bytes from the wire are not a well-formed 9P2000 message. These are host-side errors;
/// the server answers them with Plan 9 strings (see `errstr`), never with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message truncated: {need} bytes needed at offset {at}, {have} left")]
    Truncated { at: usize, need: usize, have: usize },
    #[error("frame size {0} is smaller than the 7-byte header")]
    FrameTooSmall(u32),
    #[error("frame size field {declared} disagrees with the {actual} bytes given")]
    FrameSizeMismatch { declared: u32, actual: usize },
    #[error("unknown message type {0}")]
    UnknownType(u8),
    #[error("string is not valid UTF-8")]
    BadUtf8,
    #[error("string contains NUL")]
    NulInString,
    #[error("nwname {0} exceeds MAXWELEM (16)")]
    TooManyNames(u16),
    #[error("nwqid {0} exceeds MAXWELEM (16)")]
    TooManyQids(u16),
    #[error("count {count} disagrees with the {remaining} data bytes in the frame")]
    CountMismatch { count: u32, remaining: usize },
    #[error("stat size {declared} disagrees with the {actual} bytes holding it")]
    StatSize { declared: usize, actual: usize },
    #[error("{0} bytes left over after the message body")]
    Trailing(usize),
}

/// A bounds-checked cursor over received bytes. Every read checks the remaining length first.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    /// The next `n` bytes, or `Truncated`.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                at: self.pos,
                need: n,
                have: self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// `s`: len[2] then UTF-8 without NUL (intro(5)).
    pub fn string(&mut self) -> Result<String, DecodeError> {
        let n = self.u16()? as usize;
        let bytes = self.take(n)?;
        if bytes.contains(&0) {
            return Err(DecodeError::NulInString);
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(DecodeError::BadUtf8),
        }
    }

    /// Succeeds only if every byte has been consumed (the frame size must match the body).
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::Trailing(n)),
        }
    }
}

/// One wire encoding: append to a buffer, or parse from a `Reader` with every length checked.
pub trait Wire: Sized {
    fn encode(&self, buf: &mut Vec<u8>);
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

impl Wire for u8 {
    fn encode(&self, buf: &mut Vec<u8>) {
        buf.push(*self);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u8()
    }
}

impl Wire for u16 {
    fn encode(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.to_le_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u16()
    }
}

impl Wire for u32 {
    fn encode(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.to_le_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u32()
    }
}

impl Wire for u64 {
    fn encode(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.to_le_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u64()
    }
}

impl Wire for Tag {
    fn encode(&self, buf: &mut Vec<u8>) {
        self.0.encode(buf)
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u16().map(Tag)
    }
}

impl Wire for Fid {
    fn encode(&self, buf: &mut Vec<u8>) {
        self.0.encode(buf)
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u32().map(Fid)
    }
}

/// The longest prefix of `s` that fits in `max` bytes without splitting a character.
pub fn truncate_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Strings longer than a 16-bit length can hold are cut at a character boundary, so the
/// encoder never emits a malformed message.
impl Wire for String {
    fn encode(&self, buf: &mut Vec<u8>) {
        let s = truncate_str(self, u16::MAX as usize);
        (s.len() as u16).encode(buf);
        buf.extend_from_slice(s.as_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.string()
    }
}

impl Wire for Qid {
    fn encode(&self, buf: &mut Vec<u8>) {
        self.ty.encode(buf);
        self.vers.encode(buf);
        self.path.encode(buf);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Qid {
            ty: r.u8()?,
            vers: r.u32()?,
            path: r.u64()?,
        })
    }
}

fn wire_str_len(s: &str) -> usize {
    2 + truncate_str(s, u16::MAX as usize).len()
}

/// The bytes a stat record takes on the wire, its own size[2] included (stat(5)).
pub fn stat_wire_len(st: &Stat) -> usize {
    STATFIXLEN - 8
        + wire_str_len(&st.name)
        + wire_str_len(&st.uid)
        + wire_str_len(&st.gid)
        + wire_str_len(&st.muid)
}

/// A stat record: `size[2]` (excluding itself) then the fields of stat(5). Decoding requires
/// the size field to match the fields exactly.
impl Wire for Stat {
    fn encode(&self, buf: &mut Vec<u8>) {
        // The record's size excludes the size field itself; cap it so the field cannot wrap.
        let size = (stat_wire_len(self) - 2).min(u16::MAX as usize) as u16;
        size.encode(buf);
        self.ty.encode(buf);
        self.dev.encode(buf);
        self.qid.encode(buf);
        self.mode.encode(buf);
        self.atime.encode(buf);
        self.mtime.encode(buf);
        self.length.encode(buf);
        self.name.encode(buf);
        self.uid.encode(buf);
        self.gid.encode(buf);
        self.muid.encode(buf);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let size = r.u16()? as usize;
        let body = r.take(size).map_err(|_| DecodeError::StatSize {
            declared: size,
            actual: r.remaining(),
        })?;
        let mut b = Reader::new(body);
        let st = Stat {
            ty: b.u16()?,
            dev: b.u32()?,
            qid: Qid::decode(&mut b)?,
            mode: b.u32()?,
            atime: b.u32()?,
            mtime: b.u32()?,
            length: b.u64()?,
            name: b.string()?,
            uid: b.string()?,
            gid: b.string()?,
            muid: b.string()?,
        };
        if b.remaining() != 0 {
            return Err(DecodeError::StatSize {
                declared: size,
                actual: size - b.remaining(),
            });
        }
        Ok(st)
    }
}

/// Decode a run of whole stat records, as a directory read returns (read(5)).
pub fn decode_dir_entries(mut data: &[u8]) -> Result<Vec<Stat>, DecodeError> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let mut r = Reader::new(data);
        out.push(Stat::decode(&mut r)?);
        data = &data[r.position()..];
    }
    Ok(out)
}
