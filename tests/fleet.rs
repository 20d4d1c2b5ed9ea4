//! Many hosts: the ECS and OCSF reports checked against their schemas' requirements, the
//! Parquet export read back by DuckDB, and `hunt` agreeing with DuckDB's answer.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use fimsum::hash::HashKind;
use serde_json::Value;

use crate::util::{code, run_in, scratch, stderr, stdout, write};

/// A tree, then the same tree one of each kind of change later: `a.fim` and `b.fim`
/// (md5 checksums with sha256 digests, or `algo` without extra digests).
fn two_baselines(dir: &Path, algo: &str) {
    let t = dir.join("t");
    write(&t.join("etc/passwd"), b"root:x:0:0\n");
    write(&t.join("etc/hosts"), b"127.0.0.1 localhost\n");
    write(&t.join("etc/old-name"), b"moved content\n");
    write(&t.join("bin/tool"), b"\x7fELF tool");
    write(&t.join("bin/gone"), b"removed later");
    let mut scan = vec!["scan", "-q", "--cc", algo, "-o", "a.fim", "t/"];
    if algo == "md5" {
        scan.extend(["--digest", "sha256"]);
    }
    let out = run_in(dir, &scan);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    write(&t.join("etc/passwd"), b"root:x:0:0\nevil:x:0:0\n");
    std::fs::rename(t.join("etc/old-name"), t.join("etc/new-name")).unwrap();
    std::fs::set_permissions(t.join("bin/tool"), PermissionsExt::from_mode(0o4755)).unwrap();
    std::fs::remove_file(t.join("bin/gone")).unwrap();
    write(&t.join("bin/added"), b"new file");
    scan[5] = "b.fim";
    let out = run_in(dir, &scan);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// The report of `diff a.fim b.fim --format FORMAT`, one JSON value a line.
fn diff_lines(dir: &Path, format: &str) -> Vec<Value> {
    let out = run_in(dir, ["diff", "a.fim", "b.fim", "--format", format]);
    // added | removed | changed
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The events by the file path they are about (their last path component).
fn by_name<'a>(events: &'a [Value], path: &str) -> BTreeMap<String, &'a Value> {
    events
        .iter()
        .filter_map(|e| {
            let p = e.pointer(path)?.as_str()?;
            Some((p.rsplit('/').next()?.to_string(), e))
        })
        .collect()
}

fn md5_hex(data: &[u8]) -> String {
    HashKind::Md5.digest(data).to_hex()
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("{v} is not an array"))
        .iter()
        .map(|s| s.as_str().expect("strings"))
        .collect()
}

#[test]
fn ecs_documents_have_auditbeats_fields_for_each_kind_of_change() {
    let tmp = scratch();
    two_baselines(tmp.path(), "md5");
    let docs = diff_lines(tmp.path(), "ecs");
    let (summary, events) = docs.split_last().expect("a summary");
    assert_eq!(summary["event"]["kind"], "metric");
    assert_eq!(summary["fimsum"]["summary"]["added"], 1);
    assert_eq!(summary["fimsum"]["summary"]["moved"], 1);
    for doc in events {
        assert_eq!(doc["ecs"]["version"], fimsum::report::ecs::ECS_VERSION);
        assert_eq!(doc["event"]["kind"], "event");
        assert_eq!(strs(&doc["event"]["category"]), ["file"]);
        assert_eq!(doc["event"]["module"], "file_integrity");
        assert_eq!(doc["event"]["dataset"], "file");
        assert!(doc["@timestamp"].as_str().unwrap().ends_with('Z'), "{doc}");
        assert!(doc["host"]["name"].as_str().is_some_and(|h| !h.is_empty()));
        let path = doc["file"]["path"].as_str().expect("file.path");
        assert!(path.starts_with('/'), "absolute: {path}");
        for t in strs(&doc["event"]["type"]) {
            assert!(
                ["creation", "deletion", "change", "info"].contains(&t),
                "{t}"
            );
        }
        for a in strs(&doc["event"]["action"]) {
            let known = [
                "created",
                "deleted",
                "updated",
                "moved",
                "attributes_modified",
            ];
            assert!(known.contains(&a), "{a}");
        }
        // ECS keeps ids as keywords, the mode as an octal string.
        assert!(doc["file"]["uid"].is_string() && doc["file"]["inode"].is_string());
        assert!(doc["file"]["mode"].as_str().unwrap().len() == 4);
        assert!(doc["fimsum"]["severity"].is_string());
    }
    let by = by_name(events, "/file/path");
    let action = |name: &str| strs(&by[name]["event"]["action"]);
    let kind = |name: &str| strs(&by[name]["event"]["type"]);
    assert_eq!(
        (kind("added"), action("added")),
        (vec!["creation"], vec!["created"])
    );
    assert_eq!(
        (kind("gone"), action("gone")),
        (vec!["deletion"], vec!["deleted"])
    );
    assert_eq!(action("new-name"), ["moved"]);
    assert!(by["new-name"]["fimsum"]["moved_from_path"]
        .as_str()
        .unwrap()
        .ends_with("/t/etc/old-name"));
    assert!(action("passwd").contains(&"updated"));
    assert_eq!(action("tool"), ["attributes_modified"]);
    assert_eq!(by["tool"]["file"]["mode"], "4755");
    assert_eq!(strs(&by["tool"]["fimsum"]["detectors"]), ["setid_added"]);
    assert_eq!(by["tool"]["fimsum"]["severity"], "critical");
    assert_eq!(by["tool"]["fimsum"]["old"]["mode"], "0644");
    // md5 (the checksum) and sha256 (an extra digest) both in ECS's own hash fields.
    let content = b"root:x:0:0\nevil:x:0:0\n";
    assert_eq!(by["passwd"]["file"]["hash"]["md5"], md5_hex(content));
    assert_eq!(
        by["passwd"]["file"]["hash"]["sha256"],
        HashKind::Sha256.digest(content).to_hex()
    );
    // A deletion is described as the file was.
    assert_eq!(by["gone"]["file"]["hash"]["md5"], md5_hex(b"removed later"));
    assert_eq!(by["gone"]["file"]["size"], 13);
}

