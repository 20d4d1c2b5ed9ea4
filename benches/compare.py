#!/usr/bin/env python3
"""fimsum against rsync, md5sum, hashdeep, AIDE and du on one tree, in one run.

    benches/compare.py [--tree /usr] [--runs 3] [--slow-runs 1] [--million DIR] [--floor]
                       [--no-build]

Every command runs once to warm the page cache, then --runs times, interleaved (fimsum, then
the tool it is compared with, seconds apart), so that a ratio compares runs under the same
conditions; the reference tools that take tens of seconds (md5sum, hashdeep, AIDE) run
--slow-runs times. Wall time, CPU time (user + system) and peak RSS come from GNU time for
each run. The targets table gives the median ratio and its spread (lowest to highest of the
per-run ratios), and whether the target holds. --million DIR also measures the peak RSS of
a scan of a 1,000,000-file tree (built in DIR by benches/million-tree.sh's layout if absent).
--floor also runs the floor example (crates/fimsum/examples/floor.rs, about 20 s) on the
tree and prints the physical floor of each scan against rsync's median wall time of this
run: the least wall time that walking, reading and hashing the tree allows on this
machine's cores, so the best ratio any scan could reach, and whether the target is within
it.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd):
    """Wall seconds, CPU seconds and peak RSS (MiB) of one run of a shell command, by GNU
    time: the peak RSS of a child forked from this interpreter would count the
    interpreter's own pages, from before the exec."""
    with tempfile.NamedTemporaryFile("r") as out:
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%e %U %S %M", "-o", out.name, "bash", "-c", cmd],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wall, user, sysc, rss = out.read().split()[-4:]
    return {
        "wall": float(wall),
        "user": float(user),
        "sys": float(sysc),
        "cpu": float(user) + float(sysc),
        "rss": int(rss) / 1024,
        "rc": proc.returncode,
    }


def have(tool):
    return shutil.which(tool) is not None


