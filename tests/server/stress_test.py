# Concurrency stress of the HTTP server over real sockets: decisions from several threads while
# others change members, policies and tokens and scrape /metrics; every answer must be well-formed.
"""Usage: stress_test.py GATEHOUSE SOURCE_DIR [--seconds N]

Starts `gatehouse serve` on a fresh data directory and a free loopback port, then for N seconds
runs, each in its own thread(s):
  - decisions (single and batch) with the owner's JWT, a developer's JWT and a service token, on
    every core; the answers of credentials nobody changes are exact, the others well-formed;
  - member churn: add a member, mint its JWT, attach and detach Administrator, remove it, each
    step checked by a decision with that JWT (read-your-writes: 401 once removed);
  - policy churn: create a policy, write its statements, attach it to the developer, edit it while
    attached, detach and delete it, with the developer's decision checked at each step;
  - token churn: create, use, deactivate, activate, rename and delete service tokens;
  - readers: /metrics (decision counters never decrease), /healthz and the list routes;
  - connection churn: a new connection for each /healthz.
Fails on any answer outside the expected statuses or shapes, on a server that dies, stops
answering /healthz, exits non-zero on SIGTERM, or prints a sanitizer report.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

DECISIONS = {"allow", "explicit_deny", "implicit_deny"}
SUBJECT_KINDS = {"member", "personal-token", "service-token"}
ADMINISTRATOR = "3e961f0f-6fd4-4cf4-910f-52d356f8cc08"
FLAG = "project/web:env/prod:flag/x"
# A request may wait behind the whole load of a sanitizer build on a small machine.
REQUEST_TIMEOUT = 60


class Failure(Exception):
    pass


class Run:
    """What the threads share: the server's address, the deadline and the failures."""

    def __init__(self, host, port, deadline, server):
        self.host, self.port, self.deadline, self.server = host, port, deadline, server
        self.lock = threading.Lock()
        self.failures = []
        self.counts = {}

    def going(self):
        """Until the deadline, the first failure, or the end of the server."""
        with self.lock:
            if self.failures:
                return False
        return time.monotonic() < self.deadline and self.server.poll() is None

    def fail(self, where, message):
        with self.lock:
            self.failures.append("%s: %s" % (where, message))

    def count(self, name):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1


class Client:
    """One keep-alive connection, as one caller of the host application would hold."""

    def __init__(self, run, name):
        self.run, self.name = run, name
        self.connection = http.client.HTTPConnection(run.host, run.port, timeout=REQUEST_TIMEOUT)

    def request(self, method, path, auth=None, body=None):
        """Returns (status, content type, body bytes); a transport error is a failure."""
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = auth
        data = None if body is None else json.dumps(body).encode()
        try:
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as e:
            self.connection.close()
            state = "running" if self.run.server.poll() is None else "exited"
            raise Failure("%s %s: %s (server %s)" % (method, path, e, state)) from e
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        self.run.count(method + " " + re.sub(r"/[0-9a-f-]{36}", "/{id}", path.split("?")[0]))
        return response.status, response.getheader("Content-Type", ""), payload

    def call(self, method, path, auth=None, body=None, expect=(200,)):
        """A JSON API call: the status is one of `expect`, the envelope is well-formed; returns
        (status, envelope)."""
        status, content_type, payload = self.request(method, path, auth, body)
        where = "%s %s" % (method, path)
        if status not in expect:
            raise Failure("%s: status %d, expected %s; body %s" % (where, status, expect,
                                                                   payload[:300]))
        if not content_type.startswith("application/json"):
            raise Failure("%s: content type %r" % (where, content_type))
        envelope = parse_envelope(where, status, payload)
        return status, envelope


def parse_envelope(where, status, payload):
    try:
        envelope = json.loads(payload)
    except ValueError as e:
        raise Failure("%s: body is not JSON (%s): %s" % (where, e, payload[:300])) from e
    if not isinstance(envelope, dict) or set(envelope) != {"success", "errors", "data"}:
        raise Failure("%s: not an envelope: %s" % (where, payload[:300]))
    success, errors = envelope["success"], envelope["errors"]
    if not isinstance(success, bool) or not isinstance(errors, list):
        raise Failure("%s: malformed envelope: %s" % (where, payload[:300]))
    if not all(isinstance(e, str) and e for e in errors):
        raise Failure("%s: malformed error codes: %s" % (where, errors))
    if success != (status < 300) or success != (not errors):
        raise Failure("%s: status %d with success %s and errors %s" % (where, status, success,
                                                                        errors))
    return envelope


