//! Server-core tests: one per rule of version(5), attach(5), walk(5), open(5), read(5),
//! flush(5), clunk(5), remove(5), stat(5) and per lib9p error string
//! (docs/plan9-proc-9p.md §4.4), driven sans-IO through the in-test tree; and insta transcripts of whole exchanges.

use super::super::errstr::*;
use super::super::fs::{Stat, DMDIR, OEXEC, ORCLOSE, ORDWR, OREAD, OTRUNC, OWRITE, QTDIR};
use super::super::testtree::*;
use super::super::wire::{decode_dir_entries, Fid, Tag, Wire, NOFID, NOTAG};
use super::*;

fn version(h: &mut Harness, msize: u32, v: &str) -> Rmsg {
    h.one(
        NOTAG.0,
        Tversion {
            msize,
            version: v.into(),
        },
    )
}

fn rversion(msize: u32, v: &str) -> Rmsg {
    Rmsg::Version(Rversion {
        msize,
        version: v.into(),
    })
}

fn attach(fid: u32, afid: Fid) -> Tattach {
    Tattach {
        fid: Fid(fid),
        afid,
        uname: OWNER.into(),
        aname: "".into(),
    }
}

fn names(r: &Rmsg) -> Vec<String> {
    match r {
        Rmsg::Read(r) => decode_dir_entries(&r.data)
            .expect("whole entries")
            .into_iter()
            .map(|s| s.name)
            .collect(),
        r => panic!("expected Rread, got {r:?}"),
    }
}

// ---- version ----

#[test]
fn version_9p2000_accepted_with_client_msize() {
    let mut h = Harness::new();
    assert_eq!(version(&mut h, 8192, "9P2000"), rversion(8192, "9P2000"));
}

#[test]
fn version_dot_l_answered_9p2000() {
    let mut h = Harness::new();
    assert_eq!(version(&mut h, 8192, "9P2000.L"), rversion(8192, "9P2000"));
}

#[test]
fn version_dot_u_answered_9p2000() {
    let mut h = Harness::new();
    assert_eq!(
        version(&mut h, 65536, "9P2000.u"),
        rversion(65536, "9P2000")
    );
}

#[test]
fn version_not_starting_9p_answered_unknown() {
    let mut h = Harness::new();
    assert_eq!(version(&mut h, 8192, "NFSv4"), rversion(256, "unknown"));
    // Not a successful version: requests still need one.
    assert_eq!(h.error(1, attach(0, NOFID)), EBOTCH);
}

#[test]
fn version_older_9p_answered_unknown() {
    let mut h = Harness::new();
    assert_eq!(version(&mut h, 8192, "9P1999"), rversion(256, "unknown"));
}

#[test]
fn version_msize_below_256_version_message_size_too_small() {
    let mut h = Harness::new();
    assert_eq!(
        h.error(
            NOTAG.0,
            Tversion {
                msize: 255,
                version: "9P2000".into()
            }
        ),
        EMSIZE_TOO_SMALL
    );
    assert_eq!(version(&mut h, 256, "9P2000"), rversion(256, "9P2000"));
}

#[test]
fn version_msize_above_max_clipped_to_one_mib_plus_iohdrsz() {
    let mut h = Harness::new();
    assert_eq!(
        version(&mut h, 8 << 20, "9P2000"),
        rversion(1024 * 1024 + 24, "9P2000")
    );
    assert_eq!(h.s.msize(), 1024 * 1024 + 24);
}

#[test]
fn version_config_below_4096_still_offers_4096() {
    let mut h = Harness::with_config(Config {
        max_msize: 1000,
        ..Config::default()
    });
    assert_eq!(version(&mut h, 4096, "9P2000.L"), rversion(4096, "9P2000"));
}

#[test]
fn version_success_clunks_every_fid() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    h.open_ok(1, OREAD);
    assert_eq!(h.s.fid_count(), 2);
    version(&mut h, 8192, "9P2000");
    assert_eq!(h.s.fid_count(), 0);
    assert_eq!(*h.tree.clunked.lock().expect("lock"), vec![FILE_C]);
    assert_eq!(h.error(1, Tstat { fid: Fid(0) }), EUNKNOWNFID);
}

#[test]
fn version_success_aborts_outstanding_requests() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["block"]);
    h.open_ok(1, OREAD);
    let (job, out) = h.start(
        5,
        Tread {
            fid: Fid(1),
            offset: 0,
            count: 10,
        },
    );
    assert!(out.is_empty());
    let job = job.expect("read is a job");
    version(&mut h, 8192, "9P2000");
    assert!(job.cancel().is_cancelled());
    assert!(
        h.complete(job.run()).is_empty(),
        "an aborted request is never answered"
    );
    assert_eq!(h.s.outstanding(), 0);
}

#[test]
fn request_before_version_protocol_botch() {
    let mut h = Harness::new();
    assert_eq!(h.error(1, attach(0, NOFID)), EBOTCH);
}

// ---- auth / attach ----

