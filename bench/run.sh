#!/usr/bin/env bash
# `make bench`: the in-process sweep, the plot, the token measurements (a million tokens by
# default: ~140 s of writing to SQLite, 900 MB in a temporary folder, removed afterwards), then
# the directory measurements (one organization filled to 100,000 members, ~5 s), and the hostile
# cases (the slowest decisions and token creations within the size limits, ~5 s).
# GATEHOUSE_BIN is the folder holding gatehouse-bench (default build/bin); BENCH_OUT the results
# folder (default bench/results); TOKENS the token count. Extra arguments go to the suite (e.g.
# --budget-ms 2000).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${GATEHOUSE_BIN:-$here/../build/bin}"
out="${BENCH_OUT:-$here/results}"
mkdir -p "$out"
"$bin/gatehouse-bench" suite --out "$out" "$@"
if command -v gnuplot >/dev/null; then
  bash "$here/plot.sh" "$out/decide.csv" "$here/decide.png"
else
  echo "run.sh: gnuplot not found, skipping the plot (Debian: gnuplot-nox)" >&2
fi
"$bin/gatehouse-bench" tokens --tokens "${TOKENS:-1000000}" --out "$out/tokens.json"
"$bin/gatehouse-bench" directory --out "$out/directory.json"
"$bin/gatehouse-bench" hostile --out "$out/hostile.json"