def check_decision(where, d):
    """The documented shape of one decision; returns it."""
    if not isinstance(d, dict) or set(d) != {"allowed", "decision", "statements", "subject"}:
        raise Failure("%s: not a decision: %s" % (where, d))
    if d["decision"] not in DECISIONS or d["allowed"] != (d["decision"] == "allow"):
        raise Failure("%s: decision %s with allowed %s" % (where, d["decision"], d["allowed"]))
    for s in d["statements"]:
        if (not isinstance(s, dict) or set(s) != {"policyId", "statementId"} or
                not all(isinstance(v, str) for v in s.values())):
            raise Failure("%s: malformed statement reference %s" % (where, s))
    if (d["decision"] == "implicit_deny") != (not d["statements"]):
        raise Failure("%s: %s naming statements %s" % (where, d["decision"], d["statements"]))
    subject = d["subject"]
    if (not isinstance(subject, dict) or set(subject) != {"kind", "id"} or
            subject["kind"] not in SUBJECT_KINDS or not isinstance(subject["id"], str)):
        raise Failure("%s: malformed subject %s" % (where, subject))
    return d


def decide(client, auth, action, resource, expect=(200,)):
    """One decision; returns the decision, or None when the status was not 200 (and allowed)."""
    status, envelope = client.call("POST", "/api/v1/decisions", auth,
                                   {"action": action, "resource": resource}, expect)
    if status != 200:
        return None
    return check_decision("decision %s %s" % (action, resource), envelope["data"])


def expect_decision(client, auth, action, resource, decision, where):
    d = decide(client, auth, action, resource)
    if d["decision"] != decision:
        raise Failure("%s: %s on %s is %s, expected %s" % (where, action, resource,
                                                          d["decision"], decision))
    return d


def expect_refused(client, auth, status, code, where):
    _, envelope = client.call("POST", "/api/v1/decisions", auth,
                              {"action": "ToggleFlag", "resource": FLAG}, (status,))
    if envelope["errors"] != [code]:
        raise Failure("%s: errors %s, expected [%s]" % (where, envelope["errors"], code))


# ---- Workers ------------------------------------------------------------------------------------

def decisions_worker(run, name, credentials):
    """Single and batch decisions, round robin over the credentials."""
    client = Client(run, name)
    batch = [{"action": "ToggleFlag", "resource": FLAG},
             {"action": "DeleteFlag", "resource": FLAG},
             {"action": "CanManageIAM", "resource": "iam/members"}]
    i = 0
    while run.going():
        label, auth, expected = credentials[i % len(credentials)]
        i += 1
        where = label
        if i % 3 == 0:
            _, envelope = client.call("POST", "/api/v1/decisions", auth, {"checks": batch})
            data = envelope["data"]
            results = data.get("results") if isinstance(data, dict) else None
            if not isinstance(results, list) or len(results) != len(batch):
                raise Failure("%s: batch answered %s" % (where, envelope["data"]))
            answers = [check_decision(where, r)["decision"] for r in results]
        else:
            answers = [decide(client, auth, c["action"], c["resource"])["decision"]
                       for c in batch[:2]]
        for check, answer in zip(batch, answers):
            allowed = expected.get(check["action"])
            if allowed is not None and answer not in allowed:
                raise Failure("%s: %s is %s, expected one of %s" % (where, check["action"],
                                                                    answer, sorted(allowed)))


def member_policy(client, owner, change, member_id, policy_id):
    """Attaches (`change` "add-policy") or detaches ("remove-policy") a policy of a member."""
    client.call("PUT", "/api/v1/members/%s/%s/%s" % (member_id, change, policy_id), owner)


