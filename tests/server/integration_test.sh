#!/usr/bin/env bash
# The HTTP server over real sockets (SPEC §6, §8): `gatehouse serve` on a free loopback port with
# a fresh data directory; every route family, credentials and their edge cases, transport limits
# and the per-client connection cap, /healthz and /metrics, the access log, SIGHUP reload and
# SIGTERM graceful shutdown. The host application's JWT keys are host_keys_test.sh's. With
# GATEHOUSE_TEST_TLS=1, all of it over HTTPS with a throwaway certificate; with
# GATEHOUSE_TEST_STORE=postgresql, on a PostgreSQL database instead of SQLite (server_lib.sh).
# Usage: integration_test.sh GATEHOUSE SOURCE_DIR. Needs curl, openssl and python3. Runs in ~10 s.
source "$(dirname "$0")/server_lib.sh"

echo "== start on an empty data directory"
start_server first --read-timeout 1s
grep -q '^Initialized ' "$log" || fail "first start: no getting-started text"
grep -q 'jwt --data' "$log" || fail "first start: the getting-started text lacks the jwt command"
# The database files too, whatever the umask (SPEC §7); the server keeps -wal and -shm open.
files=(token.key jwt.key)
if [ -n "$pg_database" ]; then
  [ -e "$data/gatehouse.db" ] && fail "--store: an SQLite database was created beside it"
else
  files+=(gatehouse.db gatehouse.db-wal gatehouse.db-shm)
fi
for file in "${files[@]}"; do
  mode=$(stat -c %a "$data/$file")
  [ "$mode" = 600 ] || fail "$file has mode $mode, expected 600"
done

echo "== health and credentials"
req GET /healthz ""
expect_status "healthz" 200
if [ -n "$tls" ]; then
  checks=$((checks + 1))
  case $base in https://*) ;; *) fail "TLS: the server did not serve HTTPS ($base)" ;; esac
  command curl -s --max-time 2 -o /dev/null "http://${base#https://}/healthz" &&
    fail "TLS: plain HTTP was answered"
fi
owner_jwt=$(jwt_for owner@example.com) || fail "gatehouse jwt for the owner"
owner="Bearer $owner_jwt"
jwt_for nobody@example.com >/dev/null 2>&1
[ $? -eq 2 ] || fail "gatehouse jwt for an unknown member must exit 2"
"$gatehouse" jwt --data "$work/nothing" --member owner@example.com >/dev/null 2>&1
[ $? -eq 2 ] || fail "gatehouse jwt on a missing data directory must exit 2"
[ ! -e "$work/nothing" ] || fail "gatehouse jwt created a data directory"

decide "owner decision" "$owner" ToggleFlag project/web:env/prod:flag/dark-mode allow
expect_json "owner decision" '[d["success"], d["data"]["allowed"], d["data"]["subject"]["kind"]]' \
  '[true,true,"member"]'
owner_id=$(json 'd["data"]["subject"]["id"]' | tr -d '"')
req POST /api/v1/decisions "$owner" \
  '{"checks": [{"action": "ToggleFlag", "resource": "project/web"}, {"action": "CreateOrg", "resource": "organization/x"}]}'
expect_status "batch decision" 200
expect_json "batch decision" '[r["allowed"] for r in d["data"]["results"]]' '[true,true]'

echo "== members"
req POST /api/v1/members/add "$owner" '{"email": "dev@example.com", "policyIds": [], "groupIds": []}'
expect_status "add member" 201
dev_id=$(json 'd["data"]["id"]' | tr -d '"')
req POST /api/v1/members/add "$owner" '{"email": "dev@example.com", "policyIds": [], "groupIds": []}'
expect_status "add member twice" 409
req GET /api/v1/members "$owner"
expect_status "list members" 200
expect_json "list members" 'sorted(m["email"] for m in d["data"])' \
  '["dev@example.com","owner@example.com"]'
req GET "/api/v1/members/$dev_id/policies" "$owner"
expect_status "member policies" 200
expect_json "new member gets Developer" '[p["id"] for p in d["data"]]' \
  '["66f3687f-939d-4257-bd3f-c3553d39e1b6"]'
