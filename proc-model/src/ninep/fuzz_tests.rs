//! A bounded, seeded fuzz run of the 9P2000 codec and the sans-IO server, through the same
//! entry points as the AFL targets (`fuzzing.rs`): messages drawn at random from the
//! intro(5) vocabulary, encoded, then often mutated (bytes flipped, cut, extended, size or
//! type field changed). No AFL needed; the same seed gives the same frames.

use super::fuzzing;
use super::msg::*;
use super::wire::{Fid, Tag, NOFID, NOTAG};
use crate::ninep::fs::{Qid, Stat};

/// xorshift64* (Vigna 2016): small, fast, and deterministic for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const NAMES: &[&str] = &["d", "hello", "ro", "e", "..", ".", "", "nope", "d/hello"];
/// Walks that succeed in `fuzzing::fuzz_tree`, so sessions get past walk to open and I/O.
const PATHS: &[&[&str]] = &[
    &[],
    &["d"],
    &["d", "hello"],
    &["ro"],
    &["d", "e"],
    &["d", ".."],
];
const USERS: &[&str] = &["glenda", "none", "", "bootes"];

fn fid(r: &mut Rng) -> Fid {
    match r.below(20) {
        0 => NOFID,
        1 => Fid(r.next() as u32),
        _ => Fid(r.below(5) as u32),
    }
}

fn stat(r: &mut Rng) -> Stat {
    let dont = r.below(2) == 0;
    Stat {
        ty: if dont { u16::MAX } else { r.next() as u16 },
        dev: if dont { u32::MAX } else { r.next() as u32 },
        qid: Qid {
            ty: if dont { u8::MAX } else { r.next() as u8 },
            vers: u32::MAX,
            path: u64::MAX,
        },
        mode: if r.below(2) == 0 {
            u32::MAX
        } else {
            r.next() as u32
        },
        atime: u32::MAX,
        mtime: r.next() as u32,
        length: if r.below(2) == 0 {
            u64::MAX
        } else {
            r.below(100)
        },
        name: r.pick(NAMES).into(),
        uid: String::new(),
        gid: String::new(),
        muid: if dont { String::new() } else { "x".into() },
    }
}

fn message(r: &mut Rng) -> Tmsg {
    // A Tversion resets the session: draw one rarely, so sessions get deep.
    let kind = if r.below(25) == 0 { 0 } else { 1 + r.below(14) };
    match kind {
        0 => Tmsg::Version(Tversion {
            msize: [8192, 255, 256, 1 << 20, r.next() as u32][r.below(5) as usize],
            version: ["9P2000", "9P2000.L", "9P", "unknown", "9P2001"][r.below(5) as usize].into(),
        }),
        1 => Tmsg::Auth(Tauth {
            afid: fid(r),
            uname: r.pick(USERS).into(),
            aname: r.pick(NAMES).into(),
        }),
        2 | 3 => Tmsg::Attach(Tattach {
            fid: fid(r),
            afid: if r.below(3) == 0 { fid(r) } else { NOFID },
            uname: r.pick(USERS).into(),
            aname: String::new(),
        }),
        4 => Tmsg::Flush(Tflush {
            oldtag: Tag(r.below(8) as u16),
        }),
        5 | 6 => Tmsg::Walk(Twalk {
            // Mostly from the root (fid 0, attached at the start) into fids 1 to 4.
            fid: if r.below(3) == 0 { fid(r) } else { Fid(0) },
            newfid: fid(r),
            wname: if r.below(5) == 0 {
                (0..r.below(4)).map(|_| r.pick(NAMES).to_string()).collect()
            } else {
                let p = PATHS[r.below(PATHS.len() as u64) as usize];
                p.iter().map(|s| s.to_string()).collect()
            },
        }),
        7 => Tmsg::Open(Topen {
            fid: fid(r),
            mode: [0, 1, 2, 3, 0x10, 0x40, r.next() as u8][r.below(7) as usize],
        }),
        8 => Tmsg::Create(Tcreate {
            fid: fid(r),
            name: r.pick(NAMES).into(),
            perm: r.next() as u32,
            mode: r.below(4) as u8,
        }),
        9 | 10 => Tmsg::Read(Tread {
            fid: fid(r),
            offset: [0, 1, 10, 1 << 63, r.next()][r.below(5) as usize],
            count: [0, 1, 16, 8192, r.next() as u32][r.below(5) as usize],
        }),
        11 => Tmsg::Write(Twrite {
            fid: fid(r),
            offset: r.below(20),
            data: (0..r.below(40)).map(|_| r.next() as u8).collect(),
        }),
        12 => Tmsg::Clunk(Tclunk { fid: fid(r) }),
        13 => {
            if r.below(2) == 0 {
                Tmsg::Remove(Tremove { fid: fid(r) })
            } else {
                Tmsg::Stat(Tstat { fid: fid(r) })
            }
        }
        _ => Tmsg::Wstat(Twstat {
            fid: fid(r),
            stat: stat(r),
        }),
    }
}

