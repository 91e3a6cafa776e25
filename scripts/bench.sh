#!/usr/bin/env bash
# Runs the HTTP benchmarks of docs/PERFORMANCE.md. Not part of CI (release build, minutes of load).
# Usage: bash scripts/bench.sh [intake|worklist|lists|clock|monitoring|assessment|all]   (PG_URL defaults to the local test server)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
PG_ADMIN=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
PG_BASE=${PG_ADMIN%/*}
CASES=${CASES:-1000000}
cargo build --release -p jiesu
J=./target/release/jiesu
fresh_pg() { # fresh_pg NAME → URL of an empty database
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
  echo "$PG_BASE/$1"
}
echo "== machine: $(nproc) cores, $(uname -r), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
if [[ $what == intake || $what == all ]]; then
  echo "== intake, SQLite"
  $J bench intake --concurrency 64 --seconds 10 --rounds 3
  echo "== intake, PostgreSQL"
  $J bench intake --concurrency 64 --seconds 10 --rounds 3 --database "$(fresh_pg jiesu_bench_intake)"
fi
if [[ $what == clock || $what == all ]]; then
  echo "== deadline clock, 1,000,000 pending deadlines, SQLite"
  $J bench clock --cases "$CASES"
fi
if [[ $what == monitoring || $what == all ]]; then
  echo "== HJ 212 codec, one core"
  for _ in 1 2 3; do $J bench hj212 --seconds 5; done
  for w in 1 8 16 32; do
    echo "== TCP ingest, SQLite, 1000 connections, window $w"
    $J bench ingest --connections 1000 --seconds 10 --window "$w"
  done
  echo "== TCP ingest, SQLite, 9000 connections, window 1"
  $J bench ingest --connections 9000 --seconds 10 --window 1
  echo "== TCP ingest, 10000 connections, window 1, server in its own process"
  rm -rf target/bench-srv
  $J demo --data-dir target/bench-srv --cases 0 --no-simulator --listen 127.0.0.1:18081 --hj212-listen 127.0.0.1:19213 >/dev/null &
  srv=$!
  for _ in $(seq 60); do (exec 3<>/dev/tcp/127.0.0.1/19213) 2>/dev/null && break; sleep 1; done
  $J bench ingest --server 127.0.0.1:19213 --data-dir target/bench-srv --connections 10000 --seconds 10 --window 1
  kill "$srv"
  echo "== TCP ingest, PostgreSQL, 1000 connections, window 16"
  $J bench ingest --connections 1000 --seconds 10 --window 16 --database "$(fresh_pg jiesu_bench_ingest)"
fi
if [[ $what == assessment || $what == all ]]; then
  echo "== assessment: a month's ranking over $CASES cases, counters vs GROUP BY, SQLite"
  $J bench assessment --cases "$CASES" --rounds 20
  echo "== assessment, PostgreSQL"
  $J bench assessment --cases "$CASES" --rounds 20 --database "$(fresh_pg jiesu_bench_assessment)"
fi
if [[ $what == worklist || $what == all ]]; then
  echo "== worklist, SQLite, $CASES cases"
  rm -rf target/bench-1m && mkdir -p target/bench-1m
  /usr/bin/time -f "demo build: %e s, %M KB max RSS" $J demo --data-dir target/bench-1m --cases "$CASES" --no-serve | grep -E "history|county"
  du -sh target/bench-1m
  $J bench worklist --data-dir target/bench-1m --concurrency 8 --seconds 10
  echo "== worklist, PostgreSQL, $CASES cases"
  rm -rf target/bench-1m-pg && mkdir -p target/bench-1m-pg
  url=$(fresh_pg jiesu_bench_1m)
  /usr/bin/time -f "demo build: %e s, %M KB max RSS" $J demo --data-dir target/bench-1m-pg --database "$url" --cases "$CASES" --no-serve | grep -E "history|county"
  $J bench worklist --data-dir target/bench-1m-pg --database "$url" --concurrency 8 --seconds 10
fi
if [[ $what == lists || $what == all ]]; then
  # The console's list filters over the 1,000,000-case county, as the county dispatcher (every case
  # in scope: the worst case) and a street's dispatcher; page 1 with its total, as the console asks.
  if [[ ! -f target/bench-1m/jiesu.db ]]; then
    mkdir -p target/bench-1m
    $J demo --data-dir target/bench-1m --cases "$CASES" --no-serve | grep -E "history|county"
  fi
  echo "== lists baseline: worklist, SQLite, $CASES cases (the figure of section (b), same run)"
  $J bench worklist --data-dir target/bench-1m --concurrency 8 --seconds 10 | tail -1
  read -r number phone < <(python3 -c "
import sqlite3; c = sqlite3.connect('target/bench-1m/jiesu.db')
print(*c.execute('SELECT number, reporter_phone FROM cases WHERE reporter_phone IS NOT NULL ORDER BY created_at DESC LIMIT 1').fetchone())")
  for user in dispatcher dispatcher_s01; do
    for q in "page=1" "state=dispatched,accepted,in_progress&page=1" "category=urban&page=1" \
             "channel=grid_patrol&page=1" "grid=42038100100101&page=1" "overdue=true&page=1" \
             "from=2026-10-01&to=2026-10-31&page=1" "q=$number" "q=$phone"; do
      echo "== lists, SQLite, as $user: $q"
      $J bench worklist --data-dir target/bench-1m --as "$user" --concurrency 4 --seconds 5 \
        --path "/api/v1/cases?page_size=20&$q" | tail -1
    done
  done
fi
