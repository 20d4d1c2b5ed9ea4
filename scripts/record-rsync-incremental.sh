#!/usr/bin/env bash
# record-rsync-incremental.sh OUTDIR
#
# Records what rsync prints when it updates an earlier copy:
#   rsync -a --delete --checksum --checksum-choice=md5 --out-format=FMT NEW/ BACKUP/
# For every case below:
#   1. NEW   = empty dir; init.sh is run inside it (fixed names, contents, mtimes)
#   2. BACKUP = `rsync -a NEW/ BACKUP/` (a second backup made with `cp -a` is
#               used as a cross-check: its output must be identical)
#   3. <case>.ops is run inside NEW (cwd = NEW) with bash -euo pipefail
#   4. the rsync above runs with FMT="%n %C" -> <case>.out
#      and, on a fresh BACKUP, with FMT="%i %n %C" -> <case>.itemize.out
# OUTDIR receives init.sh, every <case>.ops, <case>.out and <case>.itemize.out.
# It is replaced as a whole. Every run must exit 0 with an empty stderr, else
# this script stops. Run as root (ops use chown, the backups keep owners).
# Replaying a case (e.g. from a Rust test): same 4 steps, umask 022, as root.
#
# NORMALISED ORDER. With --delete (= --delete-during) rsync's `deleting` lines
# travel to the printing process on a different channel than the other lines,
# so how the two kinds interleave varies from run to run (see
# docs/rsync-behaviour.md, "Incremental runs"); each kind alone keeps a fixed
# order. The .out files therefore hold rsync's stdout with every `deleting`
# line moved, in its order, before all other lines (a stable partition). Each
# variant runs RUNS times (default 3) and all runs must give the same
# normalised text, else this script stops.
#
# Entries the ops create or modify get the current time as mtime; that never
# shows in the output (only *whether* an mtime differs does), so the records
# do not depend on the clock.
set -euo pipefail
umask 022