#[test]
fn auth_any_request_authentication_not_required() {
    let mut h = Harness::connected();
    let e = h.error(
        1,
        Tauth {
            afid: Fid(9),
            uname: OWNER.into(),
            aname: "".into(),
        },
    );
    assert_eq!(e, "glass: authentication not required");
    assert_eq!(e, format!("{PROG}: authentication not required"));
}

#[test]
fn attach_fid_in_use_duplicate_fid() {
    let mut h = Harness::connected();
    assert_eq!(h.error(1, attach(0, NOFID)), EDUPFID);
}

#[test]
fn attach_unknown_afid_unknown_fid() {
    let mut h = Harness::connected();
    assert_eq!(h.error(1, attach(1, Fid(7))), EUNKNOWNFID);
}

#[test]
fn attach_nofid_afid_returns_root_qid() {
    let mut h = Harness::connected();
    match h.one(1, attach(1, NOFID)) {
        Rmsg::Attach(r) => assert_eq!((r.qid.ty, r.qid.path), (QTDIR, ROOT)),
        r => panic!("{r:?}"),
    }
}

#[test]
fn attach_tree_error_passed_through() {
    let mut h = Harness::connected();
    let t = Tattach {
        fid: Fid(1),
        afid: NOFID,
        uname: OWNER.into(),
        aname: "other".into(),
    };
    assert_eq!(h.error(1, t), "unknown specifier in attach");
}

// ---- walk ----

#[test]
fn walk_first_element_missing_tree_error() {
    let mut h = Harness::connected();
    assert_eq!(ename(&h.walk(0, 1, &["nope", "b"])), ENONEXIST);
    assert_eq!(h.s.fid_count(), 1);
}

#[test]
fn walk_later_element_missing_partial_rwalk_without_newfid() {
    let mut h = Harness::connected();
    match h.walk(0, 1, &["a", "nope"]) {
        Rmsg::Walk(r) => assert_eq!(
            r.wqid.iter().map(|q| q.path).collect::<Vec<_>>(),
            vec![DIR_A]
        ),
        r => panic!("{r:?}"),
    }
    assert_eq!(h.error(1, Tstat { fid: Fid(1) }), EUNKNOWNFID);
}

#[test]
fn walk_newfid_equal_fid_partial_leaves_fid_unchanged() {
    let mut h = Harness::connected();
    assert!(matches!(h.walk(0, 0, &["a", "nope"]), Rmsg::Walk(r) if r.wqid.len() == 1));
    h.walk_ok(0, 1, &["a", "b"]); // fid 0 is still the root
}

#[test]
fn walk_newfid_equal_fid_full_moves_fid() {
    let mut h = Harness::connected();
    h.walk_ok(0, 0, &["a"]);
    h.walk_ok(0, 1, &["b"]);
}

#[test]
fn walk_nwname_zero_clones_fid() {
    let mut h = Harness::connected();
    assert_eq!(h.walk(0, 1, &[]), Rmsg::Walk(Rwalk { wqid: vec![] }));
    assert_eq!(h.s.fid_count(), 2);
    h.walk_ok(1, 2, &["a"]);
}

#[test]
fn walk_nwname_zero_from_file_clones() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    h.walk_ok(1, 2, &[]);
}

#[test]
fn walk_open_fid_cannot_clone_open_fid() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["a"]);
    h.open_ok(1, OREAD);
    assert_eq!(ename(&h.walk(1, 2, &[])), ECLONE_OPEN);
}

#[test]
fn walk_from_file_walk_in_non_directory() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    assert_eq!(ename(&h.walk(1, 2, &["x"])), EWALK_NON_DIR);
}

#[test]
fn walk_through_file_midway_partial_rwalk() {
    let mut h = Harness::connected();
    assert!(matches!(h.walk(0, 1, &["a", "b", "x"]), Rmsg::Walk(r) if r.wqid.len() == 2));
    assert_eq!(h.s.fid_count(), 1);
}

#[test]
fn walk_newfid_in_use_duplicate_fid() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &[]);
    assert_eq!(ename(&h.walk(0, 1, &["a"])), EDUPFID);
}

#[test]
fn walk_unknown_fid_unknown_fid() {
    let mut h = Harness::connected();
    assert_eq!(ename(&h.walk(5, 6, &["a"])), EUNKNOWNFID);
}

#[test]
fn walk_dotdot_reaches_parent() {
    let mut h = Harness::connected();
    match h.walk(0, 1, &["a", "..", "c"]) {
        Rmsg::Walk(r) => assert_eq!(
            r.wqid.iter().map(|q| q.path).collect::<Vec<_>>(),
            vec![DIR_A, ROOT, FILE_C]
        ),
        r => panic!("{r:?}"),
    }
}

// ---- open / create ----

#[test]
fn open_open_fid_protocol_botch() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    h.open_ok(1, OREAD);
    assert_eq!(
        h.error(
            1,
            Topen {
                fid: Fid(1),
                mode: OREAD
            }
        ),
        EBOTCH
    );
}

#[test]
fn open_dir_for_writing_is_a_directory() {
    let mut h = Harness::connected();
    for mode in [OWRITE, ORDWR, OEXEC] {
        assert_eq!(h.error(1, Topen { fid: Fid(0), mode }), EISDIR);
    }
}

