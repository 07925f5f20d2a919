#!/usr/bin/env bash
# End-to-end test of the `gatehouse` command line (SPEC §8): exit codes and exact output of check,
# decide and contains on the fixtures beside this script, and the usage errors of the member-JWT
# flags of serve and jwt. Usage: cli_test.sh GATEHOUSE SOURCE_DIR
#
# Every expected line below was worked out by hand from SPEC §2.3 and the fixtures, not copied
# from the program's output.
source "$(dirname "$0")/../support/test_lib.sh"
fixtures=$source_dir/tests/cli/fixtures
policies=$source_dir/policies
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run ARGS...: runs gatehouse in the fixtures directory; leaves stdout, stderr and the exit status
# in $work/out, $work/err and $status.
run() {
  (cd "$fixtures" && "$gatehouse" "$@") >"$work/out" 2>"$work/err"
  status=$?
}

# expect NAME EXIT ARGS... <<EOF: runs gatehouse and compares the exit status and the whole of
# stdout (read from this function's stdin) exactly.
expect() {
  local name=$1 exit=$2
  shift 2
  cat >"$work/expected"
  run "$@"
  local ok=1
  if [ "$status" -ne "$exit" ]; then
    fail "$name: exit status $status, expected $exit"
    ok=0
  fi
  if ! diff -u "$work/expected" "$work/out" >"$work/diff"; then
    fail "$name: stdout differs (--- expected, +++ actual)"
    sed 's/^/    /' "$work/diff"
    ok=0
  fi
  if [ "$ok" -eq 0 ]; then
    echo "    stderr was:"
    sed 's/^/    | /' "$work/err"
  fi
}

# expect_stderr NAME LINE: the last run wrote LINE, whole, to stderr.
expect_stderr() {
  if ! grep -Fxq -- "$2" "$work/err"; then
    fail "$1: stderr lacks the line: $2"
    echo "    stderr was:"
    sed 's/^/    | /' "$work/err"
  fi
}

# expect_stderr_has NAME TEXT: the last run wrote TEXT somewhere on stderr.
expect_stderr_has() {
  if ! grep -Fq -- "$2" "$work/err"; then
    fail "$1: stderr lacks: $2"
    echo "    stderr was:"
    sed 's/^/    | /' "$work/err"
  fi
}

# ---- usage ------------------------------------------------------------------------------------

expect "no arguments" 2 </dev/null
expect_stderr_has "no arguments" "usage: gatehouse <command>"

run --help
[ "$status" -eq 0 ] || fail "--help: exit status $status, expected 0"
grep -Fq "usage: gatehouse <command>" "$work/out" || fail "--help: no usage on stdout"

expect "unknown command" 2 frobnicate </dev/null
expect_stderr "unknown command" "gatehouse: unknown command 'frobnicate'"

for command in check decide contains; do
  run "$command" --help
  [ "$status" -eq 0 ] || fail "$command --help: exit status $status, expected 0"
  grep -Fq "usage: gatehouse $command" "$work/out" || fail "$command --help: no usage on stdout"
done

# expect_usage_error NAME LINE ARGS...: gatehouse ARGS exits 2 with LINE, whole, on stderr. A
# `serve` that wrongly starts is stopped after 10 s, so that the test fails instead of hanging.
expect_usage_error() {
  local name=$1 line=$2
  shift 2
  (cd "$work" && timeout 10 "$gatehouse" "$@") >"$work/out" 2>"$work/err"
  status=$?
  [ "$status" -eq 2 ] || fail "$name: exit status $status, expected 2"
  expect_stderr "$name" "$line"
}

run serve --help
grep -Fq -- "--jwt-key-dir DIR" "$work/out" && grep -Fq -- "--jwt-audience AUD" "$work/out" ||
  fail "serve --help: the member-JWT flags are missing"
run jwt --help
grep -Fq -- "--jwt-issuer ISS" "$work/out" && grep -Fq -- "--jwt-audience AUD" "$work/out" ||
  fail "jwt --help: --jwt-issuer and --jwt-audience are missing"

serve=(serve --data "$work/data" --listen 127.0.0.1:0)
expect_usage_error "serve --jwt-alg alone" \
  "gatehouse serve: --jwt-alg goes with --jwt-public-key or --jwt-key-dir, and they need it" \
  "${serve[@]}" --jwt-alg RS256
expect_usage_error "serve --jwt-key-dir without --jwt-alg" \
  "gatehouse serve: --jwt-alg goes with --jwt-public-key or --jwt-key-dir, and they need it" \
  "${serve[@]}" --jwt-key-dir "$work"
