#!/usr/bin/env bash
# Runs the HTTP benchmarks of docs/PERFORMANCE.md. Not part of CI (release build, minutes of load).
# Usage: bash scripts/bench.sh [intake|worklist|clock|monitoring|assessment|all]   (PG_URL defaults to the local test server)
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