/// One frame: a drawn message, mutated a third of the time, or (rarely) noise.
fn frame(r: &mut Rng) -> Vec<u8> {
    let tag = if r.below(20) == 0 {
        NOTAG
    } else {
        Tag(r.below(8) as u16)
    };
    let mut f = message(r).encode_frame(tag);
    match r.below(18) {
        0 => {
            let i = r.below(f.len() as u64) as usize;
            f[i] ^= 1 << r.below(8);
        }
        1 => {
            let cut = r.below(f.len() as u64) as usize;
            f.truncate(cut);
        }
        2 => f.extend((0..r.below(8)).map(|_| r.next() as u8)),
        3 => {
            let i = r.below(f.len() as u64) as usize;
            f[i] = r.next() as u8;
        }
        4 => f[4] = r.next() as u8, // any type byte, even R-messages and unknown ones
        5 => f = (0..r.below(40)).map(|_| r.next() as u8).collect(),
        _ => {}
    }
    f
}

/// 200,000 frames (about 2,500 sessions of 1 to 159), each through the codec checks and, in
/// order, through a session: no panic, every request answered once with its own tag.
#[test]
fn fuzz_seeded_frames_through_codec_and_server_every_tag_answered() {
    let mut r = Rng(0x009b_2000_6c61_7373);
    let mut frames = 0usize;
    while frames < 200_000 {
        let n = 1 + r.below(159) as usize;
        // Mostly start past the handshake; sometimes with auth or a tiny fid limit.
        let cfg = if r.below(4) == 0 { r.next() as u8 } else { 4 };
        let mut input = vec![cfg];
        for _ in 0..n {
            let f = frame(&mut r);
            fuzzing::codec(&f);
            // ctl bit 0 (set the size field to the real length) except now and then.
            let ctl = u8::from(r.below(10) != 0);
            input.extend_from_slice(&(f.len() as u16).to_le_bytes());
            input.push(ctl);
            input.extend_from_slice(&f);
        }
        fuzzing::session(&input);
        frames += n;
    }
}

/// The session fuzzer's own check: with auth on, a full challenge–response attaches, and a
/// session that holds fids returns them all at close.
#[test]
fn fuzz_session_auth_exchange_attaches() {
    use super::server::{Config, Session};
    use std::sync::Arc;
    let config = Config {
        auth: Some(fuzzing::fuzz_key()),
        ..Config::default()
    };
    let gauge = config.live_fids.clone();
    let s = Session::new(Arc::new(fuzzing::fuzz_tree()), config);
    let version = Tmsg::Version(Tversion {
        msize: 8192,
        version: "9P2000".into(),
    });
    assert!(fuzzing::feed(&s, &version.encode_frame(NOTAG)));
    // feed() checks replies but keeps them; drive the exchange directly for the nonce.
    let mut replies: Vec<(Tag, Rmsg)> = Vec::new();
    let auth = Tmsg::Auth(Tauth {
        afid: Fid(9),
        uname: "glenda".into(),
        aname: String::new(),
    });
    let _ = s.receive(Tag(1), auth, &mut replies);
    assert!(matches!(replies[0].1, Rmsg::Auth(_)), "{replies:?}");
    replies.clear();
    let nonce = match s.receive(
        Tag(2),
        Tmsg::Read(Tread {
            fid: Fid(9),
            offset: 0,
            count: 64,
        }),
        &mut replies,
    ) {
        super::server::Received::Done => match &replies[0].1 {
            Rmsg::Read(r) => r.data.clone(),
            r => panic!("{r:?}"),
        },
        r => panic!("{r:?}"),
    };
    assert_eq!(nonce.len(), super::auth::NONCE_LEN);
    let mac = fuzzing::fuzz_key().response(&nonce, "glenda", "");
    replies.clear();
    let _ = s.receive(
        Tag(3),
        Tmsg::Write(Twrite {
            fid: Fid(9),
            offset: 0,
            data: mac.to_vec(),
        }),
        &mut replies,
    );
    assert_eq!(replies[0].1, Rmsg::Write(Rwrite { count: 32 }));
    replies.clear();
    let _ = s.receive(
        Tag(4),
        Tmsg::Attach(Tattach {
            fid: Fid(0),
            afid: Fid(9),
            uname: "glenda".into(),
            aname: String::new(),
        }),
        &mut replies,
    );
    assert!(matches!(replies[0].1, Rmsg::Attach(_)), "{replies:?}");
    assert_eq!(gauge.get(), 2);
    s.close();
    assert_eq!(gauge.get(), 0);
}
