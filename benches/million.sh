#!/usr/bin/env bash
# Flat memory on a synthetic tree of 1,000,000 empty files (1,000 directories of 1,000):
# times `scan -o`, `check`, `check --quick` and `show`, and reports each one's peak RSS
# (GNU time).
#
#   benches/million.sh [DIR]     (DIR is kept if given, so later runs skip the build)
set -euo pipefail
source "$(dirname "$0")/million-tree.sh"
echo "tree: $(find "$work/tree" -type f | wc -l) files"
measure "scan -o (write baseline)" "$fimsum" scan -o "$work/base.fimsum" "$work/tree/"
echo "baseline: $(du -h "$work/base.fimsum" | cut -f1)"
measure "check (unchanged)" "$fimsum" check "$work/base.fimsum"
measure "check --quick (unchanged)" "$fimsum" check --quick "$work/base.fimsum"
measure "show" "$fimsum" show "$work/base.fimsum"
measure "scan to stdout" "$fimsum" scan "$work/tree/"
