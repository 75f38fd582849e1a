//! Glass's 9P2000 authentication: a shared-key challenge–response run through an auth fid,
//! as attach(5) lays out (Tauth makes an afid, the client reads and writes it, Tattach names
//! it). Plan 9 runs p9sk1 with factotum there; Glass runs this instead:
//!
//! 1. the client sends `Tauth afid uname aname`; the server answers Rauth (qid type QTAUTH);
//! 2. the client reads the afid: 32 random bytes, the nonce (fresh for every auth fid);
//! 3. the client writes `HMAC-SHA256(key, nonce ‖ s(uname) ‖ s(aname))` (32 bytes) to the
//!    afid, where `s(x)` is x as a 9P string (`len[2]` little-endian, then the bytes, so
//!    `uname`/`aname` boundaries cannot be shifted); a wrong MAC is `authentication failed`;
//! 4. the client attaches with that afid, the same uname and aname.
//!
//! This proves the client holds the key; it does not encrypt or sign the stream after it.
//! The MAC is checked with `hmac`'s constant-time `verify_slice`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::path::Path;

/// Bytes in a nonce: 256 bits, the size of the HMAC-SHA256 output it is paired with.
pub const NONCE_LEN: usize = 32;
/// Bytes in a response: HMAC-SHA256's output (FIPS 198-1 with SHA-256).
pub const RESPONSE_LEN: usize = 32;
/// The shortest key accepted: 128 bits (NIST SP 800-107 asks an HMAC key for at least the
/// security strength wanted; 16 bytes of random data give 128 bits).
pub const MIN_KEY_LEN: usize = 16;

type HmacSha256 = Hmac<Sha256>;

/// A shared key. Its bytes are never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthKey(Vec<u8>);

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthKey({} bytes)", self.0.len())
    }
}

/// Why a key could not be had (host-side; never sent to a client).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("key file {path} is readable by group or others (mode {mode:o}); chmod 600 it")]
    Exposed { path: String, mode: u32 },
    #[error("key in {path} is {len} bytes; at least {MIN_KEY_LEN} are needed")]
    TooShort { path: String, len: usize },
}

impl AuthKey {
    /// A key from its bytes; `None` if shorter than [`MIN_KEY_LEN`].
    pub fn new(bytes: Vec<u8>) -> Option<AuthKey> {
        (bytes.len() >= MIN_KEY_LEN).then_some(AuthKey(bytes))
    }

    /// Read a key file: its whole contents, less trailing whitespace (so `echo`'s newline
    /// does not count). Like ssh with a private key, a file group or others can read is
    /// refused.
    pub fn load(path: &Path) -> Result<AuthKey, KeyError> {
        use std::os::unix::fs::PermissionsExt;
        let name = path.display().to_string();
        let read_err = |source| KeyError::Read {
            path: name.clone(),
            source,
        };
        let md = std::fs::metadata(path).map_err(read_err)?;
        let mode = md.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Exposed { path: name, mode });
        }
        let mut bytes = std::fs::read(path).map_err(read_err)?;
        while bytes.last().is_some_and(|b| b.is_ascii_whitespace()) {
            bytes.pop();
        }
        let len = bytes.len();
        AuthKey::new(bytes).ok_or(KeyError::TooShort { path: name, len })
    }

    fn mac(&self, nonce: &[u8], uname: &str, aname: &str) -> HmacSha256 {
        // HMAC takes a key of any length (RFC 2104 §2), so new_from_slice cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        };
        mac.update(nonce);
        for s in [uname, aname] {
            // A 9P string's length is 16 bits; longer names never reach here (the codec
            // refuses them), but the MAC input must stay unambiguous regardless.
            let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
            mac.update(&len.to_le_bytes());
            mac.update(s.as_bytes());
        }
        mac
    }

    /// The client's answer to `nonce` for an attach as `uname` to `aname`.
    pub fn response(&self, nonce: &[u8], uname: &str, aname: &str) -> [u8; RESPONSE_LEN] {
        self.mac(nonce, uname, aname).finalize().into_bytes().into()
    }

    /// Whether `response` answers `nonce` for `uname`/`aname` (constant-time compare).
    pub fn verify(&self, nonce: &[u8], uname: &str, aname: &str, response: &[u8]) -> bool {
        self.mac(nonce, uname, aname).verify_slice(response).is_ok()
    }
}

/// A fresh nonce from the operating system's random source (getrandom(2)); `None` if the
/// source fails, in which case no auth fid is made.
pub fn nonce() -> Option<[u8; NONCE_LEN]> {
    let mut n = [0u8; NONCE_LEN];
    getrandom::getrandom(&mut n).ok()?;
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 ("Jefe", "what do ya want for nothing?"): our MAC is the
    /// standard HMAC-SHA256 when fed the same bytes. The key is below MIN_KEY_LEN, so it is
    /// built directly.
    #[test]
    fn mac_rfc4231_case2_matches_published_digest() {
        let k = AuthKey(b"Jefe".to_vec());
        let mut m = HmacSha256::new_from_slice(&k.0).expect("any length");
        m.update(b"what do ya want for nothing?");
        let got: [u8; 32] = m.finalize().into_bytes().into();
        let want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let hex: String = got.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, want);
    }

    #[test]
    fn verify_right_response_accepted_wrong_refused() {
        let k = AuthKey::new(vec![7; 32]).expect("long enough");
        let n = [1u8; NONCE_LEN];
        let r = k.response(&n, "glenda", "");
        assert!(k.verify(&n, "glenda", "", &r));
        assert!(!k.verify(&n, "glenda", "x", &r));
        assert!(
            !k.verify(&n, "glend", "a", &r),
            "name boundary is part of the MAC"
        );
        assert!(!k.verify(&[2u8; NONCE_LEN], "glenda", "", &r));
        let other = AuthKey::new(vec![8; 32]).expect("long enough");
        assert!(!other.verify(&n, "glenda", "", &r));
        assert!(!k.verify(&n, "glenda", "", &r[..31]));
    }

    #[test]
    fn key_short_refused() {
        assert!(AuthKey::new(vec![0; MIN_KEY_LEN - 1]).is_none());
    }

    #[test]
    fn nonce_two_draws_differ() {
        assert_ne!(nonce(), nonce());
    }
}