#[test]
fn open_dir_with_otrunc_or_orclose_permission_denied() {
    let mut h = Harness::connected();
    for mode in [OREAD | OTRUNC, OREAD | ORCLOSE] {
        assert_eq!(h.error(1, Topen { fid: Fid(0), mode }), EPERM);
    }
}

#[test]
fn open_tree_refusal_passes_string() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["ro"]);
    assert_eq!(
        h.error(
            1,
            Topen {
                fid: Fid(1),
                mode: OWRITE
            }
        ),
        EPERM
    );
    h.open_ok(1, OREAD); // the failed open left the fid unopened
}

#[test]
fn open_iounit_zero_becomes_msize_minus_iohdrsz() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    assert_eq!(h.open_ok(1, ORDWR).iounit, 8192 - 24);
}

#[test]
fn open_unknown_fid_unknown_fid() {
    let mut h = Harness::connected();
    assert_eq!(
        h.error(
            1,
            Topen {
                fid: Fid(3),
                mode: OREAD
            }
        ),
        EUNKNOWNFID
    );
}

#[test]
fn create_in_directory_create_prohibited() {
    let mut h = Harness::connected();
    let e = h.error(
        1,
        Tcreate {
            fid: Fid(0),
            name: "n".into(),
            perm: 0o644,
            mode: OWRITE,
        },
    );
    assert_eq!(e, ENOCREATE);
}

#[test]
fn create_in_file_create_in_non_directory() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    let e = h.error(
        1,
        Tcreate {
            fid: Fid(1),
            name: "n".into(),
            perm: 0o644,
            mode: OWRITE,
        },
    );
    assert_eq!(e, ECREATE_NON_DIR);
}

#[test]
fn create_on_open_fid_protocol_botch() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &[]);
    h.open_ok(1, OREAD);
    let e = h.error(
        1,
        Tcreate {
            fid: Fid(1),
            name: "n".into(),
            perm: 0o644,
            mode: OWRITE,
        },
    );
    assert_eq!(e, EBOTCH);
}

// ---- read / write ----

#[test]
fn read_unopened_fid_protocol_botch() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    assert_eq!(ename(&h.read(1, 0, 10)), EBOTCH);
}

#[test]
fn read_write_only_fid_protocol_botch() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    h.open_ok(1, OWRITE);
    assert_eq!(ename(&h.read(1, 0, 10)), EBOTCH);
}

#[test]
fn read_unknown_fid_unknown_fid() {
    let mut h = Harness::connected();
    assert_eq!(ename(&h.read(9, 0, 10)), EUNKNOWNFID);
}

#[test]
fn read_negative_offset_bad_offset() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    h.open_ok(1, OREAD);
    assert_eq!(ename(&h.read(1, 1 << 63, 10)), EBADOFFSET);
}

#[test]
fn read_count_over_iounit_clipped_to_msize_minus_iohdrsz() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["big"]);
    h.open_ok(1, OREAD);
    assert_eq!(data(&h.read(1, 0, 9000)).len(), 8192 - 24);
}

#[test]
fn read_past_end_returns_zero_bytes() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["a", "b"]);
    h.open_ok(1, OEXEC); // OEXEC allows reading (lib9p)
    assert_eq!(data(&h.read(1, 6, 100)), b"world");
    assert_eq!(data(&h.read(1, 11, 100)), b"");
}

#[test]
fn write_read_only_fid_protocol_botch() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    h.open_ok(1, OREAD);
    let e = h.error(
        1,
        Twrite {
            fid: Fid(1),
            offset: 0,
            data: b"x".to_vec(),
        },
    );
    assert_eq!(e, EBOTCH);
}

#[test]
fn write_negative_offset_protocol_botch() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    h.open_ok(1, OWRITE);
    let e = h.error(
        1,
        Twrite {
            fid: Fid(1),
            offset: u64::MAX,
            data: b"x".to_vec(),
        },
    );
    assert_eq!(e, EBOTCH);
}

#[test]
fn write_then_read_returns_written_bytes() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    h.open_ok(1, ORDWR);
    assert_eq!(
        h.one(
            1,
            Twrite {
                fid: Fid(1),
                offset: 1,
                data: b"XY".to_vec()
            }
        ),
        Rmsg::Write(Rwrite { count: 2 })
    );
    assert_eq!(data(&h.read(1, 0, 100)), b"cXY");
}

#[test]
fn write_data_beyond_iounit_clipped() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    h.open_ok(1, OWRITE | OTRUNC);
    // 7+4+8+4+8169 = 8192 = msize: the frame fits, the data is one byte over iounit.
    let r = h.one(
        1,
        Twrite {
            fid: Fid(1),
            offset: 0,
            data: vec![b'z'; 8169],
        },
    );
    assert_eq!(r, Rmsg::Write(Rwrite { count: 8168 }));
}

