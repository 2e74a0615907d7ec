#!/usr/bin/env bash
# Daily roll of audit trails and server-blind logs to R2 / MinIO / S3 (blueprint §2.3,
# §3.3, §11.5, §12). Run once a day after 00:00 UTC (cron: `15 0 * * *`): it seals
# yesterday's audit day (signed, chained, empty days too), uploads the day files,
# manifests, public keys and log files, reads every object back and compares its
# BLAKE3, deletes the spool copies only after that check, then applies retention.
# It also publishes the signed checkpoint of each rolled day (checkpoints/yyyy/mm/dd.json
# and checkpoints/latest.json) to a second location, and prints it in this job's output
# (`checkpoint YYYY-MM-DD HEX`): the head an auditor passes to
# `obspec-trail verify --checkpoint`, which the bucket's owner cannot rewrite alone.
# A thin wrapper: all the work is `obspec-roll` (crate roll/).
#
# Env (required):
#   OBSPEC_SPOOL              the trail root / log root on this host (audit/, manifests/, keys/, logs/)
#   OBSPEC_ROLL_KEY_SEED      file with the 32-byte Ed25519 seed in hex that signs manifests
#   OBSPEC_ROLL_KID           its key id (e.g. trail-2026-05)
#   and either OBSPEC_ROLL_STORE (a full store URL: s3://…, r2://…, file:///dir or a path)
#   or R2_BUCKET + R2_ENDPOINT (https://<account>.r2.cloudflarestorage.com, or a MinIO URL)
#   with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (R2 API token) in the environment.
# Env (optional):
#   R2_PREFIX                 key prefix inside the bucket (default: none)
#   R2_REGION                 region (default: auto, what R2 expects; MinIO: us-east-1)
#   OBSPEC_ROLL_CHECKPOINT_STORE  where checkpoints go: a store URL in another bucket or
#                             account, ideally write-once (default: the store's checkpoints/ prefix)
#   OBSPEC_ROLL_DATE          the day to roll, YYYY-MM-DD (default: yesterday, UTC)
#   OBSPEC_ROLL_RETENTION_DAYS      audit retention, 7–90 (default: 30, spec/trails.yaml)
#   OBSPEC_ROLL_LOG_RETENTION_DAYS  log retention (default: 30, spec/logs.yaml)
#   OBSPEC_ROLL_PRUNE=0       skip retention
#   OBSPEC_ROLL_BIN           the obspec-roll binary (default: on PATH, else target/release, else cargo run)
# Exit status: that of obspec-roll (0 ok, 1 failed or files left in the spool, 2 usage).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[rollup] %s\n' "$*" >&2; }
die() { printf '[rollup] ERROR: %s\n' "$*" >&2; exit 2; }

: "${OBSPEC_SPOOL:?set OBSPEC_SPOOL to the trail/log root}"
: "${OBSPEC_ROLL_KEY_SEED:?set OBSPEC_ROLL_KEY_SEED to the manifest signing seed file}"
: "${OBSPEC_ROLL_KID:?set OBSPEC_ROLL_KID to the signing key id}"

if [ -n "${OBSPEC_ROLL_STORE:-}" ]; then
  STORE="$OBSPEC_ROLL_STORE"
else
  [ -n "${R2_BUCKET:-}" ] || die "set OBSPEC_ROLL_STORE, or R2_BUCKET and R2_ENDPOINT"
  [ -n "${R2_ENDPOINT:-}" ] || die "set R2_ENDPOINT (https://<account>.r2.cloudflarestorage.com or the MinIO URL)"
  prefix="${R2_PREFIX:+/${R2_PREFIX#/}}"
  STORE="s3://${R2_BUCKET}${prefix}?endpoint=${R2_ENDPOINT}&region=${R2_REGION:-auto}"
fi

DATE="${OBSPEC_ROLL_DATE:-$(date -u -d yesterday +%Y-%m-%d)}"

if [ -n "${OBSPEC_ROLL_BIN:-}" ]; then
  BIN=("$OBSPEC_ROLL_BIN")
elif command -v obspec-roll >/dev/null 2>&1; then
  BIN=(obspec-roll)
elif [ -x "$ROOT/target/release/obspec-roll" ]; then
  BIN=("$ROOT/target/release/obspec-roll")
else
  BIN=(cargo run --quiet --release --manifest-path "$ROOT/Cargo.toml" -p obspec-roll --)
fi

log "rolling up to $DATE from $OBSPEC_SPOOL"
CHECKPOINT_ARGS=()
if [ -n "${OBSPEC_ROLL_CHECKPOINT_STORE:-}" ]; then
  CHECKPOINT_ARGS=(--checkpoint-store "$OBSPEC_ROLL_CHECKPOINT_STORE")
fi
"${BIN[@]}" roll --spool "$OBSPEC_SPOOL" --date "$DATE" --store "$STORE" \
  --key-seed "$OBSPEC_ROLL_KEY_SEED" --kid "$OBSPEC_ROLL_KID" "${CHECKPOINT_ARGS[@]}"

if [ "${OBSPEC_ROLL_PRUNE:-1}" != 0 ]; then
  log "retention: audit ${OBSPEC_ROLL_RETENTION_DAYS:-30} days, logs ${OBSPEC_ROLL_LOG_RETENTION_DAYS:-30} days"
  "${BIN[@]}" prune --store "$STORE" --days "${OBSPEC_ROLL_RETENTION_DAYS:-30}" \
    --log-days "${OBSPEC_ROLL_LOG_RETENTION_DAYS:-30}"
fi
