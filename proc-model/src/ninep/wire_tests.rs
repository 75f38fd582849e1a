//! Codec tests: golden bytes for every 9P2000 message, hand-derived from the layouts in
//! docs/plan9-proc-9p.md §4.2/§4.3 (intro(5), stat(5)), round trips, and every bounds check.

use super::fs::{Qid, Stat, QTDIR, QTFILE};
use super::msg::*;
use super::wire::*;

/// Hex with spaces between fields, as written by hand from the spec layout.
fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len() & 1 == 0, "odd hex length in {s:?}");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).expect("ascii"), 16).expect("hex digit"))
        .collect()
}

fn qid(ty: u8, vers: u32, path: u64) -> Qid {
    Qid { ty, vers, path }
}

macro_rules! golden_t {
    ($name:ident, $tag:expr, $msg:expr, $hex:expr) => {
        #[test]
        fn $name() {
            let msg: Tmsg = $msg.into();
            let bytes = hex($hex);
            assert_eq!(msg.encode_frame(Tag($tag)), bytes, "encoding");
            assert_eq!(Tmsg::decode_frame(&bytes), Ok((Tag($tag), msg)), "decoding");
        }
    };
}

macro_rules! golden_r {
    ($name:ident, $tag:expr, $msg:expr, $hex:expr) => {
        #[test]
        fn $name() {
            let msg: Rmsg = $msg.into();
            let bytes = hex($hex);
            assert_eq!(msg.encode_frame(Tag($tag)), bytes, "encoding");
            assert_eq!(Rmsg::decode_frame(&bytes), Ok((Tag($tag), msg)), "decoding");
        }
    };
}

