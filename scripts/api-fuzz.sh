#!/usr/bin/env bash
# Checks that the OpenAPI document tells the truth: schemathesis (from PyPI, pinned) runs every
# operation against a demo county this script starts, once with an operator's token and once with
# an admin's, with scripts/schemathesis.toml. Any failure, or a "schema validation mismatch"
# warning, fails the run. Uses the debug binary the tests built (target/debug/jiesu).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
VERSION=4.32.5
work=target/api-fuzz
venv=$work/venv
mkdir -p "$work"
need_venv "$venv" "schemathesis==$VERSION"
start_demo "$work/demo.log"
data=$demo_data
base=$demo_base
token() {
  local pw
  pw=$(awk -v u="$1" '$1 == u {print $2}' "$data/demo-users.txt")
  curl -fs -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\": \"$1\", \"password\": \"$pw\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
# Both tokens first: the run fuzzes sign-in too, which locks this address out for a while.
operator=$(token operator)
admin=$(token admin)
status=0
fuzz() { # label token [filters…]
  local label=$1 tok=$2
  shift 2
  echo "== schemathesis: $label"
  "$venv/bin/st" --config-file scripts/schemathesis.toml run "$base/api/v1/openapi.json" \
    -H "Authorization: Bearer $tok" --workers 1 "$@" \
    --report junit,ndjson --report-dir "$work/report-$label" >"$work/$label.log" 2>&1 || {
    status=1
    sed -n '/^=* *FAILURES/,$p;/WARNINGS/,$p' "$work/$label.log" | cut -c1-400 | head -150
  }
  tail -n 3 "$work/$label.log"
}
# The operator first: the admin's runs change users and units. Creating units and categories
# adds values the document (read once at the start of a run) does not list, so those two
# operations run last, on their own.
creators=(--include-name "POST /api/v1/admin/units" --include-name "POST /api/v1/admin/categories")
fuzz operator "$operator"
fuzz admin "$admin" --exclude-name "POST /api/v1/admin/units" --exclude-name "POST /api/v1/admin/categories"
fuzz admin-creators "$admin" "${creators[@]}"
exit $status
