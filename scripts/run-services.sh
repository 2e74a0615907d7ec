#!/usr/bin/env bash
# Builds and starts the three reference services (apps/) on loopback and a
# Prometheus scraping them with the generated rules.
#
# Ports come from the spec's `local` environment (spec/environments.yaml),
# read back from the Prometheus config `cargo xtask gen` rendered for it
# (infra/observability/local/prometheus.yml): one job per component.
#
#   scripts/run-services.sh           # run until Ctrl-C (SIGTERM to each service: drained, exit 0)
#   scripts/run-services.sh --check   # start, wait until every target is up, print them, stop
#
# Data, logs and trails go to target/run-services/. Extra environment is passed
# through (e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_ENDPOINT_URL for
# Core's media presign, CORE_WEBHOOKS=id=url for its webhooks).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
check=0
[[ "${1:-}" == "--check" ]] && check=1

config="infra/observability/local/prometheus.yml"
[[ -f "$config" ]] || { echo "error: $config is missing; run cargo xtask gen" >&2; exit 1; }

# The first target of job $1 in the rendered config.
target_of() {
    awk -v job="$1" '
        $1 == "-" && $2 == "job_name:" { in_job = ($3 == job) }
        in_job && $1 == "-" && $2 ~ /^'\''?[0-9.]+:[0-9]+'\''?$/ { gsub("'\''", "", $2); print $2; exit }
    ' "$config"
}
core_addr="$(target_of core)"
office_addr="$(target_of office)"
proxy_addr="$(target_of policy_proxy)"
prom_addr="${PROMETHEUS_LISTEN:-127.0.0.1:19090}"
for a in "$core_addr" "$office_addr" "$proxy_addr"; do
    [[ -n "$a" ]] || { echo "error: a component has no target in $config" >&2; exit 1; }
done

cargo build -q -p obspec-core-api -p obspec-office -p obspec-policy-proxy
bin="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug"

run="target/run-services"
mkdir -p "$run"/{core,office,policy-proxy,prometheus}
pids=()
stop() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop EXIT INT TERM

start() { # name, then the command
    local name="$1"; shift
    "$@" >"$run/$name/stdout.log" 2>"$run/$name/stderr.log" &
    pids+=("$!")
    echo "started $name (pid $!)"
}
start core "$bin/core" --listen "$core_addr" --db "$run/core/core.db" --trail-dir "$run/core/trails" --log-dir "$run/core/logs"
start office "$bin/office" --listen "$office_addr" --db "$run/office/office.db" --trail-dir "$run/office/trails" --log-dir "$run/office/logs"
start policy-proxy "$bin/policy-proxy" --listen "$proxy_addr" --upstream "http://$core_addr" --trail-dir "$run/policy-proxy/trails" --log-dir "$run/policy-proxy/logs"
# Retention is a server flag (infra/observability/prometheus.flags); a local run keeps the default.
start prometheus prometheus --config.file="$config" --storage.tsdb.path="$run/prometheus/data" --web.listen-address="$prom_addr"

echo "core http://$core_addr  office http://$office_addr  policy-proxy http://$proxy_addr  prometheus http://$prom_addr"
# `up` per job, as Prometheus sees it: lines `job up`.
up_by_job() {
    (curl -fsS "http://$prom_addr/api/v1/query?query=up" 2>/dev/null || true) \
        | (grep -o '"job":"[a-z_]*"},"value":\[[0-9.]*,"[01]"' || true) \
        | sed 's/"job":"\([a-z_]*\)"},"value":\[[0-9.]*,"\([01]\)"/\1 \2/'
}
up=0
for _ in $(seq 1 120); do
    if [[ "$(up_by_job | (grep -c ' 1$' || true))" -ge 3 ]]; then up=1; break; fi
    sleep 0.5
done
up_by_job | sed 's/^/up{job="/; s/ /"} /'
if [[ "$up" -ne 1 ]]; then
    echo "error: not every target is up" >&2
    exit 1
fi
echo "every target is up"
if [[ "$check" -eq 1 ]]; then
    exit 0
fi
echo "Ctrl-C stops everything"
wait