// size[4] type[1] tag[2] msize[4] version[s]; 7+4+2+6 = 19.
golden_t!(
    codec_tversion_golden_bytes_match,
    0xFFFF,
    Tversion {
        msize: 8192,
        version: "9P2000".into()
    },
    "13000000 64 ffff 00200000 0600 395032303030"
);
golden_r!(
    codec_rversion_golden_bytes_match,
    0xFFFF,
    Rversion {
        msize: 8192,
        version: "9P2000".into()
    },
    "13000000 65 ffff 00200000 0600 395032303030"
);
// afid[4] uname[s] aname[s]; 7+4+8+2 = 21.
golden_t!(
    codec_tauth_golden_bytes_match,
    1,
    Tauth {
        afid: Fid(5),
        uname: "glenda".into(),
        aname: "".into()
    },
    "15000000 66 0100 05000000 0600 676c656e6461 0000"
);
// aqid[13]; QTAUTH = 0x08.
golden_r!(
    codec_rauth_golden_bytes_match,
    1,
    Rauth {
        aqid: qid(0x08, 0, 1)
    },
    "14000000 67 0100 08 00000000 0100000000000000"
);
// fid[4] afid[4] uname[s] aname[s]; 7+4+4+8+2 = 25.
golden_t!(
    codec_tattach_golden_bytes_match,
    2,
    Tattach {
        fid: Fid(0),
        afid: NOFID,
        uname: "glenda".into(),
        aname: "".into()
    },
    "19000000 68 0200 00000000 ffffffff 0600 676c656e6461 0000"
);
golden_r!(
    codec_rattach_golden_bytes_match,
    2,
    Rattach {
        qid: qid(QTDIR, 0, 0)
    },
    "14000000 69 0200 80 00000000 0000000000000000"
);
// ename[s]: "unknown fid" is 11 bytes; 7+2+11 = 20.
golden_r!(
    codec_rerror_golden_bytes_match,
    3,
    Rerror {
        ename: "unknown fid".into()
    },
    "14000000 6b 0300 0b00 756e6b6e6f776e20666964"
);
golden_t!(
    codec_tflush_golden_bytes_match,
    4,
    Tflush { oldtag: Tag(3) },
    "09000000 6c 0400 0300"
);
golden_r!(
    codec_rflush_golden_bytes_match,
    4,
    Rflush {},
    "07000000 6d 0400"
);
// fid[4] newfid[4] nwname[2] "a" "bc"; 7+4+4+2+3+4 = 24.
golden_t!(
    codec_twalk_golden_bytes_match,
    5,
    Twalk {
        fid: Fid(0),
        newfid: Fid(1),
        wname: vec!["a".into(), "bc".into()]
    },
    "18000000 6e 0500 00000000 01000000 0200 0100 61 0200 6263"
);
// nwqid[2] 2*qid[13]; 7+2+26 = 35.
golden_r!(
    codec_rwalk_golden_bytes_match,
    5,
    Rwalk {
        wqid: vec![qid(QTDIR, 0, 1), qid(QTFILE, 7, 2)]
    },
    "23000000 6f 0500 0200 80 00000000 0100000000000000 00 07000000 0200000000000000"
);
// fid[4] mode[1]; ORDWR|OTRUNC = 0x12.
golden_t!(
    codec_topen_golden_bytes_match,
    6,
    Topen {
        fid: Fid(1),
        mode: 0x12
    },
    "0c000000 70 0600 01000000 12"
);
// qid[13] iounit[4]; 8168 = 0x1fe8.
golden_r!(
    codec_ropen_golden_bytes_match,
    6,
    Ropen {
        qid: qid(QTFILE, 0, 2),
        iounit: 8168
    },
    "18000000 71 0600 00 00000000 0200000000000000 e81f0000"
);
// fid[4] name[s] perm[4] mode[1]; 0o644 = 0x1a4; 7+4+5+4+1 = 21.
golden_t!(
    codec_tcreate_golden_bytes_match,
    7,
    Tcreate {
        fid: Fid(1),
        name: "new".into(),
        perm: 0o644,
        mode: 1
    },
    "15000000 72 0700 01000000 0300 6e6577 a4010000 01"
);
golden_r!(
    codec_rcreate_golden_bytes_match,
    7,
    Rcreate {
        qid: qid(QTFILE, 0, 3),
        iounit: 0
    },
    "18000000 73 0700 00 00000000 0300000000000000 00000000"
);
// fid[4] offset[8] count[4]; 7+16 = 23.
golden_t!(
    codec_tread_golden_bytes_match,
    8,
    Tread {
        fid: Fid(1),
        offset: 0x0102_0304_0506_0708,
        count: 4096
    },
    "17000000 74 0800 01000000 0807060504030201 00100000"
);
// count[4] data; 7+4+3 = 14.
golden_r!(
    codec_rread_golden_bytes_match,
    8,
    Rread {
        data: b"hi\n".to_vec()
    },
    "0e000000 75 0800 03000000 68690a"
);
// fid[4] offset[8] count[4] data; 7+4+8+4+4 = 27.
golden_t!(
    codec_twrite_golden_bytes_match,
    9,
    Twrite {
        fid: Fid(1),
        offset: 16,
        data: b"stop".to_vec()
    },
    "1b000000 76 0900 01000000 1000000000000000 04000000 73746f70"
);
golden_r!(
    codec_rwrite_golden_bytes_match,
    9,
    Rwrite { count: 4 },
    "0b000000 77 0900 04000000"
);
golden_t!(
    codec_tclunk_golden_bytes_match,
    10,
    Tclunk { fid: Fid(1) },
    "0b000000 78 0a00 01000000"
);
golden_r!(
    codec_rclunk_golden_bytes_match,
    10,
    Rclunk {},
    "07000000 79 0a00"
);
golden_t!(
    codec_tremove_golden_bytes_match,
    11,
    Tremove { fid: Fid(2) },
    "0b000000 7a 0b00 02000000"
);
golden_r!(
    codec_rremove_golden_bytes_match,
    11,
    Rremove {},
    "07000000 7b 0b00"
);
golden_t!(
    codec_tstat_golden_bytes_match,
    12,
    Tstat { fid: Fid(0) },
    "0b000000 7c 0c00 00000000"
);

fn status_stat() -> Stat {
    Stat {
        ty: 0,
        dev: 0,
        qid: qid(QTFILE, 1, 0x21),
        mode: 0o644,
        atime: 1,
        mtime: 2,
        length: 176,
        name: "status".into(),
        uid: "glenda".into(),
        gid: "sys".into(),
        muid: "".into(),
    }
}

