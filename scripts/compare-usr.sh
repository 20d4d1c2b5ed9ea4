#!/usr/bin/env bash
# compare-usr.sh [FIMSUM]
#
# Compares `fimsum scan OPTIONS SRC` with live rsync's
#   rsync -n --checksum --checksum-choice=md5 --out-format="%n %C" OPTIONS SRC DEST/
# on parts of /usr that every Debian-like system has, for the listing options whose
# recorded cases run on the fixture tree (baselines/rsync/cases-listing*.tsv): the same
# options on a real system tree. stdout is compared byte for byte, rsync's `skipping` lines
# apart (where rsync prints them among the others is timing, see record-rsync.sh). A case
# whose source is missing is skipped; one fimsum refuses by name (exit 64, a documented
# limit such as -H over rsync's lookahead) is listed as refused. Exits 1 on any difference.
# FIMSUM defaults to target/release/fimsum.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fimsum=${1:-$here/../target/release/fimsum}
fimsum=$(cd "$(dirname "$fimsum")" && pwd)/$(basename "$fimsum") # the cases change directory
work=$(mktemp -d "${TMPDIR:-/tmp}/fimsum-usr.XXXXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/dest"

# cwd<TAB>options and sources (space-separated; @SP@ stands for a space in one)
cases=$(
    cat <<'EOF'
/	-a usr/share/doc/
/	-rlt usr/share/zoneinfo/
/	-aH usr/share/doc/
/	-aH usr/lib/x86_64-linux-gnu/dri/
/	-aR usr/share/doc
/	-aR usr/lib/x86_64-linux-gnu/gconv usr/share/./zoneinfo
/usr	-aR ./share/zoneinfo/posix
/	-aC usr/lib/python3/
/	-aF usr/share/doc/
/	-a -FF usr/lib/python3/
/	-a --filter=:-@SP@.gitignore usr/lib/python3/
/	-aL usr/share/zoneinfo/
/	-a --max-size=4k usr/share/doc/
EOF
)

status=0
same=0
while IFS=$'\t' read -r cwd args; do
    IFS=' ' read -r -a argv <<<"$args"
    argv=("${argv[@]//@SP@/ }")
    src=${argv[-1]}
    if [ ! -e "$cwd/${src%%/./*}" ]; then
        echo "skipped (no $cwd/$src): $args"
        continue
    fi
    rc=0
    (cd "$cwd" && LC_ALL=C.UTF-8 rsync -n --checksum --checksum-choice=md5 \
        --out-format="%n %C" "${argv[@]}" "$work/dest/") >"$work/rsync" 2>/dev/null || rc=$?
    fc=0
    (cd "$cwd" && LC_ALL=C.UTF-8 HOME=/nonexistent CVSIGNORE='' "$fimsum" scan --cc md5 \
        "${argv[@]}") >"$work/fimsum" 2>"$work/fimsum.err" || fc=$?
    if [ "$fc" -eq 64 ]; then
        echo "refused: $args: $(head -1 "$work/fimsum.err")"
        continue
    fi
    for side in rsync fimsum; do
        LC_ALL=C grep -avE '^skipping (non-regular file "|directory )' "$work/$side" >"$work/$side.rest" || true
    done
    lines=$(wc -l <"$work/rsync.rest")
    if cmp -s "$work/rsync.rest" "$work/fimsum.rest" && [ $((rc == 0)) -eq $((fc == 0)) ]; then
        same=$((same + 1))
        echo "same ($lines lines): $args"
    else
        status=1
        echo "DIFFERENT (rsync exit $rc, fimsum exit $fc): $args"
        diff "$work/rsync.rest" "$work/fimsum.rest" | head -10 || true
    fi
done <<<"$cases"
echo "$same cases print what rsync printed ($(rsync --version | head -1))"
exit "$status"
