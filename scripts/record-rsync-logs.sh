#!/usr/bin/env bash
# record-rsync-logs.sh OUTDIR
#
# Records the logs a backup job gets from rsync, in every form fimsum reads
# (crates/fimsum/src/rsync/log/): for each FORM below, three runs of
#   rsync -a --delete OPTIONS src/ dst/
# from one working dir: run 0 into a destination that does not exist yet (a
# full listing), then run 1 and run 2 after the changes of night1.sh and
# night2.sh (edit, add, delete a file and a directory, retarget a symlink).
# OUTDIR receives
#   tree.sh, night1.sh, night2.sh   the day-0 tree and each night's changes
#   FORM.options                    the rsync options of the form, one a line
#   FORM.N.log                      run N's stdout, normalised (see below)
#   FORM.N.logfile                  run N's --log-file, for the forms with one
#   v.all.log, logfile.all.logfile  runs 0-2 appended in one file, as
#                                   `>> night.log` or one --log-file gives
#   final.md5.out, final.xxh128.out a fresh `-a -c --out-format="%n %C"`
#                                   listing of the final tree (md5, and the
#                                   negotiated xxh128)
# OUTDIR is replaced as a whole. Every run must exit 0 with an empty stderr.
# Run as root (the tree keeps its owners). Environment: RSYNC, RUNS.
#
# NORMALISED. What varies between two recordings is replaced by fixed text:
#   - the --log-file prefix `YYYY/MM/DD HH:MM:SS [PID] ` becomes
#     `2000/01/01 00:00:00 [P] `, where P is 100*(run+1)+k for the k-th pid
#     (from 1) seen in that run, so the runs of one file keep distinct pids;
#   - the byte counts of the summary line (they vary by a few bytes between
#     two runs of the same transfer) become `sent 0 bytes  received 0 bytes
#     0.00 bytes/sec` (in a --log-file: `sent 0 bytes  received 0 bytes
#     total size N`), `speedup is N` becomes `speedup is 0.00`; in --stats,
#     `Total bytes sent/received` and `File list size` become 0 and the two
#     times `0.000 seconds`;
#   - `deleting` lines travel to the printing process on their own channel, so
#     where they fall among the other lines varies (docs/rsync-behaviour.md,
#     "Incremental runs"); each run's `deleting`/`*deleting` lines are moved, in
#     their order, to just after the run's leading header lines ("sending
#     incremental file list", "building file list", "created directory",
#     "delta-transmission disabled ..."). The `X is uptodate` lines of -vv and
#     --info=name2 come from the same process as `deleting` and wander the
#     same way: they follow the `deleting` lines, in their order.
# Each form is recorded RUNS times (default 2) from scratch; all recordings
# must give the same normalised text, else this script stops.
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