// n[2] then the record: size[2] = 39 fixed + 4 strings (2+6, 2+6, 2+3, 2+0) = 62 = 0x3e;
// n = 64 = 0x40; frame = 7+2+64 = 73 = 0x49.
golden_r!(
    codec_rstat_golden_bytes_match,
    12,
    Rstat {
        stat: status_stat()
    },
    "49000000 7d 0c00 4000 3e00
     0000 00000000 00 01000000 2100000000000000 a4010000 01000000 02000000 b000000000000000
     0600 737461747573 0600 676c656e6461 0300 737973 0000"
);

fn dont_touch() -> Stat {
    Stat {
        ty: !0,
        dev: !0,
        qid: qid(!0, !0, !0),
        mode: 0o600,
        atime: !0,
        mtime: !0,
        length: !0,
        ..Stat::default()
    }
}

// fid[4] n[2] record. STATFIXLEN (49) counts the size field and the four empty strings'
// lengths, so size = 49-2 = 47 = 0x2f, n = 49 = 0x31, frame = 7+4+2+49 = 62 = 0x3e.
golden_t!(
    codec_twstat_golden_bytes_match,
    13,
    Twstat {
        fid: Fid(1),
        stat: dont_touch()
    },
    "3e000000 7e 0d00 01000000 3100 2f00
     ffff ffffffff ff ffffffff ffffffffffffffff 80010000 ffffffff ffffffff ffffffffffffffff
     0000 0000 0000 0000"
);
golden_r!(
    codec_rwstat_golden_bytes_match,
    13,
    Rwstat {},
    "07000000 7f 0d00"
);

#[test]
fn stat_wire_len_empty_strings_equals_statfixlen() {
    assert_eq!(stat_wire_len(&Stat::default()), STATFIXLEN);
    let mut b = Vec::new();
    Stat::default().encode(&mut b);
    assert_eq!(b.len(), STATFIXLEN);
}

#[test]
fn codec_every_message_round_trips() {
    let ts: Vec<Tmsg> = vec![
        Tversion {
            msize: u32::MAX,
            version: "9P2000.L".into(),
        }
        .into(),
        Tauth {
            afid: NOFID,
            uname: "ünïcode".into(),
            aname: "x".into(),
        }
        .into(),
        Tattach {
            fid: Fid(7),
            afid: Fid(8),
            uname: "".into(),
            aname: "".into(),
        }
        .into(),
        Tflush { oldtag: NOTAG }.into(),
        Twalk {
            fid: Fid(1),
            newfid: Fid(1),
            wname: vec![],
        }
        .into(),
        Twalk {
            fid: Fid(1),
            newfid: Fid(2),
            wname: (0..16).map(|i| format!("n{i}")).collect(),
        }
        .into(),
        Topen {
            fid: Fid(1),
            mode: 0,
        }
        .into(),
        Tcreate {
            fid: Fid(1),
            name: "d".into(),
            perm: 0x8000_01ff,
            mode: 0,
        }
        .into(),
        Tread {
            fid: Fid(1),
            offset: u64::MAX,
            count: 0,
        }
        .into(),
        Twrite {
            fid: Fid(1),
            offset: 0,
            data: vec![],
        }
        .into(),
        Twrite {
            fid: Fid(1),
            offset: 0,
            data: vec![0; 70000],
        }
        .into(),
        Tclunk { fid: NOFID }.into(),
        Tremove { fid: Fid(0) }.into(),
        Tstat { fid: Fid(0) }.into(),
        Twstat {
            fid: Fid(3),
            stat: status_stat(),
        }
        .into(),
    ];
    for (i, t) in ts.into_iter().enumerate() {
        let tag = Tag(i as u16);
        assert_eq!(Tmsg::decode_frame(&t.encode_frame(tag)), Ok((tag, t)));
    }
    let rs: Vec<Rmsg> = vec![
        Rversion {
            msize: 4096,
            version: "unknown".into(),
        }
        .into(),
        Rauth { aqid: qid(8, 1, 2) }.into(),
        Rattach {
            qid: qid(QTDIR, 0, 0),
        }
        .into(),
        Rmsg::error("wrong #args in control message \"kill 3\""),
        Rflush {}.into(),
        Rwalk { wqid: vec![] }.into(),
        Rwalk {
            wqid: (0..16).map(|i| qid(0, i, i as u64)).collect(),
        }
        .into(),
        Ropen {
            qid: qid(0, 0, 0),
            iounit: 0,
        }
        .into(),
        Rcreate {
            qid: qid(0, 0, 0),
            iounit: 1,
        }
        .into(),
        Rread {
            data: vec![0xff; 3],
        }
        .into(),
        Rwrite { count: u32::MAX }.into(),
        Rclunk {}.into(),
        Rremove {}.into(),
        Rstat {
            stat: Stat::default(),
        }
        .into(),
        Rwstat {}.into(),
    ];
    for (i, r) in rs.into_iter().enumerate() {
        let tag = Tag(i as u16);
        assert_eq!(Rmsg::decode_frame(&r.encode_frame(tag)), Ok((tag, r)));
    }
}