admin_id=3e961f0f-6fd4-4cf4-910f-52d356f8cc08
req PUT "/api/v1/members/$dev_id/add-policy/$admin_id" "$owner"
expect_status "attach Administrator" 200
req PUT "/api/v1/members/$dev_id/remove-policy/$admin_id" "$owner"
expect_status "detach Administrator" 200
dev="Bearer $(jwt_for dev@example.com)"
decide "developer toggles flags" "$dev" ToggleFlag project/web:env/prod:flag/x allow
decide "developer cannot manage IAM" "$dev" CanManageIAM iam/members implicit_deny
req GET /api/v1/members "$dev"
expect_envelope "developer lists members" 403 Forbidden
req GET /api/v1/user/policies "$dev"
expect_status "own policies" 200
expect_json "own policies" '[p["key"] for p in d["data"]]' '["developer"]'

echo "== policies"
req GET /api/v1/policies "$owner"
expect_status "list policies" 200
expect_json "built-ins listed" 'sorted(p["key"] for p in d["data"] if p["type"] == "SysManaged")' \
  '["administrator","developer","owner"]'
req POST /api/v1/policies "$owner" '{"name": "Flag readers", "key": "flag-readers", "description": "d"}'
expect_status "create policy" 201
policy_id=$(json 'd["data"]["id"]' | tr -d '"')
req POST /api/v1/policies "$owner" '{"name": "Other", "key": "flag-readers", "description": ""}'
expect_envelope "policy key used twice" 422 KeyHasBeenUsed
req PUT "/api/v1/policies/$policy_id/statements" "$owner" \
  '[{"id": "s1", "resourceType": "flag", "effect": "deny", "actions": ["DeleteFlag"], "resources": ["project/*:env/prod:flag/*"]}]'
expect_status "set statements" 200
req GET "/api/v1/policies/$policy_id" "$owner"
expect_status "get policy" 200
expect_json "get policy" '[s["id"] for s in d["data"]["statements"]]' '["s1"]'
etag=$(header ETag)
expect_json "the ETag names the version" '"\"%d\"" % d["data"]["version"]' "$(printf '%s' "$etag" | py -c 'import json, sys; print(json.dumps(sys.stdin.read()))')"
widened='[{"id": "s2", "resourceType": "flag", "effect": "allow", "actions": ["ToggleFlag"], "resources": ["project/*:env/*:flag/*"]}]'
if_match=$etag req POST "/api/v1/policies/$policy_id/preview" "$owner" "$widened"
expect_status "preview" 200
expect_json "preview adds ToggleFlag" \
  '[[r["action"] for r in d["data"]["grants"][k]] for k in ("added", "removed")]' '[["ToggleFlag"],[]]'
deny_prod='[{"id": "s1", "resourceType": "flag", "effect": "deny", "actions": ["DeleteFlag"], "resources": ["project/*:env/prod:flag/*"]}]'
if_match=$etag req PUT "/api/v1/policies/$policy_id/statements" "$owner" "$deny_prod"
expect_status "save the version read" 200
if_match=$etag req PUT "/api/v1/policies/$policy_id/statements" "$owner" "$widened"
expect_envelope "save a version someone else replaced" 409 Conflict
req DELETE "/api/v1/policies/$admin_id" "$owner"
expect_envelope "delete a built-in" 422 CannotModifySysManagedPolicy
req PUT "/api/v1/policies/$policy_id/statements" "$owner" '[{"id": "s1"'
expect_status "malformed statements" 400

echo "== groups"
req POST /api/v1/groups "$owner" '{"name": "ops", "description": "on call"}'
expect_status "create group" 201
group_id=$(json 'd["data"]["id"]' | tr -d '"')
req PUT "/api/v1/groups/$group_id/add-member/$dev_id" "$owner"
expect_status "group add member" 200
req PUT "/api/v1/groups/$group_id/add-policy/$policy_id" "$owner"
expect_status "group add policy" 200
decide "deny through a group" "$dev" DeleteFlag project/web:env/prod:flag/x explicit_deny
req GET /api/v1/groups "$owner"
expect_json "list groups" '[[g["name"], g["memberIds"], g["policyIds"]] for g in d["data"]]' \
  "[[\"ops\",[\"$dev_id\"],[\"$policy_id\"]]]"
