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

/// Run `sql` in DuckDB (the Python package) in `dir`; the rows as JSON arrays. `None`, said
/// on stderr, where DuckDB is not installed; in CI (which installs it) that fails instead.
fn duckdb(dir: &Path, sql: &str) -> Option<Vec<Value>> {
    let script = "import duckdb, json, sys\n\
                  rows = duckdb.connect().sql(sys.argv[1]).fetchall()\n\
                  print(json.dumps([list(r) for r in rows], default=str))\n";
    let out = std::process::Command::new("python3")
        .current_dir(dir)
        .args(["-c", script, sql])
        .output()
        .expect("python3 runs");
    if !out.status.success() && stderr(&out).contains("No module named 'duckdb'") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs duckdb (.ci/run): {}",
            stderr(&out)
        );
        eprintln!("skipping the DuckDB queries: `pip install duckdb` to run them");
        return None;
    }
    assert!(out.status.success(), "{sql}: {}", stderr(&out));
    Some(serde_json::from_slice(&out.stdout).expect("JSON rows"))
}

/// Scan `t/` of `dir` to `base` as if on host `host` (a UTS namespace of its own).
fn scan_as(dir: &Path, host: &str, base: &str) {
    let script = format!("hostname {host} && exec \"$0\" scan -q --digest sha256 -o {base} t/",);
    let out = std::process::Command::new("unshare")
        .current_dir(dir)
        .env("LC_ALL", "C.UTF-8")
        .args(["--uts", "sh", "-c", &script, env!("CARGO_BIN_EXE_fimsum")])
        .output()
        .expect("unshare runs");
    assert!(out.status.success(), "scan as {host}: {}", stderr(&out));
}