fn body_err(frame: &[u8]) -> DecodeError {
    match Tmsg::decode_frame(frame) {
        Err(e) => e.error,
        Ok(m) => panic!("decoded {m:?}"),
    }
}

#[test]
fn codec_twalk_17_names_is_rejected() {
    let t = Twalk {
        fid: Fid(0),
        newfid: Fid(1),
        wname: (0..17).map(|i| i.to_string()).collect(),
    };
    let f = Tmsg::from(t).encode_frame(Tag(1));
    assert_eq!(
        Tmsg::decode_frame(&f).map_err(|e| (e.tag, e.error)),
        Err((Some(Tag(1)), DecodeError::TooManyNames(17)))
    );
}

#[test]
fn codec_rwalk_17_qids_is_rejected() {
    let r = Rwalk {
        wqid: vec![Qid::default(); 17],
    };
    let f = Rmsg::from(r).encode_frame(Tag(1));
    assert_eq!(
        Rmsg::decode_frame(&f).map_err(|e| e.error),
        Err(DecodeError::TooManyQids(17))
    );
}

#[test]
fn codec_string_with_nul_is_rejected() {
    // Tclunk-sized Tattach with uname "a\0".
    let f = hex("15000000 68 0100 00000000 ffffffff 0200 6100 0000");
    assert_eq!(f.len(), 0x15);
    assert_eq!(body_err(&f), DecodeError::NulInString);
}

#[test]
fn codec_string_invalid_utf8_is_rejected() {
    let f = hex("15000000 68 0100 00000000 ffffffff 0200 c328 0000");
    assert_eq!(body_err(&f), DecodeError::BadUtf8);
}

#[test]
fn codec_string_longer_than_frame_is_truncated_error() {
    let f = hex("13000000 64 ffff 00200000 0700 395032303030");
    assert!(matches!(body_err(&f), DecodeError::Truncated { .. }));
}

#[test]
fn codec_twrite_count_larger_than_data_is_rejected() {
    let f = hex("1b000000 76 0900 01000000 1000000000000000 05000000 73746f70");
    assert_eq!(
        body_err(&f),
        DecodeError::CountMismatch {
            count: 5,
            remaining: 4
        }
    );
}

#[test]
fn codec_twrite_count_smaller_than_data_is_rejected() {
    let f = hex("1b000000 76 0900 01000000 1000000000000000 03000000 73746f70");
    assert_eq!(
        body_err(&f),
        DecodeError::CountMismatch {
            count: 3,
            remaining: 4
        }
    );
}

#[test]
fn codec_rread_count_mismatch_is_rejected() {
    let f = hex("0e000000 75 0800 04000000 68690a");
    assert!(matches!(
        Rmsg::decode_frame(&f),
        Err(FrameError {
            error: DecodeError::CountMismatch { .. },
            ..
        })
    ));
}