req PUT "/api/v1/groups/$group_id/remove-policy/$policy_id" "$owner"
expect_status "group remove policy" 200
req PUT "/api/v1/groups/$group_id/remove-member/$dev_id" "$owner"
expect_status "group remove member" 200
decide "deny gone with the group" "$dev" DeleteFlag project/web:env/prod:flag/x allow
req DELETE "/api/v1/groups/$group_id" "$owner"
expect_status "delete group" 200
req DELETE "/api/v1/policies/$policy_id" "$owner"
expect_status "delete policy" 200
req GET "/api/v1/policies/$policy_id" "$owner"
expect_envelope "deleted policy" 404 ResourceNotFound

echo "== audit trail"
req GET "/api/v1/audit-log?type=group" "$owner"
expect_status "audit log" 200
expect_json "audit log of the group, newest first" '[r["type"] for r in d["data"]["items"]]' \
  '["group.delete","group.remove-member","group.detach-policy","group.attach-policy","group.add-member","group.create"]'
expect_json "audit log names the target" '{r["targetId"] for r in d["data"]["items"]} == {"'"$group_id"'"}' true
req GET "/api/v1/audit-log" "$dev"
expect_envelope "audit log for a developer" 403 Forbidden
# The command reads the same trail from the database while the server runs, oldest first.
checks=$((checks + 1))
"$gatehouse" audit --data "$data" "${store_flags[@]}" --type group >"$work/audit" 2>"$work/audit-err" ||
  fail "gatehouse audit: exit status $?: $(cat "$work/audit-err")"
py -c 'import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
print(",".join(r["type"] for r in lines))' "$work/audit" >"$work/audit-types"
[ "$(cat "$work/audit-types")" = "group.create,group.add-member,group.attach-policy,group.detach-policy,group.remove-member,group.delete" ] ||
  fail "gatehouse audit --type group: $(cat "$work/audit-types")"

echo "== access tokens"
flag_statement='{"id": "s1", "resourceType": "flag", "effect": "allow", "actions": ["ToggleFlag"], "resources": ["project/web:env/*:flag/*"]}'
req POST /api/v1/access-tokens "$owner" "{\"name\": \"ci\", \"type\": \"Service\", \"permissions\": [$flag_statement]}"
expect_status "create service token" 201
expect_json "create service token" '[d["data"]["name"], d["data"]["type"], d["data"]["status"], d["data"]["token"][:4]]' \
  '["ci","Service","Active","api-"]'
service_secret=$(json 'd["data"]["token"]' | tr -d '"')
service_id=$(json 'd["data"]["id"]' | tr -d '"')
decide "raw token" "$service_secret" ToggleFlag project/web:env/prod:flag/x allow
expect_json "raw token subject" 'd["data"]["subject"]' "{\"id\":\"$service_id\",\"kind\":\"service-token\"}"
decide "Bearer token" "Bearer $service_secret" ToggleFlag project/web:env/dev:flag/y allow
decide "token scope" "$service_secret" DeleteFlag project/web:env/prod:flag/x implicit_deny
req GET /api/v1/access-tokens "$service_secret"
expect_envelope "a token cannot manage tokens" 403 Forbidden
req GET '/api/v1/access-tokens?pageIndex=0&pageSize=10' "$owner"
expect_status "list tokens" 200
expect_json "list tokens" '[d["data"]["totalCount"], [t["name"] for t in d["data"]["items"]], "token" in d["data"]["items"][0]]' \
  '[1,["ci"],false]'
