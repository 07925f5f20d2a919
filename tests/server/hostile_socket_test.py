#!/usr/bin/env python3
# The hostile requests of SPEC §10 over a real socket: `gatehouse serve` on a fresh data directory
# and a free loopback port, with its default limits (a 1 MiB body), answers each of the issue's
# four cases with the right status and code, stays alive, and answers /healthz after each.
# Usage: hostile_socket_test.py GATEHOUSE SOURCE_DIR. Standard library only; runs in a few seconds.
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

DEVELOPER = "66f3687f-939d-4257-bd3f-c3553d39e1b6"


class Failed(Exception):
    pass


class Server:
    """`gatehouse serve` on a fresh data directory, stopped (hard, if need be) on exit."""

    def __init__(self, gatehouse, policies, work):
        self.gatehouse = gatehouse
        self.policies = policies
        self.data = os.path.join(work, "data")
        self.log_path = os.path.join(work, "serve.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [gatehouse, "serve", "--data", self.data, "--listen", "127.0.0.1:0",
             "--policies", policies],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.port = self._wait_listening()

    def _wait_listening(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                found = re.search(rb"^listening on 127\.0\.0\.1:(\d+)$", f.read(), re.M)
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise Failed("the server did not start:\n" + self.output())

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def alive(self):
        return self.process.poll() is None

    def jwt(self, email):
        done = subprocess.run(
            [self.gatehouse, "jwt", "--data", self.data, "--policies", self.policies,
             "--member", email],
            capture_output=True, text=True, timeout=10)
        if done.returncode != 0:
            raise Failed(f"gatehouse jwt --member {email}: {done.stderr.strip()}")
        return "Bearer " + done.stdout.strip()

    def request(self, method, path, auth=None, body=None):
        """One request on its own connection; returns (status, parsed envelope or None)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {"Content-Type": "application/json"}
            if auth:
                headers["Authorization"] = auth
            payload = None if body is None else (
                body if isinstance(body, str) else json.dumps(body, separators=(",", ":")))
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, None

    def stop(self):
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def expect(answer, status, code, what):
    got_status, envelope = answer
    got_code = (envelope or {}).get("errors", [None])[0] if got_status >= 300 else None
    if got_status != status or (code and got_code != code):
        raise Failed(f"{what}: {got_status} {got_code}, expected {status} {code}: "
                     f"{json.dumps(envelope)[:300]}")
    return envelope


def statement(sid, resource_type, effect, actions, resources):
    return {"id": sid, "resourceType": resource_type, "effect": effect, "actions": actions,
            "resources": resources}


def main():
    if len(sys.argv) != 3:
        print("usage: hostile_socket_test.py GATEHOUSE SOURCE_DIR", file=sys.stderr)
        return 2
    gatehouse = os.path.realpath(sys.argv[1])
    policies = os.path.join(os.path.realpath(sys.argv[2]), "policies")
    work = tempfile.mkdtemp(prefix="gatehouse-hostile-")
    server = None
    failures = 0
    try:
        server = Server(gatehouse, policies, work)
        owner = server.jwt("owner@example.com")
        no_prod_deletes = expect(server.request("POST", "/api/v1/policies", owner,
                                                {"name": "no-prod-deletes",
                                                 "key": "no-prod-deletes"}),
                                 201, None, "create a policy")["data"]["id"]
        expect(server.request("PUT", f"/api/v1/policies/{no_prod_deletes}/statements", owner,
                              [statement("no-prod-deletes", "flag", "deny", ["DeleteFlag"],
                                         ["project/*:env/prod:flag/*"])]),
               200, None, "write its statements")
        expect(server.request("POST", "/api/v1/members/add", owner,
                              {"email": "dev@example.com",
                               "policyIds": [DEVELOPER, no_prod_deletes]}),
               201, None, "add a developer with a deny")
        expect(server.request("POST", "/api/v1/members/add", owner, {"email": "dev2@example.com"}),
               201, None, "add a developer")
        dev = server.jwt("dev@example.com")
        dev2 = server.jwt("dev2@example.com")

        def case_1():
            def token_asking(pattern):
                return {"name": "t", "type": "Service",
                        "permissions": [statement("s", "flag", "allow", ["DeleteFlag"],
                                                  [pattern])]}
            huge = "project/*" + "A" * 800_000 + ":env/*:flag/*"
            envelope = expect(server.request("POST", "/api/v1/access-tokens", dev,
                                             token_asking(huge)),
                              400, "permissions_is_invalid", "an 800,000-byte pattern")
            if "message" not in (envelope["data"] or {}):
                raise Failed("the 400 has no message")
            cut = "project/*" + "A" * 1002 + ":env/*:flag/*"
            assert len(cut) == 1024
            envelope = expect(server.request("POST", "/api/v1/access-tokens", dev,
                                             token_asking(cut)),
                              403, "Forbidden", "the same shape at 1,024 bytes")
            example = (envelope["data"] or {}).get("counterexample") or {}
            if example.get("action") != "DeleteFlag" or ":env/prod:" not in example.get(
                    "resource", ""):
                raise Failed(f"counterexample {example} is not a prod flag deletion")

        def case_2():
            pattern = "project/*" + "A" * 1010 + "B"
            created = expect(server.request(
                "POST", "/api/v1/access-tokens", owner,
                {"name": "tail", "type": "Service",
                 "permissions": [statement("s", "flag", "allow", ["ToggleFlag"], [pattern])]}),
                201, None, "a token with a long literal tail")
            secret = created["data"]["token"]
            envelope = expect(server.request("POST", "/api/v1/decisions", secret,
                                             {"action": "ToggleFlag",
                                              "resource": "project/" + "A" * 4000}),
                              200, None, "deciding on a 4,008-byte name")
            if envelope["data"]["decision"] != "implicit_deny":
                raise Failed(f"decision {envelope['data']['decision']}, expected implicit_deny")
            expect(server.request("POST", "/api/v1/decisions", secret,
                                  {"action": "ToggleFlag",
                                   "resource": "project/" + "A" * 4089}),
                   400, "resource_is_invalid", "deciding on a 4,097-byte name")

        def case_3():
            policy = expect(server.request("POST", "/api/v1/policies", owner,
                                           {"name": "deep", "key": "deep"}),
                            201, None, "create a policy")["data"]["id"]
            expect(server.request("PUT", f"/api/v1/members/{owner_id}/add-policy/{policy}",
                                  owner), 200, None, "attach it to the owner")
            deep = "project/p" + "".join(f":env/e{i}" for i in range(1, 17))
            expect(server.request("PUT", f"/api/v1/policies/{policy}/statements", owner,
                                  [statement("deep", "project", "deny", ["*"], [deep])]),
                   400, "statements_is_invalid", "a 17-segment pattern")
            for action, resource in [("CanManageIAM", "iam/*"), ("DeleteProject", "project/web"),
                                     ("DeleteFlag", deep)]:
                envelope = expect(server.request("POST", "/api/v1/decisions", owner,
                                                 {"action": action, "resource": resource}),
                                  200, None, "the owner deciding")
                if not envelope["data"]["allowed"]:
                    raise Failed(f"the owner lost {action} on {resource[:40]}")

        def case_4():
            created = expect(server.request(
                "POST", "/api/v1/access-tokens", owner,
                {"name": "deployer", "type": "Service",
                 "permissions": [statement("s", "project", "allow", ["DeleteProject"],
                                           ["project/*"])]}),
                201, None, "the owner's service token")
            token_id, secret = created["data"]["id"], created["data"]["token"]
            expect(server.request("PUT", f"/api/v1/access-tokens/{token_id}/toggle", owner),
                   200, None, "the owner switches it off")
            envelope = expect(server.request("PUT", f"/api/v1/access-tokens/{token_id}/toggle",
                                             dev2),
                              403, "Forbidden", "a developer switches it back on")
            example = (envelope["data"] or {}).get("counterexample") or {}
            if example.get("action") != "DeleteProject":
                raise Failed(f"counterexample {example} is not a project deletion")
            expect(server.request("POST", "/api/v1/decisions", secret,
                                  {"action": "DeleteProject", "resource": "project/web"}),
                   403, "Forbidden", "the token stays off")

        members = expect(server.request("GET", "/api/v1/members", owner), 200, None,
                         "list members")["data"]
        owner_id = next(m["id"] for m in members if m["email"] == "owner@example.com")

        for number, case in enumerate([case_1, case_2, case_3, case_4], start=1):
            started = time.monotonic()
            try:
                case()
                outcome = "ok"
            except Failed as e:
                outcome = f"FAIL: {e}"
                failures += 1
            elapsed = time.monotonic() - started
            print(f"case {number}: {elapsed * 1000:.1f} ms {outcome}")
            if not server.alive():
                print(f"FAIL: the server died during case {number}:\n{server.output()}")
                return 1
            status, envelope = server.request("GET", "/healthz")
            if status != 200 or envelope.get("data") != "ok":
                print(f"FAIL: /healthz after case {number}: {status} {envelope}")
                failures += 1
    except Failed as e:
        print(f"FAIL: {e}")
        failures += 1
    finally:
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("hostile_socket_test: " + ("ok" if failures == 0 else f"{failures} failed"))
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
