#!/usr/bin/env bash
# The host application's member JWTs over real sockets (SPEC §10): `gatehouse serve` with the
# host's RS256 key, with issuer and audience, with keys chosen by kid and rotated on SIGHUP, and
# the start-up errors of these and the other serve flags.
# Usage: host_keys_test.sh GATEHOUSE SOURCE_DIR. Needs curl, openssl and python3. Runs in ~6 s.
source "$(dirname "$0")/server_lib.sh"

# rsa_key NAME: a new 2048-bit RSA key pair, $work/NAME.pem and $work/NAME.pub.
rsa_key() {
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/$1.pem" 2>/dev/null &&
    openssl pkey -in "$work/$1.pem" -pubout -out "$work/$1.pub" ||
    fail "openssl cannot make an RSA key"
}

echo "== a member for the host to sign claims of"
start_server setup
req POST /api/v1/members/add "Bearer $(jwt_for owner@example.com)" \
  '{"email": "dev2@example.com", "policyIds": [], "groupIds": []}'
expect_status "add a member" 201
stop_server

echo "== host application's key (RS256)"
rsa_key host
start_server third --jwt-public-key "$work/host.pub" --jwt-alg RS256
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
# rs256 KEY CLAIMS [KID]: a JWT over CLAIMS (base64url) signed with the private key in KEY, with
# KID in its header when given.
rs256() {
  local header signature
  if [ $# -ge 3 ]; then
    header=$(printf '{"alg":"RS256","typ":"JWT","kid":"%s"}' "$3" | b64url)
  else
    header=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
  fi
  signature=$(printf '%s.%s' "$header" "$2" | openssl dgst -sha256 -sign "$1" | b64url)
  echo "$header.$2.$signature"
}
# reclaim JWT CHANGES: the claims of JWT (base64url) updated with CHANGES, a Python dict in which
# `now` is the current time in seconds.
reclaim() {
  py - "$1" "$2" <<'EOF'
import base64, json, sys, time
claims = sys.argv[1].split(".")[1]
d = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
now = int(time.time())
d.update(eval(sys.argv[2]))
print(base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("="))
EOF
}
dev2_jwt=$(jwt_for dev2@example.com)
claims=$(echo "$dev2_jwt" | cut -d. -f2)
decide "RS256 JWT of the host" "Bearer $(rs256 "$work/host.pem" "$claims")" ToggleFlag \
  project/a:env/b:flag/c allow
req POST /api/v1/decisions "Bearer $dev2_jwt" '{"action": "ToggleFlag", "resource": "project/a"}'
expect_envelope "HS256 JWT when the key is RS256" 401 Unauthorized
# Another server on the same port, a key that does not fit the algorithm, bad flags: exit 2.
"$gatehouse" serve --data "$work/other" --policies "$policies" --listen "${base#http://}" \
  >/dev/null 2>"$work/err"
[ $? -eq 2 ] && grep -q 'cannot listen' "$work/err" || fail "port in use: $(cat "$work/err")"
stop_server

echo "== issuer and audience"
issuer=https://issuer.test
audience="gatehouse-test"
start_server fourth --jwt-issuer "$issuer" --jwt-audience "$audience"
decide "JWT minted with the server's issuer and audience" \
  "Bearer $(jwt_for dev2@example.com --jwt-issuer "$issuer" --jwt-audience "$audience")" \
  ToggleFlag project/a:env/b:flag/c allow
for flags in "" "--jwt-issuer $issuer" "--jwt-audience $audience" \
             "--jwt-issuer https://other.test --jwt-audience $audience" \
             "--jwt-issuer $issuer --jwt-audience other"; do
  # shellcheck disable=SC2086 # the flags are split on purpose
  token=$(jwt_for dev2@example.com $flags)
  req POST /api/v1/decisions "Bearer $token" '{"action": "ToggleFlag", "resource": "project/a"}'
  expect_envelope "JWT minted with '$flags'" 401 Unauthorized
done
stop_server

echo "== host keys chosen by kid, rotated on SIGHUP"
rsa_key a
rsa_key b
mkdir "$work/keys"
cp "$work/a.pub" "$work/keys/key-a.pem"
start_server fifth --jwt-key-dir "$work/keys" --jwt-alg RS256
body='{"action": "ToggleFlag", "resource": "project/a:env/b:flag/c"}'
token_a="Bearer $(rs256 "$work/a.pem" "$claims" key-a)"
token_b="Bearer $(rs256 "$work/b.pem" "$claims" key-b)"
no_kid="Bearer $(rs256 "$work/a.pem" "$claims")"
decide "kid key-a" "$token_a" ToggleFlag project/a:env/b:flag/c allow
decide "no kid while one key is configured" "$no_kid" ToggleFlag project/a:env/b:flag/c allow
req POST /api/v1/decisions "$token_b" "$body"
expect_envelope "kid key-b before its key is added" 401 Unauthorized
req POST /api/v1/decisions "Bearer $(rs256 "$work/b.pem" "$claims" key-a)" "$body"
expect_envelope "kid key-a signed with key b" 401 Unauthorized
# Key B added; at the same SIGHUP a broken policy file: the policies stay, the keys change.
cp "$work/b.pub" "$work/keys/key-b.pem"
echo '[' >"$policies/developer.json"
kill -HUP "$server_pid"
wait_log "reload adding key B" \
  'SIGHUP: built-in policies not reloaded, the old ones stay: .*developer\.json.*; reloaded 2 JWT keys \(key-a, key-b\) from '
cp "$source_dir/policies/developer.json" "$policies/developer.json"
decide "kid key-b after SIGHUP" "$token_b" ToggleFlag project/a:env/b:flag/c allow
decide "kid key-a after SIGHUP" "$token_a" ToggleFlag project/a:env/b:flag/c allow
req POST /api/v1/decisions "$no_kid" "$body"
expect_envelope "no kid while two keys are configured" 401 Unauthorized
# Key A removed.
rm "$work/keys/key-a.pem"
kill -HUP "$server_pid"
wait_log "reload removing key A" \
  'SIGHUP: reloaded 3 built-in policy files from .*; reloaded 1 JWT key \(key-b\) from '
req POST /api/v1/decisions "$token_a" "$body"
expect_envelope "kid key-a after its key is removed" 401 Unauthorized
decide "kid key-b after key A is removed" "$token_b" ToggleFlag project/a:env/b:flag/c allow
# Key sets that cannot be loaded leave the old one in force.
printf 'not a key\n' >"$work/keys/key-c.pem"
kill -HUP "$server_pid"
wait_log "reload with a broken key" \
  'SIGHUP: reloaded 3 built-in policy files .*; JWT keys not reloaded, the old ones stay: .*key-c\.pem'
decide "kid key-b after a failed reload" "$token_b" ToggleFlag project/a:env/b:flag/c allow
rm "$work/keys/key-b.pem" "$work/keys/key-c.pem"
kill -HUP "$server_pid"
wait_log "reload of an empty key folder" \
  'JWT keys not reloaded, the old ones stay: .*holds no KID\.pem key'
decide "kid key-b after an empty reload" "$token_b" ToggleFlag project/a:env/b:flag/c allow
# 30 s of clock leeway, over HTTP; the boundaries are the unit tests'.
while IFS='|' read -r name changes expected; do
  token=$(rs256 "$work/b.pem" "$(reclaim "$dev2_jwt" "$changes")" key-b)
  req POST /api/v1/decisions "Bearer $token" "$body"
  expect_status "$name" "$expected"
done <<'EOF'
expired 10 s ago|{"exp": now - 10}|200
expired 40 s ago|{"exp": now - 40}|401
valid from 10 s on|{"nbf": now + 10}|200
valid from 60 s on|{"nbf": now + 60}|401
issued 60 s in the future|{"iat": now + 60}|401
EOF
# HS256 keyed with the public key that the kid names.
confused=$(py - "$work/b.pub" "$claims" <<'EOF'
import base64, hashlib, hmac, sys
b64 = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
header = b64(b'{"alg":"HS256","typ":"JWT","kid":"key-b"}')
signing_input = header + "." + sys.argv[2]
mac = hmac.new(open(sys.argv[1], "rb").read(), signing_input.encode(), hashlib.sha256).digest()
print(signing_input + "." + b64(mac))
EOF
)
req POST /api/v1/decisions "Bearer $confused" "$body"
expect_envelope "HS256 keyed with the kid's public key" 401 Unauthorized
stop_server

echo "== start-up errors"
mkdir "$work/keys-empty" "$work/keys-rsa"
cp "$work/a.pub" "$work/keys-rsa/key-a.pem"
# Each line: the flags, then a piece of the message that must say why.
while IFS='|' read -r flags reason; do
  # shellcheck disable=SC2086 # the flags are split on purpose
  "$gatehouse" serve --data "$data" $flags >/dev/null 2>"$work/err" &
  pid=$!
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    fail "serve $flags: started, expected a refusal"
  fi
  wait "$pid"
  code=$?
  checks=$((checks + 1))
  [ "$code" -eq 2 ] && grep -Fq -- "$reason" "$work/err" ||
    fail "serve $flags: exit status $code and '$(head -1 "$work/err")', expected 2 and '$reason'"
done <<EOF
--listen 127.0.0.1:0 --jwt-public-key $work/host.pub --jwt-alg ES256|the JWT key cannot be used
--listen 127.0.0.1:0 --jwt-alg RS256|--jwt-alg goes with --jwt-public-key or --jwt-key-dir
--listen 127.0.0.1:0 --jwt-key-dir $work/keys-empty --jwt-alg RS256|holds no KID.pem key
--listen 127.0.0.1:0 --jwt-key-dir $work/keys-rsa --jwt-alg ES256|key-a.pem' is not a P-256 public key
--listen 127.0.0.1:0 --jwt-key-dir $work/nothing --jwt-alg RS256|cannot use --jwt-key-dir
--listen nowhere|--listen must be HOST:PORT
--listen 127.0.0.1:0 --read-timeout 10|take a DURATION
--listen 127.0.0.1:0 --threads 0|must be positive
--listen 127.0.0.1:0 --max-connections-per-client 0|must be positive
--listen 127.0.0.1:0 --policies $work/nothing|cannot load the built-in policies
EOF

finish