#[test]
fn read_tree_panic_the_front_fell_off() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["panic"]);
    h.open_ok(1, OREAD);
    assert_eq!(ename(&h.read(1, 0, 10)), EINTERNAL);
    assert_eq!(EINTERNAL, "the front fell off");
    // The session goes on.
    assert!(matches!(h.one(3, Tstat { fid: Fid(1) }), Rmsg::Stat(_)));
}

// ---- directory reads ----

fn open_root(h: &mut Harness) {
    h.walk_ok(0, 1, &[]);
    h.open_ok(1, OREAD);
}

#[test]
fn dirread_offset_zero_lists_every_entry() {
    let mut h = Harness::connected();
    open_root(&mut h);
    assert_eq!(
        names(&h.read(1, 0, 8000)),
        ["a", "c", "block", "ro", "big", "e"]
    );
}

#[test]
fn dirread_next_offset_continues_listing() {
    let mut h = Harness::connected();
    open_root(&mut h);
    let first = h.read(1, 0, 150); // two 68-byte entries fit
    let n = data(&first).len() as u64;
    assert_eq!(names(&first), ["a", "c"]);
    let second = h.read(1, n, 8000);
    assert_eq!(names(&second), ["block", "ro", "big", "e"]);
    let end = n + data(&second).len() as u64;
    assert_eq!(data(&h.read(1, end, 8000)), b"");
}

#[test]
fn dirread_other_offset_bad_offset() {
    let mut h = Harness::connected();
    open_root(&mut h);
    let n = data(&h.read(1, 0, 150)).len() as u64;
    assert_eq!(ename(&h.read(1, n + 1, 8000)), EBADOFFSET);
    assert_eq!(ename(&h.read(1, n - 1, 8000)), EBADOFFSET);
}

#[test]
fn dirread_first_read_nonzero_offset_bad_offset() {
    let mut h = Harness::connected();
    open_root(&mut h);
    assert_eq!(ename(&h.read(1, 57, 8000)), EBADOFFSET);
}

#[test]
fn dirread_offset_zero_restarts_listing() {
    let mut h = Harness::connected();
    open_root(&mut h);
    h.read(1, 0, 150);
    assert_eq!(
        names(&h.read(1, 0, 8000)),
        ["a", "c", "block", "ro", "big", "e"]
    );
}

#[test]
fn dirread_count_below_one_entry_io_count_too_small() {
    let mut h = Harness::connected();
    open_root(&mut h);
    assert_eq!(ename(&h.read(1, 0, 40)), ESHORT);
}

#[test]
fn dirread_packs_whole_entries_only() {
    let mut h = Harness::connected();
    open_root(&mut h);
    let entry = {
        let st = h.tree.stat(&DIR_A).expect("stat");
        let mut b = Vec::new();
        st.encode(&mut b);
        b.len()
    };
    let r = h.read(1, 0, (entry + entry / 2) as u32);
    assert_eq!(data(&r).len(), entry);
    assert_eq!(names(&r), ["a"]);
}

#[test]
fn dirread_empty_directory_returns_zero_bytes() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["e"]);
    h.open_ok(1, OREAD);
    assert_eq!(data(&h.read(1, 0, 100)), b"");
}

#[test]
fn dirread_write_on_directory_protocol_botch() {
    let mut h = Harness::connected();
    open_root(&mut h);
    assert_eq!(
        h.error(
            1,
            Twrite {
                fid: Fid(1),
                offset: 0,
                data: b"x".to_vec()
            }
        ),
        EBOTCH
    );
}

// ---- stat / wstat ----

#[test]
fn stat_returns_tree_stat() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["a", "b"]);
    match h.one(1, Tstat { fid: Fid(1) }) {
        Rmsg::Stat(r) => assert_eq!(
            (r.stat.name.as_str(), r.stat.length, r.stat.mode),
            ("b", 11, 0o444)
        ),
        r => panic!("{r:?}"),
    }
}

#[test]
fn stat_larger_than_msize_reply_too_large() {
    let mut h = Harness::new();
    version(&mut h, 256, "9P2000");
    h.send(0, attach(0, NOFID));
    h.walk_ok(0, 1, &["longstat"]);
    assert_eq!(h.error(1, Tstat { fid: Fid(1) }), EREPLY_TOO_BIG);
}

#[test]
fn stat_unknown_fid_unknown_fid() {
    let mut h = Harness::connected();
    assert_eq!(h.error(1, Tstat { fid: Fid(4) }), EUNKNOWNFID);
}

fn dont_touch() -> Stat {
    Stat {
        ty: !0,
        dev: !0,
        qid: super::super::fs::Qid {
            ty: !0,
            vers: !0,
            path: !0,
        },
        mode: !0,
        atime: !0,
        mtime: !0,
        length: !0,
        ..Stat::default()
    }
}

#[test]
fn wstat_dont_touch_fields_reach_tree() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    let st = Stat {
        mode: 0o600,
        ..dont_touch()
    };
    assert_eq!(
        h.one(
            1,
            Twstat {
                fid: Fid(1),
                stat: st.clone()
            }
        ),
        Rmsg::Wstat(Rwstat {})
    );
    assert_eq!(*h.tree.wstats.lock().expect("lock"), vec![st]);
}

