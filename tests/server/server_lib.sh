# What the tests of the server over real sockets share: a fresh data directory and a copy of the
# built-in policies in a temporary folder, `gatehouse serve` started and stopped on a free loopback
# port, requests with curl, and checks of status, envelope and JSON body. Sourced by each test:
#   source "$(dirname "$0")/server_lib.sh"
# Needs curl, openssl and python3.
source "$(dirname "${BASH_SOURCE[0]}")/../support/test_lib.sh"

for tool in curl openssl; do
  command -v "$tool" >/dev/null || { echo "$(basename "$0"): $tool is missing" >&2; exit 2; }
done
# Debian's interpreter, isolated from user site packages, starts several times faster than a
# version-manager shim; a script runs it dozens of times.
python=/usr/bin/python3
if [ ! -x "$python" ]; then
  python=$(command -v python3) || { echo "$(basename "$0"): python3 is missing" >&2; exit 2; }
fi
py() { "$python" -I -B "$@"; }
# Where the scripts' Python finds test_connect.py (-I leaves PYTHONPATH out).
export GATEHOUSE_TEST_PY
GATEHOUSE_TEST_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
# GATEHOUSE_TEST_TLS=1: every server is started with a throwaway certificate (--tls-cert,
# --tls-key) and every request goes over HTTPS, verified against that certificate: curl through
# the wrapper below, raw sockets in the scripts' Python through GATEHOUSE_TEST_CA.
tls=${GATEHOUSE_TEST_TLS:-}
scheme=http
tls_flags=()
if [ -n "$tls" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -keyout "$work/tls.key" -out "$work/tls.crt" -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 ||
    { echo "$(basename "$0"): openssl cannot make a test certificate" >&2; exit 2; }
  scheme=https
  tls_flags=(--tls-cert "$work/tls.crt" --tls-key "$work/tls.key")
  export GATEHOUSE_TEST_CA=$work/tls.crt
  curl() { command curl --cacert "$work/tls.crt" "$@"; }
fi
data=$work/data
policies=$work/policies
cp -r "$source_dir/policies" "$policies"

# GATEHOUSE_TEST_STORE=postgresql: the servers keep their state in a fresh database on the test
# cluster of GATEHOUSE_TEST_POSTGRES_DIR (SPEC §12) instead of SQLite in $data, dropped at exit.
store_flags=()
pg_database=
if [ "${GATEHOUSE_TEST_STORE:-}" = postgresql ]; then
  pg_admin=$(cat "${GATEHOUSE_TEST_POSTGRES_DIR:?the PostgreSQL test cluster is not set}/uri") ||
    { echo "$(basename "$0"): no PostgreSQL test cluster" >&2; exit 2; }
  pg_database=gatehouse_$(basename "$0" .sh)_$$
  psql -q "$pg_admin" -c "CREATE DATABASE $pg_database" >/dev/null ||
    { echo "$(basename "$0"): cannot create a database on the test cluster" >&2; exit 2; }
  store_flags=(--store "${pg_admin%/*}/$pg_database")
fi

server_pid=
log=
# Every exit path stops the server (hard: a test that failed must not leave it running).
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  if [ -n "$pg_database" ]; then
    psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $pg_database WITH (FORCE)" >/dev/null 2>&1
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

checks=0

# ---- Server ----------------------------------------------------------------------------------

# start_server NAME ARGS...: serves $data on a free port with ARGS, output in $work/NAME.log;
# waits (at most 10 s) for `listening on`, then sets $base.
start_server() {
  local name=$1
  shift
  log=$work/$name.log
  "$gatehouse" serve --data "$data" --listen 127.0.0.1:0 --policies "$policies" \
    "${tls_flags[@]}" "${store_flags[@]}" "$@" >"$log" 2>&1 &
  server_pid=$!
  local line
  for _ in $(seq 100); do
    line=$(grep -m1 '^listening on 127\.0\.0\.1:[0-9]*$' "$log")
    if [ -n "$line" ]; then
      base=$scheme://${line#listening on }
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FATAL: the server did not start; its output:"
  sed 's/^/    | /' "$log"
  exit 1
}

# wait_exit SECONDS: waits for the server to exit; sets $server_status (timeout: 124).
wait_exit() {
  local tenths=$(($1 * 10))
  for _ in $(seq "$tenths"); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      wait "$server_pid"
      server_status=$?
      server_pid=
      return 0
    fi
    sleep 0.1
  done
  server_status=124
}

# wait_log NAME PATTERN: waits (at most 5 s) for a log line matching PATTERN (grep -E).
wait_log() {
  for _ in $(seq 50); do
    grep -Eq -- "$2" "$log" && return 0
    sleep 0.1
  done
  fail "$1: no log line matches /$2/"
  echo "    log tail:"
  tail -5 "$log" | sed 's/^/    | /'
}

# ---- Requests and checks ---------------------------------------------------------------------

# req METHOD PATH AUTH [BODY]: one request; leaves the status in $status and the body in
# $work/body. AUTH is the whole Authorization value, or "" for none.
req() {
  local method=$1 path=$2 auth=$3
  local args=(-s -o "$work/body" -D "$work/headers" -w '%{http_code}' --max-time 5 -X "$method"
              -H 'Content-Type: application/json')
  [ -n "$auth" ] && args+=(-H "Authorization: $auth")
  [ -n "${if_match:-}" ] && args+=(-H "If-Match: $if_match")
  [ $# -ge 4 ] && args+=(--data-binary "$4")
  status=$(curl "${args[@]}" "$base$path")
}

# header NAME: the value of header NAME in the last answer (case-insensitive), or nothing.
header() {
  tr -d '\r' <"$work/headers" | awk -v name="$1" -F': ' 'tolower($1) == tolower(name) { print $2 }'
}

# expect_status NAME CODE: the last request answered CODE.
expect_status() {
  checks=$((checks + 1))
  if [ "$status" != "$2" ]; then
    fail "$1: status $status, expected $2"
    echo "    body: $(head -c 400 "$work/body")"
    return 1
  fi
}

# json EXPR: evaluates the Python expression EXPR on the last body (`d`), printed as JSON.
json() {
  py -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps(eval(sys.argv[2]), sort_keys=True, separators=(",", ":")))' \
    "$work/body" "$1" 2>/dev/null || echo "<no such value>"
}

# expect_json NAME EXPR VALUE: EXPR on the last body is VALUE (compact JSON).
expect_json() {
  checks=$((checks + 1))
  local actual
  actual=$(json "$2")
  if [ "$actual" != "$3" ]; then
    fail "$1: $2 is $actual, expected $3"
    echo "    body: $(head -c 400 "$work/body")"
  fi
}

# expect_envelope NAME CODE ERROR: status CODE and the failure envelope with ERROR.
expect_envelope() {
  expect_status "$1" "$2" && expect_json "$1" '[d["success"], d["errors"]]' "[false,[\"$3\"]]"
}

# decide NAME AUTH ACTION RESOURCE DECISION: a single decision answered 200 with DECISION.
decide() {
  req POST /api/v1/decisions "$2" "{\"action\": \"$3\", \"resource\": \"$4\"}"
  expect_status "$1" 200 && expect_json "$1" 'd["data"]["decision"]' "\"$5\""
}

jwt_for() {
  "$gatehouse" jwt --data "$data" "${store_flags[@]}" --policies "$policies" --member "$1" "${@:2}"
}
# stop_server: SIGTERM; the server must exit 0 within 10 s.
stop_server() {
  kill -TERM "$server_pid"
  wait_exit 10
  [ "$server_status" = 0 ] || fail "SIGTERM: exit status $server_status, expected 0"
}

# finish: the tally, and the exit status that fails the test when a check failed.
finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures of $checks checks failed"
    exit 1
  fi
  echo "all $checks checks passed"
}
