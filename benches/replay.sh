#!/usr/bin/env bash
# Replay speed: a night of 10,000 lines (5,000 changed files, 5,000 deletions) applied to
# a baseline of 1,000,001 entries (1,000 directories of 1,000 empty files), and the
# import of the day-0 full listing itself; times and peak RSS of each (GNU time).
#
#   benches/replay.sh [DIR]     (DIR is kept if given, so later runs skip the build)
set -euo pipefail
source "$(dirname "$0")/million-tree.sh"
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
