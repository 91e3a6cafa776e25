# Shared by the scripts: what the console and the test clients need, and a demo to test against.

# apt-get install, as root or through sudo; refreshes the package lists once if a package is unknown.
apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  command -v apt-get >/dev/null || { echo "install $* with your package manager first" >&2; return 1; }
  $sudo apt-get install -y -qq "$@" >/dev/null 2>&1 ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@" >/dev/null; }
}

# Node.js 20.19+ and npm: the console's build (Vite 8) needs them.
need_node() {
  command -v npm >/dev/null || { echo "installing Node.js and npm" >&2; apt_install nodejs npm; }
  local v
  v=$(node -p 'process.versions.node')
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
    { echo "Node.js $v is too old for the console's build: install 20.19 or newer" >&2; return 1; }
}

# Builds the console into web/dist (embedded by release builds, read from disk by debug builds).
build_console() {
  need_node
  (cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
}

# Debian's Chromium and CJK fonts for the browser tests (no browser is ever downloaded).
need_browser() {
  [ -x /usr/bin/chromium ] || { echo "installing chromium" >&2; apt_install chromium; }
  fc-list 2>/dev/null | grep -q "Noto Sans CJK" || { echo "installing CJK fonts" >&2; apt_install fonts-noto-cjk; }
}

# A Python virtual environment at $1 holding exactly the pinned packages $2…; made once, remade
# when the list changes.
need_venv() {
  local venv=$1
  shift
  [ "$(cat "$venv/.pinned" 2>/dev/null)" = "$*" ] && return 0
  rm -rf "$venv"
  python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
  echo "$*" >"$venv/.pinned"
}

# A demo county (300 cases, no HJ 212) served in the background on a free port by the debug
# binary the tests built; sets demo_data, demo_base and demo_pid, and stops it when the script
# exits. $1: the log file.
start_demo() {
  local log=$1 bin=${JIESU_BIN:-target/debug/jiesu} port
  [[ -x $bin ]] || cargo build -p jiesu
  demo_data=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  demo_base=http://127.0.0.1:$port
  "$bin" demo --data-dir "$demo_data" --listen "127.0.0.1:$port" --cases 300 --hj212-listen off >"$log" 2>&1 &
  demo_pid=$!
  trap 'kill $demo_pid 2>/dev/null || true; wait $demo_pid 2>/dev/null || true; rm -rf "$demo_data"' EXIT
  for _ in $(seq 120); do curl -fs "$demo_base/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -fs "$demo_base/healthz" >/dev/null || { cat "$log"; echo "demo did not start" >&2; return 1; }
}
