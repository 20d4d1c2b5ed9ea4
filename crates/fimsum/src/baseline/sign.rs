//! Ed25519-signed baselines (docs/signing.md): key files, key ids, the signed
//! message, the signature block and the verifier's policy.
//!
//! Key files are text, one header line naming the kind and version, then 64 hex digits a
//! line (lowercase when written; either case is read):
//!
//! ```text
//! NAME.key   fimsum-ed25519-secret-key-v1 / 32-byte secret seed / 32-byte public key
//! NAME.pub   fimsum-ed25519-public-key-v1 / 32-byte public key
//! ```
//!
//! The public key in `NAME.key` is checked against the seed when the file is loaded, so a
//! damaged secret key file is refused rather than signing with a key nobody trusts. A
//! secret key file that group or others may read is refused, as is a verify key that group
//! or others may write (whoever can replace it decides what verifies).
//!
//! A signed baseline ends with a fixed-size block after its end marker and digest:
//!
//! ```text
//! "FIMSUMSG" | key id (32 bytes) | Ed25519 signature (64 bytes)
//! ```
//!
//! The key id is SHA-256 of `"fimsum-key-id-v1\0"` and the public key: the block names the
//! key but never carries it, so a verifier cannot be tempted to trust a key the file brings
//! with it; it uses the key it is given. The signed message is `DOMAIN`, then the
//! baseline's first bytes from the magic through the record count (the header, which names
//! the host, sources, roots, options, algorithm, creation time and generation), then the
//! SHA-256 digest the end marker carries, which covers every byte before it. Verifying
//! therefore needs no decoding: [`crate::baseline`] checks the signature before it decodes
//! the header or any record.

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::hex::encode as hex;

/// Domain separation: the signed message starts with this, so a fimsum signature can never
/// be passed off as a signature over anything else, nor anything else's as fimsum's.
pub(crate) const DOMAIN: &[u8] = b"fimsum-baseline-v1\0";
const KEY_ID_DOMAIN: &[u8] = b"fimsum-key-id-v1\0";
/// The first bytes of the signature block.
pub(crate) const BLOCK_MAGIC: &[u8; 8] = b"FIMSUMSG";
/// The size of the signature block: magic, key id, signature.
pub const BLOCK_LEN: usize = 8 + 32 + 64;
const SECRET_HEADER: &str = "fimsum-ed25519-secret-key-v1";
const PUBLIC_HEADER: &str = "fimsum-ed25519-public-key-v1";
/// Key files are a few lines; anything longer is not one.
const KEY_FILE_LIMIT: u64 = 4096;

/// The message a baseline's signature covers: `DOMAIN`, the baseline's bytes from the
/// magic through the record count, and the SHA-256 of everything before the end marker.
pub fn message(signed_prefix: &[u8], digest: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(DOMAIN.len() + signed_prefix.len() + digest.len());
    m.extend_from_slice(DOMAIN);
    m.extend_from_slice(signed_prefix);
    m.extend_from_slice(digest);
    m
}

/// Names a public key: SHA-256 of `"fimsum-key-id-v1\0"` and the key. Shown as its first 16
/// hex digits; compared in full.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyId([u8; 32]);

impl KeyId {
    fn of(key: &VerifyingKey) -> KeyId {
        let mut h = Sha256::new();
        h.update(KEY_ID_DOMAIN);
        h.update(key.as_bytes());
        KeyId(h.finalize().into())
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0[..8]))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// The block after a signed baseline's end marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureBlock {
    /// The key that made the signature.
    pub key_id: KeyId,
    /// The Ed25519 signature of the baseline's signed message.
    pub signature: [u8; 64],
}

impl SignatureBlock {
    /// The block as written after the end marker.
    pub fn to_bytes(&self) -> [u8; BLOCK_LEN] {
        let mut b = [0u8; BLOCK_LEN];
        b[..8].copy_from_slice(BLOCK_MAGIC);
        b[8..40].copy_from_slice(&self.key_id.0);
        b[40..].copy_from_slice(&self.signature);
        b
    }

    /// The block in exactly these bytes, if they are one (the magic is right).
    pub fn from_bytes(b: &[u8]) -> Option<SignatureBlock> {
        if b.len() != BLOCK_LEN || &b[..8] != BLOCK_MAGIC {
            return None;
        }
        Some(SignatureBlock {
            key_id: KeyId(b[8..40].try_into().ok()?),
            signature: b[40..].try_into().ok()?,
        })
    }
}

/// A secret signing key, loaded from a `NAME.key` file.
pub struct SecretKey {
    key: SigningKey,
    path: PathBuf,
}

