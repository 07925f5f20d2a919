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
  libpq-dev                         # PostgreSQL's client library, for the shared store
  postgresql                        # the tests' throwaway server (initdb, pg_ctl as postgres)
  wrk                               # HTTP benchmark load
  gnuplot-nox                       # benchmark plots
  chromium                          # the console's browser tests
  fonts-noto-cjk                    # Japanese text in the console's screenshots
)
# Node.js runs the console's browser tests. A machine may bring its own node and npm from another
# source, which Debian's npm package conflicts with: Debian's are installed only where none is.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

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

# playwright-core for the browser tests, exactly as console/tests/package-lock.json pins it;
# installed again only when the lock file changed since the last install.
install_console_test_packages() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../console/tests" && pwd)"
  if [[ -f "$dir/node_modules/.package-lock.json" &&
        ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    return
  fi
  echo "setup: npm ci in console/tests"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

mapfile -t missing < <(not_installed "${packages[@]}")

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} required packages are installed"
  install_console_test_packages
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
install_console_test_packages
