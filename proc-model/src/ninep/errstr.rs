//! Plan 9 error strings the 9P server core sends in Rerror: lib9p's (9front
//! `sys/src/lib9p/srv.c`), plan9port's `unknown message`, the kernel's Eshort, and the few
//! Glass adds; see docs/plan9-proc-9p.md §4.4.

/// The program name lib9p prefixes to `authentication not required` (argv0 in lib9p).
pub const PROG: &str = "glass";

/// lib9p sauth without an auth routine: `"%s: authentication not required", argv0`.
pub const EAUTH_NOT_REQUIRED: &str = "glass: authentication not required";
/// lib9p sversion: client msize < 256.
pub const EMSIZE_TOO_SMALL: &str = "version: message size too small";
/// lib9p Ebotch: a request that breaks the protocol (open of an open fid, I/O in the wrong
/// mode, a body that does not decode, a request before Tversion).
pub const EBOTCH: &str = "9P protocol botch";
/// lib9p Ebadoffset: a directory read at an offset other than 0 or the previous end, or a
/// negative read offset.
pub const EBADOFFSET: &str = "bad offset";
/// lib9p Ecreatenondir.
pub const ECREATE_NON_DIR: &str = "create in non-directory";
/// lib9p Edupfid.
pub const EDUPFID: &str = "duplicate fid";
/// lib9p Eduptag.
pub const EDUPTAG: &str = "duplicate tag";
/// lib9p Eisdir: a directory opened for anything but reading.
pub const EISDIR: &str = "is a directory";
/// lib9p Enocreate: this server has no create.
pub const ENOCREATE: &str = "create prohibited";
/// lib9p Eperm: a directory opened with OTRUNC or ORCLOSE.
pub const EPERM: &str = "permission denied";
/// lib9p Eunknownfid.
pub const EUNKNOWNFID: &str = "unknown fid";
/// lib9p Ebaddir: a Twstat whose stat does not decode.
pub const EBADDIR: &str = "bad directory in wstat";
/// lib9p Ewalknodir.
pub const EWALK_NON_DIR: &str = "walk in non-directory";
/// lib9p swalk: walking from an open fid.
pub const ECLONE_OPEN: &str = "cannot clone open fid";
/// plan9port lib9p: a message type the server does not know.
pub const EUNKNOWN_MESSAGE: &str = "unknown message";
/// Plan 9 kernel Eshort (port/dev.c devdirread): not even one directory entry fits.
pub const ESHORT: &str = "i/o count too small";
/// lib9p swstat: the fields a wstat may not change.
pub const EWSTAT_TYPE: &str = "wstat -- attempt to change type";
pub const EWSTAT_DEV: &str = "wstat -- attempt to change dev";
pub const EWSTAT_QID: &str = "wstat -- attempt to change qid";
pub const EWSTAT_MUID: &str = "wstat -- attempt to change muid";
pub const EWSTAT_DMDIR: &str = "wstat -- attempt to change DMDIR bit";
/// Glass: more requests in flight on one connection than the server will hold.
pub const ETOO_MANY_REQUESTS: &str = "too many outstanding requests";
/// Glass: a reply (a stat with very long strings) that does not fit the negotiated msize.
pub const EREPLY_TOO_BIG: &str = "reply too large for msize";
/// Eintr (port/error.h): a blocking request cancelled by Tflush.
pub const EINTR: &str = "interrupted";