work=$(mktemp -d "${TMPDIR:-/tmp}/fimsum-rsync-logs.XXXXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/out
mkdir "$stage"

# ---------------------------------------------------------------- the tree
cat >"$stage/tree.sh" <<'EOF'
# Day-0 tree; run inside an empty src dir.
mkdir -p dir/sub gone/deep 'sp ace'
printf 'alpha\n' >a.txt
printf 'bravo\n' >b.txt
printf 'charlie\n' >'sp ace/c d.txt'
printf 'newline\n' >"$(printf 'nl\nname')"
printf 'high byte\n' >"$(printf 'hi\377byte')"
printf 'foxtrot\n' >dir/f.txt
printf 'golf\n' >dir/sub/g.txt
printf 'hotel\n' >gone/h.txt
printf 'india\n' >gone/deep/i.txt
ln -s a.txt lnk
find . -exec touch -h -d @1600000000 {} +
EOF
cat >"$stage/night1.sh" <<'EOF'
# Night 1: edit, add a file and a directory, delete a file and a directory,
# retarget the symlink.
printf 'alpha, longer now\n' >a.txt
printf 'juliett\n' >j.txt
mkdir -p new/inner
printf 'kilo\n' >new/inner/k.txt
rm b.txt
rm -r gone
ln -sfn dir lnk
touch -h -d @1600100000 . a.txt j.txt new new/inner new/inner/k.txt lnk
EOF
cat >"$stage/night2.sh" <<'EOF'
# Night 2: edit deep down, delete the escaped name and a whole subtree, add
# beside a space, retarget again.
printf 'GOLF\n' >dir/sub/g.txt
rm "$(printf 'nl\nname')"
rm -r new
printf 'lima\n' >'sp ace/l.txt'
rm dir/f.txt
ln -sfn 'sp ace' lnk
touch -h -d @1600200000 . dir dir/sub dir/sub/g.txt 'sp ace' 'sp ace/l.txt' lnk
EOF

# ---------------------------------------------------------------- the forms
# form NAME OPTION...: the options after `-a --delete`.
forms=()
form() {
    local name=$1
    shift
    forms+=("$name")
    printf '%s\n' "$@" >"$stage/$name.options"
}
form nC-md5 -c --checksum-choice=md5 '--out-format=%n %C'
form nC-xxh128 -c '--out-format=%n %C'
form inC -c --checksum-choice=md5 '--out-format=%i %n %C'
form nLC -c --checksum-choice=md5 '--out-format=%n%L %C'
form inL -c '--out-format=%i %n%L'
form n -c '--out-format=%n'
form v -c -v
form vv -c -vv
form stats -c -v --stats --checksum-choice=md5 '--out-format=%n %C'
form itemize-stats-logfile -c --itemize-changes --stats '--log-file=@LOG@'
form backintime -c -v -i '--out-format=BACKINTIME: %i %n%L'
form name2 -c --info=name2
form logfile -c --checksum-choice=md5 '--log-file=@LOG@' '--log-file-format=%i %n %C'
form logfile-fields -c --checksum-choice=md5 '--log-file=@LOG@' '--log-file-format=%o %i %B %n%L %C'

# ---------------------------------------------------------------- normalising
# normalise RUN < raw > text
normalise() {
    LC_ALL=C awk -v run="$1" '
    BEGIN { np = 0 }
    {
        line = $0
        if (match(line, /^[0-9][0-9][0-9][0-9]\/[0-9][0-9]\/[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9] \[[0-9]+\] /)) {
            pre = substr(line, 1, RLENGTH); rest = substr(line, RLENGTH + 1)
            pid = pre; sub(/^.*\[/, "", pid); sub(/\] $/, "", pid)
            if (!(pid in map)) { np++; map[pid] = 100 * (run + 1) + np }
            line = "2000/01/01 00:00:00 [" map[pid] "] " rest
        }
        if (line ~ /^(2000\/01\/01 00:00:00 \[[0-9]+\] )?sent [0-9,]+ bytes  received [0-9,]+ bytes  [0-9.,]+ bytes\/sec$/)
            sub(/sent [0-9,]+ bytes  received [0-9,]+ bytes  [0-9.,]+ bytes\/sec$/, "sent 0 bytes  received 0 bytes  0.00 bytes/sec", line)
        if (line ~ /^(2000\/01\/01 00:00:00 \[[0-9]+\] )?total size is [0-9,]+  speedup is [0-9.,]+/)
            sub(/speedup is [0-9.,]+/, "speedup is 0.00", line)
        if (line ~ /^(2000\/01\/01 00:00:00 \[[0-9]+\] )?sent [0-9,]+ bytes  received [0-9,]+ bytes  total size [0-9,]+$/)
            sub(/sent [0-9,]+ bytes  received [0-9,]+ bytes/, "sent 0 bytes  received 0 bytes", line)
        if (line ~ /^(2000\/01\/01 00:00:00 \[[0-9]+\] )?(Total bytes (sent|received)|File list size): [0-9,]+$/)
            sub(/: [0-9,]+$/, ": 0", line)
        if (line ~ /^(2000\/01\/01 00:00:00 \[[0-9]+\] )?File list (generation|transfer) time: [0-9.]+ seconds$/)
            sub(/time: [0-9.]+ seconds$/, "time: 0.000 seconds", line)
        body = line; sub(/^2000\/01\/01 00:00:00 \[[0-9]+\] /, "", body)
        if (!started && body ~ /^(sending incremental file list|building file list|created directory |delta-transmission disabled )/) {
            head[++nh] = line; next
        }
        started = 1
        if (body ~ /^(BACKINTIME: |del\. )?\*?deleting /) { del[++nd] = line; next }
        if (body ~ / is uptodate$/) { upd[++nu] = line; next }
        rest_[++nr] = line
    }
    END {
        for (i = 1; i <= nh; i++) print head[i]
        for (i = 1; i <= nd; i++) print del[i]
        for (i = 1; i <= nu; i++) print upd[i]
        for (i = 1; i <= nr; i++) print rest_[i]
    }'
}

# ---------------------------------------------------------------- recording
# run_form FORM DIR: the three runs of FORM in DIR (src/ built fresh), each
# run's output normalised into DIR/FORM.N.log (and .logfile).
run_form() {
    local f=$1 d=$2 n opts=() o rc
    rm -rf "$d"
    mkdir -p "$d/src"
    (cd "$d/src" && bash -euo pipefail "$stage/tree.sh")
    while IFS= read -r o; do
        opts+=("${o//@LOG@/$d/run.logfile}")
    done <"$stage/$f.options"
    for n in 0 1 2; do
        if [ "$n" -gt 0 ]; then
            (cd "$d/src" && bash -euo pipefail "$stage/night$n.sh")
        fi
        rm -f "$d/run.logfile"
        rc=0
        (cd "$d" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
            "$rsync_path" -a --delete "${opts[@]}" src/ dst/ \
            >"$d/raw" 2>"$d/err") || rc=$?
        if [ "$rc" -ne 0 ] || [ -s "$d/err" ]; then
            echo "$0: rsync exited $rc for $f run $n:" >&2
            cat "$d/err" >&2
            exit 1
        fi
        normalise "$n" <"$d/raw" >"$d/$f.$n.log"
        if [ -e "$d/run.logfile" ]; then
            normalise "$n" <"$d/run.logfile" >"$d/$f.$n.logfile"
        fi
    done
}

runs=${RUNS:-2}
for f in "${forms[@]}"; do
    for i in $(seq 1 "$runs"); do
        run_form "$f" "$work/$f.$i"
        if [ "$i" -eq 1 ]; then
            continue
        fi
        for x in "$work/$f.1/$f".*; do
            y=$work/$f.$i/${x##*/}
            if ! cmp -s "$x" "$y"; then
                echo "$0: $f: recording $i differs from recording 1 in ${x##*/}:" >&2
                diff "$x" "$y" >&2 || true
                exit 1
            fi
        done
    done
    cp "$work/$f.1/$f".* "$stage/"
    final=$work/$f.1/src
done

# The runs appended, as one file: rsync appends to a --log-file itself, and a
# nightly cron job appends stdout with `>>`. The pids stay distinct (above).
cat "$stage"/v.[012].log >"$stage/v.all.log"
cat "$stage"/logfile.[012].logfile >"$stage/logfile.all.logfile"

# A fresh full listing of the final tree (every form ends with the same tree).
for c in md5 xxh128; do
    rm -rf "$work/fresh"
    (cd "$work" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
        "$rsync_path" -a -c --checksum-choice=$c '--out-format=%n %C' \
        "$final/" fresh/ >"$stage/final.$c.out")
done

rm -rf "$outdir"
mkdir -p "$(dirname "$outdir")"
cp -r "$stage" "$outdir"
echo "recorded ${#forms[@]} log forms into $outdir" >&2