def aide_config(work, tree):
    """A config comparable to fimsum's default: permissions, inode, links, owner, size,
    times, MD5, and the security attributes fimsum records (ACLs, xattrs, SELinux, inode
    flags, capabilities), on every worker thread."""
    conf = os.path.join(work, "aide.conf")
    with open(conf, "w") as f:
        f.write(
            f"database_in=file:{work}/aide.db\n"
            f"database_out=file:{work}/aide.db\n"
            "database_new=file:" + f"{work}/aide.db\n"
            "gzip_dbout=no\n"
            f"num_workers={os.cpu_count()}\n"
            "report_url=stdout\n"
            "Fim = p+i+n+u+g+s+m+c+md5+acl+xattrs+selinux+e2fsattrs+caps\n"
            f"{tree.rstrip('/') or '/'} Fim\n"
        )
    return conf


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", default="/usr")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--slow-runs", type=int, default=1)
    ap.add_argument("--million", metavar="DIR")
    ap.add_argument("--floor", action="store_true")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()

    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
        if args.floor:
            subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "fimsum",
                            "--example", "floor"], cwd=REPO, check=True)
    fimsum = os.path.join(REPO, "target/release/fimsum")
    tree = args.tree.rstrip("/")
    work = tempfile.mkdtemp(prefix="fimsum-compare.")
    empty = os.path.join(work, "empty")
    os.mkdir(empty)
    base = os.path.join(work, "tree.fimsum")

    # name -> (command, slow); the order is the order of each round.
    commands = {
        "fimsum md5": f"{fimsum} scan --cc md5 {tree}/",
        "rsync md5": f"rsync -a -n --checksum --checksum-choice=md5 "
        f"--out-format='%n %C' {tree}/ {empty}/",
        "fimsum xxh128": f"{fimsum} scan --cc xxh128 {tree}/",
        "rsync xxh128": f"rsync -a -n --checksum --checksum-choice=xxh128 "
        f"--out-format='%n %C' {tree}/ {empty}/",
        "fimsum md5 --kernel scalar": f"{fimsum} scan --cc md5 --kernel scalar {tree}/",
        # A scan to stdout records no attributes (nothing would use them): their cost is
        # that of a baseline's scan with and without them.
        "fimsum scan -o": f"rm -f {work}/a.fimsum; {fimsum} scan -o {work}/a.fimsum {tree}/",
        "fimsum scan -o --no-attrs": f"rm -f {work}/b.fimsum; "
        f"{fimsum} scan --no-attrs -o {work}/b.fimsum {tree}/",
        "fimsum check": f"{fimsum} check --format rsync {base}",
        "fimsum check --quick": f"{fimsum} check --quick --format rsync {base}",
        "du -s": f"du -s {tree}",
    }
    slow = {}
    if have("md5sum"):
        slow["find | xargs md5sum"] = f"find {tree} -type f -print0 | xargs -0 md5sum"
    if have("hashdeep"):
        slow["hashdeep -c md5"] = f"hashdeep -c md5 -r {tree}"
    if have("aide"):
        conf = aide_config(work, tree)
        slow["aide --init"] = f"aide --config {conf} --init"
        slow["aide --check"] = f"aide --config {conf} --check"

    help_attrs = subprocess.run([fimsum, "scan", "--help"], capture_output=True, text=True)
    if "--no-attrs" not in help_attrs.stdout:
        del commands["fimsum scan -o --no-attrs"]

    print(f"machine: {os.cpu_count()} cores, {cpu_model()}, kernel {os.uname().release}")
    print(f"tree: {tree}, {count_entries(tree)} entries; runs: {args.runs} "
          f"(slow tools {args.slow_runs}); warm cache")
    subprocess.run(f"tar cf - {tree} 2>/dev/null | cat >/dev/null", shell=True)
    made = run(f"{fimsum} scan --quiet -o {base} {tree}/")
    if made["rc"] != 0:
        sys.exit(f"cannot write the baseline of {tree}")

    samples = {name: [] for name in list(commands) + list(slow)}
    for name, cmd in list(commands.items()) + list(slow.items()):
        run(cmd)  # warm-up, not counted
    for i in range(args.runs):
        for name, cmd in commands.items():
            samples[name].append(run(cmd))
        if i < args.slow_runs:
            for name, cmd in slow.items():
                samples[name].append(run(cmd))

    ref = statistics.median(s["wall"] for s in samples["fimsum md5"])
    print()
    print("| command | wall s | CPU s (user + sys) | x fimsum md5 wall | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|")
    for name, runs in samples.items():
        if not runs:
            continue
        wall = statistics.median(r["wall"] for r in runs)
        user = statistics.median(r["user"] for r in runs)
        sysc = statistics.median(r["sys"] for r in runs)
        rss = max(r["rss"] for r in runs)
        print(f"| {name} | {wall:.2f} | {user + sysc:.2f} ({user:.2f} + {sysc:.2f}) | "
              f"{wall / ref:.2f} | {rss:.0f} |")

    def ratio(slower, faster):
        rs = [a["wall"] / b["wall"] for a, b in zip(samples[slower], samples[faster])]
        return statistics.median(rs), min(rs), max(rs)

    print()
    print("| target | measured (median, spread) | holds |")
    print("|---|---|---|")
    targets = [
        ("fimsum md5 >= 8x rsync md5", "rsync md5", "fimsum md5", 8.0),
        ("fimsum xxh128 >= 2.5x rsync xxh128", "rsync xxh128", "fimsum xxh128", 2.5),
        ("--kernel scalar >= 4x rsync md5", "rsync md5", "fimsum md5 --kernel scalar", 4.0),
        ("check --quick no slower than du -s", "du -s", "fimsum check --quick", 1.0),
    ]
    for label, slower, faster, want in targets:
        med, lo, hi = ratio(slower, faster)
        print(f"| {label} | {med:.2f}x ({lo:.2f}-{hi:.2f}) | {'yes' if med >= want else 'NO'} |")
    if "fimsum scan -o --no-attrs" in samples:
        cost = [a["cpu"] / b["cpu"] - 1 for a, b in
                zip(samples["fimsum scan -o"], samples["fimsum scan -o --no-attrs"])]
        med = statistics.median(cost) * 100
        print(f"| security attributes cost <= 5% (CPU) | {med:+.1f}% "
              f"({min(cost) * 100:+.1f} to {max(cost) * 100:+.1f}) | {'yes' if med <= 5 else 'NO'} |")
    rss = max(r["rss"] for r in samples["fimsum md5"])
    print(f"| peak RSS of the md5 scan <= 57 MB | {rss * 1.048576:.0f} MB | "
          f"{'yes' if rss * 1.048576 <= 57 else 'NO'} |")
    if args.million:
        mtree = million_tree(args.million)
        m = run(f"{fimsum} scan --cc md5 {mtree}/")
        print(f"| peak RSS of a 1,000,000-file scan < 300 MB | {m['rss'] * 1.048576:.0f} MB "
              f"({m['wall']:.1f} s) | {'yes' if m['rss'] * 1.048576 < 300 else 'NO'} |")
    if args.floor:
        print_floor(tree, targets, samples)
    shutil.rmtree(work, ignore_errors=True)


def print_floor(tree, targets, samples):
    """The floor example's JSON on the tree, as the best ratio against this run's rsync that
    each scan's floor allows."""
    floor_bin = os.path.join(REPO, "target/release/examples/floor")
    out = subprocess.run([floor_bin, "--json", "--threads", str(os.cpu_count()), f"{tree}/"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"floor: {out.stderr.strip()}")
    floor = json.loads(out.stdout)
    kinds = {"fimsum md5": "md5", "fimsum xxh128": "xxh128",
             "fimsum md5 --kernel scalar": "md5-scalar"}
    print()
    print(f"physical floor on {floor['cores']} cores: walk + {' + '.join(floor['ways_in'])} "
          "+ hash, in CPU s / cores")
    print("| target | floor wall s | rsync wall s | best ratio the floor allows | reachable |")
    print("|---|---:|---:|---:|---|")
    for label, slower, faster, want in targets:
        if faster not in kinds:
            continue
        wall = floor["floor"][kinds[faster]]["wall_s"]
        rsync = statistics.median(r["wall"] for r in samples[slower])
        best = rsync / wall
        print(f"| {label} | {wall:.2f} | {rsync:.2f} | {best:.2f}x | "
              f"{'yes' if best >= want else 'NO'} |")


def million_tree(root):
    tree = os.path.join(root, "tree")
    if not os.path.isdir(tree):
        for d in range(1000):
            path = os.path.join(tree, f"d{d:03d}")
            os.makedirs(path)
            for f in range(1000):
                open(os.path.join(path, f"f{f:03d}"), "w").close()
    return tree


def count_entries(tree):
    return sum(1 + len(files) for _, _, files in os.walk(tree))


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


if __name__ == "__main__":
    main()
