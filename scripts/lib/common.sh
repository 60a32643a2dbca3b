# shellcheck shell=bash
# shellcheck disable=SC2034 # STAGE_OK is read by scripts/test.sh
# Helpers shared by scripts/test.sh: headers, stage bookkeeping, ports, bounded waits, and
# a cleanup registry so that nothing the run starts (servers, clusters, databases) outlives it.
#
# Invariants: every wait is bounded in time and count; every address is 127.0.0.1.
# The registry lives in $TINHSO_WORK (made by init_work); the EXIT trap calls cleanup_all.

# --- output -------------------------------------------------------------------------------

if [[ -t 1 ]]; then
  _B=$'\e[1m' _G=$'\e[32m' _R=$'\e[31m' _Y=$'\e[33m' _N=$'\e[0m'
else
  _B='' _G='' _R='' _Y='' _N=''
fi

section() { printf '\n%s==== %s ====%s\n' "$_B" "$*" "$_N"; }
info() { printf '  %s\n' "$*"; }
warn() { printf '%s  warning: %s%s\n' "$_Y" "$*" "$_N" >&2; }
err() { printf '%s  error: %s%s\n' "$_R" "$*" "$_N" >&2; }

# --- stages -------------------------------------------------------------------------------

STAGES_PASSED=0
STAGES_FAILED=0
STAGES_SKIPPED=0
STAGE_LINES=()

# run_stage NAME FUNC [ARGS...]: runs FUNC in a subshell with errexit on, records the
# outcome in STAGE_OK (1 or 0) and always returns 0.
# Call it as a plain statement, never from `if`, `&&`, `||` or `!`: bash ignores `set -e`
# in everything run from such a context, subshells included, so a failing command in the
# middle of a stage would go unnoticed.
STAGE_OK=0
run_stage() {
  local name=$1
  shift
  section "$name"
  local start=$SECONDS rc
  set +e
  (
    set -euo pipefail
    shopt -s inherit_errexit
    "$@"
  )
  rc=$?
  set -e
  local took=$((SECONDS - start))
  if ((rc == 0)); then
    STAGES_PASSED=$((STAGES_PASSED + 1))
    STAGE_LINES+=("ok      ${name} (${took}s)")
    printf '%s  ok: %s (%ss)%s\n' "$_G" "$name" "$took" "$_N"
    STAGE_OK=1
    return 0
  fi
  STAGES_FAILED=$((STAGES_FAILED + 1))
  STAGE_LINES+=("FAILED  ${name} (exit ${rc}, ${took}s)")
  printf '%s  FAILED: %s (exit %s, %ss)%s\n' "$_R" "$name" "$rc" "$took" "$_N"
  STAGE_OK=0
  return 0
}

# skip_stage NAME REASON: a stage that could not run because an earlier one failed.
skip_stage() {
  section "$1"
  info "skipped: $2"
  STAGES_SKIPPED=$((STAGES_SKIPPED + 1))
  STAGE_LINES+=("skipped $1 ($2)")
}

print_summary() {
  section "Summary"
  local line
  for line in "${STAGE_LINES[@]}"; do info "$line"; done
  echo
  if ((STAGES_SKIPPED > 0)); then
    echo "${STAGES_PASSED} passed, ${STAGES_FAILED} failed, ${STAGES_SKIPPED} skipped"
  else
    echo "${STAGES_PASSED} passed, ${STAGES_FAILED} failed"
  fi
}

# --- cleanup registry ---------------------------------------------------------------------

init_work() {
  TINHSO_WORK=$(mktemp -d -t tinhso-test.XXXXXX)
  export TINHSO_WORK
  : >"$TINHSO_WORK/pids"
  : >"$TINHSO_WORK/databases"
  : >"$TINHSO_WORK/clusters"
}

register_pid() { echo "$1" >>"$TINHSO_WORK/pids"; }
# register_database ADMIN_URL DBNAME (tab-separated)
register_database() { printf '%s\t%s\n' "$1" "$2" >>"$TINHSO_WORK/databases"; }
register_cluster() { echo "$1" >>"$TINHSO_WORK/clusters"; }

# stop_pid PID: TERM, wait up to 10 s, then KILL. Only ever the pids this run started.
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  warn "pid $pid ignored SIGTERM for 10 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup_all() {
  [[ -n ${TINHSO_WORK:-} && -d ${TINHSO_WORK:-} ]] || return 0
  local pid url db dir
  while read -r pid; do
    [[ -n $pid ]] && stop_pid "$pid"
  done <"$TINHSO_WORK/pids"
  while IFS=$'\t' read -r url db; do
    [[ -n $db ]] && drop_database "$url" "$db" >/dev/null 2>&1
  done <"$TINHSO_WORK/databases"
  while read -r dir; do
    [[ -n $dir ]] && pg_cluster_stop "$dir"
  done <"$TINHSO_WORK/clusters"
  rm -rf "$TINHSO_WORK"
}

# --- ports and waits ----------------------------------------------------------------------

# port_in_use PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() {
  # shellcheck disable=SC2016 # $1 expands in the inner bash
  timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on (at most 100 tries).
free_port() {
  local port i
  if command -v python3 >/dev/null 2>&1 &&
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null) &&
    [[ -n $port ]]; then
    echo "$port"
    return 0
  fi
  for ((i = 0; i < 100; i++)); do
    port=$((20000 + RANDOM % 40000))
    if ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  done
  err "no free port found on 127.0.0.1 after 100 tries"
  return 1
}

# wait_http URL SECONDS [PID]: polls URL until it answers 2xx; gives up after SECONDS, or at
# once when PID (the server) has exited.
wait_http() {
  local url=$1 limit=$2 pid=${3:-} deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      err "the server (pid $pid) exited before $url answered"
      return 1
    fi
    if curl -fsS --max-time 2 -o /dev/null "$url" 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  err "$url did not answer within ${limit}s"
  return 1
}
