#!/usr/bin/env bash
# `make bench`: the in-process sweep into bench/results/, then the plot bench/decide.png.
# GATEHOUSE_BIN is the folder holding gatehouse-bench (default build/bin); extra arguments go to
# the suite (e.g. --budget-ms 2000).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${GATEHOUSE_BIN:-$here/../build/bin}"
"$bin/gatehouse-bench" suite --out "$here/results" "$@"
if command -v gnuplot >/dev/null; then
  bash "$here/plot.sh" "$here/results/decide.csv" "$here/decide.png"
else
  echo "run.sh: gnuplot not found, skipping the plot (Debian: gnuplot-nox)" >&2
fi
