#!/usr/bin/env bash
# check-rsync-drift.sh
#
# Re-records rsync's output with record-rsync.sh (and, if present,
# record-rsync-incremental.sh and record-rsync-logs.sh) into a temp dir and
# compares it with the committed baselines/rsync*/ directories. Exits 1 and prints the diff on any
# drift, 0 when everything matches. Must run as root (see record-rsync.sh).
set -euo pipefail
umask 022

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fimsum-drift.XXXXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "rsync: $(${RSYNC:-rsync} --version | head -1)" >&2
status=0

"$here/record-rsync.sh" "$tmp/rsync"
if ! diff -r "$repo/baselines/rsync" "$tmp/rsync"; then
    echo "DRIFT: rsync output differs from baselines/rsync (see diff above)" >&2
    status=1
fi

if [ -x "$here/record-rsync-incremental.sh" ] && [ -d "$repo/baselines/rsync-incremental" ]; then
    "$here/record-rsync-incremental.sh" "$tmp/rsync-incremental"
    if ! diff -r "$repo/baselines/rsync-incremental" "$tmp/rsync-incremental"; then
        echo "DRIFT: rsync output differs from baselines/rsync-incremental (see diff above)" >&2
        status=1
    fi
fi

if [ -x "$here/record-rsync-logs.sh" ] && [ -d "$repo/baselines/rsync-logs" ]; then
    "$here/record-rsync-logs.sh" "$tmp/rsync-logs"
    if ! diff -r "$repo/baselines/rsync-logs" "$tmp/rsync-logs"; then
        echo "DRIFT: rsync output differs from baselines/rsync-logs (see diff above)" >&2
        status=1
    fi
fi

[ "$status" -eq 0 ] && echo "no drift" >&2
exit "$status"
