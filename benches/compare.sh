#!/usr/bin/env bash
# Compare fimsum with rsync, md5sum and hashdeep on the same trees, in one run, warm cache.
#
#   benches/compare.sh [--runs N] [--usr] [--keep DIR]
#
# Builds two synthetic corpora (many small files; few large files), and with --usr also uses
# /usr. Each command runs once to warm the page cache, then N times (default 3); the table
# shows the median wall time and each tool's time as a multiple of fimsum's md5 scan.
set -euo pipefail

runs=3
use_usr=0
work=""
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --usr) use_usr=1; shift ;;
        --keep) work=$2; shift 2 ;;
        *) echo "usage: $0 [--runs N] [--usr] [--keep DIR]" >&2; exit 64 ;;
    esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
fimsum=$repo/target/release/fimsum

if [ -z "$work" ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/fimsum-compare.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"

# Many small files: 20,000 files of 0-16 KiB in 200 directories (deterministic sizes).
if [ ! -d "$work/small" ]; then
    python3 - "$work/small" <<'PY'
import os, sys
root = sys.argv[1]
block = bytes(range(256)) * 64
for i in range(20000):
    d = os.path.join(root, "d%03d" % (i % 200))
    os.makedirs(d, exist_ok=True)
    size = (i * 7919) % 16384
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write((block * (size // len(block) + 1))[:size])
PY
fi
# Few large files: 8 x 64 MiB.
if [ ! -d "$work/large" ]; then
    mkdir -p "$work/large"
    for i in 1 2 3 4 5 6 7 8; do
        head -c $((64 << 20)) /dev/urandom > "$work/large/f$i"
    done
fi

corpora=(small large)
[ "$use_usr" = 1 ] && [ -d /usr ] && corpora+=(/usr)

have() { command -v "$1" >/dev/null 2>&1; }

# "name::command" (SRC is replaced by the corpus path)
tools=(
    "fimsum md5::$fimsum scan --cc md5 SRC/"
    "fimsum xxh128::$fimsum scan --cc xxh128 SRC/"
    "fimsum md5 1 thread::$fimsum scan --cc md5 --threads 1 SRC/"
    "fimsum md5 scalar::$fimsum scan --cc md5 --kernel scalar SRC/"
    "fimsum check::$fimsum check --format rsync BASE"
    "fimsum check --quick::$fimsum check --quick --format rsync BASE"
)
if have rsync; then
    tools+=("rsync md5::rsync -a -n --checksum --checksum-choice=md5 --out-format=%n%C SRC/ $work/empty/")
    tools+=("rsync xxh128::rsync -a -n --checksum --checksum-choice=xxh128 --out-format=%n%C SRC/ $work/empty/")
fi
have md5sum && tools+=("find|xargs md5sum::find SRC -type f -print0 | xargs -0 -P1 md5sum")
have hashdeep && tools+=("hashdeep md5::hashdeep -c md5 -r SRC")
tools+=("tar (read only)::tar cf - SRC | cat >/dev/null")

# "SECONDS PEAK_RSS_KB" of one run (the peak of the biggest process of a pipeline).
time_once() {
    /usr/bin/time -f '%e %M' -o "$work/time.out" bash -c "$1" >/dev/null 2>&1 || true
    tail -1 "$work/time.out"
}

# The median of the first (or second) column.
median() { sort -g -k"${1:-1}" | awk -v k="${1:-1}" '{a[NR]=$k} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "runs: $runs (median wall seconds and peak RSS, warm cache); ratio = tool time / fimsum md5 time"
for corpus in "${corpora[@]}"; do
    src=$corpus
    [ "${corpus#/}" = "$corpus" ] && src=$work/$corpus
    files=$(find "$src" -type f | wc -l)
    bytes=$(du -sb "$src" | cut -f1)
    echo
    echo "## $corpus: $files files, $((bytes >> 20)) MiB"
    # Warm the page cache once for all tools: fimsum itself drops only what it brought in.
    tar cf - "$src" 2>/dev/null | cat >/dev/null
    # The baseline the check rows compare with: the tree as it is, so nothing has changed.
    base_file=$work/$(basename "$corpus").fsb
    rm -f "$base_file"
    "$fimsum" scan --quiet -o "$base_file" "$src/" >/dev/null 2>&1
    printf '| %-22s | %9s | %7s | %8s |\n' tool seconds ratio "peak RSS"
    printf '|%s|%s|%s|%s|\n' "------------------------" "-----------" "---------" "----------"
    base=""
    for entry in "${tools[@]}"; do
        name=${entry%%::*}
        cmd=${entry#*::}
        cmd=${cmd//SRC/$src}
        cmd=${cmd//BASE/$base_file}
        time_once "$cmd" >/dev/null
        samples=$(for _ in $(seq "$runs"); do time_once "$cmd"; done)
        t=$(echo "$samples" | median 1)
        rss=$(echo "$samples" | median 2)
        [ -z "$base" ] && base=$t
        printf '| %-22s | %9.2f | %7.2f | %5d MB |\n' "$name" "$t" "$(echo "$t / $base" | bc -l)" "$((rss / 1024))"
    done
done
