#!/usr/bin/env bash
# The whole test suite: the console's unit tests, then unit, property, API (SQLite and
# PostgreSQL) and crash tests, then the OpenAPI document fuzzed against a demo county
# (schemathesis), then the Open311 endpoint driven by a PyPI Open311 client (georeport), then the
# console in headless Chromium against a demo county.
# PostgreSQL tests use DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); without a
# server they print a notice and skip, unless JIESU_REQUIRE_PG=1 (as CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
build_console
(cd web && npm test --silent)
cargo test --workspace --all-targets
# The OpenAPI document against the handlers: schemathesis as an operator and as an admin.
bash scripts/api-fuzz.sh
# Open311 GeoReport v2 through a real client library.
bash scripts/open311-client.sh
# The browser tests drive the debug binary the API tests were run on (target/debug/jiesu); a
# separate `cargo build -p jiesu` would rebuild dependencies with other features.
need_browser
(cd web && node e2e/run.mjs)