req GET '/api/v1/access-tokens/is-name-used?name=CI' "$owner"
expect_json "name used, any case" 'd["data"]' true
req POST /api/v1/access-tokens "$owner" '{"name": "ci", "type": "Personal", "permissions": []}'
expect_envelope "token name used twice" 422 NameHasBeenUsed
req PUT "/api/v1/access-tokens/$service_id" "$owner" '{"name": "ci-renamed"}'
expect_status "rename token" 200
req PUT "/api/v1/access-tokens/$service_id/toggle" "$owner"
expect_status "deactivate token" 200
req POST /api/v1/decisions "$service_secret" '{"action": "ToggleFlag", "resource": "project/web:env/prod:flag/x"}'
expect_envelope "inactive token" 403 Forbidden
req PUT "/api/v1/access-tokens/$service_id/toggle" "$owner"
expect_status "activate token" 200
decide "reactivated token" "$service_secret" ToggleFlag project/web:env/prod:flag/x allow

# Capping: the developer may not mint a token for IAM management.
req POST /api/v1/access-tokens "$dev" \
  '{"name": "too-much", "type": "Service", "permissions": [{"id": "s1", "resourceType": "iam", "effect": "allow", "actions": ["CanManageIAM"], "resources": ["iam/*"]}]}'
expect_envelope "token beyond its creator" 403 Forbidden
expect_json "counterexample" 'd["data"]["counterexample"]["action"]' '"CanManageIAM"'
req POST /api/v1/access-tokens "$dev" '{"name": "mine", "type": "Personal", "permissions": []}'
expect_status "personal token" 201
personal_secret=$(json 'd["data"]["token"]' | tr -d '"')
decide "personal token" "$personal_secret" ToggleFlag project/a:env/b:flag/c allow
expect_json "personal token subject" 'd["data"]["subject"]["kind"]' '"personal-token"'

