#!/usr/bin/env bash
# Installs what SecureFedRec's integration tests need on a fresh Debian machine, and starts a local PostgreSQL
# listening on loopback only. Idempotent: when everything is already present it only checks, which takes < 1 s.
#
#   - python3-grpcio, python3-protobuf, python3-grpc-tools: the gRPC interop test
#     (tests/SecureFedRec.Integration.Tests/interop/) runs Debian's /usr/bin/python3 against a CLI coordinator; it
#     generates its messages (coordinator, secagg, and the standard health/reflection ones: Debian ships no
#     grpc_health / grpc_reflection modules) with grpc_tools.protoc at run time.
#   - python3-cryptography (with python3-protobuf, python3-grpc-tools): the independent Python implementation of the
#     protocol (tests/SecureFedRec.Conformance.Tests/python/sfr_ref.py, protocol-spec/vectors.md "An independent
#     implementation") re-derives the published vectors with X25519, P-256, Ed25519 and AES from Debian's package.
#   - postgresql: the store tests run the same suite against SQLite and PostgreSQL.
#   - chromium, chromium-driver: the dashboard tests (tests/SecureFedRec.Dashboard.Tests) drive Debian's
#     /usr/bin/chromium through Microsoft.Playwright (ExecutablePath; Playwright's own browser download is never used).
#   - prometheus (for /usr/bin/promtool only; its daemon is not needed): `promtool check metrics` on a coordinator's
#     scraped /metrics (tests/SecureFedRec.Integration.Tests/ObservabilityTests.cs).
#
# PostgreSQL: role "securefedrec" (password "securefedrec-test"), database "securefedrec_test", on 127.0.0.1:5432.
# Tests read the connection string from SECUREFEDREC_TEST_PG, default
#   Host=127.0.0.1;Port=5432;Username=securefedrec;Password=securefedrec-test;Database=securefedrec_test
# The PostgreSQL outage test (tests/SecureFedRec.Integration.Tests/PostgresOutageTests.cs) stops and restarts its
# server mid-round, so it never uses this shared cluster: it runs a private postmaster of its own (initdb into a temp
# directory, a free loopback port, a private socket directory, as the postgres user when run as root) from the binaries
# the postgresql package installs under /usr/lib/postgresql/VERSION/bin. It needs nothing else from this script; without
# those binaries it skips locally and fails under CI=true.
# Nothing is exported from here. Runs as root without stdin (CI); a non-root user gets sudo when it is available.
set -euo pipefail

log() { printf '[install-prereqs] %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else log "not root and no sudo: skipping installs"; exit 0; fi
fi
export DEBIAN_FRONTEND=noninteractive

PY=/usr/bin/python3
need=()
if ! [ -x "$PY" ] || ! "$PY" -c 'import grpc' >/dev/null 2>&1; then need+=(python3-grpcio); fi
if ! [ -x "$PY" ] || ! "$PY" -c 'import google.protobuf' >/dev/null 2>&1; then need+=(python3-protobuf); fi
if ! [ -x "$PY" ] || ! "$PY" -c 'import grpc_tools' >/dev/null 2>&1; then need+=(python3-grpc-tools); fi
if ! [ -x "$PY" ] || ! "$PY" -c 'import cryptography.hazmat.primitives.ciphers.aead' >/dev/null 2>&1; then need+=(python3-cryptography); fi
if ! [ -x /usr/bin/chromium ]; then need+=(chromium); fi
if ! [ -x /usr/bin/chromedriver ]; then need+=(chromium-driver); fi
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then need+=(postgresql); fi
if ! command -v promtool >/dev/null 2>&1; then need+=(prometheus); fi

updated=0
apt_update() { if [ "$updated" -eq 0 ]; then log "apt-get update"; $SUDO apt-get update -qq </dev/null; updated=1; fi; }

if [ "${#need[@]}" -gt 0 ]; then
  apt_update
  log "installing ${need[*]}"
  $SUDO apt-get install -y -qq --no-install-recommends python3 "${need[@]}" </dev/null >/dev/null
fi
# --- PostgreSQL on loopback ---------------------------------------------------------------------------------
ver=$(ls /usr/lib/postgresql/ | sort -n | tail -n 1)
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$ver main$"; then
  log "creating cluster $ver/main"
  $SUDO pg_createcluster "$ver" main >/dev/null
fi
conf="/etc/postgresql/$ver/main/postgresql.conf"
if ! grep -q "^listen_addresses = '127.0.0.1'" "$conf"; then
  printf "\nlisten_addresses = '127.0.0.1'\n" | $SUDO tee -a "$conf" >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $4}' | grep -q online; then
  log "starting PostgreSQL $ver"
  $SUDO pg_ctlcluster "$ver" main start
fi
port=$(pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $3}')
psql_admin() { $SUDO runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qtAX "$@" </dev/null; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname='securefedrec'")" != "1" ]; then
  psql_admin -c "CREATE ROLE securefedrec LOGIN PASSWORD 'securefedrec-test'"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname='securefedrec_test'")" != "1" ]; then
  psql_admin -c "CREATE DATABASE securefedrec_test OWNER securefedrec"
fi
[ "$port" = "5432" ] || log "PostgreSQL listens on port $port: set SECUREFEDREC_TEST_PG accordingly"
log "ok"
