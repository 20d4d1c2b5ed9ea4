#!/usr/bin/env bash
# Flat memory on a synthetic tree of 1,000,000 empty files (1,000 directories of 1,000):
# times `scan -o`, `check` and `show`, and reports each one's peak RSS (GNU time).
#
#   benches/million.sh [DIR]     (DIR is kept if given, so later runs skip the build)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
fimsum=$repo/target/release/fimsum
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }

work=${1:-}
if [ -z "$work" ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/fimsum-million.XXXXXX")
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

measure() {
    local label=$1; shift
    /usr/bin/time -f "%e s, peak RSS %M KiB" -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt" || true
    printf '%-28s %s\n' "$label" "$(cat "$work/time.txt")"
}
echo "tree: $(find "$work/tree" -type f | wc -l) files"
measure "scan -o (write baseline)" "$fimsum" scan -o "$work/base.fimsum" "$work/tree/"
echo "baseline: $(du -h "$work/base.fimsum" | cut -f1)"
measure "check (unchanged)" "$fimsum" check "$work/base.fimsum"
measure "show" "$fimsum" show "$work/base.fimsum"
measure "scan to stdout" "$fimsum" scan "$work/tree/"