echo "== credential edge cases"
req POST /api/v1/decisions "" '{"action": "ToggleFlag", "resource": "project/web"}'
expect_envelope "no credential" 401 Unauthorized
req POST /api/v1/decisions "Bearer not.a.jwt" '{"action": "ToggleFlag", "resource": "project/web"}'
expect_envelope "malformed JWT" 401 Unauthorized
req POST /api/v1/decisions "Basic b3duZXI6cGFzcw==" '{"action": "ToggleFlag", "resource": "project/web"}'
expect_envelope "other scheme" 401 Unauthorized
# Tampered: the owner's signature over the developer's claims.
tampered=$(py - "$owner_jwt" "$dev_id" <<'EOF'
import base64, json, sys
header, claims, signature = sys.argv[1].split(".")
decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
decoded["sub"] = sys.argv[2]
forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).decode().rstrip("=")
print(header + "." + forged + "." + signature)
EOF
)
req POST /api/v1/decisions "Bearer $tampered" '{"action": "ToggleFlag", "resource": "project/web"}'
expect_envelope "tampered JWT" 401 Unauthorized
# alg "none", with valid claims and no signature.
unsigned=$(py - "$owner_jwt" <<'EOF'
import base64, sys
_, claims, _ = sys.argv[1].split(".")
header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
print(header + "." + claims + ".")
EOF
)
req POST /api/v1/decisions "Bearer $unsigned" '{"action": "ToggleFlag", "resource": "project/web"}'
expect_envelope "alg none" 401 Unauthorized
short_jwt=$(jwt_for owner@example.com --ttl 1s)
unknown_secret=api-$(py -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')
req POST /api/v1/decisions "$unknown_secret" '{"action": "ToggleFlag", "resource": "project/web"}'
expect_envelope "unknown token" 401 Unauthorized
req POST /api/v1/decisions "api-short" '{"action": "ToggleFlag", "resource": "project/web"}'
expect_envelope "malformed token" 401 Unauthorized

echo "== transport limits"
# Slow loris: a header that never ends is cut at the read timeout (1 s here).
py - "${base#*://}" >"$work/loris" 2>&1 <<'EOF' &
import os, socket, sys, time
sys.path.insert(0, os.environ["GATEHOUSE_TEST_PY"])
from test_connect import connect
s = connect(sys.argv[1])
s.settimeout(6)
start = time.monotonic()
s.sendall(b"POST /api/v1/decisions HTTP/1.1\r\nHost: x\r\n")
try:
    while True:
        time.sleep(0.2)
        s.sendall(b"X-Slow: 1\r\n")
except OSError:
    pass
try:
    s.recv(100)
except OSError:
    pass
print("%.1f" % (time.monotonic() - start))
EOF
loris_pid=$!
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$work/big"
req POST /api/v1/decisions "$owner" "@$work/big"
expect_envelope "body over the limit (Expect: 100-continue)" 413 PayloadTooLarge
status=$(curl -s -o "$work/body" -w '%{http_code}' --max-time 5 -H 'Expect:' \
  -H "Authorization: $owner" --data-binary "@$work/big" "$base/api/v1/decisions")
expect_envelope "body over the limit, sent whole" 413 PayloadTooLarge
status=$(curl -s -o "$work/body" -w '%{http_code}' --max-time 5 \
  -H "X-Filler: $(head -c 9000 /dev/zero | tr '\0' a)" "$base/healthz")
expect_status "header over the limit" 431
# A body just under the limit is read (Expect: 100-continue answered), then refused as JSON.
head -c $((1024 * 1024 - 1)) /dev/zero | tr '\0' ' ' >"$work/big"
req POST /api/v1/decisions "$owner" "@$work/big"
expect_status "body at the limit" 400
# Two Authorization headers are ambiguous.
status=$(curl -s -o "$work/body" -w '%{http_code}' --max-time 5 -H "Authorization: $owner" \
  -H "Authorization: $service_secret" -d '{"action": "ToggleFlag", "resource": "project/web"}' \
  "$base/api/v1/decisions")
expect_status "two credentials" 400
# Keep-alive: two requests, one connection.
curl -sv --max-time 5 "$base/healthz" "$base/healthz" -o /dev/null -o /dev/null 2>"$work/trace"
grep -q 'Re-using existing connection' "$work/trace" || fail "keep-alive: the connection was not reused"
wait "$loris_pid"
loris=$(cat "$work/loris")
checks=$((checks + 1))
py -c 'import sys; t = float(sys.argv[1]); sys.exit(0 if 0.8 <= t <= 3 else 1)' "$loris" 2>/dev/null ||
  fail "slow loris: disconnected after '$loris' s, expected about 1 s"
wait_log "slow loris logged" 'closed: request incomplete after 1000 ms'

echo "== expiry, revocation, deletion"
sleep 1.2  # the 1-second JWT minted above has expired by now, within the 30 s of leeway
req POST /api/v1/decisions "Bearer $short_jwt" '{"action": "ToggleFlag", "resource": "project/web"}'
expect_status "JWT expired a second ago, within the leeway" 200
req DELETE "/api/v1/members/remove-from-org/$dev_id" "$owner"
expect_status "remove member" 200
req POST /api/v1/decisions "$personal_secret" '{"action": "ToggleFlag", "resource": "project/a"}'
expect_envelope "revoked personal token" 401 Unauthorized
req POST /api/v1/decisions "$dev" '{"action": "ToggleFlag", "resource": "project/a"}'
expect_envelope "JWT of a removed member" 401 Unauthorized
req POST /api/v1/members/add "$owner" '{"email": "dev2@example.com", "policyIds": [], "groupIds": []}'
expect_status "add another member" 201
dev2_id=$(json 'd["data"]["id"]' | tr -d '"')
dev2="Bearer $(jwt_for dev2@example.com)"
req DELETE "/api/v1/access-tokens/$service_id" "$owner"
expect_status "delete token" 200
req POST /api/v1/decisions "$service_secret" '{"action": "ToggleFlag", "resource": "project/a"}'
expect_envelope "deleted token" 401 Unauthorized

echo "== metrics and access log"
req GET /metrics ""
expect_status "metrics" 200
for pattern in '^gatehouse_decisions_total\{[^}]*allow[^}]*\} [1-9]' \
               '^gatehouse_decisions_total\{[^}]*implicit_deny[^}]*\} [1-9]' \
               '^gatehouse_decisions_total\{[^}]*explicit_deny[^}]*\} [1-9]' \
               '^gatehouse_decision_latency'; do
  checks=$((checks + 1))
  grep -Eq "$pattern" "$work/body" || fail "metrics: no line matches /$pattern/"
done
checks=$((checks + 1))
grep -Eq "POST /api/v1/decisions 200 [0-9]+us service-token:$service_id\$" "$log" ||
  fail "access log: no decision line naming the service token"
grep -Eq ' GET /api/v1/access-tokens/is-name-used\?name 200 [0-9]+us member:' "$log" ||
  fail "access log: the query should show its keys only"
grep -Eq ' POST /api/v1/decisions 413 [0-9]+us -$' "$log" || fail "access log: no 413 line"
for secret in "$service_secret" "$personal_secret" "$owner_jwt" "${dev#Bearer }"; do
  checks=$((checks + 1))
  if [ ${#secret} -lt 20 ]; then
    fail "a credential of the test is missing, so the log cannot be searched for it"
  elif grep -Fq -- "$secret" "$log"; then
    fail "the log holds a credential: ${secret:0:12}…"
  fi
done

echo "== SIGHUP reload"
# A broken file: the reload fails, says why, and the old policies stay.
echo '{"id": "66f3687f-939d-4257-bd3f-c3553d39e1b6", "statements": [' >"$policies/developer.json"
kill -HUP "$server_pid"
wait_log "failed reload" 'SIGHUP: built-in policies not reloaded.*developer\.json'
decide "old policies after a failed reload" "$dev2" ToggleFlag project/web:env/prod:flag/x allow
# A valid change takes effect: Developer without flag rights.
py - "$source_dir/policies/developer.json" "$policies/developer.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["statements"] = [s for s in doc["statements"] if s["resourceType"] != "flag"]
json.dump(doc, open(sys.argv[2], "w"))
EOF
kill -HUP "$server_pid"
wait_log "reload" 'SIGHUP: reloaded 3 built-in policy files'
decide "new policies after a reload" "$dev2" ToggleFlag project/web:env/prod:flag/x implicit_deny
cp "$source_dir/policies/developer.json" "$policies/developer.json"
kill -HUP "$server_pid"
wait_log "reload back" 'SIGHUP: reloaded .*'

kill -INT "$server_pid"
wait_exit 10
[ "$server_status" = 0 ] || fail "SIGINT: exit status $server_status, expected 0"

echo "== restart and SIGTERM with a request in flight"
start_server second
grep -q '^Initialized ' "$log" && fail "restart: the getting-started text is for a first start only"
decide "data survives a restart" "$dev2" ToggleFlag project/web:env/prod:flag/x allow
# The client sends half a request, the server gets SIGTERM, the client sends the rest: it must
# get its answer (with Connection: close), while new connections are refused.
body='{"action": "ToggleFlag", "resource": "project/web:env/prod:flag/x"}'
py - "${base#*://}" "$dev2" "$body" "$work" >"$work/inflight" 2>&1 <<'EOF' &
import os, socket, sys, time
sys.path.insert(0, os.environ["GATEHOUSE_TEST_PY"])
from test_connect import connect
auth, body, work = sys.argv[2], sys.argv[3].encode(), sys.argv[4]
s = connect(sys.argv[1])
s.settimeout(5)
s.sendall(b"POST /api/v1/decisions HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth.encode() +
          b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10])
open(os.path.join(work, "sent-half"), "w").close()
for _ in range(50):
    if os.path.exists(os.path.join(work, "go")):
        break
    time.sleep(0.1)
s.sendall(body[10:])
answer = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    answer += chunk
print(answer.decode(errors="replace"))
EOF
client_pid=$!
for _ in $(seq 50); do [ -e "$work/sent-half" ] && break; sleep 0.1; done
sleep 0.2
kill -TERM "$server_pid"
wait_log "shutdown" 'SIGTERM: shutting down'
curl -s --max-time 2 -o /dev/null "$base/healthz" && fail "SIGTERM: a new connection was accepted"
touch "$work/go"
wait "$client_pid"
checks=$((checks + 1))
grep -q '^HTTP/1.1 200 OK' "$work/inflight" && grep -qi '^Connection: close' "$work/inflight" &&
  grep -q '"allowed":true' "$work/inflight" ||
  { fail "SIGTERM: the request in flight did not complete"; sed 's/^/    | /' "$work/inflight"; }
wait_exit 10
[ "$server_status" = 0 ] || fail "SIGTERM: exit status $server_status, expected 0"
grep -q 'stopped$' "$log" || fail "SIGTERM: no 'stopped' line"

echo "== access log to a file, and off"
start_server seventh --access-log "$work/access.log"
decide "access log to a file" "$dev2" ToggleFlag project/web:env/prod:flag/x allow
stop_server
checks=$((checks + 1))
grep -Eq ' POST /api/v1/decisions 200 [0-9]+us member:' "$work/access.log" ||
  fail "--access-log FILE: no line for the decision in the file"
grep -q ' POST /api/v1/decisions ' "$log" && fail "--access-log FILE: the line went to standard output too"
[ "$(stat -c %a "$work/access.log")" = 600 ] || fail "--access-log FILE: mode is not 0600"
start_server eighth --access-log off
decide "access log off" "$dev2" ToggleFlag project/web:env/prod:flag/x allow
stop_server
checks=$((checks + 1))
grep -q ' /api/v1/decisions ' "$log" && fail "--access-log off: an access line was written"
grep -q 'stopped$' "$log" || fail "--access-log off: event lines are still written"

# The cap refuses a connection before any TLS: its plain run covers it.
if [ -z "$tls" ]; then
echo "== per-client connection cap"
start_server sixth --max-connections-per-client 3
# 127.0.0.1 holds three idle connections, the cap: a fourth from it is closed at once, while
# another client address (127.0.0.2, loopback too) is still served. Once one of the three closes,
# 127.0.0.1 is served again.
py - "${base#http://}" >"$work/per-client" 2>&1 <<'EOF'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
port = int(port)

def connect(source="127.0.0.1"):
    s = socket.create_connection((host, port), timeout=3, source_address=(source, 0))
    s.settimeout(3)
    return s

def closed_at_once(s):
    # The server closes a refused connection without a byte: EOF (or a reset) well before 3 s.
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False

def healthz(s):
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answer = b""
    try:
        while chunk := s.recv(4096):
            answer += chunk
    except OSError:
        pass
    return answer.startswith(b"HTTP/1.1 200 ")

failures = []
idle = [connect() for _ in range(3)]
if not closed_at_once(connect()):
    failures.append("a fourth connection from 127.0.0.1 was kept open")
for s in idle:
    s.settimeout(0.3)
    try:
        if s.recv(1) == b"":
            failures.append("a connection within the cap was closed")
    except socket.timeout:
        pass
    except OSError as e:
        failures.append("a connection within the cap failed: %s" % e)
if not healthz(connect("127.0.0.2")):
    failures.append("/healthz from another client address did not answer 200")
idle.pop().close()
# The slot comes back once the server has seen the close: a few tries, each refused one counted.
for _ in range(40):
    if healthz(connect()):
        break
    time.sleep(0.05)
else:
    failures.append("/healthz from 127.0.0.1 did not answer 200 after a connection closed")
for s in idle:
    s.close()
print("\n".join(failures) if failures else "ok")
EOF
checks=$((checks + 1))
[ "$(cat "$work/per-client")" = ok ] || { fail "per-client cap:"; sed 's/^/    | /' "$work/per-client"; }
stop_server
checks=$((checks + 1))
# The refused connections are counted in the log, at the latest in the final flush.
grep -Eq 'refused [1-9][0-9]* connections over the per-client cap of 3$' "$log" ||
  fail "per-client cap: no log line counts the refused connections"
fi
finish
