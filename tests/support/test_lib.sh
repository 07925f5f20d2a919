# What the shell tests share: their two arguments (the gatehouse executable and the source tree)
# and the tally of failed checks. Sourced by each test, so `$@` and `$0` are the test's own:
#   source "$(dirname "$0")/../support/test_lib.sh"
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 GATEHOUSE SOURCE_DIR" >&2
  exit 2
fi
gatehouse=$(realpath "$1")
source_dir=$(realpath "$2")

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