#[test]
fn wstat_forbidden_fields_lib9p_strings() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    let cases = [
        (
            Stat {
                ty: 1,
                ..dont_touch()
            },
            EWSTAT_TYPE,
        ),
        (
            Stat {
                dev: 1,
                ..dont_touch()
            },
            EWSTAT_DEV,
        ),
        (
            Stat {
                qid: Default::default(),
                ..dont_touch()
            },
            EWSTAT_QID,
        ),
        (
            Stat {
                muid: "x".into(),
                ..dont_touch()
            },
            EWSTAT_MUID,
        ),
        (
            Stat {
                mode: DMDIR | 0o777,
                ..dont_touch()
            },
            EWSTAT_DMDIR,
        ),
    ];
    for (st, e) in cases {
        assert_eq!(
            h.error(
                1,
                Twstat {
                    fid: Fid(1),
                    stat: st
                }
            ),
            e
        );
    }
    assert!(h.tree.wstats.lock().expect("lock").is_empty());
}

#[test]
fn wstat_tree_refusal_passes_string() {
    let mut h = Harness::connected();
    assert_eq!(
        h.error(
            1,
            Twstat {
                fid: Fid(0),
                stat: dont_touch()
            }
        ),
        EPERM
    );
}

#[test]
fn wstat_undecodable_stat_bad_directory_in_wstat() {
    let mut h = Harness::connected();
    let mut f = Tmsg::from(Twstat {
        fid: Fid(0),
        stat: dont_touch(),
    })
    .encode_frame(Tag(3));
    f[13] = 0x30; // inner size disagrees with n
    let (r, out) = h.frame(&f);
    assert!(matches!(r, Received::Done));
    assert_eq!(out, vec![(Tag(3), Rmsg::error(EBADDIR))]);
}

// ---- clunk / remove ----

#[test]
fn clunk_releases_fid_and_open_state() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    h.open_ok(1, OREAD);
    assert_eq!(h.one(1, Tclunk { fid: Fid(1) }), Rmsg::Clunk(Rclunk {}));
    assert_eq!(*h.tree.clunked.lock().expect("lock"), vec![FILE_C]);
    assert_eq!(h.error(1, Tclunk { fid: Fid(1) }), EUNKNOWNFID);
    h.walk_ok(0, 1, &[]); // the fid number is free again
}

#[test]
fn remove_failure_still_clunks_fid() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    assert_eq!(h.error(1, Tremove { fid: Fid(1) }), EPERM);
    assert_eq!(h.error(1, Tstat { fid: Fid(1) }), EUNKNOWNFID);
}

#[test]
fn remove_unknown_fid_unknown_fid() {
    let mut h = Harness::connected();
    assert_eq!(h.error(1, Tremove { fid: Fid(1) }), EUNKNOWNFID);
}

// ---- tags and flush ----

fn blocked_read(h: &mut Harness, fid: u32, tag: u16) -> Job<TestTree> {
    h.walk_ok(0, fid, &["block"]);
    h.open_ok(fid, OREAD);
    let (job, out) = h.start(
        tag,
        Tread {
            fid: Fid(fid),
            offset: 0,
            count: 10,
        },
    );
    assert!(out.is_empty());
    job.expect("read is a job")
}

#[test]
fn tag_in_use_duplicate_tag() {
    let mut h = Harness::connected();
    let job = blocked_read(&mut h, 1, 7);
    assert_eq!(h.error(7, Tstat { fid: Fid(0) }), EDUPTAG);
    drop(job);
}

#[test]
fn flush_unknown_tag_immediate_rflush() {
    let mut h = Harness::connected();
    assert_eq!(
        h.send(3, Tflush { oldtag: Tag(99) }),
        vec![(Tag(3), Rmsg::Flush(Rflush {}))]
    );
}

#[test]
fn flush_blocked_read_cancels_and_answers_only_rflush() {
    let mut h = Harness::connected();
    let job = blocked_read(&mut h, 1, 7);
    let running = std::thread::spawn(move || job.run());
    assert!(
        h.send(8, Tflush { oldtag: Tag(7) }).is_empty(),
        "Rflush waits for the flushed request"
    );
    let done = running.join().expect("job thread");
    assert_eq!(ename(done.reply()), EINTR);
    assert_eq!(h.complete(done), vec![(Tag(8), Rmsg::Flush(Rflush {}))]);
    assert_eq!(h.s.outstanding(), 0);
    // The flushed tag may be reused at once.
    assert!(matches!(h.one(7, Tstat { fid: Fid(0) }), Rmsg::Stat(_)));
}

#[test]
fn flush_of_request_that_succeeds_sends_reply_then_rflush() {
    let mut h = Harness::connected();
    h.walk_ok(0, 1, &["c"]);
    h.open_ok(1, ORDWR);
    let (job, _) = h.start(
        7,
        Twrite {
            fid: Fid(1),
            offset: 0,
            data: b"new".to_vec(),
        },
    );
    let job = job.expect("job");
    assert!(h.send(8, Tflush { oldtag: Tag(7) }).is_empty());
    let out = h.complete(job.run());
    assert_eq!(
        out,
        vec![
            (Tag(7), Rmsg::Write(Rwrite { count: 3 })),
            (Tag(8), Rmsg::Flush(Rflush {}))
        ]
    );
}

