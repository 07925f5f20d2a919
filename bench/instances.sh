#!/usr/bin/env bash
# Decisions per second of one and of two gatehouse instances on one PostgreSQL database (SPEC §12,
# docs/scaling.md), each instance pinned to a core of its own with taskset and given one thread.
#
# Usage: bench/instances.sh STORE_URI [BUILD_DIR]
#   STORE_URI: a libpq URI of a PostgreSQL server whose user may create databases; the run makes
#   a database of its own there and drops it at the end.
# Environment: DURATION (10s per run), CONNECTIONS (32 per wrk), ROUNDS (3), OUT (a file for the
# JSON results).
#
# One instance: the server on core 0, wrk on core 1, so that the server has a whole core to
# itself: decisions per second per core. Two instances: servers on cores 0 and 1, and one wrk per
# server pinned to the other core, at the same time; on a 2-core machine each core then runs one
# server and one wrk, so the sum is a floor of what two cores of servers answer, not a measure of
# two machines. Each figure is the median of ROUNDS runs.
set -euo pipefail

source_dir=$(cd "$(dirname "$0")/.." && pwd)
store=${1:?usage: bench/instances.sh STORE_URI [BUILD_DIR]}
build_dir=$(realpath "${2:-$source_dir/build}")
gatehouse=$build_dir/bin/gatehouse
duration=${DURATION:-10s}
connections=${CONNECTIONS:-32}
rounds=${ROUNDS:-3}
for tool in wrk taskset psql; do
  command -v "$tool" >/dev/null || { echo "instances.sh: $tool is missing" >&2; exit 2; }
done
[[ -x $gatehouse ]] || { echo "instances.sh: $gatehouse is missing; run make build" >&2; exit 2; }
(($(nproc) >= 2)) || { echo "instances.sh: needs 2 cores" >&2; exit 2; }

work=$(mktemp -d)
database=gatehouse_scale_$$
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql -q "$store" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql -q "$store" -c "CREATE DATABASE $database" >/dev/null
uri="${store%/*}/$database"

# start NAME CORE DIR: an instance on DIR pinned to CORE; sets $endpoint.
start() {
  taskset -c "$2" "$gatehouse" serve --data "$3" --store "$uri" --listen 127.0.0.1:0 --threads 1 \
    --access-log off >"$work/$1.log" 2>&1 &
  pids+=($!)
  local line
  for _ in $(seq 200); do
    line=$(grep -m1 '^listening on ' "$work/$1.log" || true)
    [[ -n $line ]] && { endpoint=${line#listening on }; return; }
    sleep 0.1
  done
  echo "instances.sh: $1 did not start:" >&2
  cat "$work/$1.log" >&2
  exit 1
}

start a 0 "$work/a"
a_url=http://$endpoint
cp -a "$work/a" "$work/b"
jwt=$("$gatehouse" jwt --data "$work/a" --store "$uri" --member owner@example.com)
secret=$(curl -sf -X POST "$a_url/api/v1/access-tokens" -H "Authorization: Bearer $jwt" \
  -H 'Content-Type: application/json' -d '{"name": "bench", "type": "Service", "permissions":
  [{"id": "s1", "resourceType": "flag", "effect": "allow", "actions": ["ToggleFlag"],
  "resources": ["project/*:env/*:flag/*"]}]}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])')

cat >"$work/decisions.lua" <<'LUA'
wrk.method = "POST"
wrk.path = "/api/v1/decisions"
wrk.body = '{"action": "ToggleFlag", "resource": "project/web:env/prod:flag/dark-mode"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("GATEHOUSE_TOKEN")
function done(summary, latency, requests)
  io.write(string.format('%.0f %d %d\n', summary.requests / (summary.duration / 1e6),
    summary.errors.status, latency:percentile(99)))
end
LUA

# load CORE URL: wrk pinned to CORE against URL; prints "requests/s non-2xx p99_us".
load() {
  GATEHOUSE_TOKEN=$secret taskset -c "$1" wrk -t1 -c"$connections" -d"$duration" \
    -s "$work/decisions.lua" "$2/" | tail -1
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

one=()
for _ in $(seq "$rounds"); do
  read -r rate errors _ < <(load 1 "$a_url")
  ((errors == 0)) || { echo "instances.sh: $errors non-2xx answers" >&2; exit 1; }
  one+=("$rate")
done

start b 1 "$work/b"
b_url=http://$endpoint
# B answers the token A created: the change reached it through the database.
curl -sf -X POST "$b_url/api/v1/decisions" -H "Authorization: $secret" \
  -d '{"action": "ToggleFlag", "resource": "project/web:env/prod:flag/x"}' | grep -q '"allowed":true' ||
  { echo "instances.sh: instance B does not know the token" >&2; exit 1; }
two=()
for _ in $(seq "$rounds"); do
  load 0 "$b_url" >"$work/b.rate" &
  read -r rate_a errors_a _ < <(load 1 "$a_url")
  wait $!
  read -r rate_b errors_b _ <"$work/b.rate"
  ((errors_a + errors_b == 0)) || { echo "instances.sh: non-2xx answers" >&2; exit 1; }
  two+=($((rate_a + rate_b)))
done

one_median=$(printf '%s\n' "${one[@]}" | median)
two_median=$(printf '%s\n' "${two[@]}" | median)
result=$(printf '{"benchmark": "instances-http", "duration": "%s", "connections": %d, "rounds": %d, "one_instance_per_s": %s, "two_instances_per_s": %s, "one_runs": [%s], "two_runs": [%s]}' \
  "$duration" "$connections" "$rounds" "$one_median" "$two_median" \
  "$(IFS=,; echo "${one[*]}")" "$(IFS=,; echo "${two[*]}")")
echo "$result"
[[ -n ${OUT:-} ]] && echo "$result" >"$OUT"
exit 0