def member_worker(run, gatehouse, data, policies, owner):
    """Members come and go; each step is seen by the member's very next decision."""
    client = Client(run, "members")
    i = 0
    while run.going():
        i += 1
        email = "churn-%d@example.com" % i
        _, envelope = client.call("POST", "/api/v1/members/add", owner,
                                  {"email": email, "policyIds": [], "groupIds": []}, (201,))
        member_id = envelope["data"]["id"]
        jwt = "Bearer " + mint_jwt(gatehouse, data, policies, email)
        where = "member %s" % email
        expect_decision(client, jwt, "ToggleFlag", FLAG, "allow", where + " (Developer)")
        expect_decision(client, jwt, "CanManageIAM", "iam/members", "implicit_deny", where)
        member_policy(client, owner, "add-policy", member_id, ADMINISTRATOR)
        expect_decision(client, jwt, "CanManageIAM", "iam/members", "allow",
                        where + " with Administrator")
        client.call("GET", "/api/v1/members/%s/policies" % member_id, owner)
        member_policy(client, owner, "remove-policy", member_id, ADMINISTRATOR)
        expect_decision(client, jwt, "CanManageIAM", "iam/members", "implicit_deny",
                        where + " without Administrator")
        client.call("DELETE", "/api/v1/members/remove-from-org/%s" % member_id, owner)
        expect_refused(client, jwt, 401, "Unauthorized", where + " removed")


def policy_worker(run, owner, developer, developer_id):
    """Policies are created, attached to the developer, edited while attached, detached, deleted."""
    client = Client(run, "policies")
    i = 0
    while run.going():
        i += 1
        _, envelope = client.call("POST", "/api/v1/policies", owner,
                                  {"name": "Churn %d" % i, "key": "churn-%d" % i,
                                   "description": "stress"}, (201,))
        policy_id = envelope["data"]["id"]
        deny = [{"id": "no-delete", "resourceType": "flag", "effect": "deny",
                 "actions": ["DeleteFlag"], "resources": ["project/*:env/prod:flag/*"]}]
        client.call("PUT", "/api/v1/policies/%s/statements" % policy_id, owner, deny)
        member_policy(client, owner, "add-policy", developer_id, policy_id)
        where = "developer with policy churn-%d" % i
        d = expect_decision(client, developer, "DeleteFlag", FLAG, "explicit_deny", where)
        if {"policyId": policy_id, "statementId": "no-delete"} not in d["statements"]:
            raise Failure("%s: the deny names %s" % (where, d["statements"]))
        # Edited while attached: the deny moves to another environment.
        deny[0]["resources"] = ["project/*:env/dev:flag/*"]
        client.call("PUT", "/api/v1/policies/%s/statements" % policy_id, owner, deny)
        expect_decision(client, developer, "DeleteFlag", FLAG, "allow", where + " edited")
        expect_decision(client, developer, "DeleteFlag", "project/web:env/dev:flag/x",
                        "explicit_deny", where + " edited")
        client.call("GET", "/api/v1/policies/%s" % policy_id, owner)
        member_policy(client, owner, "remove-policy", developer_id, policy_id)
        expect_decision(client, developer, "DeleteFlag", "project/web:env/dev:flag/x", "allow",
                        where + " detached")
        client.call("DELETE", "/api/v1/policies/%s" % policy_id, owner)
        client.call("GET", "/api/v1/policies/%s" % policy_id, owner, expect=(404,))


def token_worker(run, owner):
    """Service tokens are created, used, switched off and on, renamed and deleted."""
    client = Client(run, "tokens")
    scope = [{"id": "s1", "resourceType": "flag", "effect": "allow", "actions": ["ToggleFlag"],
              "resources": ["project/web:env/*:flag/*"]}]
    i = 0
    while run.going():
        i += 1
        name = "churn-token-%d" % i
        _, envelope = client.call("POST", "/api/v1/access-tokens", owner,
                                  {"name": name, "type": "Service", "permissions": scope}, (201,))
        token_id, secret = envelope["data"]["id"], envelope["data"]["token"]
        expect_decision(client, secret, "ToggleFlag", FLAG, "allow", name)
        expect_decision(client, secret, "DeleteFlag", FLAG, "implicit_deny", name)
        client.call("PUT", "/api/v1/access-tokens/%s/toggle" % token_id, owner)
        expect_refused(client, secret, 403, "Forbidden", name + " inactive")
        client.call("PUT", "/api/v1/access-tokens/%s/toggle" % token_id, owner)
        expect_decision(client, "Bearer " + secret, "ToggleFlag", FLAG, "allow", name + " active")
        client.call("PUT", "/api/v1/access-tokens/%s" % token_id, owner,
                    {"name": name + "-renamed"})
        client.call("GET", "/api/v1/access-tokens?name=%s&pageIndex=0&pageSize=10" % name, owner)
        client.call("DELETE", "/api/v1/access-tokens/%s" % token_id, owner)
        expect_refused(client, secret, 401, "Unauthorized", name + " deleted")


