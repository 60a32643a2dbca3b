#!/usr/bin/env bash
# The test command of Tỉnh số (README: ./scripts/test.sh; CI: .ci/run).
#
# Stages, each reported under its own header; a failed stage does not stop the later ones
# (except those that need its output), and the script exits non-zero if any stage failed:
#   1. system packages   chromium, clamav, python3-aiosmtpd, xmlsec1, psql, and the PostgreSQL server
#                        only when none answers; apt runs only when something is missing
#   2. cargo fmt --check
#   3. cargo clippy -D warnings
#   4. PostgreSQL         TINHSO_TEST_POSTGRES_URL, else 127.0.0.1:5432, else a throwaway
#                        cluster (pg_ctl) stopped and deleted on exit
#   5. npm ci in e2e/     only when node_modules is missing or package-lock.json changed
#   6. moto[server]       PyPI, only when missing (the S3 tests' real S3-compatible server)
#   7. cargo test         with TINHSO_TEST_POSTGRES_URL and TINHSO_REQUIRE_POSTGRES=1 exported,
#                         then cargo build -p tinhso (debug: shares the build of the tests)
#   8. browser smoke test on SQLite, then 9. on PostgreSQL (a fresh database, dropped after)
# The last line is "N passed, N failed" over the stages.
#
# Environment:
#   TINHSO_TEST_POSTGRES_URL   admin URL of a PostgreSQL server (tests create their own DBs)
#   TINHSO_TEST_PG_PROBE_PORT  port probed on 127.0.0.1 before starting a throwaway cluster
#                              (default 5432; point it at an unused port to force the cluster)
#   TINHSO_SCREENSHOTS_DIR     where the browser test saves its screenshots
#   TINHSO_TEST_TIMEOUT        seconds allowed to each cargo stage (default 2700)
# Everything it starts listens on 127.0.0.1 only and is stopped on exit (trap).

set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# shellcheck source=scripts/lib/common.sh
source "$ROOT/scripts/lib/common.sh"
# shellcheck source=scripts/lib/postgres.sh
source "$ROOT/scripts/lib/postgres.sh"

if ! command -v cargo >/dev/null 2>&1 && [[ -x ${HOME:-/root}/.cargo/bin/cargo ]]; then
  PATH="${HOME:-/root}/.cargo/bin:$PATH"
fi
export DEBIAN_FRONTEND=noninteractive
export RUST_BACKTRACE=1
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

CARGO_TIMEOUT=${TINHSO_TEST_TIMEOUT:-2700}
TINHSO_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/tinhso"
SERVER_START_TIMEOUT=60
E2E_TIMEOUT=1200
LOCKED=()
[[ -f Cargo.lock ]] && LOCKED=(--locked)

init_work
trap cleanup_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. system packages -------------------------------------------------------------------

pkg_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