#[test]
fn flush_twice_answered_in_order() {
    let mut h = Harness::connected();
    let job = blocked_read(&mut h, 1, 7);
    assert!(h.send(8, Tflush { oldtag: Tag(7) }).is_empty());
    assert!(h.send(9, Tflush { oldtag: Tag(7) }).is_empty());
    let flush = Rmsg::Flush(Rflush {});
    assert_eq!(
        h.complete(job.run()),
        vec![(Tag(8), flush.clone()), (Tag(9), flush)]
    );
}

#[test]
fn flush_of_waiting_flush_answered_after_it() {
    let mut h = Harness::connected();
    let job = blocked_read(&mut h, 1, 7);
    assert!(h.send(8, Tflush { oldtag: Tag(7) }).is_empty());
    assert!(h.send(9, Tflush { oldtag: Tag(8) }).is_empty());
    assert_eq!(
        h.error(8, Tstat { fid: Fid(0) }),
        EDUPTAG,
        "a waiting Tflush's tag is outstanding"
    );
    let flush = Rmsg::Flush(Rflush {});
    assert_eq!(
        h.complete(job.run()),
        vec![(Tag(8), flush.clone()), (Tag(9), flush)]
    );
}

#[test]
fn outstanding_limit_too_many_requests() {
    let mut h = Harness::with_config(Config {
        max_outstanding: 1,
        ..Config::default()
    });
    h.send(
        NOTAG.0,
        Tversion {
            msize: 8192,
            version: "9P2000".into(),
        },
    );
    h.send(0, attach(0, NOFID));
    let _job = blocked_read(&mut h, 1, 7);
    h.walk_ok(0, 2, &["c"]);
    h.open_ok(2, OREAD);
    assert_eq!(ename(&h.read(2, 0, 1)), ETOO_MANY_REQUESTS);
}

#[test]
fn close_cancels_jobs_and_clunks_fids() {
    let mut h = Harness::connected();
    let job = blocked_read(&mut h, 1, 7);
    h.s.close();
    assert!(job.cancel().is_cancelled());
    assert!(h.complete(job.run()).is_empty());
    assert_eq!(h.s.fid_count(), 0);
    assert_eq!(*h.tree.clunked.lock().expect("lock"), vec![FILE_BLOCK]);
}

#[test]
fn clunk_during_blocked_read_defers_tree_clunk() {
    let mut h = Harness::connected();
    let job = blocked_read(&mut h, 1, 7);
    assert_eq!(h.one(2, Tclunk { fid: Fid(1) }), Rmsg::Clunk(Rclunk {}));
    assert!(
        h.tree.clunked.lock().expect("lock").is_empty(),
        "the read still uses the open file"
    );
    h.send(8, Tflush { oldtag: Tag(7) });
    h.complete(job.run());
    assert_eq!(*h.tree.clunked.lock().expect("lock"), vec![FILE_BLOCK]);
}

// ---- frames ----

#[test]
fn frame_unknown_type_unknown_message() {
    let mut h = Harness::connected();
    let f = [7, 0, 0, 0, 12, 5, 0]; // Tlopen header only
    let (r, out) = h.frame(&f);
    assert!(matches!(r, Received::Done));
    assert_eq!(out, vec![(Tag(5), Rmsg::error(EUNKNOWN_MESSAGE))]);
}

#[test]
fn frame_terror_unknown_message() {
    let mut h = Harness::connected();
    let (_, out) = h.frame(&[9, 0, 0, 0, 106, 1, 0, 0, 0]);
    assert_eq!(out, vec![(Tag(1), Rmsg::error(EUNKNOWN_MESSAGE))]);
}

#[test]
fn frame_bad_body_answers_tag_with_protocol_botch() {
    let mut h = Harness::connected();
    let t = Twalk {
        fid: Fid(0),
        newfid: Fid(1),
        wname: (0..17).map(|i| i.to_string()).collect(),
    };
    let (r, out) = h.frame(&Tmsg::from(t).encode_frame(Tag(4)));
    assert!(matches!(r, Received::Done));
    assert_eq!(out, vec![(Tag(4), Rmsg::error(EBOTCH))]);
    assert_eq!(h.s.fid_count(), 1);
}

#[test]
fn frame_shorter_than_header_closes() {
    let mut h = Harness::connected();
    assert!(matches!(h.frame(&[6, 0, 0, 0, 120, 1]).0, Received::Close));
}

#[test]
fn frame_larger_than_msize_closes() {
    let mut h = Harness::connected();
    let t = Twrite {
        fid: Fid(0),
        offset: 0,
        data: vec![0; 8192],
    };
    assert!(matches!(
        h.frame(&Tmsg::from(t).encode_frame(Tag(1))).0,
        Received::Close
    ));
}