METRIC_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def reader_worker(run, owner):
    """/metrics, /healthz and the list routes while everything changes."""
    client = Client(run, "readers")
    previous = {}
    while run.going():
        status, content_type, payload = client.request("GET", "/metrics")
        if status != 200 or not content_type.startswith("text/plain"):
            raise Failure("/metrics: status %d, content type %r" % (status, content_type))
        decisions = {}
        for line in payload.decode().splitlines():
            if not line or line.startswith("#"):
                continue
            m = METRIC_LINE.match(line)
            if not m:
                raise Failure("/metrics: malformed line %r" % line)
            value = float(m.group(3))
            if m.group(1) == "gatehouse_decisions_total":
                decisions[m.group(2)] = value
        if not decisions:
            raise Failure("/metrics: no gatehouse_decisions_total")
        for labels, value in previous.items():
            if decisions.get(labels, 0) < value:
                raise Failure("/metrics: gatehouse_decisions_total%s went from %s to %s" %
                              (labels, value, decisions.get(labels)))
        previous = decisions
        _, envelope = client.call("GET", "/healthz")
        if envelope["data"] != "ok":
            raise Failure("/healthz answered %s" % envelope["data"])
        for path in ("/api/v1/members", "/api/v1/policies", "/api/v1/groups",
                     "/api/v1/access-tokens?pageIndex=0&pageSize=50", "/api/v1/user/policies"):
            client.call("GET", path, owner)


def connection_worker(run):
    """A new connection per request: accepts and session ends (with their per-client counts) on
    every I/O thread while the other sessions run."""
    while run.going():
        client = Client(run, "connections")
        _, envelope = client.call("GET", "/healthz")
        if envelope["data"] != "ok":
            raise Failure("/healthz answered %s" % envelope["data"])
        client.connection.close()


def guarded(run, name, target, *args):
    """Runs a worker; its first failure ends it and is recorded."""
    def body():
        try:
            target(run, *args)
        except Failure as e:
            run.fail(name, str(e))
        except Exception as e:  # pylint: disable=broad-except
            run.fail(name, "%s: %s" % (type(e).__name__, e))
    thread = threading.Thread(target=body, name=name)
    thread.start()
    return thread


# ---- Server -------------------------------------------------------------------------------------

def mint_jwt(gatehouse, data, policies, email):
    return subprocess.run([gatehouse, "jwt", "--data", data, "--policies", policies,
                           "--member", email], check=True, capture_output=True,
                          text=True).stdout.strip()


def start_server(gatehouse, data, policies, log_path, threads):
    log = open(log_path, "wb")
    server = subprocess.Popen([gatehouse, "serve", "--data", data, "--policies", policies,
                               "--listen", "127.0.0.1:0", "--threads", str(threads)],
                              stdout=log, stderr=subprocess.STDOUT)
    log.close()
    # A sanitizer build takes its time to start.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        with open(log_path, "rb") as f:
            m = re.search(rb"^listening on 127\.0\.0\.1:(\d+)$", f.read(), re.MULTILINE)
        if m:
            return server, int(m.group(1))
        time.sleep(0.1)
    raise Failure("the server did not start")


SANITIZER_REPORT = re.compile(
    r"(WARNING: ThreadSanitizer|FATAL: ThreadSanitizer|ERROR: AddressSanitizer|"
    r"ERROR: LeakSanitizer|runtime error:)")