expect_usage_error "serve --jwt-public-key without --jwt-alg" \
  "gatehouse serve: --jwt-alg goes with --jwt-public-key or --jwt-key-dir, and they need it" \
  "${serve[@]}" --jwt-public-key "$fixtures/good.json"
expect_usage_error "serve with both key sources" \
  "gatehouse serve: --jwt-public-key and --jwt-key-dir exclude each other" \
  "${serve[@]}" --jwt-public-key "$fixtures/good.json" --jwt-key-dir "$work" --jwt-alg RS256
expect_usage_error "serve --jwt-alg HS256" "gatehouse serve: --jwt-alg must be RS256 or ES256" \
  "${serve[@]}" --jwt-key-dir "$work" --jwt-alg HS256
expect_usage_error "serve --jwt-alg none" "gatehouse serve: --jwt-alg must be RS256 or ES256" \
  "${serve[@]}" --jwt-key-dir "$work" --jwt-alg none
expect_usage_error "serve --jwt-issuer ''" \
  "gatehouse serve: --jwt-issuer and --jwt-audience must not be empty" "${serve[@]}" --jwt-issuer ""
expect_usage_error "serve --jwt-audience ''" \
  "gatehouse serve: --jwt-issuer and --jwt-audience must not be empty" \
  "${serve[@]}" --jwt-issuer https://issuer.test --jwt-audience ""
expect_usage_error "serve --jwt-issuer without a value" \
  "gatehouse serve: the required argument for option '--jwt-issuer' is missing" \
  "${serve[@]}" --jwt-issuer
expect_usage_error "serve --jwt-issuer twice" \
  "gatehouse serve: option '--jwt-issuer' cannot be specified more than once" \
  "${serve[@]}" --jwt-issuer a --jwt-issuer b
expect_usage_error "jwt --jwt-issuer ''" \
  "gatehouse jwt: --jwt-issuer and --jwt-audience must not be empty" \
  jwt --data "$work/data" --member owner@example.com --jwt-issuer ""
expect_usage_error "jwt --jwt-audience ''" \
  "gatehouse jwt: --jwt-issuer and --jwt-audience must not be empty" \
  jwt --data "$work/data" --member owner@example.com --jwt-audience ""
expect_usage_error "jwt --jwt-audience without a value" \
  "gatehouse jwt: the required argument for option '--jwt-audience' is missing" \
  jwt --data "$work/data" --member owner@example.com --jwt-audience
expect_usage_error "serve --audit-retention 0" "gatehouse serve: --audit-retention takes 1 to 36500 days" \
  "${serve[@]}" --audit-retention 0
expect_usage_error "audit --type tok" \
  "gatehouse audit: --type takes an audit type such as token.rotate, or a topic: token, member, group, policy, organization" \
  audit --data "$work/data" --type tok
expect_usage_error "audit --from yesterday" \
  "gatehouse audit: --from takes an RFC 3339 time, such as 2027-01-31T00:00:00Z" \
  audit --data "$work/data" --from yesterday
expect_usage_error "audit without a data directory" \
  "gatehouse audit: no gatehouse data directory at '$work/data'; \`gatehouse serve --data $work/data\` creates one" \
  audit --data "$work/data"
[ ! -e "$work/data" ] || fail "a usage error created a data directory"

expect "check without files" 2 check </dev/null
expect_stderr "check without files" "gatehouse check: no FILE given"
expect "check with an unknown option" 2 check --bogus good.json </dev/null
expect "decide without --requests" 2 decide --statements good.json </dev/null
expect "contains without --granted" 2 contains --requested good.json </dev/null

# ---- check ------------------------------------------------------------------------------------

expect "check a clean file" 0 check good.json </dev/null
expect_stderr "check a clean file" "1 file, 0 errors, 0 warnings"

# "$schema" is how an editor finds the schema of a document; gatehouse accepts and ignores it.
expect "check a file that names its schema" 0 check with-schema.json </dev/null
expect_stderr "check a file that names its schema" "1 file, 0 errors, 0 warnings"

expect "check a file with a warning" 0 check warn.json <<'EOF'
warn.json:8:33: warning action-type-mismatch: action "CanAccessProject" belongs to resource type "project", but this statement's resourceType is "flag"; move it to a "project" statement
EOF
expect_stderr "check a file with a warning" "1 file, 0 errors, 1 warning"

