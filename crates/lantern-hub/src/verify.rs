//! Streaming verification of a file's content hash.

use lantern_core::ContentHash;
use sha1::Digest as _;

/// Hashes bytes as they arrive and checks them against the expected [`ContentHash`].
#[derive(Debug, Clone)]
pub(crate) enum Verifier {
    Sha256(sha2::Sha256),
    /// A git blob id hashes a `blob {size}\0` header before the content, so the expected size
    /// is part of the state.
    GitSha1(sha1::Sha1),
}

impl Verifier {
    pub(crate) fn new(expected: &ContentHash, size: u64) -> Self {
        match expected {
            ContentHash::Sha256(_) => Verifier::Sha256(sha2::Sha256::new()),
            ContentHash::GitSha1(_) => {
                let mut h = sha1::Sha1::new();
                h.update(format!("blob {size}\0").as_bytes());
                Verifier::GitSha1(h)
            }
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Verifier::Sha256(h) => h.update(data),
            Verifier::GitSha1(h) => h.update(data),
        }
    }

    /// The hash of everything fed in, in the same form as the expected one.
    pub(crate) fn finish(self) -> ContentHash {
        match self {
            Verifier::Sha256(h) => ContentHash::Sha256(h.finalize().into()),
            Verifier::GitSha1(h) => ContentHash::GitSha1(h.finalize().into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_blob_id_matches_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        let expected = ContentHash::from_hex("ce013625030ba8dba906f756967f9e9ca394464a").unwrap();
        let mut v = Verifier::new(&expected, 6);
        v.update(b"hel");
        v.update(b"lo\n");
        assert_eq!(v.finish(), expected);
    }

    #[test]
    fn sha256_matches_known_value() {
        // `printf 'hello\n' | sha256sum`
        let expected = ContentHash::from_hex(
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
        )
        .unwrap();
        let mut v = Verifier::new(&expected, 6);
        v.update(b"hello\n");
        assert_eq!(v.finish(), expected);
    }
}
