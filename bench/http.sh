#!/usr/bin/env bash
# HTTP benchmark (SPEC §9): wrk against `gatehouse serve` answering POST /api/v1/decisions with a
# service token, and against gatehouse-minimal-server (a Beast server answering a fixed body) with
# the same load; prints requests/s, their ratio, latency percentiles and non-2xx counts.
#
# Usage: bench/http.sh [BUILD_DIR]   (default: build; needs bin/gatehouse, bin/gatehouse-minimal-server)
# Environment: THREADS (server threads, default: cores), WRK_THREADS (2), CONNECTIONS (32),
# DURATION (10s per run), ROUNDS (3), WARMUP (2s), OUT (a file for the JSON results).
# The two servers are loaded in turn, ROUNDS times each, and each one's median run is reported:
# on a small shared machine two runs in a row differ by 10 % or more.
set -euo pipefail

source_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$(realpath "${1:-$source_dir/build}")
gatehouse=$build_dir/bin/gatehouse
minimal=$build_dir/bin/gatehouse-minimal-server
threads=${THREADS:-$(nproc)}
wrk_threads=${WRK_THREADS:-2}
connections=${CONNECTIONS:-32}
duration=${DURATION:-10s}
rounds=${ROUNDS:-3}
warmup=${WARMUP:-2s}
for tool in "$gatehouse" "$minimal"; do
  [[ -x $tool ]] || { echo "http.sh: $tool is missing; run make build first" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "http.sh: wrk is missing (scripts/setup.sh installs it)" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME COMMAND...: runs COMMAND with its output in $work/NAME.log and waits (at most 20 s)
# for its `listening on HOST:PORT` line; sets $endpoint.
start() {
  local name=$1
  shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  local line
  for _ in $(seq 200); do
    line=$(grep -m1 '^listening on ' "$work/$name.log" || true)
    [[ -n $line ]] && { endpoint=${line#listening on }; return; }
    kill -0 "$!" 2>/dev/null || break
    sleep 0.1
  done
  echo "http.sh: $name did not start:" >&2
  cat "$work/$name.log" >&2
  exit 1
}

start gatehouse "$gatehouse" serve --data "$work/data" --listen 127.0.0.1:0 --threads "$threads"
gatehouse_url=http://$endpoint
start minimal "$minimal" --listen 127.0.0.1:0 --threads "$threads"
minimal_url=http://$endpoint

# A service token allowed to toggle flags; the load asks for one such decision again and again.
jwt=$("$gatehouse" jwt --data "$work/data" --member owner@example.com)
curl -sf -X POST "$gatehouse_url/api/v1/access-tokens" -H "Authorization: Bearer $jwt" \
  -H 'Content-Type: application/json' \
  -d '{"name": "bench", "type": "Service", "permissions": [{"id": "s1", "resourceType": "flag",
       "effect": "allow", "actions": ["ToggleFlag"], "resources": ["project/*:env/*:flag/*"]}]}' \
  >"$work/token.json"
GATEHOUSE_TOKEN=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])' \
  <"$work/token.json")
export GATEHOUSE_TOKEN
# The decision must be an allow, else the benchmark would time something else.
curl -sf -X POST "$gatehouse_url/api/v1/decisions" -H "Authorization: $GATEHOUSE_TOKEN" \
  -d '{"action": "ToggleFlag", "resource": "project/web:env/prod:flag/dark-mode"}' |
  grep -q '"allowed":true' || { echo "http.sh: the benchmark decision is not an allow" >&2; exit 1; }

# The token comes from the environment, so it is never written to a file.
cat >"$work/decisions.lua" <<'EOF'
wrk.method = "POST"
wrk.path = "/api/v1/decisions"
wrk.body = '{"action": "ToggleFlag", "resource": "project/web:env/prod:flag/dark-mode"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("GATEHOUSE_TOKEN")

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "requests_per_s": %.0f, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
EOF

# run URL: the measured run; prints wrk's JSON line.
run() {
  wrk -t"$wrk_threads" -c"$connections" -d"$duration" -s "$work/decisions.lua" "$1" |
    grep '^{"requests"'
}

settings="wrk -t$wrk_threads -c$connections -d$duration, $rounds rounds, server threads $threads,"
settings+=" $(nproc) cores"
echo "load: $settings; POST /api/v1/decisions with a service token (keep-alive)" >&2
for url in "$gatehouse_url" "$minimal_url"; do
  wrk -t"$wrk_threads" -c"$connections" -d"$warmup" -s "$work/decisions.lua" "$url" >/dev/null
done
: >"$work/gatehouse.jsonl"
: >"$work/minimal.jsonl"
for round in $(seq "$rounds"); do
  run "$gatehouse_url" >>"$work/gatehouse.jsonl"
  run "$minimal_url" >>"$work/minimal.jsonl"
  echo "round $round/$rounds done" >&2
done

python3 - "$work/gatehouse.jsonl" "$work/minimal.jsonl" "$settings" "${OUT:-}" <<'EOF'
import json, sys
def median_run(path):
    runs = sorted((json.loads(line) for line in open(path)), key=lambda r: r["requests_per_s"])
    return runs[len(runs) // 2], [r["requests_per_s"] for r in runs]
(g, g_all), (m, m_all) = median_run(sys.argv[1]), median_run(sys.argv[2])
ratio = g["requests_per_s"] / m["requests_per_s"]
print(f"{'':22} {'requests/s':>11} {'p50 µs':>8} {'p90 µs':>8} {'p99 µs':>8} {'non-2xx':>8}"
      f" {'socket errors':>14}  all runs (requests/s)")
for name, r, runs in (("gatehouse serve", g, g_all), ("minimal Beast server", m, m_all)):
    print(f"{name:22} {r['requests_per_s']:>11.0f} {r['p50_us']:>8} {r['p90_us']:>8} "
          f"{r['p99_us']:>8} {r['non_2xx']:>8} {r['socket_errors']:>14}  {runs}")
print(f"ratio gatehouse / minimal (medians): {ratio:.1%} (target >= 80%)")
if sys.argv[4]:
    with open(sys.argv[4], "w") as out:
        json.dump({"settings": sys.argv[3], "gatehouse": g, "minimal": m, "ratio": round(ratio, 4),
                   "gatehouse_runs": g_all, "minimal_runs": m_all}, out, indent=2)
        out.write("\n")
EOF
