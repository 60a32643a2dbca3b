# shellcheck shell=bash
# PostgreSQL for the test run: find a server or start a throwaway cluster, and make and drop
# uniquely named databases.
#
# Order (docs/engineering.md, Testing): TINHSO_TEST_POSTGRES_URL when set; else the server on
# 127.0.0.1:$TINHSO_TEST_PG_PROBE_PORT (default 5432) when it answers and lets `postgres` in;
# else a throwaway cluster (initdb + pg_ctl, trust auth, 127.0.0.1 only, free port) that is
# stopped and deleted when the run exits. initdb refuses to run as root, so as root the
# cluster belongs to the `postgres` system user (created if missing) via runuser.
# Needs: common.sh (register_cluster, free_port, info, err).

PG_PROBE_PORT=${TINHSO_TEST_PG_PROBE_PORT:-5432}

# pg_bindir: the directory holding initdb and pg_ctl (newest installed major version).
pg_bindir() {
  local d
  d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1) || true
  if [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]]; then
    echo "$d"
    return 0
  fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  return 1
}

# pg_server_answers PORT: true when a PostgreSQL server accepts connections on 127.0.0.1:PORT.
pg_server_answers() {
  local port=$1
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p "$port" -t 3
  else
    port_in_use "$port"
  fi
}

# pg_can_connect URL: true when psql logs in with URL and runs a query.
pg_can_connect() {
  PGCONNECT_TIMEOUT=5 psql "$1" -X -qAt -v ON_ERROR_STOP=1 -c 'select 1' >/dev/null 2>&1
}

# pg_url_with_db URL DBNAME: the same server and credentials, another database.
pg_url_with_db() {
  local url=$1 db=$2
  if [[ $url =~ ^(postgres(ql)?://[^/?]*)(/[^?]*)?(\?.*)?$ ]]; then
    printf '%s/%s%s\n' "${BASH_REMATCH[1]}" "$db" "${BASH_REMATCH[4]}"
  else
    err "not a postgres:// URL: $url"
    return 1
  fi
}

# pg_url_redacted URL: for logs, with any password replaced.
pg_url_redacted() {
  sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#' <<<"$1"
}

create_database() {
  local url=$1 db=$2
  [[ $db =~ ^[a-z0-9_]+$ ]] || {
    err "bad database name $db"
    return 1
  }
  PGCONNECT_TIMEOUT=10 psql "$url" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\""
}

drop_database() {
  local url=$1 db=$2
  [[ $db =~ ^[a-z0-9_]+$ ]] || return 1
  PGCONNECT_TIMEOUT=10 psql "$url" -X -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
}

# _pg_as_owner DIR CMD...: runs CMD as the owner of the cluster directory DIR.
_pg_as_owner() {
  local dir=$1
  shift
  if ((EUID == 0)); then
    (cd "$dir" && runuser -u "$(stat -c %U "$dir")" -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

# pg_cluster_start: starts a throwaway cluster, registers it for cleanup, prints its admin URL.
pg_cluster_start() {
  local bindir dir port owner locale
  bindir=$(pg_bindir) || {
    err "no initdb/pg_ctl under /usr/lib/postgresql/*/bin (install the postgresql package)"
    return 1
  }
  dir=$(mktemp -d -t tinhso-pg.XXXXXX)
  register_cluster "$dir"
  if ((EUID == 0)); then
    owner=postgres
    if ! id -u "$owner" >/dev/null 2>&1; then
      owner=tinhso-pg
      id -u "$owner" >/dev/null 2>&1 ||
        useradd --system --no-create-home --shell /usr/sbin/nologin "$owner" >&2
    fi
    chown "$owner:" "$dir"
  fi
  chmod 700 "$dir"
  port=$(free_port)
  # C.UTF-8 keeps lower()/upper() right for Vietnamese; plain C only knows ASCII.
  locale=C
  if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale=C.UTF-8; fi

  info "throwaway cluster: $bindir, data $dir/data, port $port" >&2
  _pg_as_owner "$dir" "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
    --locale="$locale" --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    return 1
  }
  _pg_as_owner "$dir" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
    start >&2 || {
    cat "$dir/server.log" >&2
    return 1
  }
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

# pg_cluster_stop DIR: stops (fast, then immediate) and deletes a throwaway cluster.
pg_cluster_stop() {
  local dir=$1 bindir
  [[ -d $dir ]] || return 0
  if [[ -f $dir/data/postmaster.pid ]] && bindir=$(pg_bindir); then
    _pg_as_owner "$dir" "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      _pg_as_owner "$dir" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
      true
  fi
  rm -rf "$dir"
}

# pg_select_admin_url: prints the admin URL the tests should use (see the order above).
pg_select_admin_url() {
  local url
  if [[ -n ${TINHSO_TEST_POSTGRES_URL:-} ]]; then
    url=$TINHSO_TEST_POSTGRES_URL
    info "using TINHSO_TEST_POSTGRES_URL ($(pg_url_redacted "$url"))" >&2
    pg_can_connect "$url" || {
      err "TINHSO_TEST_POSTGRES_URL is set but psql cannot connect with it"
      return 1
    }
    echo "$url"
    return 0
  fi
  url="postgres://postgres@127.0.0.1:${PG_PROBE_PORT}/postgres"
  if pg_server_answers "$PG_PROBE_PORT"; then
    if pg_can_connect "$url"; then
      info "using the server on 127.0.0.1:${PG_PROBE_PORT}" >&2
      echo "$url"
      return 0
    fi
    info "a server answers on 127.0.0.1:${PG_PROBE_PORT} but does not let postgres in; starting a throwaway cluster" >&2
  else
    info "no server answers on 127.0.0.1:${PG_PROBE_PORT}; starting a throwaway cluster" >&2
  fi
  url=$(pg_cluster_start) || return 1
  pg_can_connect "$url" || {
    err "the throwaway cluster started but psql cannot connect to it"
    return 1
  }
  echo "$url"
}