if [ "$#" -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
outdir=$1
rsync_path=$(command -v "${RSYNC:-rsync}")
if [ "$(id -u)" -ne 0 ]; then
    echo "$0: must run as root" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fimsum-rsync-inc.XXXXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/out
mkdir "$stage"

# ---------------------------------------------------------------- initial tree
cat >"$stage/init.sh" <<'EOF'
# Initial tree of every incremental case; run inside an empty NEW dir.
mkdir -p d1/d2/d3 gone-dir/sub will-be-file
printf 'alpha\n' >a.txt
printf 'bravo\n' >b.txt
printf 'charlie\n' >c.txt
printf 'delta\n' >d1/d.txt
printf 'echo\n' >d1/d2/e.txt
printf 'foxtrot\n' >d1/d2/d3/f.txt
printf 'golf\n' >gone-dir/g.txt
printf 'hotel\n' >gone-dir/sub/h.txt
printf 'india\n' >will-be-dir
printf 'juliett\n' >will-be-file/j.txt
printf 'kilo\n' >will-be-link
ln -s a.txt link
mkfifo pipe
find . -exec touch -h -d @1600000000 {} +
EOF

# ---------------------------------------------------------------- cases
# case NAME 'ops'   (first line of the .ops file is a comment naming the case)
cases=()
case_() {
    cases+=("$1")
    printf '# %s\n%s\n' "$1" "$2" >"$stage/$1.ops"
}
T=@1600000000 # the initial mtime, to undo a side effect on purpose
case_ no-change 'true'
# Only a time within the same second differs: rsync's default --modify-window (0)
# compares seconds, so it prints nothing (and sets no time).
case_ mtime-same-second-file "touch -d @1600000000.5 a.txt"
case_ mtime-same-second-dir "touch -d @1600000000.7 d1 d1/d2"
case_ mtime-other-second-file "touch -d @1600000001.2 a.txt"
case_ content-same-size "printf 'ALPHA\\n' >a.txt
touch -d $T a.txt"
case_ content-same-size-new-mtime "printf 'ALPHA\\n' >a.txt"
case_ content-other-size "printf 'alpha, longer\\n' >a.txt
touch -d $T a.txt"
case_ content-nested "printf 'ECHO\\n' >d1/d2/e.txt
touch -d $T d1/d2/e.txt"
case_ file-added "printf 'lima\\n' >l.txt"
case_ file-added-dir-mtime-kept "printf 'lima\\n' >l.txt
touch -d $T l.txt ."
case_ file-added-nested "printf 'mike\\n' >d1/d2/m.txt"
case_ file-removed 'rm b.txt'
case_ file-removed-dir-mtime-kept "rm b.txt
touch -d $T ."
case_ files-removed 'rm a.txt b.txt c.txt'
case_ file-removed-nested 'rm d1/d2/e.txt'
case_ files-removed-several-dirs 'rm b.txt d1/d.txt d1/d2/e.txt d1/d2/d3/f.txt'
case_ dir-added "mkdir -p n/sub
printf 'x\\n' >n/x
printf 'y\\n' >n/sub/y"
case_ empty-dir-added 'mkdir empty'
case_ dir-removed 'rm -r gone-dir'
case_ dir-removed-nested 'rm -r d1/d2'
case_ removed-files-and-dirs 'rm b.txt
rm -r gone-dir will-be-file'
case_ file-to-dir "rm will-be-dir
mkdir will-be-dir
printf 'in\\n' >will-be-dir/in"
case_ dir-to-file "rm -r will-be-file
printf 'now a file\\n' >will-be-file"
case_ dir-to-file-and-deletes "rm -r will-be-file
printf 'now a file\\n' >will-be-file
rm b.txt d1/d.txt"
case_ dir-to-symlink 'rm -r will-be-file
ln -s d1 will-be-file'
case_ file-to-symlink 'rm will-be-link
ln -s a.txt will-be-link'
case_ symlink-to-file "rm link
printf 'was a link\\n' >link"
case_ symlink-retarget 'ln -sfn c.txt link'
case_ symlink-retarget-times-kept "ln -sfn c.txt link
touch -h -d $T link ."
case_ symlink-recreated-same-target "rm link
ln -s a.txt link
touch -d $T ."
case_ chmod-file 'chmod 600 a.txt'
case_ chmod-dir 'chmod 700 d1'
case_ chmod-fifo 'chmod 600 pipe'
case_ mtime-file 'touch -d @1600000500 a.txt'
case_ mtime-dir 'touch -d @1600000500 d1'
case_ mtime-symlink 'touch -h -d @1600000500 link'
case_ chown-file 'chown 65534:65534 a.txt'
case_ chgrp-file 'chgrp 65534 a.txt'
case_ chown-dir 'chown 65534:65534 d1'
case_ chown-symlink 'chown -h 65534:65534 link'
case_ fifo-added 'mkfifo pipe2'
case_ several-depths "printf 'ALPHA!\\n' >a.txt
rm c.txt
printf 'new\\n' >d1/n.txt
rm d1/d2/e.txt
printf 'FOXTROT\\n' >d1/d2/d3/f.txt
rm -r gone-dir
mkdir newdir
printf 'x\\n' >newdir/x
chmod 700 d1/d2"

# ---------------------------------------------------------------- recording
runs=${RUNS:-3}

# run_rsync FMT NEW BACKUP OUTFILE: the measured command, stdout normalised
# (deleting lines first, see above); rsync must exit 0 with an empty stderr.
run_rsync() {
    local err=$work/stderr raw=$work/raw rc=0
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
        "$rsync_path" -a --delete --checksum --checksum-choice=md5 \
        --out-format="$1" "$2/" "$3/" >"$raw" 2>"$err" || rc=$?
    if [ "$rc" -ne 0 ] || [ -s "$err" ]; then
        echo "$0: rsync exited $rc for $4:" >&2
        cat "$err" >&2
        exit 1
    fi
    # "deleting NAME" (plain format) or "*deleting   NAME ..." (with %i)
    { LC_ALL=C grep -a -E '^\*?deleting ' "$raw" || true
      LC_ALL=C grep -a -v -E '^\*?deleting ' "$raw" || true; } >"$4"
}

# record CASE FMT OUTFILE: RUNS runs, each on a fresh backup; all must agree.
# Run 1 uses a backup made by `rsync -a`, the others one made by `cp -a`.
record() {
    local c=$1 fmt=$2 out=$3 d=$work/$1 i
    for i in $(seq 1 "$runs"); do
        rm -rf "$d/backup"
        if [ "$i" -eq 1 ]; then
            cp -a "$d/backup-rsync" "$d/backup"
        else
            cp -a "$d/backup-cp" "$d/backup"
        fi
        run_rsync "$fmt" "$d/new" "$d/backup" "$d/run.$i"
        if ! cmp -s "$d/run.1" "$d/run.$i"; then
            echo "$0: $c ($fmt): run $i differs from run 1 after normalising:" >&2
            diff "$d/run.1" "$d/run.$i" >&2 || true
            exit 1
        fi
    done
    cp "$d/run.1" "$out"
}

for c in "${cases[@]}"; do
    d=$work/$c
    mkdir -p "$d/new"
    (cd "$d/new" && bash -euo pipefail "$stage/init.sh")
    "$rsync_path" -a "$d/new/" "$d/backup-rsync/"
    cp -a "$d/new" "$d/backup-cp"
    (cd "$d/new" && bash -euo pipefail "$stage/$c.ops")
    record "$c" "%n %C" "$stage/$c.out"
    record "$c" "%i %n %C" "$stage/$c.itemize.out"
    rm -rf "$d"
done

rm -rf "$outdir"
mkdir -p "$(dirname "$outdir")"
cp -r "$stage" "$outdir"
echo "recorded ${#cases[@]} incremental cases into $outdir" >&2
