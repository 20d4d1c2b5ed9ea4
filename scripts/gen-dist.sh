#!/usr/bin/env bash
# Regenerate the man pages and shell completions in dist/ from the clap definitions, and
# dist/fimsum.toml (the package's /etc/fimsum.toml) from the built-in config's source.
# tests/cli.rs and tests/dist.rs fail when dist/ is out of date, so run this after changing
# an option or the default config.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
bin=target/debug/fimsum
rm -rf dist/man dist/completions
mkdir -p dist/man dist/completions
"$bin" man >dist/man/fimsum.1
# A page's SUBCOMMANDS section names the page of each command under it, one
# `fimsum\-NAME(1)` line each (fimsum\-key\-generate(1) in fimsum-key.1): write those
# pages, then the ones they name, so every command of the clap tree gets its page.
pending=(fimsum.1)
while ((${#pending[@]})); do
    page=${pending[0]}
    pending=("${pending[@]:1}")
    for name in $(sed -n 's/^fimsum\\-\(.*\)(1)$/\1/p' "dist/man/$page" | sed 's/\\-/-/g'); do
        "$bin" man "$name" >"dist/man/fimsum-$name.1"
        pending+=("fimsum-$name.1")
    done
done
for s in bash zsh fish; do "$bin" completions "$s" >"dist/completions/fimsum.$s"; done
# The built-in config is written once, in the library (fimsum::fim::config includes it).
cp crates/fimsum/src/fim/fimsum.toml dist/fimsum.toml
echo "dist/ regenerated"
