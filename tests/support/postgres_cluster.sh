#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests (SPEC §12): Debian's initdb and pg_ctl, run as an
# unprivileged user, in a folder of its own, on a free loopback port. The ctest fixture `postgres`
# starts and stops it; a test may pause and resume it to lose its database mid-run.
#   postgres_cluster.sh start DIR    a fresh cluster in DIR; its admin URI in DIR/uri, written last
#   postgres_cluster.sh pause DIR    stops the server, keeping its data and its port (DIR/port)
#   postgres_cluster.sh resume DIR   starts it again on the same port
#   postgres_cluster.sh stop DIR     stops it at once and removes DIR; quiet when DIR is gone
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 start|pause|resume|stop DIR" >&2
  exit 2
fi
action=$1
dir=$(realpath -m "$2")
# The postgres user may not read the caller's working directory.
cd /

# The server's own files live in $home: DIR itself, or, when the postgres user cannot reach DIR (a
# build tree under /root), a folder in /tmp whose name DIR/home holds.
home=$(cat "$dir/home" 2>/dev/null || echo "$dir")
[[ $home == /tmp/gatehouse-postgres.* ]] || home=$dir
data=$home/data
log=$home/server.log
# The newest installed server's programs; empty when there is none.
bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null |
  sort -V | tail -n 1)
python=/usr/bin/python3
[ -x "$python" ] || python=python3

# fail MESSAGE: says what went wrong, with the end of the server's log, and exits.
fail() {
  echo "postgres_cluster.sh: $*" >&2
  if [ -s "$log" ]; then
    echo "--- the last lines of $log:" >&2
    tail -n 20 "$log" >&2
  fi
  exit 1
}

# as_owner COMMAND ARGS...: runs COMMAND as the owner of the cluster: the `postgres` system user
# under root (the server refuses to run as root), else the current user.
as_owner() {
  if ((EUID == 0)); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# serve: starts the server of $data on the port in DIR/port; returns once it accepts connections.
serve() {
  local port
  port=$(cat "$dir/port")
  # TCP on loopback only: no Unix socket, so nothing in /var/run/postgresql and no limit on the
  # length of DIR's name. A throwaway cluster needs no durability: no fsync.
  as_owner "$bin/pg_ctl" -D "$data" -w -t 60 -l "$log" start -o "-c listen_addresses=127.0.0.1 \
-p $port -c unix_socket_directories='' -c fsync=off -c full_page_writes=off \
-c synchronous_commit=off -c max_connections=200" >/dev/null ||
    fail "the server did not start on port $port"
  for _ in $(seq 50); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres && return
    sleep 0.2
  done
  fail "the server started but does not accept connections on port $port"
}

stop() {
  [ -d "$dir" ] || return 0
  # Immediate: nothing to keep. Fails when the server is not running or was killed.
  if [ -n "$bin" ] && [ -f "$data/postmaster.pid" ] &&
    ! as_owner "$bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1; then
    # A server killed with -9 leaves its small System V segment (key and id on line 7 of
    # postmaster.pid) behind; it goes once its last orphaned process has detached.
    local key id
    if read -r key id < <(sed -n 7p "$data/postmaster.pid") && [ -n "$id" ] &&
      ipcs -m | awk -v key="$(printf '0x%08x' "$key")" -v id="$id" \
        '$1 == key && $2 == id { found = 1 } END { exit !found }'; then
      ipcrm -m "$id" 2>/dev/null || true
    fi
  fi
  rm -rf "$home" "$dir"
}

start() {
  [ -n "$bin" ] || fail "no PostgreSQL server in /usr/lib/postgresql/*/bin (bash scripts/setup.sh)"
  # What a crashed earlier run left.
  stop
  home=$dir
  mkdir -p "$dir"
  if ((EUID == 0)); then
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      home=$(mktemp -d /tmp/gatehouse-postgres.XXXXXX)
      chown postgres: "$home"
      echo "$home" >"$dir/home"
    fi
  fi
  data=$home/data
  log=$home/server.log
  as_owner "$bin/initdb" -D "$data" --auth=trust --username=postgres -E UTF8 --locale=C \
    --no-sync >"$home/initdb.log" 2>&1 || { log=$home/initdb.log && fail "initdb failed"; }
  # A port the kernel hands out for port 0: free again once python exits, and not handed out
  # again at once.
  "$python" -I -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' >"$dir/port" || fail "no free loopback port"
  serve
  echo "postgresql://postgres@127.0.0.1:$(cat "$dir/port")/postgres" >"$dir/uri.tmp"
  mv "$dir/uri.tmp" "$dir/uri"
}

case $action in
  start) start ;;
  stop) stop ;;
  pause)
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null || fail "the server did not stop"
    ;;
  resume) serve ;;
  *)
    echo "usage: $0 start|pause|resume|stop DIR" >&2
    exit 2
    ;;
esac
