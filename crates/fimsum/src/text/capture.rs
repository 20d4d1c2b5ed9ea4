//! Which files a scan keeps a snapshot of, and what it keeps: the policy's `diff` and
//! `secret` decided per path before the file is read, the secret checks that no rule can
//! turn off, and the snapshot made from the bytes that were hashed.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use memchr::memmem;

use crate::fim::assess::resolve_path;
use crate::fim::policy::Policy;
use crate::record::Record;
use crate::text::compress::Compressed;
use crate::text::lines::{self, LineDigests, SALT_LEN};
use crate::text::{Snapshot, FILE_MAX, LINES_MAX};

/// What a scan needs to decide, for each file it reads, whether and how to keep its
/// content: the rules, the absolute sources that turn a `%n` name into the path the rules
/// match, and for a `check` the salts of the secret files its baseline knows.
#[derive(Clone, Debug)]
pub struct Capture {
    policy: Policy,
    roots: Vec<Vec<u8>>,
    salts: Arc<Salts>,
}

type SaltMap = HashMap<Vec<u8>, [u8; SALT_LEN]>;

/// The salts of a baseline's secret snapshots, found when the first file a rule keeps a
/// snapshot of is read, not before the scan: that takes a pass over the whole baseline,
/// and under most roots (a check of /usr, where only `authorized_keys` files could match
/// the built-in diff rules) no such file is read and the pass is never made.
type Salts = LazyLock<SaltMap, Box<dyn FnOnce() -> SaltMap + Send>>;

/// The decision for one file, made by the walk and carried with the file to its reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Want {
    /// Keep a snapshot of the bytes hashed.
    Take {
        /// A rule or a name says it holds secrets: line digests only.
        secret: bool,
        /// The salt of its line digests (the baseline's, for a file it knows).
        salt: [u8; SALT_LEN],
    },
    /// Over [`FILE_MAX`]: the snapshot says so, and nothing is read for it.
    TooLarge,
}

impl Capture {
    /// For a scan of these absolute sources (a baseline header's `roots`) under `policy`.
    pub fn new(policy: Policy, roots: Vec<Vec<u8>>) -> Capture {
        Capture {
            policy,
            roots,
            salts: Arc::new(LazyLock::new(Box::new(HashMap::new))),
        }
    }

    /// With the salts of a baseline's secret snapshots, by `%n` name, which `find` looks up
    /// ([`salts`] of the baseline's records) when a file a rule keeps a snapshot of is first
    /// read. Where it fails (a record that does not decode), the salts found before the
    /// failure are used: the comparison decodes the same records and fails the run on the
    /// same one, so no snapshot taken with a new salt is ever compared.
    pub fn with_salts(mut self, find: impl FnOnce() -> SaltMap + Send + 'static) -> Capture {
        self.salts = Arc::new(LazyLock::new(Box::new(find)));
        self
    }

    /// Can any rule ask for snapshots under these roots? When none can, a scan need not ask
    /// per file.
    pub fn is_active(&self) -> bool {
        crate::fim::assess::under_roots(&self.roots, |dir| self.policy.may_diff_under(dir))
    }

    /// What to keep of the regular file `name` (`%n`) of `size` bytes; `None` for nothing.
    pub(crate) fn want(&self, name: &[u8], size: u64) -> Option<Want> {
        let mut path = Vec::new();
        resolve_path(&self.roots, name, &mut path);
        let rule = self.policy.content_rule(&path);
        if !rule.diff {
            return None;
        }
        if size > FILE_MAX {
            return Some(Want::TooLarge);
        }
        Some(Want::Take {
            secret: rule.secret || is_secret_name(&path),
            salt: self
                .salts
                .get(name)
                .copied()
                .unwrap_or_else(lines::new_salt),
        })
    }
}

/// The snapshot `want` asks for, of `content`, the bytes that were hashed.
pub(crate) fn take(want: &Want, content: &[u8]) -> Option<Snapshot> {
    let (secret, salt) = match want {
        Want::TooLarge => return Some(Snapshot::TooLarge { limit: FILE_MAX }),
        Want::Take { secret, salt } => (*secret, *salt),
    };
    if content.len() as u64 > FILE_MAX {
        // It grew past the limit after the walk saw it; the read is still one whole file.
        return Some(Snapshot::TooLarge { limit: FILE_MAX });
    }
    if secret || holds_secret(content) {
        // Counted before anything is digested: each line costs `lines::ROUNDS` hashes.
        if lines::count(content) > LINES_MAX {
            return Some(Snapshot::TooLarge { limit: FILE_MAX });
        }
        return Some(Snapshot::Secret(Box::new(LineDigests::new(salt, content))));
    }
    if memchr::memchr(0, content).is_some() {
        return Some(Snapshot::Binary);
    }
    Compressed::new(content)
        .ok()
        .map(|c| Snapshot::Text(Box::new(c)))
}

/// Names that hold secrets whatever the rules say: the shadow password and group files and
/// their backups, old password hashes, SSH private keys (user and host), and files named as
/// private keys, key stores and Kerberos keytabs are, or kept where TLS keeps private keys.
/// A rule's `secret = true` adds more; nothing takes these away.
pub fn is_secret_name(abs_path: &[u8]) -> bool {
    let base = abs_path.rsplit(|&b| b == b'/').next().unwrap_or(abs_path);
    const NAMES: [&[u8]; 12] = [
        b"shadow",
        b"shadow-",
        b"gshadow",
        b"gshadow-",
        b"opasswd",
        b"id_rsa",
        b"id_dsa",
        b"id_ecdsa",
        b"id_ed25519",
        b"id_ecdsa_sk",
        b"id_ed25519_sk",
        b"identity",
    ];
    const SUFFIXES: [&[u8]; 5] = [b".key", b".p12", b".pfx", b".keytab", b"_key"];
    const DIRS: [&[u8]; 2] = [b"/ssl/private/", b"/tls/private/"];
    NAMES.contains(&base)
        || SUFFIXES.iter().any(|s| base.ends_with(s))
        || DIRS.iter().any(|d| memmem::find(abs_path, d).is_some())
}