expect "check files with errors" 1 check good.json bad.json broken.json <<'EOF'
bad.json:3:30: error unknown-action: unknown action "ToogleFlag"; did you mean "ToggleFlag"? (actions are case-sensitive; see SPEC 2.4, or use "*")
bad.json:4:34: error rn-trailing-slash: resource "project/web:env/:flag/*": segment path ends in '/': the key is missing at character 16; add the key after '/', or "*" for every key
bad.json:5:10: warning duplicate-statement-id: statement id "s1" is already used by the statement at /0; give each statement its own id so decisions can name it
bad.json:5:50: error bad-effect: effect "Allow" must be "allow" or "deny" (case-sensitive); did you mean "allow"?
broken.json:2:15: error malformed-json: invalid JSON: Missing a name for object member.
EOF
expect_stderr "check files with errors" "3 files, 4 errors, 1 warning"

expect "check a missing file" 1 check missing.json <<'EOF'
missing.json:1:1: error unreadable-file: cannot read "missing.json": No such file or directory; check the path and its permissions
EOF

expect "check --json" 0 check --json warn.json <<'EOF'
[{"file":"warn.json","line":8,"column":33,"severity":"warning","code":"action-type-mismatch","message":"action \"CanAccessProject\" belongs to resource type \"project\", but this statement's resourceType is \"flag\"; move it to a \"project\" statement","pointer":"/statements/0/actions/1"}]
EOF
expect "check --json, nothing found" 0 check --json good.json <<'EOF'
[]
EOF

