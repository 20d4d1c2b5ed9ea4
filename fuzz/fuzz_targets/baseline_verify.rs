//! The baseline readers on hostile bytes: `fimsum::baseline::check_integrity` (the decoding
//! pass) and `check_signature` (the pass that runs before anything is decoded when a verify
//! key is given). They must return `Err` on junk and never panic, abort or allocate much more
//! than a frame (run with `-malloc_limit_mb=512`).
//!
//! A fuzzer cannot forge the SHA-256 at the end of a baseline, let alone the signature, so
//! every input is checked three times: as it is; with the digest after the first
//! "FIMSUMEN" recomputed; and with that digest and a valid signature block by the
//! target's own key in place of whatever followed it. The last two let mutations of a seed
//! baseline reach the checks that only run on an intact file. Whatever verifies must stop
//! verifying when cut by a byte or given one more, and when both passes accept an input
//! they must agree on what it says.
#![no_main]

use std::io::Cursor;
use std::sync::OnceLock;

use fimsum::baseline::{check_integrity, check_signature, Policy};
use fimsum::baseline::sign::{self, PublicKey, SecretKey, BLOCK_LEN};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

const END_MAGIC: &[u8; 8] = b"FIMSUMEN";
const DIGEST_LEN: usize = 32;
const END_LEN: usize = END_MAGIC.len() + DIGEST_LEN;

/// A key pair made once per process (in a directory removed at once: both keys are
/// loaded by then), and the policies the inputs are checked against.
fn keys() -> &'static (SecretKey, [Policy; 2]) {
    static KEYS: OnceLock<(SecretKey, [Policy; 2])> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("fimsum-fuzz-key.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).expect("key dir");
        let generated = sign::generate(&dir.join("k")).expect("generate a key pair");
        let secret = SecretKey::load(&generated.secret).expect("secret key");
        let policy = |expect_host: Option<&str>, min_generation| Policy {
            key: PublicKey::load(&generated.public).expect("public key"),
            expect_host: expect_host.map(str::to_string),
            min_generation,
        };
        let policies = [policy(None, None), policy(Some("fuzz"), Some(2))];
        let _ = std::fs::remove_dir_all(&dir);
        (secret, policies)
    })
}

fn check(data: &[u8], policy: &Policy) {
    let verified = check_integrity(data);
    let signed = check_signature(Cursor::new(data), policy);
    if let Ok(v) = &verified {
        assert!(v.records_offset as usize <= data.len() - END_LEN);
        assert!(
            check_integrity(&data[..data.len() - 1]).is_err(),
            "cut baseline verified"
        );
        let mut longer = data.to_vec();
        longer.push(0);
        assert!(
            check_integrity(&longer[..]).is_err(),
            "baseline with a byte more verified"
        );
    }
    if let Ok(s) = &signed {
        assert!(check_signature(Cursor::new(&data[..data.len() - 1]), policy).is_err());
        // The signature pass reads no record, so the decoding pass may still refuse the
        // file; when both accept it, they must have seen the same header, digest and block.
        if let Ok(v) = &verified {
            assert_eq!(s.header, v.header);
            assert_eq!(s.digest, v.digest);
            assert_eq!(Some(s.block), v.signature);
        }
    }
}

/// The signed prefix of a baseline (magic through record count), parsed only as far as
/// its fixed-size fields.
fn prefix(data: &[u8]) -> Option<&[u8]> {
    let len = u32::from_le_bytes(data.get(12..16)?.try_into().ok()?) as usize;
    data.get(..16usize.checked_add(len)?.checked_add(8)?)
}

fuzz_target!(|data: &[u8]| {
    let (secret, policies) = keys();
    let policy = &policies[usize::from(data.first().is_some_and(|b| b & 0x80 != 0))];
    check(data, policy);
    let Some(at) = data.windows(END_MAGIC.len()).position(|w| w == END_MAGIC) else {
        return;
    };
    let digest: [u8; DIGEST_LEN] = Sha256::digest(&data[..at]).into();
    // The digest put right, keeping whatever follows it.
    if data.len() >= at + END_LEN {
        let mut fixed = data.to_vec();
        fixed[at + END_MAGIC.len()..at + END_LEN].copy_from_slice(&digest);
        check(&fixed, policy);
    }
    // The digest put right and a valid signature block after it.
    if let Some(prefix) = prefix(data).filter(|p| p.len() <= at) {
        let mut signed = data[..at].to_vec();
        signed.extend_from_slice(END_MAGIC);
        signed.extend_from_slice(&digest);
        signed.extend_from_slice(&secret.sign(&sign::message(prefix, &digest)).to_bytes());
        assert_eq!(signed.len(), at + END_LEN + BLOCK_LEN);
        check(&signed, policy);
    }
});
