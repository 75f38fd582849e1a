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
/// Eshortstat (port/error.h): a kernel device's Twstat whose stat does not decode.
pub const ESHORTSTAT: &str = "stat buffer too small";
/// Ebadarg (port/error.h): a kernel device's open with undefined mode bits.
pub const EBADARG_SYSCALL: &str = "bad arg in system call";
/// lib9p swstat: the fields a wstat may not change.
pub const EWSTAT_TYPE: &str = "wstat -- attempt to change type";
pub const EWSTAT_DEV: &str = "wstat -- attempt to change dev";
pub const EWSTAT_QID: &str = "wstat -- attempt to change qid";
pub const EWSTAT_MUID: &str = "wstat -- attempt to change muid";
pub const EWSTAT_DMDIR: &str = "wstat -- attempt to change DMDIR bit";
/// Glass: more Tread/Twrite jobs in flight than the sans-IO core will hold. The transports
/// never let a client reach it: they stop reading the socket at the bound (backpressure).
pub const ETOO_MANY_REQUESTS: &str = "too many outstanding requests";
/// Glass: a reply (a stat with very long strings) that does not fit the negotiated msize.
pub const EREPLY_TOO_BIG: &str = "reply too large for msize";
/// Eintr (port/error.h): a blocking request cancelled by Tflush.
pub const EINTR: &str = "interrupted";
/// Glass (after exportfs's `Bad fid`): a request that names NOFID (~0, intro(5)) as the fid
/// it would create (Tattach fid, Twalk newfid, Tauth afid). NOFID means "no fid".
pub const EBADFID: &str = "bad fid";
/// Glass: a connection already holds as many fids as the server allows it
/// ([`Config::max_fids`](super::server::Config::max_fids)).
pub const ETOO_MANY_FIDS: &str = "too many fids";
/// plan9port lib9p authattach: an attach without an afid on a server that requires auth.
pub const ENOT_AUTHENTICATED: &str = "not authenticated";
/// plan9port lib9p authattach/authread: a fid used as an afid that is not one.
pub const ENOT_AUTH_FID: &str = "not an auth fid";
/// 9front lib9p Eauth: a wrong response, or an attach with an afid not yet verified.
pub const EAUTH_FAILED: &str = "authentication failed";
/// Glass: the random source failed, so no nonce could be made for a Tauth.
pub const EAUTH_NO_RANDOM: &str = "authentication unavailable";

/// plan9port lib9p authattach: `auth uname mismatch: %s vs %s` (afid's, then attach's).
pub fn auth_uname_mismatch(afid: &str, attach: &str) -> String {
    format!("auth uname mismatch: {afid} vs {attach}")
}

/// plan9port lib9p authattach: `auth aname mismatch: %s vs %s`.
pub fn auth_aname_mismatch(afid: &str, attach: &str) -> String {
    format!("auth aname mismatch: {afid} vs {attach}")
}
