#!/usr/bin/env bash
# make-fixtures.sh DIR
#
# Builds the deterministic fixture tree used to compare fimsum with rsync.
# Same names, same bytes and same mtimes on every run. DIR must not exist or
# must be empty. Needs bash, coreutils and python3 (only for the unix socket).
#
# Layout (see docs/rsync-behaviour.md):
#   tree/   hostile names, ordering traps, sizes, symlinks, specials, deep nesting
#   srcs/   one/ two/ three/: small dirs sharing names, for several-source runs
#   links/  symlinks used as rsync *sources* (to a dir, to a file)
#   perm/   unreadable file and directories (only meaningful for non-root runs)
#   follow/ safe, unsafe, dangling and looping symlinks, for -L and its kin
#   and one directory for each part in scripts/fixtures/*.sh, sourced in name
#   order from DIR before the mtimes are fixed (each part says what it builds)
# Run as non-root, `chmod -R u+rwX DIR/perm` before removing DIR (perm/locked
# is mode 000).
set -euo pipefail
umask 022

if [ "$#" -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
root=$1
here=$(cd "$(dirname "$0")" && pwd)
if [ -e "$root" ] && [ -n "$(ls -A "$root")" ]; then
    echo "$0: $root exists and is not empty" >&2
    exit 2
fi
mkdir -p "$root"
cd "$root"

# Fixed mtime for everything, so the tree is identical to the second.
MTIME=@1600000000

# put PATH CONTENT: write a small file (content is printed with %s, no newline added)
put() { printf '%s' "$2" >"$1"; }

# pattern N PATH: N bytes of a fixed repeating text. `yes` dies of SIGPIPE,
# hence the `|| true` (pipefail would otherwise stop the script).
pattern() { { yes 'fimsum fixture line 0123456789 abcdefghijklmnopqrstuvwxyz' || true; } | head -c "$1" >"$2"; }

# ---------------------------------------------------------------- tree/names
# Hostile names; each file holds a different short text.
mkdir -p tree/names
cd tree/names
n=0
for name in \
    $'new\nline' $'trail\n' $'tab\tname' $'cr\rname' $'esc\033name' $'del\177name' \
    $'\001ctrl' '\#123' 'x\#123y' '\#12' '\#999' '\#abc' '\' 'back\slash' '\\' \
    $'ff-\xff' $'c3-\xc3' $'c3x-\xc3x' $'overlong-\xc0\xaf' $'surrogate-\xed\xa0\x80' \
    $'trunc4-\xf0\x9f\x98' $'toobig-\xf4\x90\x80\x80' $'lone-cont-\x80' \
    $'trunc3-\xe2\x82' $'f0A-\xf0\x9fA' $'ol3-\xe0\x80\xaf' $'ol4-\xf0\x80\x80\xaf' \
    $'c0-\xc0\x80' $'c1lead-\xc1\xbf' $'edb0-\xed\xb0\x80' $'fe-\xfe' $'ff2-\xff\xfe' \
    $'f4max-\xf4\x8f\xbf\xbf' $'f5-\xf5\x80\x80\x80' $'f7-\xf7\xbf\xbf\xbf' \
    $'f8-\xf8\x88\x80\x80\x80' $'f8ol-\xf8\x80\x80\x80\x80' $'fc-\xfc\x84\x80\x80\x80\x80' \
    $'fcol-\xfc\x80\x80\x80\x80\x80' $'fd-\xfd\xbf\xbf\xbf\xbf\xbf' \
    $'c1ctl-\xc2\x80' $'nbsp-\xc2\xa0' $'u2028-\xe2\x80\xa8' $'bom-\xef\xbb\xbf' $'fffe-\xef\xbf\xbe' \
    $'caf\xc3\xa9' $'cafe\xcc\x81-nfd' $'\xf0\x9f\x98\x80' $'\xe6\xbc\xa2\xe5\xad\x97' \
    '-rf' '--help' 'with space' ' leading space' 'trailing space ' \
    '*' '?' '[x]' "'quote'" '"dq"' '$HOME' '%n %C' ':colon' '=eq'
do
    n=$((n + 1))
    put "./$name" "name $n"$'\n'
done
# 255-byte name (the usual NAME_MAX)
long=$(printf 'L%.0s' $(seq 1 251)).txt
put "./$long" "long name"$'\n'
# directories with hostile names, with contents, so the escaped prefix repeats
mkdir $'dir\nnl' $'dir-\xff' $'dir caf\xc3\xa9' '\#077dir'
put $'dir\nnl/inner' "inner 1"$'\n'
put $'dir-\xff/inner' "inner 2"$'\n'
put $'dir caf\xc3\xa9/inner' "inner 3"$'\n'
put '\#077dir/inner' "inner 4"$'\n'
cd ../..

# ---------------------------------------------------------------- tree/order
# Ordering traps: files before dirs, dirs compared as "name/".
mkdir -p tree/order/a.d tree/order/a tree/order/a-b tree/order/flat/a.d
put tree/order/a.txt "a.txt"$'\n'
put tree/order/a.d/x "a.d/x"$'\n'
put tree/order/a/x "a/x"$'\n'
put tree/order/a-b/x "a-b/x"$'\n'
put tree/order/a0 "a0"$'\n'
put tree/order/ab "ab"$'\n'
# a *file* named "a" next to a.txt and a.d/ in another dir
put tree/order/flat/a "flat/a"$'\n'
put tree/order/flat/a.txt "flat/a.txt"$'\n'
put tree/order/flat/a.d/x "flat/a.d/x"$'\n'
put tree/order/flat/a0 "flat/a0"$'\n'
# b/c.txt b/c.d/ b/c/ plus c-/ and c0/ around them
mkdir -p tree/order/b/c.d tree/order/b/c tree/order/b/c- tree/order/b/c0
put tree/order/b/c.txt "b/c.txt"$'\n'
put tree/order/b/c.d/y "b/c.d/y"$'\n'
put tree/order/b/c/y "b/c/y"$'\n'
put tree/order/b/c-/y "b/c-/y"$'\n'
put tree/order/b/c0/y "b/c0/y"$'\n'
# case, high bytes next to ASCII, ~ and !
mkdir -p tree/order/mix
cd tree/order/mix
for name in Case CASE case Z z _ '~' '!' e f $'\xc3\xa9' $'\xff' $'e\xcc\x81' 0 9 A; do
    put "./$name" "mix $name"$'\n'
done
mkdir '~dir' '!dir' $'\xc3\xa9dir' 'Edir' 'edir'
put '~dir/f' "~dir"$'\n'
put '!dir/f' "!dir"$'\n'
put $'\xc3\xa9dir/f' "edir-acute"$'\n'
put 'Edir/f' "Edir"$'\n'
put 'edir/f' "edir"$'\n'
cd ../../..

# ---------------------------------------------------------------- tree/sizes
mkdir -p tree/sizes
: >tree/sizes/empty
: >tree/sizes/empty2
printf 'x' >tree/sizes/s1
pattern 63 tree/sizes/s63
pattern 64 tree/sizes/s64
pattern 65 tree/sizes/s65
pattern 4096 tree/sizes/s4096
pattern 1048577 tree/sizes/s1048577

# ---------------------------------------------------------------- tree/empty*
mkdir -p tree/empty tree/nested-empty/a/b/c

# ---------------------------------------------------------------- tree/deep
# 40 nested levels, a file at the bottom and one halfway
p=tree/deep
for i in $(seq -w 1 40); do p=$p/d$i; done
mkdir -p "$p"
put "$p/leaf" "leaf at 40"$'\n'
put tree/deep/d01/d02/d03/d04/d05/d06/d07/d08/d09/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/d20/mid "mid at 20"$'\n'

# ---------------------------------------------------------------- tree/links
mkdir -p tree/links
ln -s ../sizes/s64 tree/links/to-file
ln -s ../order tree/links/to-dir
ln -s does-not-exist tree/links/dangling
ln -s loop tree/links/loop
ln -s /etc/passwd tree/links/absolute
ln -s . tree/links/self-dir
ln -s $'bad\xfftarget\n' tree/links/hostile-target

# ---------------------------------------------------------------- tree/special
mkdir -p tree/special
mkfifo tree/special/fifo
python3 - tree/special/sock <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.close()
EOF
put tree/special/regular "regular"$'\n'

# ---------------------------------------------------------------- tree/hard
mkdir -p tree/hard
put tree/hard/one "hard linked"$'\n'
ln tree/hard/one tree/hard/two

# a top-level file and dotfiles
put tree/top.txt "top"$'\n'
put tree/.hidden "hidden"$'\n'
mkdir -p tree/.hiddendir
put tree/.hiddendir/f "hidden dir file"$'\n'

# ---------------------------------------------------------------- srcs/
# one/ two/ three/ share names:
#   same.txt     file in all three, different contents (three == one)
#   dup/         dir in all three with overlapping and distinct contents
#   clash        file in one, dir in two
#   rev          dir in one, file in two
#   onlyN.txt    only in N
#   kind         file in one, symlink in two
#   sl           symlink in one, dir in two
mkdir -p srcs/one/dup srcs/one/rev srcs/one/nested/x srcs/two/dup srcs/two/clash srcs/three/dup
put srcs/one/same.txt "same from one"$'\n'
put srcs/one/only1.txt "only in one"$'\n'
put srcs/one/dup/a.txt "dup/a from one"$'\n'
put srcs/one/dup/from1.txt "dup from one"$'\n'
put srcs/one/clash "clash is a file in one"$'\n'
put srcs/one/rev/inner.txt "rev is a dir in one"$'\n'
put srcs/one/nested/x/y.txt "nested in one"$'\n'
put srcs/two/same.txt "same from two, longer"$'\n'
put srcs/two/only2.txt "only in two"$'\n'
put srcs/two/dup/a.txt "dup/a from two, longer"$'\n'
put srcs/two/dup/from2.txt "dup from two"$'\n'
put srcs/two/clash/inner.txt "clash is a dir in two"$'\n'
put srcs/two/rev "rev is a file in two"$'\n'
put srcs/one/kind "kind is a file in one"$'\n'
ln -s only1.txt srcs/one/sl
ln -s same.txt srcs/two/kind
mkdir -p srcs/two/sl
put srcs/two/sl/inner.txt "sl is a dir in two"$'\n'
put srcs/three/same.txt "same from one"$'\n'
put srcs/three/only3.txt "only in three"$'\n'
put srcs/three/dup/a.txt "dup/a from three"$'\n'
put srcs/three/dup/from3.txt "dup from three"$'\n'

# ---------------------------------------------------------------- links/
# symlinks used as sources on the command line
mkdir -p links
ln -s ../srcs/one links/dirlink
ln -s ../srcs/one/same.txt links/filelink

# ---------------------------------------------------------------- perm/
# For runs as an unprivileged user: secret (000 file), locked/ (000 dir with
# contents), noexec/ (r-- for others: names listable, entries not stat-able),
# searchonly/ (--x for others: entries reachable by name, not listable).
mkdir -p perm/locked/sub perm/noexec perm/searchonly perm/open
put perm/ok.txt "readable"$'\n'
put perm/secret "secret"$'\n'
put perm/locked/inside "inside locked"$'\n'
put perm/locked/sub/deeper "deeper"$'\n'
put perm/noexec/inside "inside noexec"$'\n'
put perm/searchonly/inside "inside searchonly"$'\n'
put perm/open/z.txt "open"$'\n'

# An --exclude-from file for the filter cases: comments, blank lines, +/- prefixes.
mkdir -p filters
cat >filters/rules.txt <<'RULES'
# comment lines and blank lines are skipped
; so are these

+ keep.txt
- *.txt
names/
/deep/d01/d02/d03
RULES

# --files-from lists for the listing cases (names relative to tree/): comments, blank
# lines, CR LF, leading slashes and ./, a name that is not there, a directory, a symlink;
# the --from0 list also has names with a newline and with bytes that are not UTF-8.
printf '%s\n' '# names for --files-from' '; also a comment' '' 'order/a.txt' 'order/b' \
    '/top.txt' './.hidden' 'sizes//s1' 'links/to-dir' 'order/b/c/y' 'order/../sizes/s64' \
    >filters/files.txt
printf 'special/fifo\r\nnames/with space\r\n' >>filters/files.txt
printf '%s\0' 'names/new
line' $'names/caf\xc3\xa9' $'names/ff-\xff' 'deep/d01/d02' '#not-a-comment' \
    >filters/files0.txt
printf '%s\n' 'missing/name' 'top.txt' >filters/files-missing.txt
# --include-from rules (and a NUL-separated copy for --from0)
printf '%s\n' '*/' '*.txt' '- *' >filters/include.txt
printf '%s\0' '*/' 's6?' '- *' >filters/include0.txt

# --filter merge files: full rule syntax, and bare patterns (for `.-` and `.+`)
printf '%s\n' '# merged rules' '- *.txt' '+ s6*' 'hide s1*' '- s*' 'exclude,! */' >filters/merge.txt
printf '%s\n' 'a*' 'b' '; comment' >filters/merge-bare.txt

# ---------------------------------------------------------------- specials/
# Non-regular files with hostile names, for the `skipping non-regular file` lines of
# listings without -l or -D.
mkdir -p specials/sub
mkfifo $'specials/fifo\nnl' $'specials/fifo-\xff' 'specials/\#123' specials/sub/fifo
ln -s target $'specials/link caf\xc3\xa9'
ln -s ../nowhere specials/sub/link
put specials/regular "regular"$'\n'

# ---------------------------------------------------------------- follow/
# Symlinks for -L, --copy-unsafe-links and --safe-links: safe and unsafe ones (by
# rsync's count from the transfer root, which differs for follow/src/ and
# follow/src), dangling ones, one to a link, one to a FIFO, a self-loop (ELOOP),
# absolute ones into the fixture (so their targets are the same bytes on every
# machine), and in follow/outside/ links that a followed directory brings in,
# judged by the names they are listed under. follow/loops/ holds links to `.` and to an ancestor, which rsync -L
# follows without end: fimsum's tests use it, no recorded case does.
abs=$(pwd -P)
mkdir -p follow/outside/sub follow/src/sub follow/other follow/loops/d
put follow/outside/t "outside"$'\n'
put follow/outside/sub/u "outside sub"$'\n'
mkfifo follow/outside/fifo
put follow/src/a "a"$'\n'
put follow/src/sub/f "sub f"$'\n'
put follow/other/o "other"$'\n'
put follow/loops/d/f "loop f"$'\n'
ln -s a follow/src/sl
ln -s sl follow/src/chain
ln -s a $'follow/src/nl\nlink'
ln -s "$abs/follow/outside/t" follow/src/abs
ln -s "$abs/follow/outside" follow/src/absdir
ln -s ../outside follow/src/up
ln -s ../outside/fifo follow/src/tofifo
ln -s sub follow/src/todir
ln -s sub/../a follow/src/mid
ln -s ./../outside/t follow/src/dotdot
ln -s nowhere follow/src/dang
ln -s selfloop follow/src/selfloop
ln -s ../a follow/src/sub/back
ln -s ../../outside/t follow/src/sub/esc
ln -s ../../nowhere follow/src/sub/gone
ln -s ../src/a follow/outside/back
ln -s "$abs/follow/src/sub/f" follow/outside/abs2
ln -s ../src/a follow/other/toa
ln -s ../outside/sub follow/other/usub
ln -s . follow/loops/self
ln -s .. follow/loops/d/anc

# ---------------------------------------------------------------- scripts/fixtures/
# Each part builds its own top-level directory, with put and pattern at hand.
for part in "$here"/fixtures/*.sh; do
    [ -e "$part" ] || continue
    # shellcheck source=/dev/null
    (. "$part")
done

# ---------------------------------------------------------------- mtimes, modes
# Fixed mtimes (symlinks too, -h). Children first does not matter: touching an
# entry does not change its parent's mtime.
find . -exec touch -h -d "$MTIME" {} +
chmod 000 perm/secret perm/locked
chmod 644 perm/noexec
chmod 711 perm/searchonly
