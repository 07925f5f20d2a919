#!/usr/bin/env bash
# Plots ns/decision against statement count from the suite's decide.csv into a PNG (gnuplot,
# pngcairo terminal, which Debian's gnuplot-nox has).
# Usage: bench/plot.sh [decide.csv] [out.png]   (defaults: bench/results/decide.csv, bench/decide.png)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
csv="${1:-$here/results/decide.csv}"
png="${2:-$here/decide.png}"
if ! command -v gnuplot >/dev/null; then
  echo "plot.sh: gnuplot not found (Debian: apt-get install gnuplot-nox)" >&2
  exit 2
fi
[[ -r "$csv" ]] || { echo "plot.sh: cannot read $csv (run the suite first)" >&2; exit 2; }
gnuplot -e "csv='$csv'; png='$png'" "$here/plot.gp"
echo "wrote $png"
