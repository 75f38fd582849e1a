//! The 27 9P2000 messages (Tversion…Rwstat and Rerror) and their framing
//! `size[4] type[1] tag[2] body` (intro(5); layouts as in fcall.h and
//! docs/plan9-proc-9p.md §4.2).

use super::fs::{Qid, Stat};
use super::wire::{DecodeError, Fid, Reader, Tag, Wire, HEADER_LEN, MAXWELEM};

/// Walk names: `nwname[2] nwname*(wname[s])`, at most MAXWELEM (walk(5)).
impl Wire for Vec<String> {
    fn encode(&self, buf: &mut Vec<u8>) {
        (self.len() as u16).encode(buf);
        for s in self {
            s.encode(buf);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.u16()?;
        if n as usize > MAXWELEM {
            return Err(DecodeError::TooManyNames(n));
        }
        (0..n).map(|_| r.string()).collect()
    }
}

/// Walk qids: `nwqid[2] nwqid*(qid[13])`, at most MAXWELEM (walk(5)).
impl Wire for Vec<Qid> {
    fn encode(&self, buf: &mut Vec<u8>) {
        (self.len() as u16).encode(buf);
        for q in self {
            q.encode(buf);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.u16()?;
        if n as usize > MAXWELEM {
            return Err(DecodeError::TooManyQids(n));
        }
        (0..n).map(|_| Qid::decode(r)).collect()
    }
}

/// Read/write data: `count[4] data[count]`, always the last field of its message, so the
/// count must equal the bytes left in the frame (read(5)).
impl Wire for Vec<u8> {
    fn encode(&self, buf: &mut Vec<u8>) {
        (self.len() as u32).encode(buf);
        buf.extend_from_slice(self);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let count = r.u32()?;
        if count as usize != r.remaining() {
            return Err(DecodeError::CountMismatch {
                count,
                remaining: r.remaining(),
            });
        }
        Ok(r.take(count as usize)?.to_vec())
    }
}

/// `stat[n]` in Rstat and Twstat: n[2], then a stat record that begins with its own size[2]
/// (stat(5): the size appears twice). n must cover the rest of the frame exactly.
fn encode_stat_n(st: &Stat, buf: &mut Vec<u8>) {
    let start = buf.len();
    buf.extend_from_slice(&[0, 0]);
    st.encode(buf);
    let n = (buf.len() - start - 2).min(u16::MAX as usize) as u16;
    buf[start..start + 2].copy_from_slice(&n.to_le_bytes());
}

fn decode_stat_n(r: &mut Reader<'_>) -> Result<Stat, DecodeError> {
    let n = r.u16()? as usize;
    if n != r.remaining() {
        return Err(DecodeError::StatSize {
            declared: n,
            actual: r.remaining(),
        });
    }
    let mut inner = Reader::new(r.take(n)?);
    let st = Stat::decode(&mut inner)?;
    if inner.remaining() != 0 {
        return Err(DecodeError::StatSize {
            declared: n,
            actual: n - inner.remaining(),
        });
    }
    Ok(st)
}

macro_rules! plain_messages {
    ($( $(#[$m:meta])* $name:ident = $code:literal { $($field:ident : $ty:ty),* } )*) => {
        $(
            $(#[$m])*
            #[derive(Clone, Debug, PartialEq, Eq)]
            pub struct $name { $(pub $field: $ty),* }

            impl $name {
                /// The message type code (fcall.h).
                pub const TYPE: u8 = $code;
            }

            impl Wire for $name {
                #[allow(unused_variables)]
                fn encode(&self, buf: &mut Vec<u8>) {
                    $(self.$field.encode(buf);)*
                }
                #[allow(unused_variables)]
                fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                    Ok($name { $($field: <$ty as Wire>::decode(r)?),* })
                }
            }
        )*
    };
}

plain_messages! {
    /// version(5): propose a message size and protocol version.
    Tversion = 100 { msize: u32, version: String }
    Rversion = 101 { msize: u32, version: String }
    /// attach(5): ask for an authentication fid.
    Tauth = 102 { afid: Fid, uname: String, aname: String }
    Rauth = 103 { aqid: Qid }
    /// attach(5): attach `fid` to the root of the tree `aname` as `uname`.
    Tattach = 104 { fid: Fid, afid: Fid, uname: String, aname: String }
    Rattach = 105 { qid: Qid }
    /// error(5). (Terror, 106, does not exist.)
    Rerror = 107 { ename: String }
    /// flush(5): abort the request tagged `oldtag`.
    Tflush = 108 { oldtag: Tag }
    Rflush = 109 {}
    /// walk(5): walk `fid` by up to 16 names to `newfid`.
    Twalk = 110 { fid: Fid, newfid: Fid, wname: Vec<String> }
    Rwalk = 111 { wqid: Vec<Qid> }
    /// open(5).
    Topen = 112 { fid: Fid, mode: u8 }
    Ropen = 113 { qid: Qid, iounit: u32 }
    /// open(5): create `name` in the directory `fid`.
    Tcreate = 114 { fid: Fid, name: String, perm: u32, mode: u8 }
    Rcreate = 115 { qid: Qid, iounit: u32 }
    /// read(5).
    Tread = 116 { fid: Fid, offset: u64, count: u32 }
    Rread = 117 { data: Vec<u8> }
    /// read(5): the count is `data.len()`.
    Twrite = 118 { fid: Fid, offset: u64, data: Vec<u8> }
    Rwrite = 119 { count: u32 }
    /// clunk(5).
    Tclunk = 120 { fid: Fid }
    Rclunk = 121 {}
    /// remove(5).
    Tremove = 122 { fid: Fid }
    Rremove = 123 {}
    /// stat(5).
    Tstat = 124 { fid: Fid }
    Rwstat = 127 {}
}

/// stat(5): `stat[n]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rstat {
    pub stat: Stat,
}

impl Rstat {
    pub const TYPE: u8 = 125;
}

impl Wire for Rstat {
    fn encode(&self, buf: &mut Vec<u8>) {
        encode_stat_n(&self.stat, buf);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Rstat {
            stat: decode_stat_n(r)?,
        })
    }
}

/// stat(5): `fid[4] stat[n]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Twstat {
    pub fid: Fid,
    pub stat: Stat,
}

impl Twstat {
    pub const TYPE: u8 = 126;
}

impl Wire for Twstat {
    fn encode(&self, buf: &mut Vec<u8>) {
        self.fid.encode(buf);
        encode_stat_n(&self.stat, buf);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Twstat {
            fid: Fid::decode(r)?,
            stat: decode_stat_n(r)?,
        })
    }
}

