#!/usr/bin/env bash
# Regenerate the man pages and shell completions in dist/ from the clap definitions, and
# dist/fimsum.toml (the package's /etc/fimsum.toml) from the built-in config.
# tests/cli.rs and tests/dist.rs fail when dist/ is out of date, so run this after changing
# an option or the default config.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
bin=target/debug/fimsum
rm -rf dist/man dist/completions
mkdir -p dist/man dist/completions
"$bin" man >dist/man/fimsum.1
for c in scan check diff show import key verify-packages; do "$bin" man "$c" >"dist/man/fimsum-$c.1"; done
for s in bash zsh fish; do "$bin" completions "$s" >"dist/completions/fimsum.$s"; done
if "$bin" config --default >dist/fimsum.toml.new 2>/dev/null; then
    mv dist/fimsum.toml.new dist/fimsum.toml
else
    # Until `fimsum config --default` exists: tests/dist.rs compares dist/fimsum.toml with
    # fimsum::config::Config::default_text(), the text that command prints.
    rm -f dist/fimsum.toml.new
    echo "note: no \`fimsum config --default\` in this build; dist/fimsum.toml left as it is" >&2
fi
echo "dist/ regenerated"