/// Three hosts of one role: `golden`, `web1` (one file changed, one added) and `web2`
/// (a dropped implant whose md5 is on `ioc.txt`, whose sha256 is on `ioc.csv`).
fn fleet(dir: &Path) {
    let t = dir.join("t");
    write(&t.join("etc/nginx.conf"), b"worker_processes 4;\n");
    write(&t.join("etc/hosts"), b"127.0.0.1 localhost\n");
    write(&t.join("bin/nginx"), b"\x7fELF nginx 1.26");
    std::os::unix::fs::symlink("nginx", t.join("bin/web")).unwrap();
    scan_as(dir, "golden", "golden.fim");
    write(&t.join("etc/nginx.conf"), b"worker_processes 8;\n");
    write(&t.join("etc/extra.conf"), b"gzip on;\n");
    scan_as(dir, "web1", "web1.fim");
    std::fs::remove_file(t.join("etc/extra.conf")).unwrap();
    write(&t.join("etc/nginx.conf"), b"worker_processes 4;\n");
    write(&t.join("bin/.kworker"), b"\x7fELF implant");
    // A classic backdoor: a capability, no setuid bit. (As root, as CI runs.)
    let _ = std::process::Command::new("setcap")
        .args(["cap_setuid=ep"])
        .arg(t.join("bin/.kworker"))
        .status();
    scan_as(dir, "web2", "web2.fim");
    let implant = b"\x7fELF implant";
    write(
        &dir.join("ioc.txt"),
        format!("# a feed\n{}  kworker\n", md5_hex(implant)).as_bytes(),
    );
    write(
        &dir.join("ioc.csv"),
        format!(
            "sha256_hash,file_name\n{},kworker\n{},other\n",
            HashKind::Sha256.digest(implant).to_hex(),
            "0".repeat(64)
        )
        .as_bytes(),
    );
    let out = run_in(
        dir,
        [
            "export",
            "--format",
            "parquet",
            "-o",
            "fleet.parquet",
            "golden.fim",
            "web1.fim",
            "web2.fim",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

fn pairs(rows: &[Value]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn duckdb_reads_the_export_with_typed_columns_and_answers_fleet_questions() {
    let tmp = scratch();
    let dir = tmp.path();
    fleet(dir);
    let t = dir.join("t").display().to_string();
    let Some(types) = duckdb(
        dir,
        "select column_name, column_type from (describe select * from 'fleet.parquet')",
    ) else {
        return;
    };
    let types: BTreeMap<String, String> = types
        .iter()
        .map(|r| (r[0].as_str().unwrap().into(), r[1].as_str().unwrap().into()))
        .collect();
    for (column, ty) in [
        ("host", "VARCHAR"),
        ("roots", "VARCHAR[]"),
        ("created", "TIMESTAMP WITH TIME ZONE"),
        ("generation", "UBIGINT"),
        ("path", "VARCHAR"),
        ("mode", "UINTEGER"),
        ("uid", "UINTEGER"),
        ("size", "UBIGINT"),
        ("mtime", "TIMESTAMP WITH TIME ZONE"),
        ("inode", "UBIGINT"),
        ("nlink", "UBIGINT"),
        ("checksum", "VARCHAR"),
        ("md5", "VARCHAR"),
        ("sha256", "VARCHAR"),
        ("attrs_recorded", "BOOLEAN"),
        ("caps", "VARCHAR"),
        ("xattrs", "VARCHAR"),
    ] {
        let found = types
            .get(column)
            .unwrap_or_else(|| panic!("no column {column}"));
        // DuckDB names nanosecond UTC times TIMESTAMPTZ_NS or TIMESTAMP_NS WITH TIME ZONE.
        let same = found == ty || (ty.starts_with("TIMESTAMP") && found.starts_with("TIMESTAMP"));
        assert!(same, "{column}: {found}, not {ty}");
    }

    // One row per entry per baseline: as many as `show` lists of each.
    let counts = duckdb(
        dir,
        "select host, count(*) from 'fleet.parquet' group by host order by host",
    )
    .unwrap();
    for row in &counts {
        let host = row[0].as_str().unwrap();
        let show = run_in(dir, ["show", &format!("{host}.fim")]);
        assert_eq!(
            row[1].as_u64().unwrap(),
            stdout(&show).lines().count() as u64,
            "{host}"
        );
    }
    assert_eq!(counts.len(), 3);

    // The values themselves: web2's nginx.conf row as the baseline recorded it.
    let conf = duckdb(
        dir,
        "select mode, size, kind, md5, link_target, epoch_ns(mtime) is not null, generation \
         from 'fleet.parquet' where host = 'web2' and name = 'etc/nginx.conf'",
    )
    .unwrap();
    assert_eq!(conf.len(), 1);
    assert_eq!(conf[0][0], 0o644);
    assert_eq!(conf[0][1], 20);
    assert_eq!(conf[0][2], "file");
    assert_eq!(conf[0][3], md5_hex(b"worker_processes 4;\n"));
    assert_eq!(conf[0][4], Value::Null);
    assert_eq!(conf[0][5], true);
    let link = duckdb(dir, "select link_target, checksum from 'fleet.parquet' where host = 'golden' and name = 'bin/web'").unwrap();
    assert_eq!(link[0][0], "nginx");
    assert_eq!(link[0][1], Value::Null);

    // IOC sweep: the md5 list joined with the table.
    let sweep = duckdb(
        dir,
        "select host, path from 'fleet.parquet' \
         where md5 in (select split_part(trim(line), ' ', 1) from read_csv('ioc.txt', header = false, \
         columns = {'line': 'VARCHAR'}) where line not like '#%') order by host, path",
    )
    .unwrap();
    assert_eq!(
        pairs(&sweep),
        [("web2".to_string(), format!("{t}/bin/.kworker"))]
    );

    // Drift from the golden host: files whose content differs from golden's, or that golden
    // does not have.
    let drift = duckdb(
        dir,
        "select h.host, h.path from 'fleet.parquet' h \
         left join (select path, checksum from 'fleet.parquet' where host = 'golden') g using (path) \
         where h.host <> 'golden' and h.kind = 'file' and g.checksum is distinct from h.checksum \
         order by h.host, h.path",
    )
    .unwrap();
    let expected = [
        ("web1", format!("{t}/etc/extra.conf")),
        ("web1", format!("{t}/etc/nginx.conf")),
        ("web2", format!("{t}/bin/.kworker")),
    ]
    .map(|(h, p)| (h.to_string(), p));
    assert_eq!(pairs(&drift), expected);

    // Least frequent files by path across the role: on one host only.
    let rare = duckdb(
        dir,
        "select any_value(host), path from 'fleet.parquet' where kind = 'file' \
         group by path having count(distinct host) = 1 order by path",
    )
    .unwrap();
    let expected = [
        ("web2", format!("{t}/bin/.kworker")),
        ("web1", format!("{t}/etc/extra.conf")),
    ]
    .map(|(h, p)| (h.to_string(), p));
    assert_eq!(pairs(&rare), expected);

    // Every file with capabilities across the fleet, as getcap shows them.
    let caps = duckdb(
        dir,
        "select host, path, caps from 'fleet.parquet' where caps is not null order by host",
    )
    .unwrap();
    let recorded = duckdb(dir, "select bool_and(attrs_recorded) from 'fleet.parquet'").unwrap();
    assert_eq!(recorded[0][0], true, "scan -o records the attributes");
    let setcap = std::process::Command::new("getcap")
        .arg(dir.join("t/bin/.kworker"))
        .output()
        .map(|o| o.status.success() && !o.stdout.is_empty())
        .unwrap_or(false);
    if setcap {
        assert_eq!(caps.len(), 1, "{caps:?}");
        assert_eq!(caps[0][0], "web2");
        assert_eq!(caps[0][1], format!("{t}/bin/.kworker"));
        assert_eq!(caps[0][2], "cap_setuid=ep");
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs as root with setcap (.ci/run)"
        );
        eprintln!("skipping the capability query: setcap did not set one here");
    }
}

#[test]
fn hunt_finds_what_the_duckdb_join_finds_and_exits_16() {
    let tmp = scratch();
    let dir = tmp.path();
    fleet(dir);
    let hunt = |args: &[&str]| {
        let mut all = vec!["hunt", "--format", "json"];
        all.extend_from_slice(args);
        run_in(dir, all)
    };
    let out = hunt(&[
        "--ioc",
        "ioc.txt",
        "--ioc",
        "ioc.csv",
        "golden.fim",
        "web1.fim",
        "web2.fim",
    ]);
    assert_eq!(code(&out), 16, "{}", stderr(&out));
    let hits: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let found: Vec<(String, String)> = hits
        .iter()
        .map(|h| {
            (
                h["host"].as_str().unwrap().into(),
                h["path"].as_str().unwrap().into(),
            )
        })
        .collect();
    // Both lists name the implant: one hit, on both lists.
    assert_eq!(found.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["ioc"].as_array().unwrap().len(), 2);
    assert_eq!(hits[0]["baseline"], "web2.fim");
    if let Some(rows) = duckdb(
        dir,
        "select distinct host, path from 'fleet.parquet' \
         where sha256 in (select sha256_hash from read_csv('ioc.csv', header = true)) \
            or md5 in (select split_part(trim(line), ' ', 1) from read_csv('ioc.txt', \
               header = false, columns = {'line': 'VARCHAR'})) order by host, path",
    ) {
        assert_eq!(pairs(&rows), found);
    }
    // A wider list: golden's nginx.conf, which golden and web2 have and web1 changed.
    write(
        &dir.join("wide.txt"),
        format!("{}\n", md5_hex(b"worker_processes 4;\n")).as_bytes(),
    );
    let out = hunt(&[
        "--ioc",
        "wide.txt",
        "--ioc",
        "ioc.txt",
        "golden.fim",
        "web1.fim",
        "web2.fim",
    ]);
    assert_eq!(code(&out), 16, "{}", stderr(&out));
    let found: Vec<(String, String)> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|h| {
            (
                h["host"].as_str().unwrap().into(),
                h["path"].as_str().unwrap().into(),
            )
        })
        .collect();
    let t = dir.join("t").display().to_string();
    let expected = [
        ("golden", format!("{t}/etc/nginx.conf")),
        ("web2", format!("{t}/bin/.kworker")),
        ("web2", format!("{t}/etc/nginx.conf")),
    ]
    .map(|(h, p)| (h.to_string(), p));
    assert_eq!(found, expected);
    if let Some(rows) = duckdb(
        dir,
        "select host, path from 'fleet.parquet' where md5 in \
         (select split_part(trim(line), ' ', 1) from read_csv(['wide.txt', 'ioc.txt'], \
          header = false, columns = {'line': 'VARCHAR'}) where line not like '#%') \
         order by host, path",
    ) {
        assert_eq!(pairs(&rows), expected);
    }
    // Human lines: host, baseline time, path and the list.
    let out = run_in(dir, ["hunt", "--ioc", "ioc.txt", "web2.fim"]);
    assert_eq!(code(&out), 16);
    let line = stdout(&out);
    assert!(line.starts_with("web2 "), "{line}");
    assert!(
        line.contains("/bin/.kworker  [IOC md5 hash on ioc.txt:2]"),
        "{line}"
    );
    // Nothing listed: exit 0, and the summary says how much was searched.
    let out = run_in(dir, ["hunt", "--ioc", "ioc.txt", "golden.fim", "web1.fim"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("0 entries on the lists, in 2 of 2 baselines searched"));
}

#[test]
fn hunt_says_what_it_could_not_search_and_exits_incomplete() {
    let tmp = scratch();
    let dir = tmp.path();
    fleet(dir);
    // A baseline of xxh128 checksums only cannot be searched for md5 hashes.
    let out = run_in(dir, ["scan", "-q", "--cc", "xxh128", "-o", "xxh.fim", "t/"]);
    assert_eq!(code(&out), 0);
    // A damaged baseline is left out, the others still searched.
    let mut data = std::fs::read(dir.join("web1.fim")).unwrap();
    let at = data.len() / 2;
    data[at] ^= 0xff;
    std::fs::write(dir.join("broken.fim"), data).unwrap();
    let out = run_in(
        dir,
        [
            "hunt",
            "--ioc",
            "ioc.txt",
            "xxh.fim",
            "broken.fim",
            "web2.fim",
        ],
    );
    assert_eq!(code(&out), 16 | 8, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("xxh.fim: cannot be searched for the md5 hashes of ioc.txt"),
        "{err}"
    );
    assert!(err.contains("broken.fim: left out of the hunt"), "{err}");
    assert!(stdout(&out).contains("/bin/.kworker"));

    // Signed baselines are verified first: one signed by another key is left out.
    let out = run_in(dir, ["key", "generate", "fleet"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run_in(dir, ["key", "generate", "other"]);
    assert_eq!(code(&out), 0);
    for (key, base) in [("fleet.key", "good.fim"), ("other.key", "forged.fim")] {
        let out = run_in(
            dir,
            [
                "scan",
                "-q",
                "--digest",
                "sha256",
                "--sign-key",
                key,
                "-o",
                base,
                "t/",
            ],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    let out = run_in(
        dir,
        [
            "hunt",
            "--ioc",
            "ioc.txt",
            "--verify-key",
            "fleet.pub",
            "good.fim",
            "forged.fim",
        ],
    );
    assert_eq!(code(&out), 16 | 8, "{}", stderr(&out));
    assert!(stderr(&out).contains("forged.fim: left out of the hunt"));
    let hits = stdout(&out);
    assert_eq!(hits.lines().count(), 1, "{hits}");
    // A list that cannot be read is an error before any baseline is read.
    let out = run_in(dir, ["hunt", "--ioc", "missing.txt", "good.fim"]);
    assert_eq!(code(&out), 66, "{}", stderr(&out));
}

#[test]
fn export_is_all_or_nothing_and_partitions_by_host_and_date() {
    let tmp = scratch();
    let dir = tmp.path();
    fleet(dir);
    std::fs::write(dir.join("junk.fim"), b"not a baseline at all").unwrap();
    let out = run_in(
        dir,
        ["export", "-o", "bad.parquet", "golden.fim", "junk.fim"],
    );
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    assert!(stderr(&out).contains("junk.fim"));
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("bad.parquet"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    let out = run_in(
        dir,
        [
            "export",
            "--partition",
            "-o",
            "lake",
            "golden.fim",
            "web1.fim",
            "web2.fim",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // The day each baseline was made (UTC), as the golden one's partition names it.
    let days: Vec<String> = std::fs::read_dir(dir.join("lake/host=golden"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(days.len(), 1, "{days:?}");
    let day = days[0].strip_prefix("date=").expect("date=YYYY-MM-DD");
    let today = &fimsum::civil::format(fimsum::commands::now().sec, 0)[..10];
    assert!(day <= today && day.len() == 10, "{day}");
    for host in ["golden", "web1", "web2"] {
        let file = dir.join(format!("lake/host={host}/date={day}/{host}-g1.parquet"));
        assert!(file.is_file(), "{}", file.display());
    }
    if let Some(rows) = duckdb(
        dir,
        &format!(
            "select host, count(*) from read_parquet('lake/*/*/*.parquet', hive_partitioning = true) \
             where date = '{day}' group by host order by host"
        ),
    ) {
        let whole = duckdb(dir, "select host, count(*) from 'fleet.parquet' group by host order by host").unwrap();
        assert_eq!(rows, whole);
    }
    // A second export into the same tree refuses to mix itself with the first.
    let out = run_in(dir, ["export", "--partition", "-o", "lake", "web1.fim"]);
    assert_eq!(code(&out), 64, "{}", stderr(&out));
}
