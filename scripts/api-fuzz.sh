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
bin=${JIESU_BIN:-target/debug/jiesu}
[[ -x $bin ]] || cargo build -p jiesu
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$VERSION"; then
  python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
"$bin" demo --data-dir "$data" --listen "127.0.0.1:$port" --cases 300 --hj212-listen off >"$work/demo.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 120); do curl -fs "$base/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fs "$base/healthz" >/dev/null || { cat "$work/demo.log"; echo "demo did not start" >&2; exit 1; }
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
