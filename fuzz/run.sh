#!/usr/bin/env bash
# Runs every libFuzzer target for a fixed time on a temporary copy of its seed corpus (fuzz/corpus/
# TARGET, and policies/**/*.json for the JSON loader), so the repository is never modified.
# Fails when any target crashes, traps, leaks, hangs or takes too long over one input; the input
# that did it is kept and shown.
# Usage: fuzz/run.sh BIN_DIR [SECONDS_PER_TARGET]
set -euo pipefail

if (($# < 1)); then
  echo "usage: $0 BIN_DIR [SECONDS_PER_TARGET]" >&2
  exit 2
fi
bin_dir=$(cd "$1" && pwd)
seconds=${2:-60}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
artifacts=${FUZZ_ARTIFACTS:-$bin_dir/../fuzz-artifacts}
targets=(fuzz_policy_json fuzz_resource_name fuzz_engine_decide fuzz_engine_contains
         fuzz_http_handler)
# Inputs up to 1 MiB (SPEC 10), the size of the largest request body the server takes: no input may
# cost more than its size warrants, so the large ones must be tried too.
max_len=1048576
# Seconds one input may take; a slower one is a finding (a timeout- artifact), as it would be a
# request that holds a server thread. In these -O1 ASan+UBSan builds the slowest legitimate 1 MiB
# input measured is ~2.5 s (fuzz_policy_json: a policy of 231 statements of 100 resources each, or
# of 7,269 one-resource statements); the other targets take under 1 s. 25 s leaves ten times that
# for a slow or busy machine, while work growing faster than linearly in the input goes far beyond.
per_input_timeout=25

work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-fuzz.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
mkdir -p -- "$artifacts"
artifacts=$(cd "$artifacts" && pwd)

# Undefined behaviour is a crash, not a log line: libFuzzer must stop on it. ubsan.supp lists the
# known reports from third-party headers.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:suppressions=$root/fuzz/ubsan.supp}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}

passed=0
failed=0
for target in "${targets[@]}"; do
  executable=$bin_dir/$target
  if [[ ! -x $executable ]]; then
    echo "fuzz: $target: $executable is missing (build the gatehouse_fuzzers target)" >&2
    failed=$((failed + 1))
    continue
  fi

  corpus=$work/corpus/$target
  mkdir -p -- "$corpus"
  seeds=("$root/fuzz/corpus/$target"/*)
  if [[ $target == fuzz_policy_json ]]; then
    shopt -s globstar
    seeds+=("$root"/policies/**/*.json)
    shopt -u globstar
  fi
  for seed in "${seeds[@]}"; do
    # Names are made unique, as policies in different folders may share a file name.
    if [[ -f $seed ]]; then
      cp -- "$seed" "$corpus/$(printf '%s' "$seed" | cksum | cut -d' ' -f1)"
    fi
  done

  options=(-max_total_time="$seconds" -max_len="$max_len" -timeout="$per_input_timeout"
           -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$artifacts/$target-")
  if [[ -f $root/fuzz/dict/$target.dict ]]; then
    options+=(-dict="$root/fuzz/dict/$target.dict")
  fi
  rm -f -- "$artifacts/$target-"*

  log=$work/$target.log
  echo "fuzz: $target for ${seconds}s on $(find "$corpus" -type f | wc -l) seed inputs"
  if "$executable" "${options[@]}" "$corpus" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $target passed: ${runs:-?} runs, corpus grew to $(find "$corpus" -type f | wc -l) inputs"
    passed=$((passed + 1))
  else
    echo "fuzz: $target FAILED; the end of its log:"
    tail -n 80 -- "$log"
    for artifact in "$artifacts/$target-"*; do
      [[ -f $artifact ]] || continue
      echo "fuzz: failing input kept in $artifact; as base64:"
      head -c 4096 -- "$artifact" | base64
    done
    failed=$((failed + 1))
  fi
done

echo "fuzz: $passed passed, $failed failed"
((failed == 0))
