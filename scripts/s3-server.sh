#!/usr/bin/env bash
# A real S3-protocol server for tests: moto in server mode, from PyPI, in a
# virtualenv under target/ (installed only when missing).
#
#   scripts/s3-server.sh install        install moto[server] if missing; prints the server command
#   scripts/s3-server.sh path           prints the server command, or exits 1 if not installed
#   scripts/s3-server.sh run PORT       runs the server on 127.0.0.1:PORT in the foreground
#
# Idempotent: when moto is already installed, `install` does no pip work.
# Exits non-zero (with a message on stderr) when python3 or pip cannot install it.
#
# Env:
#   OBSPEC_S3_VENV   the virtualenv directory (default: <repo>/target/s3-venv)
#   PYTHON           the interpreter used to create it (default: python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${OBSPEC_S3_VENV:-$ROOT/target/s3-venv}"
PY="${PYTHON:-python3}"
log() { printf '[s3-server] %s\n' "$*" >&2; }
die() { printf '[s3-server] ERROR: %s\n' "$*" >&2; exit 1; }

installed() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import moto.server, flask, werkzeug' >/dev/null 2>&1
}

install() {
  if installed; then
    return 0
  fi
  command -v "$PY" >/dev/null 2>&1 || die "$PY not found: install Python 3 (3.9+) to run the S3 test server"
  log "creating virtualenv $VENV"
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  log "pip install 'moto[server]'"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'moto[server]>=5,<6' \
    || die "pip install 'moto[server]' failed"
  installed || die "moto installed but 'import moto.server' fails"
  log "moto $("$VENV/bin/python" -c 'import moto; print(moto.__version__)') installed"
}

case "${1:-install}" in
  install)
    install
    echo "$VENV/bin/python -m moto.server"
    ;;
  path)
    installed || die "moto is not installed in $VENV: run scripts/s3-server.sh install"
    echo "$VENV/bin/python -m moto.server"
    ;;
  run)
    port="${2:?usage: scripts/s3-server.sh run PORT}"
    installed || die "moto is not installed in $VENV: run scripts/s3-server.sh install"
    exec "$VENV/bin/python" -m moto.server -H 127.0.0.1 -p "$port"
    ;;
  *)
    die "usage: scripts/s3-server.sh [install|path|run PORT]"
    ;;
esac
