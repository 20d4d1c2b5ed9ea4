#!/usr/bin/env bash
# Replay speed: a night of 10,000 lines (5,000 changed files, 5,000 deletions) applied to
# a baseline of 1,000,001 entries (1,000 directories of 1,000 empty files), and the
# import of the day-0 full listing itself; times and peak RSS of each (GNU time).
#
#   benches/replay.sh [DIR]     (DIR is kept if given, so later runs skip the build)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
fimsum=$repo/target/release/fimsum
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }

work=${1:-}
if [ -z "$work" ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/fimsum-replay.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
if [ ! -d "$work/tree" ]; then
    python3 - "$work/tree" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(1000):
    path = os.path.join(root, "d%04d" % d)
    os.makedirs(path)
    for f in range(1000):
        open(os.path.join(path, "f%04d" % f), "wb").close()
PY
fi

# A run's exit code below 64 is what it found (diff's bits), not a failure.
measure() {
    local label=$1 rc=0; shift
    /usr/bin/time -f "%e s, peak RSS %M KiB" -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt" \
        || rc=$?
    if [ "$rc" -ge 64 ]; then cat "$work/err.txt" >&2; exit 1; fi
    printf '%-36s %s\n' "$label" "$(tail -1 "$work/time.txt")"
}
# Day 0, as rsync's `%n %C` listing into an empty destination would print it.
"$fimsum" scan "$work/tree/" >"$work/day0.log"
# The night: every 200th file changed, the next one deleted, in rsync's order.
python3 - "$work/day0.log" "$work/night.log" <<'PY'
import sys
lines = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
files = [l for l in lines if not l.split(b" ")[0].endswith(b"/")]
out = []
for i in range(0, len(files) - 1, 200):
    name = files[i].split(b" ")[0]
    out.append(b"deleting " + files[i + 1].split(b" ")[0])
    out.append(name + b" " + b"%032x" % (i + 1))
open(sys.argv[2], "wb").write(b"\n".join(out) + b"\n")
PY
echo "day 0: $(wc -l <"$work/day0.log") lines; night: $(wc -l <"$work/night.log") lines"
measure "import --full (day 0)" "$fimsum" import --cc md5 --full "$work/day0.log" -o "$work/day0.fimsum"
measure "import --base (one night)" "$fimsum" import --cc md5 --base "$work/day0.fimsum" "$work/night.log" -o "$work/day1.fimsum"
measure "diff (baseline, night)" "$fimsum" diff --cc md5 --format rsync "$work/day0.fimsum" "$work/night.log"