/// Does `content` hold a private key, whatever the file is called: a PEM block whose label
/// names one (`-----BEGIN RSA PRIVATE KEY-----`, `OPENSSH PRIVATE KEY`, `ENCRYPTED PRIVATE
/// KEY`, `PGP PRIVATE KEY BLOCK`...) or a PuTTY key file.
pub fn holds_secret(content: &[u8]) -> bool {
    if memmem::find(content, b"PuTTY-User-Key-File-").is_some() {
        return true;
    }
    memmem::find_iter(content, b"-----BEGIN ").any(|at| {
        let label = &content[at..];
        let end = memchr::memchr(b'\n', label).unwrap_or(label.len());
        memmem::find(&label[..end], b"PRIVATE KEY").is_some()
    })
}

/// The salts of the secret snapshots among a baseline's `records`, by `%n` name, up to the
/// first record that is an error.
pub(crate) fn salts<E>(records: impl Iterator<Item = Result<Record, E>>) -> SaltMap {
    let mut salts = HashMap::new();
    for record in records.map_while(Result::ok) {
        if let Some(Snapshot::Secret(digests)) = &record.snapshot {
            salts.insert(record.name, digests.salt());
        }
    }
    salts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for secret in [
            "/etc/shadow",
            "/etc/gshadow-",
            "/etc/security/opasswd",
            "/root/.ssh/id_ed25519",
            "/etc/ssh/ssh_host_rsa_key",
            "/etc/ssl/private/site.pem",
            "/etc/pki/tls/private/x",
            "/etc/nginx/site.key",
            "/etc/krb5.keytab",
        ] {
            assert!(is_secret_name(secret.as_bytes()), "{secret}");
        }
        for plain in [
            "/etc/passwd",
            "/etc/ssh/ssh_host_rsa_key.pub",
            "/root/.ssh/id_ed25519.pub",
            "/etc/shadows",
            "/etc/ssl/certs/ca.pem",
            "/etc/keyboard",
        ] {
            assert!(!is_secret_name(plain.as_bytes()), "{plain}");
        }
    }

    #[test]
    fn private_keys_by_content() {
        assert!(holds_secret(
            b"x\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n"
        ));
        assert!(holds_secret(b"-----BEGIN RSA PRIVATE KEY-----"));
        assert!(holds_secret(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
        assert!(holds_secret(b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n"));
        assert!(holds_secret(b"PuTTY-User-Key-File-3: ssh-ed25519\n"));
        assert!(!holds_secret(b"-----BEGIN CERTIFICATE-----\nMIIB\n"));
        assert!(!holds_secret(b"-----BEGIN PUBLIC KEY-----\nPRIVATE KEY\n"));
        assert!(!holds_secret(b"# no PRIVATE KEY here\n"));
    }

    /// The baseline's salts are looked up only when a file a rule keeps a snapshot of is
    /// read, once, and that file gets its baseline salt; other files never cause the pass.
    #[test]
    fn salts_are_looked_up_when_first_needed() {
        use crate::fim::config::Config;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let policy = Policy::new(&Config::default()).unwrap();
        let passes = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&passes);
        let capture = Capture::new(policy, vec![b"/".to_vec()]).with_salts(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            HashMap::from([(b"etc/shadow".to_vec(), [9; SALT_LEN])])
        });
        assert_eq!(capture.want(b"usr/bin/ls", 10), None);
        assert_eq!(passes.load(Ordering::SeqCst), 0);
        let shadow = capture.clone().want(b"etc/shadow", 10);
        assert_eq!(
            shadow,
            Some(Want::Take {
                secret: true,
                salt: [9; SALT_LEN]
            })
        );
        assert!(matches!(
            capture.want(b"etc/hosts", 10),
            Some(Want::Take { secret: false, salt }) if salt != [9; SALT_LEN]
        ));
        assert_eq!(passes.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn what_is_taken() {
        let salt = [3; SALT_LEN];
        let take_it = |secret, content: &[u8]| take(&Want::Take { secret, salt }, content);
        match take_it(false, b"a\nb\n") {
            Some(Snapshot::Text(c)) => assert_eq!(c.content().unwrap(), b"a\nb\n"),
            other => panic!("{other:?}"),
        }
        assert_eq!(take_it(false, b"\x7fELF\0\0"), Some(Snapshot::Binary));
        let key = b"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI\n-----END EC PRIVATE KEY-----\n";
        assert!(matches!(take_it(false, key), Some(Snapshot::Secret(_))));
        assert!(matches!(
            take_it(true, b"pw=1\n"),
            Some(Snapshot::Secret(_))
        ));
        // A secret binary file is still only digests, never "binary" with bytes kept.
        assert!(matches!(take_it(true, b"\0\0"), Some(Snapshot::Secret(_))));
        assert_eq!(
            take(&Want::TooLarge, b""),
            Some(Snapshot::TooLarge { limit: FILE_MAX })
        );
        let many = vec![b'\n'; LINES_MAX + 1];
        assert_eq!(
            take_it(true, &many),
            Some(Snapshot::TooLarge { limit: FILE_MAX })
        );
    }
}
