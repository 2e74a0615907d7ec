#!/usr/bin/env bash
# Installs what the obspec test suite needs, only when it is missing:
#   - Debian packages: prometheus (promtool, prometheus), prometheus-alertmanager
#     (amtool), chromium (headless screenshots), fonts-dejavu-core (so pages have
#     glyphs to render)
#   - npm ci in tests/grafana-schema/, tests/ecosystem-schema/, tests/preview/ and apps/gateway/
# Idempotent: a second run does no apt/npm work and takes well under a second
# or two. Exits non-zero on any failure.
#
# Services: installing `prometheus` / `prometheus-alertmanager` on a machine
# where invoke-rc.d may start services would start a prometheus listening on
# :9090 (and alertmanager on :9093, :9094). We block that during the install
# with a temporary /usr/sbin/policy-rc.d (only if none exists), and afterwards
# stop + disable those services if they run anyway, so tests may bind 9090.
#
# Env:
#   SETUP_SKIP_APT=1   skip the Debian package step
#   SETUP_SKIP_NPM=1   skip the npm step
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="__nosudo__"; fi
fi

# ---------------------------------------------------------------- apt ------
# package -> a file it must provide (checked, besides dpkg status)
declare -A APT_PKGS=(
  [prometheus]=/usr/bin/promtool
  [prometheus-alertmanager]=/usr/bin/amtool
  [chromium]=/usr/bin/chromium
  [fonts-dejavu-core]=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
)
SERVICES=(prometheus prometheus-alertmanager prometheus-node-exporter)

pkg_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

POLICY=/usr/sbin/policy-rc.d
POLICY_CREATED=0
cleanup_policy() {
  if [ "$POLICY_CREATED" = 1 ]; then $SUDO rm -f "$POLICY"; POLICY_CREATED=0; fi
}
trap cleanup_policy EXIT

apt_install() {
  local env=(env DEBIAN_FRONTEND=noninteractive)
  local cmd=(apt-get install -y --no-install-recommends -o Dpkg::Use-Pty=0 "$@")
  # Keep package maintainer scripts from starting prometheus/alertmanager.
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# temporary, from obspec scripts/setup.sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 755 "$POLICY"
    POLICY_CREATED=1
  fi
  log "apt-get install $*"
  if ! $SUDO "${env[@]}" "${cmd[@]}"; then
    log "install failed; running apt-get update and retrying"
    $SUDO "${env[@]}" apt-get update -q || die "apt-get update failed"
    $SUDO "${env[@]}" "${cmd[@]}" || die "apt-get install $* failed"
  fi
  cleanup_policy
}

stop_services() {
  local s
  for s in "${SERVICES[@]}"; do
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
      if systemctl is-active --quiet "$s" 2>/dev/null || systemctl is-enabled --quiet "$s" 2>/dev/null; then
        log "stopping and disabling systemd service $s (tests need its ports free)"
        $SUDO systemctl disable --now "$s" >/dev/null 2>&1 || log "warning: could not stop $s"
      fi
    elif [ -x "/etc/init.d/$s" ] && "/etc/init.d/$s" status >/dev/null 2>&1; then
      log "stopping SysV service $s (tests need its ports free)"
      $SUDO "/etc/init.d/$s" stop >/dev/null 2>&1 || log "warning: could not stop $s"
    fi
  done
  # Last line of defence: warn if something still listens on 9090.
  if command -v ss >/dev/null 2>&1 && ss -Hltn 'sport = :9090' 2>/dev/null | grep -q .; then
    log "warning: something is listening on :9090:"
    ss -Hltnp 'sport = :9090' >&2 || true
  fi
}

if [ "${SETUP_SKIP_APT:-0}" != 1 ]; then
  missing=()
  for p in "${!APT_PKGS[@]}"; do
    if ! pkg_installed "$p" || [ ! -e "${APT_PKGS[$p]}" ]; then missing+=("$p"); fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    [ "$SUDO" = "__nosudo__" ] && die "need root (or sudo) to install: ${missing[*]}"
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install manually: ${missing[*]}"
    apt_install "${missing[@]}"
    for p in "${!APT_PKGS[@]}"; do
      [ -e "${APT_PKGS[$p]}" ] || die "$p installed but ${APT_PKGS[$p]} is missing"
    done
  else
    log "Debian packages already installed"
  fi
  [ "$SUDO" = "__nosudo__" ] && SUDO=""
  stop_services
fi

# ---------------------------------------------------------------- npm ------
# npm ci only when node_modules is missing or older than package-lock.json
# (npm writes node_modules/.package-lock.json on every install).
npm_ci() {
  local dir="$1"
  [ -f "$dir/package-lock.json" ] || die "$dir/package-lock.json missing"
  local stamp="$dir/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ] \
     && [ "$stamp" -nt "$dir/package.json" ]; then
    log "npm deps up to date in ${dir#"$ROOT"/}"
    return 0
  fi
  log "npm ci in ${dir#"$ROOT"/}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $dir"
  touch "$stamp"
}

if [ "${SETUP_SKIP_NPM:-0}" != 1 ]; then
  command -v node >/dev/null 2>&1 || die "node not found"
  command -v npm >/dev/null 2>&1 || die "npm not found"
  for d in tests/grafana-schema tests/ecosystem-schema tests/preview apps/gateway; do
    [ -f "$ROOT/$d/package.json" ] && npm_ci "$ROOT/$d"
  done
fi

# ------------------------------------------------------------- S3 server ---
# moto in server mode (PyPI), for the real-S3 roll test (roll/tests/s3.rs).
if [ "${SETUP_SKIP_S3:-0}" != 1 ]; then
  log "moto S3 server (scripts/s3-server.sh)"
  bash "$ROOT/scripts/s3-server.sh" install >/dev/null || die "installing moto failed"
fi

# ------------------------------------------------------------- versions ----
ver() { # name, command...   (stdout only: Debian's chromium wrapper prints
  #                              a harmless "[: ...: unexpected operator" on stderr)
  local name="$1"; shift
  local out err
  err="$(mktemp)"
  if out="$("$@" 2>"$err")" && [ -n "$out" ]; then
    printf '%-10s %s\n' "$name" "$(printf '%s\n' "$out" | head -n1)"
    rm -f "$err"
  else
    printf '%-10s FAILED: %s\n' "$name" "$(head -n3 "$err")"
    rm -f "$err"
    return 1
  fi
}
rc=0
if [ "${SETUP_SKIP_APT:-0}" != 1 ]; then
  ver promtool promtool --version || rc=1
  ver amtool amtool --version || rc=1
  ver chromium chromium --version || rc=1
fi
ver node node --version || rc=1
ver npm npm --version || rc=1
[ "$rc" = 0 ] || die "a tool failed to report its version"
log "done"