#[test]
fn rerror_longer_than_msize_truncated_to_fit() {
    let mut h = Harness::new();
    version(&mut h, 256, "9P2000");
    h.send(0, attach(0, NOFID));
    let long = "x".repeat(300);
    let r = h.walk(0, 1, &[long.as_str()]);
    assert!(r.encode_frame(Tag(1)).len() <= 256);
    assert!(ename(&r).starts_with("'xxx"));
}

// ---- transcripts ----

#[test]
fn transcript_walk_open_read_clunk() {
    let mut h = Harness::new();
    h.send(
        NOTAG.0,
        Tversion {
            msize: 8192,
            version: "9P2000.L".into(),
        },
    );
    h.send(
        1,
        Tauth {
            afid: Fid(9),
            uname: OWNER.into(),
            aname: "".into(),
        },
    );
    h.send(1, attach(0, NOFID));
    h.send(
        2,
        Twalk {
            fid: Fid(0),
            newfid: Fid(1),
            wname: vec!["a".into(), "b".into()],
        },
    );
    h.send(
        3,
        Topen {
            fid: Fid(1),
            mode: OREAD,
        },
    );
    h.send(
        4,
        Tread {
            fid: Fid(1),
            offset: 0,
            count: 8192,
        },
    );
    h.send(
        5,
        Tread {
            fid: Fid(1),
            offset: 11,
            count: 8192,
        },
    );
    h.send(6, Tstat { fid: Fid(1) });
    h.send(7, Tclunk { fid: Fid(1) });
    insta::assert_snapshot!(h.transcript());
}

#[test]
fn transcript_error_strings() {
    let mut h = Harness::connected();
    h.send(
        1,
        Twalk {
            fid: Fid(0),
            newfid: Fid(1),
            wname: vec!["a".into(), "b".into()],
        },
    );
    h.send(
        2,
        Twalk {
            fid: Fid(0),
            newfid: Fid(2),
            wname: vec!["nope".into()],
        },
    );
    h.send(
        3,
        Twalk {
            fid: Fid(0),
            newfid: Fid(2),
            wname: vec!["a".into(), "nope".into()],
        },
    );
    h.send(
        4,
        Twalk {
            fid: Fid(1),
            newfid: Fid(2),
            wname: vec!["x".into()],
        },
    );
    h.send(
        5,
        Twalk {
            fid: Fid(0),
            newfid: Fid(1),
            wname: vec![],
        },
    );
    h.send(
        6,
        Topen {
            fid: Fid(0),
            mode: OWRITE,
        },
    );
    h.send(
        7,
        Topen {
            fid: Fid(0),
            mode: OREAD | OTRUNC,
        },
    );
    h.send(
        8,
        Tread {
            fid: Fid(1),
            offset: 0,
            count: 10,
        },
    );
    h.send(
        9,
        Topen {
            fid: Fid(1),
            mode: OREAD,
        },
    );
    h.send(
        10,
        Topen {
            fid: Fid(1),
            mode: OREAD,
        },
    );
    h.send(
        11,
        Twalk {
            fid: Fid(1),
            newfid: Fid(3),
            wname: vec![],
        },
    );
    h.send(
        12,
        Twrite {
            fid: Fid(1),
            offset: 0,
            data: b"x".to_vec(),
        },
    );
    h.send(
        13,
        Tcreate {
            fid: Fid(0),
            name: "new".into(),
            perm: 0o644,
            mode: OWRITE,
        },
    );
    h.send(14, Tremove { fid: Fid(1) });
    h.send(15, Tstat { fid: Fid(1) });
    h.send(16, Tclunk { fid: Fid(42) });
    h.frame(&[7, 0, 0, 0, 12, 17, 0]);
    insta::assert_snapshot!(h.transcript());
}

#[test]
fn transcript_directory_read() {
    let mut h = Harness::connected();
    h.send(
        1,
        Twalk {
            fid: Fid(0),
            newfid: Fid(1),
            wname: vec![],
        },
    );
    h.send(
        2,
        Topen {
            fid: Fid(1),
            mode: OREAD,
        },
    );
    h.send(
        3,
        Tread {
            fid: Fid(1),
            offset: 0,
            count: 40,
        },
    );
    let out = h.send(
        4,
        Tread {
            fid: Fid(1),
            offset: 0,
            count: 150,
        },
    );
    let n = data(&out[0].1).len() as u64;
    for st in decode_dir_entries(&data(&out[0].1)).expect("entries") {
        h.log
            .push(format!("   entry {}", super::super::text::stat(&st)));
    }
    h.send(
        5,
        Tread {
            fid: Fid(1),
            offset: n + 3,
            count: 8000,
        },
    );
    let out = h.send(
        6,
        Tread {
            fid: Fid(1),
            offset: n,
            count: 8000,
        },
    );
    for st in decode_dir_entries(&data(&out[0].1)).expect("entries") {
        h.log
            .push(format!("   entry {}", super::super::text::stat(&st)));
    }
    let end = n + data(&out[0].1).len() as u64;
    h.send(
        7,
        Tread {
            fid: Fid(1),
            offset: end,
            count: 8000,
        },
    );
    insta::assert_snapshot!(h.transcript());
}

