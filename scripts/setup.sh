#!/usr/bin/env bash
# Installs the Debian bookworm packages gatehouse needs to build, test, fuzz and benchmark.
# Idempotent: installs only what dpkg does not list as installed, and touches apt only then.
set -euo pipefail

packages=(
  build-essential                   # g++, make
  cmake
  ninja-build
  git
  pkg-config
  python3
  curl                              # HTTP integration tests, README walk-through
  openssl                           # RS256 JWTs of the HTTP integration test
  clang                             # libFuzzer targets (clang 14 on bookworm)
  libclang-rt-14-dev                # clang's sanitizer and libFuzzer runtimes
  libboost1.81-dev                  # Spirit X3, MultiIndex, Beast/Asio, System
  libboost-test1.81-dev             # Boost.Test
  libboost-program-options1.81-dev  # the CLI
  rapidjson-dev
  libssl-dev
  libsqlite3-dev
  libjwt-dev
  wrk                               # HTTP benchmark load
  gnuplot-nox                       # benchmark plots
)

# Prints those of the named packages that dpkg does not list as installed, one per line.
not_installed() {
  local -A status=()
  local name state
  # dpkg-query exits non-zero when it knows a name not at all; such a name is simply missing.
  while read -r name state; do
    status[$name]=$state
  done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null || true)
  for name in "$@"; do
    [[ "${status[$name]:-}" == installed ]] || echo "$name"
  done
}

mapfile -t missing < <(not_installed "${packages[@]}")

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} required packages are installed"
  exit 0
fi

echo "setup: missing packages: ${missing[*]}"
if ((EUID != 0)); then
  echo "setup: error: installing packages needs root; run as root:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Waits for another apt/dpkg run (e.g. unattended upgrades on a fresh machine) rather than failing.
apt_options=(-y -q -o DPkg::Lock::Timeout=600)

echo "setup: apt-get update"
apt-get "${apt_options[@]}" update
echo "setup: apt-get install ${missing[*]}"
apt-get "${apt_options[@]}" install --no-install-recommends "${missing[@]}" </dev/null

mapfile -t still_missing < <(not_installed "${missing[@]}")
if ((${#still_missing[@]} > 0)); then
  echo "setup: error: still not installed after apt-get: ${still_missing[*]}" >&2
  exit 1
fi
echo "setup: installed ${missing[*]}"
