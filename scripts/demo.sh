#!/usr/bin/env bash
# Installs what jiesu needs, builds the console and the binary, and starts the demo county
# (丹江口市) on http://127.0.0.1:8080. Extra arguments go to `jiesu demo` (e.g. --cases 10000,
# --listen 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
command -v cargo >/dev/null || { echo "cargo not found: install Rust 1.94 or newer (rustup) first" >&2; exit 1; }
if ! command -v cc >/dev/null; then
  # The bundled SQLite is C: a compiler is needed once, at build time.
  apt_install gcc
fi
build_console
cargo build --release -p jiesu
args=("$@")
[[ " $* " == *" --listen"* ]] || args+=(--listen 127.0.0.1:8080)
[[ " $* " == *" --data-dir"* ]] || args+=(--data-dir demo-data)
exec ./target/release/jiesu demo "${args[@]}"