impl SecretKey {
    /// Load a secret key, refusing a file that group or others may read.
    pub fn load(path: &Path) -> Result<SecretKey> {
        let text = read_key_file(path, 0o077, "lets group or others read this secret key")?;
        let [seed, public] = parse(&text, SECRET_HEADER).map_err(|r| key_error(path, r))?;
        let key = SigningKey::from_bytes(&seed);
        if key.verifying_key().to_bytes() != public {
            return Err(key_error(
                path,
                "damaged: the public key in it does not belong to its secret key",
            ));
        }
        Ok(SecretKey {
            key,
            path: path.to_path_buf(),
        })
    }

    /// The name of this key's public half.
    pub fn id(&self) -> KeyId {
        KeyId::of(&self.key.verifying_key())
    }

    /// The public half, to verify what this key signed (named after the secret key's file
    /// in messages).
    pub(crate) fn public_key(&self) -> PublicKey {
        let key = self.key.verifying_key();
        PublicKey {
            id: KeyId::of(&key),
            key,
            path: self.path.clone(),
        }
    }

    /// The signature block for a baseline whose signed message is `message`.
    pub fn sign(&self, message: &[u8]) -> SignatureBlock {
        SignatureBlock {
            key_id: self.id(),
            signature: self.key.sign(message).to_bytes(),
        }
    }
}

/// A public verify key, loaded from a `NAME.pub` file.
pub struct PublicKey {
    key: VerifyingKey,
    id: KeyId,
    path: PathBuf,
}

impl PublicKey {
    /// Load a public key, refusing a file that group or others may write.
    pub fn load(path: &Path) -> Result<PublicKey> {
        let text = read_key_file(path, 0o022, "lets group or others replace this verify key")?;
        let [public] = parse(&text, PUBLIC_HEADER).map_err(|r| key_error(path, r))?;
        let key = VerifyingKey::from_bytes(&public)
            .ok()
            .filter(|k| !k.is_weak())
            .ok_or_else(|| key_error(path, "not a valid Ed25519 public key"))?;
        Ok(PublicKey {
            id: KeyId::of(&key),
            key,
            path: path.to_path_buf(),
        })
    }

    /// The name of this key.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Check a signature block over `message`: it must name this key and verify strictly
    /// (`verify_strict` refuses weak keys and malleable signatures).
    pub fn verify(
        &self,
        message: &[u8],
        block: &SignatureBlock,
    ) -> std::result::Result<(), String> {
        if block.key_id != self.id {
            return Err(format!(
                "signed by key {}, not by the verify key {} ({})",
                block.key_id,
                self.id,
                self.path.display()
            ));
        }
        self.key
            .verify_strict(message, &Signature::from_bytes(&block.signature))
            .map_err(|_| "bad signature: the baseline was altered after it was signed".to_string())
    }
}

/// The files [`generate`] wrote.
pub struct Generated {
    /// The secret key's file.
    pub secret: PathBuf,
    /// The public key's file.
    pub public: PathBuf,
    /// The name of the new key.
    pub id: KeyId,
}

/// Make a new key pair and write `NAME.key` (mode 0600) and `NAME.pub` (mode 0644). Both
/// are created with `O_EXCL`: an existing file of either name is never overwritten, and
/// nothing is written then.
pub fn generate(name: &Path) -> Result<Generated> {
    let with_ext = |ext: &str| {
        let mut p = name.as_os_str().to_owned();
        p.push(ext);
        PathBuf::from(p)
    };
    let (secret_path, public_path) = (with_ext(".key"), with_ext(".pub"));
    let mut secret_file = create_new(&secret_path, 0o600)?;
    let mut public_file = match create_new(&public_path, 0o644) {
        Ok(f) => f,
        Err(e) => {
            // Ours, and still empty.
            let _ = std::fs::remove_file(&secret_path);
            return Err(e);
        }
    };
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let public = hex(key.verifying_key().as_bytes());
    let secret_text = format!("{SECRET_HEADER}\n{}\n{public}\n", hex(key.as_bytes()));
    let public_text = format!("{PUBLIC_HEADER}\n{public}\n");
    for (file, path, text) in [
        (&mut secret_file, &secret_path, secret_text),
        (&mut public_file, &public_path, public_text),
    ] {
        if let Err(e) = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
        {
            // Both files are ours: a half-written pair would only block the next attempt.
            let _ = std::fs::remove_file(&secret_path);
            let _ = std::fs::remove_file(&public_path);
            return Err(Error::io(format!("cannot write {}", path.display()), e));
        }
    }
    if let Some(dir) = secret_path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(format!("cannot sync {}", dir.display()), e))?;
    }
    Ok(Generated {
        secret: secret_path,
        public: public_path,
        id: KeyId::of(&key.verifying_key()),
    })
}