#[test]
fn codec_twstat_n_disagreeing_with_frame_is_rejected() {
    let mut f = Tmsg::from(Twstat {
        fid: Fid(1),
        stat: dont_touch(),
    })
    .encode_frame(Tag(1));
    f[11] = 0x30; // n = 48, but 49 bytes follow
    assert_eq!(
        body_err(&f),
        DecodeError::StatSize {
            declared: 48,
            actual: 49
        }
    );
}

#[test]
fn codec_twstat_inner_size_disagreeing_with_n_is_rejected() {
    let mut f = Tmsg::from(Twstat {
        fid: Fid(1),
        stat: dont_touch(),
    })
    .encode_frame(Tag(1));
    f[13] = 0x30; // the record claims 48 bytes, n leaves 47 after the size field
    assert_eq!(
        body_err(&f),
        DecodeError::StatSize {
            declared: 48,
            actual: 47
        }
    );
}

#[test]
fn codec_trailing_bytes_are_rejected() {
    let f = hex("0c000000 78 0a00 01000000 00");
    assert_eq!(body_err(&f), DecodeError::Trailing(1));
}

#[test]
fn codec_truncated_body_is_rejected_with_tag() {
    let f = hex("0a000000 78 0a00 010000");
    let e = Tmsg::decode_frame(&f).expect_err("short body");
    assert_eq!(e.tag, Some(Tag(10)));
    assert!(matches!(e.error, DecodeError::Truncated { .. }));
}

#[test]
fn codec_frame_shorter_than_header_has_no_tag() {
    let e = Tmsg::decode_frame(&hex("06000000 78 0a")).expect_err("short frame");
    assert_eq!((e.tag, e.error), (None, DecodeError::FrameTooSmall(6)));
}

#[test]
fn codec_size_field_disagreeing_with_frame_is_rejected() {
    let e = Tmsg::decode_frame(&hex("0c000000 78 0a00 01000000")).expect_err("size");
    assert_eq!(
        e.error,
        DecodeError::FrameSizeMismatch {
            declared: 12,
            actual: 11
        }
    );
}

#[test]
fn codec_terror_and_unknown_types_are_unknown() {
    for ty in [106u8, 99, 128, 12 /* Tlopen */] {
        let mut f = hex("07000000 00 0500");
        f[4] = ty;
        let e = Tmsg::decode_frame(&f).expect_err("unknown");
        assert_eq!(
            (e.tag, e.error),
            (Some(Tag(5)), DecodeError::UnknownType(ty))
        );
    }
}

#[test]
fn codec_reply_types_are_unknown_to_request_decoder() {
    let f = Rmsg::from(Rclunk {}).encode_frame(Tag(1));
    assert_eq!(body_err(&f), DecodeError::UnknownType(121));
}

#[test]
fn codec_dir_entries_decode_whole_records() {
    let mut data = Vec::new();
    status_stat().encode(&mut data);
    Stat::default().encode(&mut data);
    assert_eq!(
        decode_dir_entries(&data),
        Ok(vec![status_stat(), Stat::default()])
    );
    assert!(decode_dir_entries(&data[..data.len() - 1]).is_err());
}

#[test]
fn codec_long_string_is_cut_at_char_boundary() {
    let s = "é".repeat(40000); // 80000 bytes
    let mut b = Vec::new();
    s.encode(&mut b);
    let n = u16::from_le_bytes([b[0], b[1]]) as usize;
    assert_eq!(n, 65534);
    assert_eq!(Reader::new(&b).string().map(|s| s.len()), Ok(65534));
}

/// An Rread's header alone, then its data, is the whole frame (intro(5): size[4] Rread tag[2]
/// count[4] data[count]).
#[test]
fn rread_header_then_data_is_the_frame() {
    let data = b"hello".to_vec();
    let mut frame = Vec::new();
    Rread::encode_header(Tag(0x0102), data.len(), &mut frame);
    assert_eq!(frame, hex("10000000 75 0201 05000000"));
    frame.extend_from_slice(&data);
    assert_eq!(frame, Rmsg::Read(Rread { data }).encode_frame(Tag(0x0102)));
}
