#!/usr/bin/env bash
# The whole test suite: unit, property, API (SQLite and PostgreSQL) and crash tests.
# PostgreSQL tests use DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); without a
# server they print a notice and skip, unless JIESU_REQUIRE_PG=1 (as CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
cargo test --workspace --all-targets