stage_system_packages() {
  local missing=()
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  pkg_installed clamav || missing+=(clamav)
  # clamd: the upload tests scan through a real daemon they start on loopback.
  pkg_installed clamav-daemon || missing+=(clamav-daemon)
  pkg_installed python3-aiosmtpd || missing+=(python3-aiosmtpd)
  if ! command -v psql >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; then
    missing+=(postgresql-client)
  fi
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  # The PDF forms are checked with real readers: text and fonts (poppler), the QR code (zbar).
  command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
  command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
  # edXML signatures are checked against another tool's (xmlsec1 signs and verifies).
  command -v xmlsec1 >/dev/null 2>&1 || missing+=(xmlsec1)
  # Canonical XML is compared with libxml2's (xmllint); test keys and CAs come from openssl.
  command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
  if [[ -z ${TINHSO_TEST_POSTGRES_URL:-} ]] && ! pg_server_answers "$PG_PROBE_PORT" && ! pg_bindir >/dev/null; then
    missing+=(postgresql)
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    warn "node and npm (Node 20+) are needed for the browser tests and are not installed"
  fi

  if ((${#missing[@]} == 0)); then
    info "all present: chromium, clamav, clamav-daemon, python3-aiosmtpd, postgresql-client, curl, poppler-utils, zbar-tools, xmlsec1, libxml2-utils, openssl, libnss3-tools, PostgreSQL"
    return 0
  fi
  info "installing: ${missing[*]}"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || {
      err "not root and no sudo: install ${missing[*]} by hand"
      return 1
    }
    sudo=(sudo -n)
  fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# --- 2, 3. format and lints ---------------------------------------------------------------

stage_fmt() {
  cargo fmt --all -- --check
}

stage_clippy() {
  timeout --kill-after=30 "$CARGO_TIMEOUT" \
    cargo clippy --workspace --all-targets "${LOCKED[@]}" -- -D warnings
}

# --- 4. PostgreSQL ------------------------------------------------------------------------

stage_postgres() {
  local url
  url=$(pg_select_admin_url)
  printf '%s' "$url" >"$TINHSO_WORK/pg_url"
  info "TINHSO_TEST_POSTGRES_URL=$(pg_url_redacted "$url")"
  PGCONNECT_TIMEOUT=5 psql "$url" -X -qAt -c 'select version()' | sed 's/^/  /'
}

# --- 5, 6. Rust tests and the binary ------------------------------------------------------

stage_cargo_test() {
  timeout --kill-after=30 "$CARGO_TIMEOUT" \
    cargo test --workspace "${LOCKED[@]}" --no-fail-fast
}

stage_build() {
  timeout --kill-after=30 "$CARGO_TIMEOUT" cargo build -p tinhso "${LOCKED[@]}"
  [[ -x $TINHSO_BIN ]] || {
    err "$TINHSO_BIN was not built"
    return 1
  }
}

# --- 7. npm -------------------------------------------------------------------------------

stage_npm_ci() {
  cd "$ROOT/e2e"
  local want have=''
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  [[ -f node_modules/.tinhso-lock.sha256 ]] && have=$(<node_modules/.tinhso-lock.sha256)
  if [[ -d node_modules && $want == "$have" ]]; then
    info "node_modules is up to date with package-lock.json"
    return 0
  fi
  # --ignore-scripts: nothing may download at install time (no browser downloads).
  timeout --kill-after=10 600 npm ci --ignore-scripts --no-audit --no-fund
  echo "$want" >node_modules/.tinhso-lock.sha256
}

stage_python_packages() {
  if python3 -c 'import moto.server, boto3, flask_cors' >/dev/null 2>&1; then
    info "moto server present"
    return 0
  fi
  info "installing moto[server] from PyPI"
  # Debian's own python3 refuses system-wide pip installs (PEP 668); then install for the
  # user, which is what the tests' python3 sees.
  timeout --kill-after=10 600 python3 -m pip install --quiet 'moto[server]' ||
    timeout --kill-after=10 600 python3 -m pip install --quiet --user --break-system-packages 'moto[server]'
}

# --- 8, 9. browser smoke tests ------------------------------------------------------------

e2e_cleanup() {
  local rc=$?
  [[ -n ${E2E_PID:-} ]] && stop_pid "$E2E_PID"
  if [[ -n ${E2E_DBNAME:-} ]]; then
    if drop_database "$E2E_ADMIN_URL" "$E2E_DBNAME" >/dev/null 2>&1; then
      info "dropped database $E2E_DBNAME"
    else
      warn "could not drop database $E2E_DBNAME"
    fi
  fi
  info "stopped the ${E2E_DB:-} server"
  return "$rc"
}

# stage_e2e sqlite|postgres: starts `tinhso serve --demo` on a free port with a fresh data
# directory (and a fresh database for postgres), runs e2e/*.test.mjs against it, stops it.
stage_e2e() {
  # Not local: the EXIT trap below runs after this function has returned. The stage runs
  # in its own subshell, so nothing leaks into the script.
  E2E_DB=$1 E2E_PID='' E2E_DBNAME='' E2E_ADMIN_URL=''
  local db=$1 port data log base server_args=()
  port=$(free_port)
  data=$(mktemp -d "$TINHSO_WORK/data-$db.XXXXXX")
  log="$TINHSO_WORK/server-$db.log"
  server_args=(serve --demo --listen "127.0.0.1:$port" --data-dir "$data")
  # The admin (metrics) listener has a fixed default port; give it a free one when the
  # binary has the option, so that a developer's own server does not collide with the test.
  if "$TINHSO_BIN" serve --help 2>/dev/null | grep -q -- '--admin-listen'; then
    server_args+=(--admin-listen "127.0.0.1:$(free_port)")
  fi

  if [[ $db == postgres ]]; then
    E2E_ADMIN_URL=$(<"$TINHSO_WORK/pg_url")
    E2E_DBNAME="tinhso_e2e_$(date +%Y%m%d%H%M%S)_$$"
    register_database "$E2E_ADMIN_URL" "$E2E_DBNAME"
    create_database "$E2E_ADMIN_URL" "$E2E_DBNAME"
    info "created database $E2E_DBNAME"
    server_args+=(--database "$(pg_url_with_db "$E2E_ADMIN_URL" "$E2E_DBNAME")")
  fi

  # This stage's own cleanup; the run's EXIT trap is the backstop.
  trap e2e_cleanup EXIT

  info "starting $TINHSO_BIN ${server_args[*]}"
  # Defaults only: a developer's TINHSO_CONFIG must not leak into the test server.
  env -u TINHSO_CONFIG "$TINHSO_BIN" "${server_args[@]}" >"$log" 2>&1 &
  E2E_PID=$!
  register_pid "$E2E_PID"
  base="http://127.0.0.1:$port"

  local rc=0
  if wait_http "$base/healthz" "$SERVER_START_TIMEOUT" "$E2E_PID"; then
    info "server up at $base (pid $E2E_PID)"
    TINHSO_BASE_URL=$base timeout --kill-after=10 "$E2E_TIMEOUT" \
      node --test --test-concurrency=1 --test-reporter=spec e2e/*.test.mjs || rc=$?
  else
    rc=1
  fi
  if ((rc != 0)); then
    section "server log ($db, last 200 lines)"
    tail -n 200 "$log" || true
  fi
  return "$rc"
}

# --- run ----------------------------------------------------------------------------------

section "Tỉnh số tests in $ROOT (CI=${CI:-false})"
info "$(cargo --version 2>/dev/null || echo 'cargo: not found'), node $(node --version 2>/dev/null || echo 'not found')"

run_stage "system packages" stage_system_packages
run_stage "cargo fmt --check" stage_fmt
run_stage "cargo clippy -D warnings" stage_clippy

run_stage "PostgreSQL" stage_postgres
pg_ok=$STAGE_OK
if ((pg_ok)); then
  TINHSO_TEST_POSTGRES_URL=$(<"$TINHSO_WORK/pg_url")
  export TINHSO_TEST_POSTGRES_URL
fi
# Tests that need PostgreSQL must fail, not skip, when it cannot be reached.
export TINHSO_REQUIRE_POSTGRES=1

# npm and Python packages first: the Rust tests start a real OpenID provider (npm
# oidc-provider) and a real S3-compatible server (moto).
run_stage "npm ci (e2e)" stage_npm_ci
npm_ok=$STAGE_OK
run_stage "Python test servers (moto)" stage_python_packages

run_stage "cargo test" stage_cargo_test

run_stage "cargo build -p tinhso" stage_build
build_ok=$STAGE_OK

if ((build_ok && npm_ok)); then
  run_stage "browser smoke test (SQLite)" stage_e2e sqlite
  if ((pg_ok)); then
    run_stage "browser smoke test (PostgreSQL)" stage_e2e postgres
  else
    skip_stage "browser smoke test (PostgreSQL)" "no PostgreSQL"
  fi
else
  skip_stage "browser smoke test (SQLite)" "the build or npm ci failed"
  skip_stage "browser smoke test (PostgreSQL)" "the build or npm ci failed"
fi

print_summary
((STAGES_FAILED == 0 && STAGES_SKIPPED == 0))
