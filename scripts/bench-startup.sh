#!/usr/bin/env bash
# Start-up time and idle memory of `tinhso serve --demo` (release build), measured beside a
# baseline taken in the same run: a static file server (python3 -m http.server) starting on
# the same machine. Prints one line per measurement; results go to docs/BENCHMARKS.md.
#
# Usage: scripts/bench-startup.sh [RUNS]   (default 5; traffic to 127.0.0.1 only)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
bin=target/release/tinhso
[ -x "$bin" ] || cargo build --release -p tinhso

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Milliseconds from spawn until /healthz answers; then idle RSS (kB) after 2 s of quiet.
measure() { # $1 = data dir, $2 = label
  local port admin start end pid rss
  port=$(free_port); admin=$(free_port)
  start=$(date +%s%N)
  "$bin" serve --demo --data-dir "$1" --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.01
  done
  end=$(date +%s%N)
  curl -fsS "http://127.0.0.1:$port/login" >/dev/null
  sleep 2
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$2 start_ms=$(( (end - start) / 1000000 )) idle_rss_kb=$rss"
}

baseline() {
  local port dir start end pid rss
  port=$(free_port); dir=$(mktemp -d)
  start=$(date +%s%N)
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.01; done
  end=$(date +%s%N)
  sleep 2
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  echo "baseline(python3 http.server) start_ms=$(( (end - start) / 1000000 )) idle_rss_kb=$rss"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in $(seq 1 "$runs"); do
  baseline
  measure "$work/first-$i" "tinhso first start (creates demo: 24k units, agencies, users)"
  measure "$work/first-$i" "tinhso restart (demo exists)"
done