/// A frame that is not a well-formed message, with as much of the header as could be read:
/// the server answers `tag` with Rerror when it is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad 9P frame (type {ty:?}, tag {tag:?}): {error}")]
pub struct FrameError {
    pub ty: Option<u8>,
    pub tag: Option<Tag>,
    pub error: DecodeError,
}

/// Split a whole frame into (type, tag, body), checking the size field against its length.
fn split_frame(frame: &[u8]) -> Result<(u8, Tag, &[u8]), FrameError> {
    let bad = |ty, tag, error| FrameError { ty, tag, error };
    if frame.len() < HEADER_LEN {
        return Err(bad(
            None,
            None,
            DecodeError::FrameTooSmall(frame.len() as u32),
        ));
    }
    let mut r = Reader::new(frame);
    let size = r.u32().map_err(|e| bad(None, None, e))?;
    let ty = r.u8().map_err(|e| bad(None, None, e))?;
    let tag = Tag::decode(&mut r).map_err(|e| bad(Some(ty), None, e))?;
    if size as usize != frame.len() {
        let e = DecodeError::FrameSizeMismatch {
            declared: size,
            actual: frame.len(),
        };
        return Err(bad(Some(ty), Some(tag), e));
    }
    Ok((ty, tag, &frame[HEADER_LEN..]))
}

fn start_frame(buf: &mut Vec<u8>, ty: u8, tag: Tag) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&[0, 0, 0, 0, ty]);
    tag.encode(buf);
    start
}