expect "check the shipped policies" 0 check "$policies"/*.json "$policies"/examples/*.json </dev/null
expect_stderr "check the shipped policies" "6 files, 0 errors, 0 warnings"

# ---- decide -----------------------------------------------------------------------------------

# SPEC §2.3 vectors, prefixes, tags, deny wins, implicit deny, "*" actions; blank lines skipped.
expect "decide" 0 decide --statements decide-statements.json --requests requests.jsonl <<'EOF'
{"decision":"allow","statements":["tag-glob","tag-glob-copy"]}
{"decision":"implicit_deny","statements":[]}
{"decision":"implicit_deny","statements":[]}
{"decision":"allow","statements":["required-tag"]}
{"decision":"allow","statements":["env-tag"]}
{"decision":"implicit_deny","statements":[]}
{"decision":"allow","statements":["case-sensitive"]}
{"decision":"allow","statements":["dot-glob"]}
{"decision":"implicit_deny","statements":[]}
{"decision":"allow","statements":["bare-star"]}
{"decision":"implicit_deny","statements":[]}
{"decision":"implicit_deny","statements":[]}
{"decision":"allow","statements":["web-prefix"]}
{"decision":"allow","statements":["web-prefix","team-a-flags"]}
{"decision":"explicit_deny","statements":["no-prod-toggle","no-prod-changes"]}
{"decision":"explicit_deny","statements":["no-prod-changes"]}
{"decision":"explicit_deny","statements":["no-prod-toggle"]}
{"decision":"implicit_deny","statements":[]}
{"decision":"implicit_deny","statements":[]}
{"decision":"allow","statements":["any-action"]}
{"decision":"allow","statements":["any-action","say \"hi\""]}
{"decision":"allow","statements":["dot-glob"]}
EOF

# resourceType "*" matches every request, whatever its actions and resources say; a bare
# statement array loads like a document.
expect "decide with resourceType *" 0 decide --statements universal.json \
  --requests requests-universal.jsonl <<'EOF'
{"decision":"allow","statements":["everything"]}
{"decision":"explicit_deny","statements":["no-iam"]}
{"decision":"allow","statements":["everything"]}
{"decision":"allow","statements":["everything"]}
{"decision":"allow","statements":["everything"]}
EOF

expect "decide stops at a malformed line" 2 decide --statements decide-statements.json \
  --requests requests-bad.jsonl <<'EOF'
{"decision":"allow","statements":["dot-glob"]}
EOF
expect_stderr "decide stops at a malformed line" \
  "gatehouse decide: requests-bad.jsonl:3:30: invalid JSON: Missing a comma or '}' after an object member."

expect "decide on a request of the wrong type" 2 decide --statements decide-statements.json \
  --requests requests-wrong-type.jsonl </dev/null
expect_stderr "decide on a request of the wrong type" \
  'gatehouse decide: requests-wrong-type.jsonl:1: "action" must be a string'

expect "decide on statements with errors" 2 decide --statements bad.json \
  --requests requests.jsonl </dev/null
expect_stderr_has "decide on statements with errors" "bad.json:3:30: error unknown-action"

expect "decide on a missing requests file" 2 decide --statements good.json \
  --requests missing.jsonl </dev/null
expect_stderr_has "decide on a missing requests file" "missing.jsonl"

# ---- contains ---------------------------------------------------------------------------------

contained='{"contained":true,"counterexample":null}'
expect "administrator contains developer" 0 contains --granted "$policies/administrator.json" \
  --requested "$policies/developer.json" <<<"$contained"
expect "owner contains administrator" 0 contains --granted "$policies/owner.json" \
  --requested "$policies/administrator.json" <<<"$contained"
expect "developer contains read-only-integration" 0 contains \
  --granted "$policies/developer.json" \
  --requested "$policies/examples/read-only-integration.json" <<<"$contained"
expect "a tagged team grant contains a narrower tagged one" 0 contains \
  --granted "$policies/examples/team-flags-one-project.json" \
  --requested narrow-tagged.json <<<"$contained"

# expect_counterexample NAME GRANTED REQUESTED: contains answers "not contained", and its
# counterexample is allowed by REQUESTED and not by GRANTED when fed back through decide.
expect_counterexample() {
  local name=$1 granted=$2 requested=$3
  run contains --granted "$granted" --requested "$requested"
  [ "$status" -eq 0 ] || fail "$name: exit status $status, expected 0"
  local out
  out=$(cat "$work/out")
  local prefix='{"contained":false,"counterexample":'
  case $out in
    "$prefix"'{"action":'*',"resource":'*'}}') ;;
    *)
      fail "$name: expected a counterexample, got: $out"
      return
      ;;
  esac
  local request=${out#"$prefix"}
  request=${request%\}}
  printf '%s\n' "$request" >"$work/counterexample.jsonl"
  run decide --statements "$requested" --requests "$work/counterexample.jsonl"
  case $(cat "$work/out") in
    '{"decision":"allow",'*) ;;
    *) fail "$name: the requested statements do not allow the counterexample $request" ;;
  esac
  run decide --statements "$granted" --requests "$work/counterexample.jsonl"
  case $(cat "$work/out") in
    '{"decision":"implicit_deny",'* | '{"decision":"explicit_deny",'*) ;;
    *) fail "$name: the granted statements allow the counterexample $request" ;;
  esac
}

expect_counterexample "developer does not contain administrator" \
  "$policies/developer.json" "$policies/administrator.json"
expect_counterexample "no-production-toggles does not contain developer" \
  "$policies/examples/no-production-toggles.json" "$policies/developer.json"
expect_counterexample "a tagged grant does not contain an untagged request" \
  "$policies/examples/team-flags-one-project.json" "$fixtures/narrow-untagged.json"

expect "contains on a broken file" 2 contains --granted broken.json \
  --requested good.json </dev/null
expect_stderr_has "contains on a broken file" "broken.json:2:15: error malformed-json"

# A check that runs out of its work budget has no answer: exit 3, nothing on stdout. The creator
# denies what has the subsequence ABAB...; the token allows what has BABA...: their
# intersection has exponentially many parts.
python3 - "$work" <<'EOF'
import json, sys
denied, allowed = "project/", "project/"
while len(denied) + 5 <= 1024:
    denied += "*A*B"
    allowed += "*B*A"
def statement(effect, resource_type, actions, resource):
    return {"id": "s" + str(len(resource)), "resourceType": resource_type, "effect": effect,
            "actions": actions, "resources": [resource]}
json.dump([statement("allow", "*", ["*"], "*"), statement("deny", "flag", ["ToggleFlag"], denied + "*")],
          open(sys.argv[1] + "/interleaved-granted.json", "w"))
json.dump([statement("allow", "flag", ["ToggleFlag"], allowed + "*")],
          open(sys.argv[1] + "/interleaved-requested.json", "w"))
EOF
expect "contains too complex to answer" 3 contains --granted "$work/interleaved-granted.json" \
  --requested "$work/interleaved-requested.json" </dev/null
expect_stderr_has "contains too complex to answer" "containment budget"

# ---- check --stored ---------------------------------------------------------------------------

# 1,001 statements: a warning for a file, an error for what the service stores.
python3 - "$work/large.json" <<'EOF'
import json, sys
json.dump([{"id": "s%d" % i, "resourceType": "*", "effect": "allow", "actions": ["*"],
            "resources": ["*"]} for i in range(1001)], open(sys.argv[1], "w"))
EOF
expect "check a policy of 1,001 statements" 0 check "$work/large.json" <<EOF
$work/large.json:1:1: warning too-many-statements: 1001 statements; the service stores at most 1000 per policy; split them over several policies
EOF
expect "check --stored a policy of 1,001 statements" 1 check --stored "$work/large.json" <<EOF
$work/large.json:1:1: error too-many-statements: 1001 statements; at most 1000 can be stored here; split them over several policies
EOF

# ---- summary ----------------------------------------------------------------------------------

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all CLI checks passed"
