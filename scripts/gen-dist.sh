#!/usr/bin/env bash
# Regenerate the man pages and shell completions in dist/ from the clap definitions.
# tests/cli.rs fails when dist/ is out of date, so run this after changing an option.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
bin=target/debug/fimsum
rm -rf dist/man dist/completions
mkdir -p dist/man dist/completions
"$bin" man >dist/man/fimsum.1
for c in scan check diff show import key verify-packages; do "$bin" man "$c" >"dist/man/fimsum-$c.1"; done
for s in bash zsh fish; do "$bin" completions "$s" >"dist/completions/fimsum.$s"; done
echo "dist/ regenerated"