fn end_frame(buf: &mut [u8], start: usize) {
    let size = (buf.len() - start) as u32;
    buf[start..start + 4].copy_from_slice(&size.to_le_bytes());
}

impl Rread {
    /// Append the frame header of an Rread carrying `count` bytes (size, type, tag, count):
    /// the frame is this header followed by the data, so a transport can send the data
    /// without copying it into the frame.
    pub fn encode_header(tag: Tag, count: usize, buf: &mut Vec<u8>) {
        let start = start_frame(buf, Self::TYPE, tag);
        (count as u32).encode(buf);
        let size = (buf.len() - start + count) as u32;
        buf[start..start + 4].copy_from_slice(&size.to_le_bytes());
    }
}

macro_rules! message_enum {
    ($(#[$m:meta])* $enum:ident { $($variant:ident($ty:ident)),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum $enum { $($variant($ty)),* }

        $(
            impl From<$ty> for $enum {
                fn from(m: $ty) -> Self { $enum::$variant(m) }
            }
        )*

        impl $enum {
            /// The message type code (fcall.h).
            pub fn msg_type(&self) -> u8 {
                match self { $($enum::$variant(_) => $ty::TYPE),* }
            }

            /// The message's name as in fcall.h (`Tversion`, `Rerror`, …).
            pub fn name(&self) -> &'static str {
                match self { $($enum::$variant(_) => stringify!($ty)),* }
            }

            /// Append the body (everything after the 7-byte header).
            pub fn encode_body(&self, buf: &mut Vec<u8>) {
                match self { $($enum::$variant(m) => m.encode(buf)),* }
            }

            /// Decode a body of type `ty`; every byte must be consumed.
            pub fn decode_body(ty: u8, body: &[u8]) -> Result<Self, DecodeError> {
                let mut r = Reader::new(body);
                let m = match ty {
                    $($ty::TYPE => $enum::$variant($ty::decode(&mut r)?),)*
                    other => return Err(DecodeError::UnknownType(other)),
                };
                r.finish()?;
                Ok(m)
            }

            /// Append a whole frame `size[4] type[1] tag[2] body`.
            pub fn encode_frame_into(&self, tag: Tag, buf: &mut Vec<u8>) {
                let start = start_frame(buf, self.msg_type(), tag);
                self.encode_body(buf);
                end_frame(buf, start);
            }

            /// A whole frame `size[4] type[1] tag[2] body`.
            pub fn encode_frame(&self, tag: Tag) -> Vec<u8> {
                let mut buf = Vec::new();
                self.encode_frame_into(tag, &mut buf);
                buf
            }

            /// Decode a whole frame, size field included.
            pub fn decode_frame(frame: &[u8]) -> Result<(Tag, Self), FrameError> {
                let (ty, tag, body) = split_frame(frame)?;
                Self::decode_body(ty, body)
                    .map(|m| (tag, m))
                    .map_err(|error| FrameError { ty: Some(ty), tag: Some(tag), error })
            }
        }
    };
}

message_enum! {
    /// A request (client to server).
    Tmsg {
        Version(Tversion),
        Auth(Tauth),
        Attach(Tattach),
        Flush(Tflush),
        Walk(Twalk),
        Open(Topen),
        Create(Tcreate),
        Read(Tread),
        Write(Twrite),
        Clunk(Tclunk),
        Remove(Tremove),
        Stat(Tstat),
        Wstat(Twstat),
    }
}

message_enum! {
    /// A reply (server to client).
    Rmsg {
        Version(Rversion),
        Auth(Rauth),
        Attach(Rattach),
        Error(Rerror),
        Flush(Rflush),
        Walk(Rwalk),
        Open(Ropen),
        Create(Rcreate),
        Read(Rread),
        Write(Rwrite),
        Clunk(Rclunk),
        Remove(Rremove),
        Stat(Rstat),
        Wstat(Rwstat),
    }
}

impl Rmsg {
    /// An Rerror carrying `ename`.
    pub fn error(ename: impl Into<String>) -> Rmsg {
        Rmsg::Error(Rerror {
            ename: ename.into(),
        })
    }
}
