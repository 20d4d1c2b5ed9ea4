#!/usr/bin/env bash
# static-check.sh: build the static binary (x86_64-unknown-linux-musl, release profile) and
# check that it prints the same bytes, with the same exit codes, as the glibc build
# (target/debug/fimsum) on the fixture tree, then print its size, `file` and `ldd`, and the
# newest glibc symbol version the glibc build needs. Run by .ci/run after `cargo test`.
# When the musl target cannot be installed (no network, no rustup) it says so and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
start=$SECONDS

if ! command -v rustup >/dev/null; then
    echo "NOTE: no rustup: static ($target) build and its check skipped"
    exit 0
fi
if ! why=$(rustup target add "$target" 2>&1); then
    echo "NOTE: \`rustup target add $target\` failed (offline?): static build and its check skipped"
    echo "$why" | tail -n 3 | sed 's/^/    /'
    exit 0
fi
cargo build --quiet --release --target "$target"
cargo build --quiet
static=$PWD/target/$target/release/fimsum
glibc=$PWD/target/debug/fimsum

tmp=$(mktemp -d)
trap 'chmod -R u+rwX "$tmp"; rm -rf "$tmp"' EXIT
bash scripts/make-fixtures.sh "$tmp/fx" >/dev/null
cd "$tmp"

# Runs "$@" with each binary in turn and compares stdout, stderr and the exit code.
failed=0
runs=0
same() {
    local locale=$1
    shift
    local b
    for b in static glibc; do
        set +e
        LC_ALL=$locale "${!b}" "$@" >"out.$b" 2>"err.$b"
        echo "exit $?" >>"err.$b"
        set -e
        sed -i "s|${!b}|fimsum|g" "err.$b" # error messages name the binary
        # JSON events carry the time of the run, which differs between the two runs.
        sed -i -E 's/"time":"[^"]*"/"time":"TIME"/g' "out.$b"
    done
    runs=$((runs + 1))
    if ! cmp -s out.static out.glibc || ! cmp -s err.static err.glibc; then
        echo "DIFFERENT (LC_ALL=$locale): fimsum $*"
        diff out.glibc out.static | head -5 || true
        diff err.glibc err.static | head -5 || true
        failed=1
    fi
}

for locale in C.UTF-8 C; do
    same "$locale" scan fx/tree/
    same "$locale" scan --cc xxh128 --threads 1 fx/tree/ fx/srcs/one
    same "$locale" scan --exclude '*.txt' fx/srcs/
    same "$locale" scan fx/no-such-file
done
# Baselines written by one build read by the other.
"$static" scan -o s.fimsum fx/tree/
"$glibc" scan -o g.fimsum fx/tree/
same C.UTF-8 show s.fimsum
same C.UTF-8 show g.fimsum
same C.UTF-8 check --format json s.fimsum
same C.UTF-8 check g.fimsum fx/srcs/
same C.UTF-8 diff s.fimsum g.fimsum

echo "static binary: $(stat -c %s "$static") bytes ($((SECONDS - start)) s to build and check)"
if command -v file >/dev/null; then file "$static"; fi
ldd "$static" 2>&1 || true
if command -v objdump >/dev/null; then
    echo "glibc build needs $(objdump -T "$glibc" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)"
fi
if [ "$failed" -ne 0 ]; then
    echo "the static binary differs from the glibc build"
    exit 1
fi
echo "static binary: same output and exit codes as the glibc build in $runs runs"