fn create_new(path: &Path, mode: u32) -> Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| {
            let why = if e.kind() == std::io::ErrorKind::AlreadyExists {
                " (fimsum never overwrites a key file)"
            } else {
                ""
            };
            Error::io(format!("cannot create {}{why}", path.display()), e)
        })
}

/// Read a key file, refusing it if its mode has any of the `forbidden` bits, if it is owned
/// by another user than the one running fimsum (or root), or if it is not a regular file;
/// all checked on the open file, so nothing can be swapped in between. Ownership is the
/// rule of the config file: whoever owns the file can make it say anything, so a verify
/// key of another user's decides what verifies, and a secret key of theirs signs for them.
fn read_key_file(path: &Path, forbidden: u32, why: &str) -> Result<String> {
    let file = crate::input::open_file(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::InvalidInput {
            key_error(path, source.to_string())
        } else {
            Error::NoInput {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot stat {}", path.display()), e))?;
    if !meta.is_file() {
        return Err(key_error(path, "not a regular file"));
    }
    let euid = rustix::process::geteuid().as_raw();
    if meta.uid() != euid && meta.uid() != 0 {
        return Err(key_error(
            path,
            format!(
                "owned by uid {}, not by the user running fimsum (uid {euid}) or root: \
                 whoever owns a key file decides what it says; refused",
                meta.uid()
            ),
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & forbidden != 0 {
        return Err(key_error(
            path,
            format!(
                "mode {mode:04o} {why}; refused (chmod {:04o} it)",
                mode & !forbidden
            ),
        ));
    }
    let mut text = String::new();
    file.take(KEY_FILE_LIMIT)
        .read_to_string(&mut text)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => key_error(path, "not a fimsum key file"),
            _ => Error::io(format!("cannot read {}", path.display()), e),
        })?;
    Ok(text)
}

/// A key file's `N` hex lines after `header`; nothing else may be in it.
fn parse<const N: usize>(text: &str, header: &str) -> std::result::Result<[[u8; 32]; N], String> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut lines = body.split('\n');
    if lines.next() != Some(header) {
        return Err(format!(
            "not a fimsum key file (the first line must be {header})"
        ));
    }
    let mut out = [[0u8; 32]; N];
    for slot in &mut out {
        *slot = lines
            .next()
            .and_then(|s| crate::hex::decode::<32>(s.as_bytes()))
            .ok_or("malformed: expected a line of 64 hex digits")?;
    }
    if lines.next().is_some() {
        return Err("malformed: unexpected lines after the key".into());
    }
    Ok(out)
}

fn key_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Key {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::{signed_prefix, Header, Origin};
    use crate::hash::{Algorithm, HashKind};
    use crate::record::Timestamp;
    use crate::scan::walk::{FilterArg, OneFileSystem};
    use std::os::unix::fs::PermissionsExt;

    fn header() -> Header {
        Header {
            algorithm: Algorithm::Md5,
            origin: Origin::Scan,
            sources: vec![b"etc/".to_vec()],
            roots: vec![b"/etc/".to_vec()],
            one_file_system: OneFileSystem::OFF,
            filters: vec![FilterArg::Exclude(b"*.tmp".to_vec())],
            host: "web1".into(),
            created: Timestamp { sec: 1, nsec: 2 },
            generation: 5,
            fimsum_version: "0.1.0".into(),
            extra_digests: vec![HashKind::Sha256],
            skip_fs: Some(vec![0x9fa0]),
            listing: None,
        }
    }

    #[test]
    fn the_signed_message_changes_when_any_header_field_changes() {
        type Mutation = (&'static str, fn(&mut Header));
        // Destructured in full so that a new header field fails to compile here until it
        // has a mutation below.
        let Header {
            algorithm: _,
            origin: _,
            sources: _,
            roots: _,
            one_file_system: _,
            filters: _,
            host: _,
            created: _,
            generation: _,
            fimsum_version: _,
            extra_digests: _,
            skip_fs: _,
            listing: _,
        } = header();
        let mutations: [Mutation; 21] = [
            ("algorithm", |h| h.algorithm = Algorithm::Sha1),
            ("origin", |h| h.origin = Origin::RsyncLog),
            ("sources", |h| h.sources[0] = b"etc".to_vec()),
            ("sources count", |h| h.sources.push(b"usr/".to_vec())),
            ("roots", |h| h.roots[0] = b"/srv/".to_vec()),
            ("one_file_system", |h| {
                h.one_file_system = OneFileSystem::LIST_MOUNT_POINTS
            }),
            ("filter pattern", |h| {
                h.filters[0] = FilterArg::Exclude(b"*.tmq".to_vec())
            }),
            ("filter kind", |h| {
                h.filters[0] = FilterArg::Include(b"*.tmp".to_vec())
            }),
            ("no filters", |h| h.filters.clear()),
            ("host", |h| h.host = "web2".into()),
            ("created sec", |h| h.created.sec += 1),
            ("created nsec", |h| h.created.nsec += 1),
            ("generation", |h| h.generation += 1),
            ("fimsum_version", |h| h.fimsum_version = "0.1.1".into()),
            ("extra digest kind", |h| {
                h.extra_digests = vec![HashKind::Sha1]
            }),
            ("no extra digests", |h| h.extra_digests.clear()),
            ("skip_fs", |h| h.skip_fs = Some(vec![0x6969])),
            ("skip_fs not recorded", |h| h.skip_fs = None),
            ("listing recorded", |h| {
                h.listing = Some(crate::scan::walk::Listing::ARCHIVE)
            }),
            ("listing without -l", |h| {
                h.listing = Some(crate::scan::walk::Listing {
                    links: false,
                    ..crate::scan::walk::Listing::ARCHIVE
                })
            }),
            ("listing files-from", |h| {
                h.listing = Some(crate::scan::walk::Listing {
                    files_from: Some(vec![b"a".to_vec()]),
                    ..crate::scan::walk::Listing::ARCHIVE
                })
            }),
        ];
        let digest = [7u8; 32];
        let reference = message(&signed_prefix(&header(), 10).unwrap(), &digest);
        assert!(reference.starts_with(DOMAIN));
        for (name, mutate) in mutations {
            let mut h = header();
            mutate(&mut h);
            let m = message(&signed_prefix(&h, 10).unwrap(), &digest);
            assert_ne!(m, reference, "changing the {name} must change the message");
        }
        assert_ne!(
            message(&signed_prefix(&header(), 11).unwrap(), &digest),
            reference,
            "record count"
        );
        let mut other = digest;
        other[31] ^= 1;
        assert_ne!(
            message(&signed_prefix(&header(), 10).unwrap(), &other),
            reference,
            "payload digest"
        );
    }

    #[test]
    fn keys_round_trip_and_sign_only_their_message() {
        let dir = tempfile::tempdir().unwrap();
        let name = dir.path().join("k");
        let generated = generate(&name).unwrap();
        let secret = SecretKey::load(&generated.secret).unwrap();
        let public = PublicKey::load(&generated.public).unwrap();
        assert_eq!(secret.id(), public.id());
        assert_eq!(secret.id(), generated.id);
        let block = secret.sign(b"message");
        assert_eq!(SignatureBlock::from_bytes(&block.to_bytes()), Some(block));
        assert!(public.verify(b"message", &block).is_ok());
        assert!(public.verify(b"messagf", &block).is_err());
        let mut bad = block;
        bad.signature[0] ^= 1;
        assert!(public.verify(b"message", &bad).is_err());
        // Never overwritten, and the failed attempt removes nothing.
        assert!(generate(&name).is_err());
        assert!(SecretKey::load(&generated.secret).is_ok());
    }

    #[test]
    fn key_files_are_strict() {
        let dir = tempfile::tempdir().unwrap();
        let g = generate(&dir.path().join("k")).unwrap();
        let good = std::fs::read_to_string(&g.public).unwrap();
        let path = dir.path().join("p.pub");
        let cases = [
            good.to_uppercase()
                .replace("FIMSUM-ED25519-PUBLIC-KEY-V1", PUBLIC_HEADER),
            good.trim_end().to_string(),
        ];
        for ok in cases {
            std::fs::write(&path, ok).unwrap();
            std::fs::set_permissions(&path, PermissionsExt::from_mode(0o644)).unwrap();
            assert!(PublicKey::load(&path).is_ok());
        }
        let secret_text = std::fs::read_to_string(&g.secret).unwrap();
        for bad in [
            String::new(),
            good.replace("public", "secret"),
            format!("{good}extra\n"),
            good.replacen('\n', "\r\n", 1),
            good[..good.len() - 2].to_string() + "\n",
            secret_text,
        ] {
            std::fs::write(&path, &bad).unwrap();
            assert!(
                matches!(PublicKey::load(&path), Err(Error::Key { .. })),
                "{bad:?}"
            );
        }
        // A secret key whose two halves do not belong together.
        let other = generate(&dir.path().join("o")).unwrap();
        let mut lines: Vec<String> = std::fs::read_to_string(&g.secret)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        lines[2] = std::fs::read_to_string(&other.public)
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .into();
        std::fs::write(&g.secret, lines.join("\n")).unwrap();
        let err = SecretKey::load(&g.secret).err().unwrap().to_string();
        assert!(err.contains("damaged"), "{err}");
    }
}
