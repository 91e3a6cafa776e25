#!/usr/bin/env bash
# High-availability drill on PostgreSQL (docs/OPERATIONS.md, "High availability"): a primary and a
# synchronous streaming standby on loopback (two clusters of the machine's PostgreSQL), two jiesu
# nodes taking cases on the primary, the primary killed with SIGKILL mid-load, the standby
# promoted, the nodes restarted on it. Then: is every case the nodes acknowledged on the new
# primary, does the log verify, and how long were cases refused?
# Usage: bash scripts/ha-drill.sh   (needs root or the postgres user; not part of CI, ~1 minute)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
P1=${P1:-5441} P2=${P2:-5442} H1=${H1:-18181} H2=${H2:-18182}
cargo build --release -p jiesu >/dev/null 2>&1 || cargo build --release -p jiesu
J=$PWD/target/release/jiesu
W=$(mktemp -d /tmp/jiesu-ha.XXXXXX)
chmod 755 "$W"
as_pg() { if [[ $(id -u) == 0 ]]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
nodes=()
cleanup() {
  for p in "${nodes[@]}"; do kill "$p" 2>/dev/null || true; done
  as_pg "$BIN/pg_ctl -D $W/pg/standby stop -m immediate" >/dev/null 2>&1 || true
  as_pg "$BIN/pg_ctl -D $W/pg/primary stop -m immediate" >/dev/null 2>&1 || true
  [[ -n ${KEEP:-} ]] || rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W/pg" && chown postgres "$W/pg" 2>/dev/null || true

echo "== primary on $P1, synchronous standby on $P2 ($BIN)"
as_pg "$BIN/initdb -D $W/pg/primary -U postgres --auth=trust >/dev/null"
cat >>"$W/pg/primary/postgresql.conf" <<EOF
port = $P1
listen_addresses = '127.0.0.1'
unix_socket_directories = '$W/pg'
wal_level = replica
max_wal_senders = 4
synchronous_standby_names = 'standby'
synchronous_commit = on
EOF
as_pg "$BIN/pg_ctl -D $W/pg/primary -l $W/pg/primary.log -w start >/dev/null"
as_pg "$BIN/pg_basebackup -h 127.0.0.1 -p $P1 -U postgres -D $W/pg/standby -R -X stream"
cat >>"$W/pg/standby/postgresql.auto.conf" <<EOF
port = $P2
primary_conninfo = 'host=127.0.0.1 port=$P1 user=postgres application_name=standby'
EOF
as_pg "$BIN/pg_ctl -D $W/pg/standby -l $W/pg/standby.log -w start >/dev/null"
for _ in $(seq 30); do
  s=$(psql -h 127.0.0.1 -p "$P1" -U postgres -Atc "SELECT sync_state FROM pg_stat_replication" 2>/dev/null || true)
  [[ $s == sync ]] && break
  sleep 1
done
[[ $s == sync ]] || { echo "standby not synchronous: '$s'"; exit 1; }
echo "standby streaming, sync_state=$s"
psql -h 127.0.0.1 -p "$P1" -U postgres -qc "CREATE DATABASE jiesu"
URL1="postgres://postgres@127.0.0.1:$P1/jiesu"
URL2="postgres://postgres@127.0.0.1:$P2/jiesu"
"$J" demo --data-dir "$W/n1" --database "$URL1" --cases 200 --no-serve --no-simulator >/dev/null
cp "$W/n1/demo-users.txt" "$W/users.txt"

serve() { # serve URL → starts both nodes
  for n in 1 2; do
    port=$([[ $n == 1 ]] && echo "$H1" || echo "$H2")
    "$J" serve --data-dir "$W/n$n" --database "$1" --listen "127.0.0.1:$port" --hj212-listen off \
      >>"$W/node$n.log" 2>&1 &
    nodes+=($!)
  done
  for port in "$H1" "$H2"; do
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  done
}
echo "== two nodes on the primary, 8 clients taking cases"
serve "$URL1"
# The load: each client posts cases with an Idempotency-Key and retries the same key until it is
# acknowledged (201/200), recording every acknowledged case and every refused moment.
python3 - "$W" "$H1" "$H2" <<'PY' &
import json, sys, threading, time, urllib.request, uuid
w, h1, h2 = sys.argv[1], sys.argv[2], sys.argv[3]
pw = dict(l.split('\t')[:2] for l in open(f'{w}/users.txt') if '\t' in l)
def call(port, path, body, token=None, key=None):
    req = urllib.request.Request(f'http://127.0.0.1:{port}{path}', data=json.dumps(body).encode(),
                                 headers={'content-type': 'application/json'}, method='POST')
    if token: req.add_header('authorization', f'Bearer {token}')
    if key: req.add_header('idempotency-key', key)
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, json.loads(r.read())
tokens = {p: call(p, '/api/v1/auth/login', {'username': u, 'password': pw[u]})[1]['token']
          for p, u in ((h1, 'operator'), (h2, 'operator2'))}
acked, errors, lock = [], [], threading.Lock()
def client(i):
    port = h1 if i % 2 else h2
    n = 0
    while True:
        key = f'ha-{i}-{n}-{uuid.uuid4().hex[:8]}'
        while True:
            try:
                status, body = call(port, '/api/v1/cases', {'kind': 'complaint', 'category': 'urban.street_vending',
                    'title': f'高可用演练 {i}-{n}', 'reporter': {'name': '演练', 'phone': '13800000000'}},
                    tokens[port], key)
                if status in (200, 201):
                    with lock: acked.append((time.time(), body['id']))
                    break
            except Exception as e:
                with lock: errors.append(time.time())
                time.sleep(0.1)
        n += 1
        try:
            open(f'{w}/stop').close(); return
        except FileNotFoundError:
            pass
ts = [threading.Thread(target=client, args=(i,)) for i in range(8)]
for t in ts: t.start()
for t in ts: t.join()
json.dump({'acked': acked, 'errors': errors}, open(f'{w}/load.json', 'w'))
PY
load=$!
sleep 8
echo "== SIGKILL the primary"
# The postmaster and every backend at once, as when the machine dies: a backend left alive would
# hold its clients waiting for a standby acknowledgement that never comes.
pm=$(head -1 "$W/pg/primary/postmaster.pid")
kill -9 "$pm" $(pgrep -P "$pm") 2>/dev/null || true
t_kill=$(date +%s.%N)
as_pg "$BIN/pg_ctl -D $W/pg/standby -w promote >/dev/null"
# Promoted, it runs alone: it must not wait for a synchronous standby of its own (it copied the
# primary's setting), or every commit would hang until a new standby is attached.
psql -h 127.0.0.1 -p "$P2" -U postgres -qc "ALTER SYSTEM SET synchronous_standby_names = ''" \
  -c "SELECT pg_reload_conf()" >/dev/null
echo "standby promoted in $(echo "$(date +%s.%N) - $t_kill" | bc) s; restarting the nodes on it"
for p in "${nodes[@]}"; do kill "$p" 2>/dev/null || true; done
sleep 2
for p in "${nodes[@]}"; do kill -9 "$p" 2>/dev/null || true; done
nodes=()
serve "$URL2"
sleep 8
touch "$W/stop"
wait "$load"
echo "== checks on the new primary"
python3 - "$W" "$t_kill" "$P2" <<'PY'
import json, subprocess, sys
w, t_kill, port = sys.argv[1], float(sys.argv[2]), sys.argv[3]
d = json.load(open(f'{w}/load.json'))
ids = set(subprocess.run(['psql', '-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-d', 'jiesu', '-Atc',
                          'SELECT id FROM cases'], capture_output=True, text=True, check=True).stdout.split())
acked = d['acked']
before = [i for t, i in acked if t < t_kill]
lost = [i for t, i in acked if i not in ids]
after = sorted(t for t, _ in acked if t > t_kill)
gap = (after[0] - t_kill) if after else float('nan')
print(f'acknowledged: {len(acked)} cases ({len(before)} before the kill, {len(acked) - len(before)} after)')
print(f'lost: {len(lost)}')
print(f'refused attempts (retried with the same key): {len(d["errors"])}')
print(f'seconds from SIGKILL to the first case acknowledged on the new primary: {gap:.1f}')
sys.exit(1 if lost or not before or not after else 0)
PY
"$J" verify --database "$URL2"
