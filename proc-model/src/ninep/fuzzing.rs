//! Fuzzing entry points for the 9P2000 codec (intro(5) framing) and the sans-IO server
//! ([`Session`]), shared by the AFL targets in `fuzz/` and the bounded, seeded in-suite run
//! (`fuzz_tests.rs`). Each takes arbitrary bytes and panics only when an invariant breaks:
//!
//! - codec: a frame that decodes re-encodes to the very same bytes (the codec is canonical),
//!   for requests and replies alike; directory data that decodes re-encodes the same.
//! - server: every request that does not close the connection gets exactly one reply, with
//!   its own tag (jobs are run at once, so nothing stays outstanding); every reply fits the
//!   negotiated msize and survives an encode/decode round trip; closing the session leaves
//!   no fid alive.

use super::auth::AuthKey;
use super::memtree::MemTree;
use super::msg::{Rmsg, Tmsg};
use super::server::{Config, Received, Session};
use super::wire::{decode_dir_entries, Tag, Wire, HEADER_LEN, NOTAG};
use std::sync::Arc;

/// Decode `data` as a request frame, a reply frame and a directory listing; check that
/// whatever decodes re-encodes to the same bytes.
pub fn codec(data: &[u8]) {
    if let Ok((tag, m)) = Tmsg::decode_frame(data) {
        assert_eq!(
            m.encode_frame(tag),
            data,
            "Tmsg re-encodes differently: {m:?}"
        );
    }
    if let Ok((tag, m)) = Rmsg::decode_frame(data) {
        assert_eq!(
            m.encode_frame(tag),
            data,
            "Rmsg re-encodes differently: {m:?}"
        );
    }
    if let Ok(entries) = decode_dir_entries(data) {
        let mut again = Vec::new();
        for e in &entries {
            e.encode(&mut again);
        }
        assert_eq!(again, data, "directory data re-encodes differently");
    }
}

/// The tree the server fuzzer serves: a few directories and files, one writable.
pub fn fuzz_tree() -> MemTree {
    let mut t = MemTree::new("glenda");
    t.add_dir("/d", 0o755)
        .add_file("/d/hello", 0o666, b"hello, 9p\n".to_vec())
        .add_file("/ro", 0o444, vec![b'x'; 300])
        .add_dir("/d/e", 0o700);
    t
}

/// The key of the server fuzzer's auth-enabled sessions.
pub fn fuzz_key() -> AuthKey {
    match AuthKey::new(b"glass fuzz key, 32 bytes long!!!".to_vec()) {
        Some(k) => k,
        None => unreachable!("the literal is 32 bytes"),
    }
}

/// Feed `data` to a fresh session as a sequence of frames. Layout: byte 0 picks the
/// configuration (bit 0: require auth; bit 1: at most 4 fids; bit 2: start with Tversion
/// and Tattach so the fuzzer begins past the handshake); then records `n[2] ctl[1]
/// bytes[n]`: with ctl bit 0 the frame's size field is set to its real length. A frame that
/// closes the connection starts a new session for the frames after it.
pub fn session(data: &[u8]) {
    let Some((&cfg, mut rest)) = data.split_first() else {
        return;
    };
    let config = Config {
        auth: (cfg & 1 != 0).then(fuzz_key),
        max_fids: if cfg & 2 != 0 { 4 } else { 64 },
        max_msize: 8192 + 24,
        ..Config::default()
    };
    let gauge = config.live_fids.clone();
    let tree = Arc::new(fuzz_tree());
    let mut handshake: Vec<Vec<u8>> = Vec::new();
    if cfg & 4 != 0 {
        handshake.push(
            Tmsg::Version(super::msg::Tversion {
                msize: 8192,
                version: "9P2000".into(),
            })
            .encode_frame(NOTAG),
        );
        handshake.push(
            Tmsg::Attach(super::msg::Tattach {
                fid: super::wire::Fid(0),
                afid: super::wire::NOFID,
                uname: "glenda".into(),
                aname: String::new(),
            })
            .encode_frame(Tag(0)),
        );
    }
    let mut frames: Vec<Vec<u8>> = Vec::new();
    while rest.len() >= 3 {
        let n = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let ctl = rest[2];
        rest = &rest[3..];
        let n = n.min(rest.len());
        let mut f = rest[..n].to_vec();
        rest = &rest[n..];
        if ctl & 1 != 0 && f.len() >= 4 {
            let len = (f.len() as u32).to_le_bytes();
            f[..4].copy_from_slice(&len);
        }
        frames.push(f);
    }
    // A frame that closes the connection ends the session; the next frames go to a new
    // connection's session (as a client that reconnects), so no input is wasted.
    let mut s = Session::new(tree.clone(), config.clone());
    for f in &handshake {
        feed(&s, f);
    }
    for f in &frames {
        if !feed(&s, f) {
            s.close();
            assert_eq!(gauge.get(), 0, "fids alive after the session closed");
            s = Session::new(tree.clone(), config.clone());
            for f in &handshake {
                feed(&s, f);
            }
        }
    }
    s.close();
    drop(s);
    assert_eq!(gauge.get(), 0, "fids alive after the session closed");
}

/// One frame through the session; `false` when it closes the connection.
pub fn feed<T: super::fs::FileTree>(s: &Session<T>, frame: &[u8]) -> bool {
    let mut out: Vec<(Tag, Rmsg)> = Vec::new();
    let want = (frame.len() >= HEADER_LEN).then(|| Tag(u16::from_le_bytes([frame[5], frame[6]])));
    match s.receive_frame(frame, &mut out) {
        Received::Close => {
            assert!(out.is_empty(), "replies before a close: {out:?}");
            return false;
        }
        Received::Done => {}
        Received::Job(job) => {
            assert!(out.is_empty(), "replies beside a job: {out:?}");
            // Anything blocking must give way: cancel first (MemTree never blocks anyway).
            let done = job.run();
            s.complete(done, &mut out);
        }
    }
    assert_eq!(out.len(), 1, "one reply per request, got {out:?}");
    let (tag, reply) = &out[0];
    assert_eq!(Some(*tag), want, "reply tag");
    let bytes = reply.encode_frame(*tag);
    assert!(
        bytes.len() <= s.msize().max(8192) as usize,
        "reply of {} bytes over msize {}",
        bytes.len(),
        s.msize()
    );
    match Rmsg::decode_frame(&bytes) {
        Ok((t, r)) => assert_eq!((t, &r), (*tag, reply), "reply round trip"),
        Err(e) => panic!("our own reply does not decode: {e:?}"),
    }
    true
}
