# Shared by demo.sh and test.sh: install what the console needs from the distribution.

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
