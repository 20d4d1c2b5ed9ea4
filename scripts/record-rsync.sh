#!/usr/bin/env bash
# record-rsync.sh OUTDIR
#
# Records what rsync prints for a first copy into an empty destination:
#   rsync -a --checksum --checksum-choice=ALGO --out-format="%n %C" ARGS... DEST/
# for every case of the manifests in baselines/rsync/ (cases.tsv, run as root,
# and cases-nobody.tsv, run as uid/gid 65534), over a fixture tree built by
# make-fixtures.sh; and, for cases-listing*.tsv (run as root), the same command
# without the -a, each case giving its own listing options (-rlt, --no-l,
# --files-from...). For each case, algorithm and locale it writes
#   OUTDIR/<case>.<algo>.<utf8|c>.out   stdout, raw bytes
#   OUTDIR/<case>.<algo>.<utf8|c>.err   stderr, fixture root -> @ROOT@, dest -> @DEST@
#   OUTDIR/<case>.<algo>.<utf8|c>.rc    exit code
# and copies the manifests into OUTDIR. OUTDIR is replaced as a whole.
#
# The listing cases' `skipping non-regular file "NAME"` and `skipping directory
# NAME` lines go to <case>.<algo>.<locale>.skip instead of .out: where rsync
# prints them among the other lines depends on the timing of its processes (its
# generator's messages overtake the file lines it has buffered), while their
# order among themselves and the other lines' order are fixed.
#
# Manifest line: case<TAB>cwd<TAB>args<TAB>algos<TAB>locales
#   cwd     relative to the fixture root
#   args    space-separated; @ROOT@ stands for the absolute fixture root
#   algos   comma list of --checksum-choice values
#   locales comma list of LC_ALL values (C.UTF-8 -> "utf8", C -> "c" in names)
#
# Must run as root (the nobody cases switch user with setpriv).
# Environment: RSYNC (rsync binary, default "rsync"), MANIFEST_DIR (default
# the repository's baselines/rsync).
set -euo pipefail
umask 022
set -f # args are split on spaces; never glob them

if [ "$#" -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
outdir=$1
here=$(cd "$(dirname "$0")" && pwd)
manifest_dir=${MANIFEST_DIR:-$here/../baselines/rsync}
rsync_bin=${RSYNC:-rsync}
rsync_path=$(command -v "$rsync_bin")

if [ "$(id -u)" -ne 0 ]; then
    echo "$0: must run as root (the unprivileged cases switch to uid 65534)" >&2
    exit 2
fi

# Work area: must be traversable by uid 65534 for the unprivileged case.
work=$(mktemp -d "${TMPDIR:-/tmp}/fimsum-rsync.XXXXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
root=$work/fixtures
stage=$work/out
mkdir "$stage"
"$here/make-fixtures.sh" "$root" >/dev/null
if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$root/perm/ok.txt"; then
    echo "$0: uid 65534 cannot reach $root (set TMPDIR to a world-traversable dir)" >&2
    exit 2
fi

# Copy the manifests first: OUTDIR may be the directory they live in.
set +f
listing=("$manifest_dir"/cases-listing*.tsv)
set -f
cp "$manifest_dir/cases.tsv" "$manifest_dir/cases-nobody.tsv" "${listing[@]}" "$stage/"

loc_tag() {
    case $1 in
    C.UTF-8) echo utf8 ;;
    C) echo c ;;
    *) echo "$0: unknown locale $1" >&2; exit 2 ;;
    esac
}

# escape a string for use as a literal in a sed pattern
sed_lit() { printf '%s' "$1" | sed 's/[][\.*^$/]/\\&/g'; }

n=0
# run_manifest FILE USER [listing]: USER is "root" or "nobody"; "listing" runs
# rsync without -a and splits the skipping lines off stdout
run_manifest() {
    local file=$1 user=$2 mode=${3:-} case cwd args algos locales algo loc tag base dest
    local -a argv algo_list loc_list prefix archive=(-a)
    if [ "$mode" = listing ]; then archive=(); fi
    if [ "$user" = nobody ]; then
        prefix=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    else
        prefix=()
    fi
    while IFS=$'\t' read -r case cwd args algos locales; do
        [ -n "$case" ] || continue
        IFS=' ' read -r -a argv <<<"${args//@ROOT@/$root}"
        IFS=, read -r -a algo_list <<<"$algos"
        IFS=, read -r -a loc_list <<<"$locales"
        for algo in "${algo_list[@]}"; do
            for loc in "${loc_list[@]}"; do
                tag=$(loc_tag "$loc")
                base=$stage/$case.$algo.$tag
                n=$((n + 1))
                dest=$work/dest.$n
                mkdir "$dest"
                if [ "$user" = nobody ]; then chown 65534:65534 "$dest"; fi
                rc=0
                (cd "$root/$cwd" &&
                    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL="$loc" \
                        ${prefix[@]+"${prefix[@]}"} "$rsync_path" ${archive[@]+"${archive[@]}"} --checksum \
                        --checksum-choice="$algo" --out-format="%n %C" \
                        "${argv[@]}" "$dest/") >"$base.out" 2>"$base.err" || rc=$?
                echo "$rc" >"$base.rc"
                if [ "$mode" = listing ]; then
                    LC_ALL=C grep -aE '^skipping (non-regular file "|directory )' "$base.out" >"$base.skip" || true
                    LC_ALL=C grep -avE '^skipping (non-regular file "|directory )' "$base.out" >"$base.rest" || true
                    mv "$base.rest" "$base.out"
                fi
                # make stderr independent of the temp paths, and of how rsync's processes
                # end: after a sender's fatal error its receiver's `received SIGUSR1` line
                # comes before or after the sender's, by timing
                LC_ALL=C sed -i -e "s/$(sed_lit "$dest")/@DEST@/g" -e "s/$(sed_lit "$root")/@ROOT@/g" \
                    -e '/received SIGUSR1/d' "$base.err"
                rm -rf "$dest"
            done
        done
    done <"$file"
}

run_manifest "$stage/cases.tsv" root
run_manifest "$stage/cases-nobody.tsv" nobody
for manifest in "${listing[@]}"; do
    run_manifest "$stage/$(basename "$manifest")" root listing
done

rm -rf "$outdir"
mkdir -p "$(dirname "$outdir")"
cp -r "$stage" "$outdir"
echo "recorded $n runs into $outdir ($("$rsync_path" --version | head -1))" >&2
