# Sourced by the benchmarks of a synthetic tree of 1,000,000 empty files (1,000 directories
# of 1,000): builds the release binary and the tree, and times commands.
#
# After sourcing with the benchmark's arguments: $fimsum, $work (kept if given as $1, so
# later runs skip building the tree), $work/tree, and `measure LABEL COMMAND...`.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
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

# Time COMMAND... and report its peak RSS. An exit code below 64 is what the run found (a
# check's or diff's bits), not a failure.
measure() {
    local label=$1 rc=0; shift
    /usr/bin/time -f "%e s, peak RSS %M KiB" -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt" \
        || rc=$?
    if [ "$rc" -ge 64 ]; then cat "$work/err.txt" >&2; exit 1; fi
    printf '%-36s %s\n' "$label" "$(tail -1 "$work/time.txt")"
}