#[test]
fn transcript_flush_blocked_read() {
    let mut h = Harness::connected();
    h.send(
        1,
        Twalk {
            fid: Fid(0),
            newfid: Fid(1),
            wname: vec!["block".into()],
        },
    );
    h.send(
        2,
        Topen {
            fid: Fid(1),
            mode: OREAD,
        },
    );
    let (job, _) = h.start(
        3,
        Tread {
            fid: Fid(1),
            offset: 0,
            count: 100,
        },
    );
    h.send(4, Tstat { fid: Fid(1) });
    h.send(3, Tstat { fid: Fid(1) });
    h.send(5, Tflush { oldtag: Tag(3) });
    h.send(6, Tflush { oldtag: Tag(3) });
    h.send(7, Tflush { oldtag: Tag(99) });
    h.complete(job.expect("job").run());
    h.send(3, Tclunk { fid: Fid(1) });
    insta::assert_snapshot!(h.transcript());
}

// ---- hardening: NOFID, the fid limit, auth ----

#[test]
fn attach_fid_nofid_bad_fid() {
    let mut h = Harness::connected();
    let t = Tattach {
        fid: NOFID,
        afid: NOFID,
        uname: OWNER.into(),
        aname: "".into(),
    };
    assert_eq!(h.error(1, t), EBADFID);
    assert_eq!(h.s.fid_count(), 1);
}

#[test]
fn walk_newfid_nofid_bad_fid() {
    let mut h = Harness::connected();
    let t = Twalk {
        fid: Fid(0),
        newfid: NOFID,
        wname: vec!["c".into()],
    };
    assert_eq!(h.error(1, t), EBADFID);
    assert_eq!(h.s.fid_count(), 1);
}

fn auth_config() -> Config {
    Config {
        auth: Some(crate::ninep::AuthKey::new(vec![5; 32]).expect("key")),
        ..Config::default()
    }
}

fn versioned(config: Config) -> Harness {
    let mut h = Harness::with_config(config);
    assert_eq!(version(&mut h, 8192, "9P2000"), rversion(8192, "9P2000"));
    h
}

#[test]
fn auth_afid_nofid_bad_fid() {
    let mut h = versioned(auth_config());
    let t = Tauth {
        afid: NOFID,
        uname: OWNER.into(),
        aname: "".into(),
    };
    assert_eq!(h.error(1, t), EBADFID);
}

#[test]
fn attach_without_afid_on_auth_server_not_authenticated() {
    let mut h = versioned(auth_config());
    assert_eq!(h.error(1, attach(0, NOFID)), ENOT_AUTHENTICATED);
    assert_eq!(h.s.fid_count(), 0);
}

#[test]
fn attach_with_unanswered_afid_authentication_failed() {
    let mut h = versioned(auth_config());
    let t = Tauth {
        afid: Fid(9),
        uname: OWNER.into(),
        aname: "".into(),
    };
    assert!(matches!(h.one(1, t), Rmsg::Auth(a) if a.aqid.ty == QTAUTH));
    assert_eq!(h.error(2, attach(0, Fid(9))), EAUTH_FAILED);
}

#[test]
fn auth_wrong_response_fails_afid_for_good() {
    let mut h = versioned(auth_config());
    let t = Tauth {
        afid: Fid(9),
        uname: OWNER.into(),
        aname: "".into(),
    };
    h.one(1, t);
    // A wrong answer fails the afid for good: the right one afterwards does not help.
    let w = Twrite {
        fid: Fid(9),
        offset: 0,
        data: vec![0; 32],
    };
    assert_eq!(h.error(2, w), EAUTH_FAILED);
    assert_eq!(h.error(3, attach(0, Fid(9))), EAUTH_FAILED);
    assert_eq!(h.error(4, attach(0, Fid(3))), EUNKNOWNFID);
}

#[test]
fn fid_limit_reached_too_many_fids_clunk_frees_one() {
    let mut h = versioned(Config {
        max_fids: 2,
        ..Config::default()
    });
    h.one(1, attach(0, NOFID));
    h.walk_ok(0, 1, &[]);
    assert_eq!(h.error(2, attach(2, NOFID)), ETOO_MANY_FIDS);
    let t = Twalk {
        fid: Fid(0),
        newfid: Fid(2),
        wname: vec![],
    };
    assert_eq!(h.error(3, t), ETOO_MANY_FIDS);
    // Walking a fid onto itself makes no new fid: still allowed at the limit.
    h.walk_ok(1, 1, &["c"]);
    assert_eq!(h.one(4, Tclunk { fid: Fid(1) }), Rmsg::Clunk(Rclunk {}));
    h.walk_ok(0, 2, &[]);
}

#[test]
fn fid_gauge_counts_fids_and_drops_to_zero_at_close() {
    let config = Config::default();
    let gauge = config.live_fids.clone();
    let mut h = versioned(config);
    h.one(1, attach(0, NOFID));
    for f in 1..50 {
        h.walk_ok(0, f, &[]);
    }
    assert_eq!(gauge.get(), 50);
    h.s.close();
    assert_eq!(gauge.get(), 0);
}