#[test]
fn ecs_puts_an_xxhash_checksum_under_fimsum() {
    let tmp = scratch();
    two_baselines(tmp.path(), "xxh128");
    let docs = diff_lines(tmp.path(), "ecs");
    let by = by_name(&docs, "/file/path");
    let passwd = by["passwd"];
    assert!(passwd["file"].get("hash").is_none(), "ECS has no xxh field");
    let hex = fimsum::hash::Algorithm::Xxh128
        .digest(b"root:x:0:0\nevil:x:0:0\n")
        .to_hex();
    assert_eq!(passwd["fimsum"]["hash"]["xxh128"], hex);
}

/// What the OCSF schema requires of a File System Activity event and of the objects in it
/// (facts of the schema, written out here): each is checked on every event.
fn assert_ocsf_valid(event: &Value) {
    let ctx = event.to_string();
    for attr in [
        "activity_id",
        "actor",
        "category_uid",
        "class_uid",
        "device",
        "file",
        "metadata",
        "severity_id",
        "time",
        "type_uid",
    ] {
        assert!(event.get(attr).is_some(), "missing {attr}: {ctx}");
    }
    let int = |v: &Value| {
        v.as_i64()
            .unwrap_or_else(|| panic!("{v} not an integer: {ctx}"))
    };
    assert_eq!(int(&event["class_uid"]), 1001);
    assert_eq!(int(&event["category_uid"]), 1);
    let activity = int(&event["activity_id"]);
    assert!([1, 3, 4, 5, 6, 99].contains(&activity), "{ctx}");
    assert_eq!(int(&event["type_uid"]), 1001 * 100 + activity);
    assert!((0..=6).contains(&int(&event["severity_id"])) || int(&event["severity_id"]) == 99);
    // Milliseconds since the epoch: a time of this century, not seconds or nanoseconds.
    let time = int(&event["time"]);
    assert!(
        (946_684_800_000..4_102_444_800_000).contains(&time),
        "{ctx}"
    );
    // metadata: version and product (whose name and vendor_name are required).
    assert_eq!(
        event["metadata"]["version"],
        fimsum::report::ocsf::OCSF_VERSION
    );
    assert!(event["metadata"]["product"]["name"].is_string(), "{ctx}");
    assert!(
        event["metadata"]["product"]["vendor_name"].is_string(),
        "{ctx}"
    );
    // actor: at least one of these.
    let actor = event["actor"].as_object().expect("actor object");
    assert!(
        [
            "process",
            "user",
            "invoked_by",
            "session",
            "app_name",
            "app_uid"
        ]
        .iter()
        .any(|k| actor.contains_key(*k)),
        "{ctx}"
    );
    // device: type_id required, and something to name it by.
    int(&event["device"]["type_id"]);
    assert!(event["device"]["hostname"].is_string(), "{ctx}");
    for file in [Some(&event["file"]), event.get("file_result")]
        .into_iter()
        .flatten()
    {
        assert!(
            file["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{ctx}"
        );
        assert!((0..=7).contains(&int(&file["type_id"])), "{ctx}");
        if let Some(t) = file.get("modified_time") {
            int(t);
        }
        for hash in file
            .get("hashes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = int(&hash["algorithm_id"]);
            assert!([1, 2, 3, 16, 17, 99].contains(&id), "{ctx}");
            let value = hash["value"].as_str().expect("hash value");
            assert!(value.bytes().all(|b| b.is_ascii_hexdigit()), "{ctx}");
            let len = match id {
                1 => 32,
                2 => 40,
                3 => 64,
                16 => 16,
                17 => 32,
                _ => value.len(),
            };
            assert_eq!(value.len(), len, "{ctx}");
        }
    }
}

#[test]
fn ocsf_events_carry_every_required_attribute_and_the_right_activity() {
    for algo in ["md5", "xxh128", "xxh3"] {
        let tmp = scratch();
        two_baselines(tmp.path(), algo);
        let events = diff_lines(tmp.path(), "ocsf");
        assert!(events.len() >= 5, "{events:?}");
        for event in &events {
            assert_ocsf_valid(event);
        }
        let by = by_name(&events, "/file/path");
        let activity = |name: &str| by[name]["activity_id"].as_i64().unwrap();
        assert_eq!(activity("added"), 1);
        assert_eq!(activity("gone"), 4);
        assert_eq!(activity("passwd"), 3);
        assert_eq!(activity("tool"), 6);
        assert_eq!(by["tool"]["severity_id"], 5, "critical");
        // A rename: the file as it was, and as it is.
        let rename = by["old-name"];
        assert_eq!(rename["activity_id"], 5);
        assert_eq!(rename["file_result"]["name"], "new-name");
        let hashes = by["passwd"]["file"]["hashes"].as_array().unwrap();
        let ids: Vec<i64> = hashes
            .iter()
            .map(|h| h["algorithm_id"].as_i64().unwrap())
            .collect();
        let expected = match algo {
            "md5" => vec![1, 3],
            "xxh128" => vec![17],
            _ => vec![16],
        };
        assert_eq!(ids, expected, "{algo}");
    }
}
