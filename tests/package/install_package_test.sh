#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and builds two host programs against it, as a
# user of the package would: examples/embed (find_package with COMPONENTS engine) and
# iam_consumer/ (find_package of everything, linking gatehouse::iam). Both must build, find the
# package in that prefix only, and print the expected answers. The prefix is removed afterwards.
# Usage: install_package_test.sh CMAKE BUILD_DIR SOURCE_DIR GENERATOR MAKE_PROGRAM CXX BUILD_TYPE
set -euo pipefail

cmake=$1 build_dir=$2 source_dir=$3 generator=$4 make_program=$5 cxx=$6 build_type=$7
work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-install-test.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
prefix=$work/prefix
log=$work/log

fail() {
  echo "FAIL: $*"
  exit 1
}
# Runs a command with its output in $log, shown only when it fails.
quietly() {
  "$@" >"$log" 2>&1 || { cat "$log"; fail "$*"; }
}

quietly "$cmake" --install "$build_dir" --prefix "$prefix"
config=$(find "$prefix" -name gatehouseConfig.cmake -print -quit)
[[ -n $config ]] || fail "no gatehouseConfig.cmake under the prefix"
for header in policy/document.hpp engine/compiled_policy.hpp engine/containment.hpp \
              store/database.hpp iam/service.hpp server/http_service.hpp; do
  [[ -f $prefix/include/gatehouse/$header ]] || fail "header gatehouse/$header not installed"
done
# The package must stand on its own: no path into the source or build tree, no build-only target.
package_dir=$(dirname "$config")
if grep -l -e "$source_dir" -e "$build_dir" -e gatehouse_build_options "$package_dir"/*.cmake; then
  fail "the installed package refers to the build: see the files above"
fi

# Configures and builds the project in $1 into $2 against $prefix only.
build_consumer() {
  quietly "$cmake" -S "$1" -B "$2" -G "$generator" -DCMAKE_MAKE_PROGRAM="$make_program" \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE="$build_type" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  local found
  found=$(sed -n 's/^gatehouse_DIR:PATH=//p' "$2/CMakeCache.txt")
  [[ $found == "$package_dir" ]] || fail "$1 found gatehouse in '$found', not in $package_dir"
  quietly "$cmake" --build "$2"
  # Headers and libraries come from the prefix, never from gatehouse's source or build tree.
  if grep -E '^ +(INCLUDES|LINK_LIBRARIES|LINK_PATH) = ' "$2/build.ninja" | grep -F "$source_dir/"
  then
    fail "$1 compiles or links with the paths above"
  fi
}

# Runs a built program; prints its output and keeps it in $output.
run_consumer() {
  output=$("$@" 2>&1) || fail "$* exited with $?:"$'\n'"$output"
  echo "$output"
}

build_consumer "$source_dir/examples/embed" "$work/embed"
run_consumer "$work/embed/embed"
# The counterexample may be any request beyond the creator's rights; embed checks it itself.
[[ $output == "decide ToggleFlag project/web:env/dev:flag/dark-mode: allow by edit-web
decide ToggleFlag project/web:env/prod:flag/dark-mode: explicit_deny by no-prod-toggle
decide DeleteFlag project/web:env/dev:flag/dark-mode: implicit_deny
contains dev-token: yes
contains any-env-token: no, e.g. "*"
all as expected" ]] || fail "embed's answers differ from the expected ones"

build_consumer "$source_dir/tests/package/iam_consumer" "$work/iam_consumer"
run_consumer "$work/iam_consumer/iam_consumer" "$work/gatehouse.db"
[[ $output == "owner may CanManageIAM on iam/*: yes
member JWT verifies: yes" ]] || fail "iam_consumer's answers differ from the expected ones"

echo "PASS: installed package used by examples/embed and iam_consumer"