def server_output(log_path):
    with open(log_path, "rb") as f:
        return f.read().decode(errors="replace").splitlines()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("gatehouse")
    parser.add_argument("source_dir")
    parser.add_argument("--seconds", type=float, default=10, help="length of the load")
    args = parser.parse_args()
    gatehouse = os.path.realpath(args.gatehouse)
    policies = os.path.join(os.path.realpath(args.source_dir), "policies")

    work = tempfile.mkdtemp(prefix="gatehouse-stress-")
    data, log_path = os.path.join(work, "data"), os.path.join(work, "server.log")
    cores = os.cpu_count() or 1
    server = None
    failures = []
    try:
        # More I/O threads than cores, so that handlers interleave even on a small machine.
        server, port = start_server(gatehouse, data, policies, log_path, max(4, cores))
        owner = "Bearer " + mint_jwt(gatehouse, data, policies, "owner@example.com")
        setup = Client(Run("127.0.0.1", port, 0, server), "setup")
        _, envelope = setup.call("POST", "/api/v1/members/add", owner,
                                 {"email": "dev@example.com", "policyIds": [], "groupIds": []},
                                 (201,))
        developer_id = envelope["data"]["id"]
        developer = "Bearer " + mint_jwt(gatehouse, data, policies, "dev@example.com")
        _, envelope = setup.call(
            "POST", "/api/v1/access-tokens", owner,
            {"name": "stable", "type": "Service",
             "permissions": [{"id": "s1", "resourceType": "flag", "effect": "allow",
                              "actions": ["ToggleFlag"],
                              "resources": ["project/*:env/*:flag/*"]}]}, (201,))
        service = envelope["data"]["token"]

        # Per credential, the decisions it may get for each action of the batch; nobody changes
        # the owner's or the service token's rights, the developer's change with the policy churn.
        credentials = [
            ("owner", owner, {"ToggleFlag": {"allow"}, "DeleteFlag": {"allow"},
                              "CanManageIAM": {"allow"}}),
            ("service token", service, {"ToggleFlag": {"allow"}, "DeleteFlag": {"implicit_deny"},
                                        "CanManageIAM": {"implicit_deny"}}),
            ("developer", developer, {"ToggleFlag": {"allow"},
                                      "DeleteFlag": {"allow", "explicit_deny"},
                                      "CanManageIAM": {"implicit_deny"}}),
        ]
        run = Run("127.0.0.1", port, time.monotonic() + args.seconds, server)
        threads = [guarded(run, "decisions-%d" % i, decisions_worker, "decisions-%d" % i,
                           credentials[i % 3:] + credentials[:i % 3])
                   for i in range(max(2, cores))]
        threads += [
            guarded(run, "members", member_worker, gatehouse, data, policies, owner),
            guarded(run, "policies", policy_worker, owner, developer, developer_id),
            guarded(run, "tokens", token_worker, owner),
            guarded(run, "readers", reader_worker, owner),
            guarded(run, "connections", connection_worker),
        ]
        for thread in threads:
            thread.join()
        failures += run.failures

        if server.poll() is not None:
            failures.append("the server exited with status %d during the run" % server.returncode)
        else:
            fresh = Client(Run("127.0.0.1", port, 0, server), "final")
            try:
                fresh.call("GET", "/healthz")
            except Failure as e:
                failures.append("/healthz after the run: %s" % e)
            server.send_signal(signal.SIGTERM)
            try:
                status = server.wait(timeout=60)
                if status != 0:
                    failures.append("SIGTERM: exit status %d, expected 0" % status)
            except subprocess.TimeoutExpired:
                failures.append("SIGTERM: the server did not stop within 60 s")
        reports = [line for line in server_output(log_path) if SANITIZER_REPORT.search(line)]
        if reports:
            failures.append("sanitizer reports in the server's output: " + "; ".join(reports[:5]))

        total = sum(run.counts.values())
        print("stress: %d requests in %.0f s from %d threads; by route:" %
              (total, args.seconds, len(threads)))
        for route, n in sorted(run.counts.items()):
            print("  %6d  %s" % (n, route))
        # Each worker must have done its work at least once, or the run proved nothing.
        for route in ("POST /api/v1/decisions", "POST /api/v1/members/add",
                      "POST /api/v1/policies", "POST /api/v1/access-tokens", "GET /metrics"):
            if run.counts.get(route, 0) == 0 and not run.failures:
                failures.append("no %s request completed" % route)
    except Failure as e:
        failures.append(str(e))
    finally:
        if server is not None and server.poll() is None:
            server.kill()
            server.wait()
        if failures:
            print("stress: FAILED")
            for f in failures:
                print("  " + f)
            # A sanitizer report whole, from its first line; otherwise what the server did last.
            lines = server_output(log_path)
            first = next((i for i, line in enumerate(lines) if SANITIZER_REPORT.search(line)),
                         None)
            shown = lines[-60:] if first is None else lines[first:first + 200]
            print("server output (%s):" % ("end" if first is None else "sanitizer report"))
            for line in shown:
                print("    | " + line)
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        return 1
    print("stress: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
