# Several `gatehouse serve` instances on one PostgreSQL database (SPEC 12), over real sockets:
# what one instance changes, the other answers within a second, and nothing acknowledged is lost.
"""Usage: instances_test.py GATEHOUSE SOURCE_DIR

Needs GATEHOUSE_TEST_POSTGRES_DIR: the directory of a running throwaway PostgreSQL cluster
(tests/support/postgres_cluster.sh), whose file `uri` holds the admin connection URI. On a fresh
database of that cluster, made for this run and dropped after it, it starts two instances A and B
with the same key files and checks:
  0. two instances with the same keys started at the same moment on another, empty database
     initialize it once (one organization, one owner) and both serve it;
  1. a third instance with other key files refuses to start (exit 2, naming the key files);
  2. a service token created on A is allowed on B within 1 s;
  3. 30 times: a token created on A, deleted on B, answers 401 on A within 1 s (the latencies,
     from the DELETE's answer to A's first 401, are printed); deactivated on B, it answers 403 on
     A within 1 s, and activated again on A, 200 on B;
  4. a member added on A with a policy, whose personal token is created on B, works on both;
     removed on A, the token answers 401 on B within 1 s;
  5. the database stopped mid-run: decisions keep answering 200 on both instances, writes answer
     503 StoreUnavailable, /healthz says unreachable; started again, writes succeed on both and
     /healthz says reachable within a few seconds, and then both list the same tokens;
  6. A killed with SIGKILL while it creates tokens: every token A acknowledged is listed on B
     within 2 s, and on A again once restarted on the same data directory.
Prints the latencies and counts; exits 0 only when every check held.
"""

import argparse
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

DEVELOPER = "66f3687f-939d-4257-bd3f-c3553d39e1b6"
FLAG = "project/web:env/prod:flag/x"
SCOPE = [{"id": "toggle", "resourceType": "flag", "effect": "allow", "actions": ["ToggleFlag"],
          "resources": ["project/*:env/*:flag/*"]}]
STORE_UNAVAILABLE = {"success": False, "errors": ["StoreUnavailable"], "data": None}
REQUEST_TIMEOUT = 20
# SPEC 12: a revocation made on one instance is answered 401 on every other within 1 s.
PROPAGATION_LIMIT = 1.0
REVOCATIONS = 30
# After an outage an instance tries the database again after a pause that doubles up to 5 s.
FOLLOW_AGAIN_LIMIT = 10.0


class Failure(Exception):
    pass


def log(message):
    print("instances: " + message, flush=True)


# ---- HTTP ---------------------------------------------------------------------------------------

class Client:
    """One keep-alive connection to one instance."""

    def __init__(self, server):
        self.server = server
        self.connection = None
        self.used = False

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(self, method, path, auth=None, body=None):
        """Returns (status, envelope or None, body bytes); a transport error is a failure. A
        keep-alive connection the server closed while idle is opened again once."""
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = auth
        data = None if body is None else json.dumps(body).encode()
        for attempt in (0, 1):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.server.port,
                                                             timeout=REQUEST_TIMEOUT)
                self.used = False
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                reused = self.used
                self.close()
                if attempt == 0 and reused:
                    continue
                raise Failure("%s %s on %s: %s (%s)" % (method, path, self.server.name, e,
                                                        self.server.state())) from e
            except (OSError, http.client.HTTPException) as e:
                self.close()
                raise Failure("%s %s on %s: %s (%s)" % (method, path, self.server.name, e,
                                                        self.server.state())) from e
        self.used = True
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        envelope = None
        if response.getheader("Content-Type", "").startswith("application/json"):
            try:
                envelope = json.loads(payload)
            except ValueError as e:
                raise Failure("%s %s on %s: body is not JSON: %s" %
                              (method, path, self.server.name, payload[:300])) from e
        return response.status, envelope, payload

    def call(self, method, path, auth=None, body=None, expect=(200,)):
        """A JSON API call answering one of `expect` with the envelope; returns (status, data)."""
        status, envelope, payload = self.request(method, path, auth, body)
        where = "%s %s on %s" % (method, path, self.server.name)
        if status not in expect:
            raise Failure("%s: status %d, expected %s; body %s" % (where, status, expect,
                                                                   payload[:300]))
        if (not isinstance(envelope, dict) or set(envelope) != {"success", "errors", "data"} or
                envelope["success"] != (status < 300)):
            raise Failure("%s: not an envelope: %s" % (where, payload[:300]))
        return status, envelope["data"]

    def decide(self, auth, action="ToggleFlag", resource=FLAG):
        """One decision: (status, envelope)."""
        status, envelope, payload = self.request("POST", "/api/v1/decisions", auth,
                                                 {"action": action, "resource": resource})
        if not isinstance(envelope, dict):
            raise Failure("decision on %s: status %d, body %s" % (self.server.name, status,
                                                                  payload[:300]))
        return status, envelope

    def expect_decision(self, auth, action, resource, decision, where):
        status, envelope = self.decide(auth, action, resource)
        if status != 200 or envelope["data"].get("decision") != decision:
            raise Failure("%s: %s on %s answered %d %s, expected %s" %
                          (where, action, resource, status, envelope, decision))

    def create_token(self, auth, name, kind="Service", expect=(201,)):
        """POST access-tokens; returns (status, data)."""
        body = {"name": name, "type": kind, "permissions": SCOPE if kind == "Service" else []}
        return self.call("POST", "/api/v1/access-tokens", auth, body, expect)

    def list_tokens(self, auth):
        """Every token of the organization, page after page: {id: item without lastUsedAt}, which
        each instance batches on its own. Listed again when the tokens changed between pages."""
        for _ in range(20):
            tokens, index, totals = {}, 0, set()
            while True:
                _, data = self.call("GET",
                                    "/api/v1/access-tokens?pageIndex=%d&pageSize=100" % index, auth)
                totals.add(data["totalCount"])
                for item in data["items"]:
                    item = dict(item)
                    item.pop("lastUsedAt", None)
                    tokens[item["id"]] = item
                index += 1
                if index * 100 >= data["totalCount"] or not data["items"]:
                    break
            if len(totals) == 1 and len(tokens) == data["totalCount"]:
                return tokens
            time.sleep(0.01)
        raise Failure("the list of tokens on %s: %d listed, totalCount %s, 20 times" %
                      (self.server.name, len(tokens), sorted(totals)))


def wait_decision(client, auth, want_status, limit, where, allowed=(200, 401)):
    """Decides every ~2 ms until the answer is `want_status`; returns the seconds it took. Any
    status outside `allowed` + want_status is a failure, and so is taking longer than `limit`."""
    start = time.monotonic()
    while True:
        status, envelope = client.decide(auth)
        now = time.monotonic()
        if status == want_status:
            return now - start
        if status not in allowed:
            raise Failure("%s: answered %d %s while waiting for %d" % (where, status, envelope,
                                                                      want_status))
        if now - start > limit:
            raise Failure("%s: still %d after %.0f ms (expected %d within %.0f ms)" %
                          (where, status, (now - start) * 1000, want_status, limit * 1000))
        time.sleep(0.002)


def distribution(seconds):
    """min, p50, p90, p99, max in ms (nearest rank)."""
    values = sorted(s * 1000 for s in seconds)

    def rank(p):
        return values[min(len(values) - 1, max(0, -(-p * len(values) // 100) - 1))]
    return "n=%d min %.1f p50 %.1f p90 %.1f p99 %.1f max %.1f ms" % (
        len(values), values[0], rank(50), rank(90), rank(99), values[-1])


# ---- Servers and the database -------------------------------------------------------------------

class Server:
    def __init__(self, name, gatehouse, policies, data, store, work):
        self.name, self.gatehouse, self.policies = name, gatehouse, policies
        self.data, self.store = data, store
        self.log_path = os.path.join(work, "%s.log" % name)
        self.process, self.port = None, None

    def state(self):
        if self.process is None:
            return "not started"
        status = self.process.poll()
        return "server running" if status is None else "server exited with %d" % status

    def start(self):
        out = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [self.gatehouse, "serve", "--data", self.data, "--store", self.store,
             "--policies", self.policies, "--listen", "127.0.0.1:0", "--access-log", "off"],
            stdout=out, stderr=subprocess.STDOUT)
        out.close()
        start = time.monotonic()
        deadline = start + 60
        with open(self.log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            offset = f.tell()
        while time.monotonic() < deadline and self.process.poll() is None:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                m = re.search(rb"^listening on 127\.0\.0\.1:(\d+)$", f.read(), re.MULTILINE)
            if m:
                self.port = int(m.group(1))
                return time.monotonic() - start
            time.sleep(0.02)
        raise Failure("%s did not start (%s); its output:\n%s" % (self.name, self.state(),
                                                                  self.output(20)))

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s; returns the exit status (None: it needed SIGKILL)."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    def output(self, lines):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join("    | " + line for line in text[-lines:])


def mint_jwt(gatehouse, policies, data, store, email):
    result = subprocess.run([gatehouse, "jwt", "--data", data, "--store", store,
                             "--policies", policies, "--member", email],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise Failure("gatehouse jwt --member %s: exit %d: %s" % (email, result.returncode,
                                                                  result.stderr.strip()))
    return "Bearer " + result.stdout.strip()


def psql(uri, sql):
    """Runs `sql`; returns what it printed, unaligned and without headers."""
    result = subprocess.run(["psql", uri, "-v", "ON_ERROR_STOP=1", "-q", "-At", "-c", sql],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise Failure("psql -c %r: %s" % (sql, result.stderr.strip()))
    return result.stdout.strip()


def with_database(uri, name):
    parts = urllib.parse.urlsplit(uri)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


class Cluster:
    """The throwaway cluster: stopped and started again with tests/support/postgres_cluster.sh,
    or with pg_ctl by hand when that script is not there."""

    def __init__(self, directory, source_dir):
        self.directory = directory
        self.down = False
        self.script = os.path.join(source_dir, "tests", "support", "postgres_cluster.sh")

    def _pg_ctl(self, *args):
        data = os.path.join(self.directory, "data")
        command = ["/usr/lib/postgresql/15/bin/pg_ctl", "-D", data, "-w"] + list(args)
        if os.geteuid() == 0:
            import pwd
            owner = pwd.getpwuid(os.stat(data).st_uid).pw_name
            command = ["runuser", "-u", owner, "--"] + command
        return command

    def _run(self, command):
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise Failure("%s: exit %d: %s %s" % (" ".join(command), result.returncode,
                                                  result.stdout.strip(), result.stderr.strip()))

    def pause(self):
        self.down = True
        if os.path.exists(self.script):
            self._run(["bash", self.script, "pause", self.directory])
            return
        data = os.path.join(self.directory, "data")
        with open(os.path.join(data, "postmaster.opts")) as f:
            options = shlex.split(f.read())[1:]
        self._run(self._pg_ctl("stop", "-m", "fast"))
        self.options = options

    def resume(self):
        if os.path.exists(self.script):
            self._run(["bash", self.script, "resume", self.directory])
            self.down = False
            return
        options = []
        skip = False
        for option in self.options:
            if skip:
                skip = False
            elif option == "-D":
                skip = True
            else:
                options.append(option)
        self._run(self._pg_ctl("-l", os.path.join(self.directory, "log"), "start",
                               "-o", " ".join(shlex.quote(o) for o in options)))
        self.down = False


# ---- The checks ---------------------------------------------------------------------------------

class Test:
    def __init__(self, args):
        self.gatehouse = os.path.realpath(args.gatehouse)
        self.source_dir = os.path.realpath(args.source_dir)
        self.policies = os.path.join(self.source_dir, "policies")
        self.summary = []
        self.servers = []
        self.counter = 0

    def name(self, prefix):
        self.counter += 1
        return "%s-%d" % (prefix, self.counter)

    def server(self, name, data):
        server = Server(name, self.gatehouse, self.policies, data, self.store, self.work)
        self.servers.append(server)
        return server

    def run(self, work, store, cluster, spare_store):
        self.work, self.store, self.cluster = work, store, cluster
        self.started_together(spare_store)
        self.dir_a, self.dir_b = os.path.join(work, "a"), os.path.join(work, "b")
        self.a = self.server("A", self.dir_a)
        self.a.start()
        # Every instance of a deployment has the same key files.
        subprocess.run(["cp", "-a", self.dir_a, self.dir_b], check=True)
        self.b = self.server("B", self.dir_b)
        self.b.start()
        log("A on port %d, B on port %d, store %s" % (self.a.port, self.b.port, store))
        self.owner = mint_jwt(self.gatehouse, self.policies, self.dir_a, store,
                              "owner@example.com")
        self.other_keys()
        self.create_on_a_use_on_b()
        self.revocations()
        self.deactivation()
        self.member_removal()
        self.database_restart()
        self.kill_during_writes()
        for server in self.servers:
            status = server.stop()
            if status != 0:
                raise Failure("%s: SIGTERM ended it with %s, expected exit 0" %
                              (server.name, "SIGKILL" if status is None else status))

    def started_together(self, store):
        """Two instances with the same keys started at once on an empty database: it is
        initialized once, one organization and one owner, and both serve it."""
        keys = os.urandom(64)
        dirs = [os.path.join(self.work, "together-%d" % i) for i in (1, 2)]
        for data in dirs:
            os.mkdir(data, 0o700)
            for name, key in (("token.key", keys[:32]), ("jwt.key", keys[32:])):
                fd = os.open(os.path.join(data, name), os.O_WRONLY | os.O_CREAT, 0o600)
                os.write(fd, key)
                os.close(fd)
        servers = [Server("together-%d" % i, self.gatehouse, self.policies, data, store,
                          self.work) for i, data in zip((1, 2), dirs)]
        self.servers.extend(servers)
        errors = []

        def start(server):
            try:
                server.start()
            except Failure as e:
                errors.append(str(e))
        threads = [threading.Thread(target=start, args=(server,)) for server in servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise Failure("started together: " + "; ".join(errors))
        counts = psql(store, "SELECT (SELECT count(*) FROM organizations) || ' ' || "
                             "(SELECT count(*) FROM members)")
        if counts != "1 1":
            raise Failure("started together: organizations and members %s, expected 1 1" % counts)
        owner = mint_jwt(self.gatehouse, self.policies, dirs[1], store, "owner@example.com")
        for server in servers:
            client = Client(server)
            client.expect_decision(owner, "ToggleFlag", FLAG, "allow",
                                   "started together: the owner on %s" % server.name)
            client.close()
            if server.stop() != 0:
                raise Failure("started together: %s did not stop cleanly" % server.name)
        log("started together: one organization, one owner, both instances serve it")

    def other_keys(self):
        data = os.path.join(self.work, "other-keys")
        os.mkdir(data)
        try:
            result = subprocess.run(
                [self.gatehouse, "serve", "--data", data, "--store", self.store,
                 "--policies", self.policies, "--listen", "127.0.0.1:0", "--access-log", "off"],
                capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired as e:
            raise Failure("an instance with other key files started (still running after 30 s)") \
                from e
        if result.returncode != 2 or "token.key" not in result.stderr or \
                "jwt.key" not in result.stderr:
            raise Failure("an instance with other key files: exit %d, stderr %r; expected exit 2 "
                          "and a message naming token.key and jwt.key" %
                          (result.returncode, result.stderr))
        log("other keys refused: %s" % result.stderr.strip().splitlines()[-1])

    def wait_accepted(self, client, secret, where):
        return wait_decision(client, secret, 200, PROPAGATION_LIMIT, where)

    def create_on_a_use_on_b(self):
        on_a, on_b = Client(self.a), Client(self.b)
        _, token = on_a.create_token(self.owner, self.name("created-on-a"))
        took = self.wait_accepted(on_b, token["token"], "a token created on A, used on B")
        on_b.expect_decision(token["token"], "ToggleFlag", FLAG, "allow", "token on B")
        on_b.expect_decision(token["token"], "DeleteFlag", FLAG, "implicit_deny", "token on B")
        self.summary.append("created on A, allowed on B after %.1f ms" % (took * 1000))
        on_a.close()
        on_b.close()

    def revocations(self):
        on_a, on_b = Client(self.a), Client(self.b)
        created, revoked = [], []
        for i in range(REVOCATIONS):
            _, token = on_a.create_token(self.owner, self.name("revoked"))
            secret = token["token"]
            created.append(self.wait_accepted(on_b, secret, "token %d created on A, on B" % i))
            on_b.call("DELETE", "/api/v1/access-tokens/%s" % token["id"], self.owner)
            revoked.append(wait_decision(on_a, secret, 401, PROPAGATION_LIMIT,
                                         "token %d deleted on B, on A" % i))
            status, _ = on_b.decide(secret)  # read-your-writes on B
            if status != 401:
                raise Failure("token %d deleted on B answers %d on B" % (i, status))
        self.summary.append("create on A -> allowed on B: " + distribution(created))
        self.summary.append("delete on B -> 401 on A:    " + distribution(revoked))
        on_a.close()
        on_b.close()

    def deactivation(self):
        on_a, on_b = Client(self.a), Client(self.b)
        _, token = on_a.create_token(self.owner, self.name("toggled"))
        secret, path = token["token"], "/api/v1/access-tokens/%s/toggle" % token["id"]
        self.wait_accepted(on_b, secret, "toggled token created on A, on B")
        on_b.call("PUT", path, self.owner)
        # README step 6 and SPEC 4: an inactive token gets 403 Forbidden.
        off = wait_decision(on_a, secret, 403, PROPAGATION_LIMIT, "deactivated on B, on A")
        _, envelope = on_a.decide(secret)
        if envelope != {"success": False, "errors": ["Forbidden"], "data": None}:
            raise Failure("an inactive token on A answered %s" % envelope)
        on_a.call("PUT", path, self.owner)
        on = wait_decision(on_b, secret, 200, PROPAGATION_LIMIT, "activated on A, on B",
                           allowed=(403,))
        self.summary.append("deactivate on B -> 403 on A after %.1f ms; activate on A -> 200 on B "
                            "after %.1f ms" % (off * 1000, on * 1000))
        on_a.close()
        on_b.close()

    def member_removal(self):
        on_a, on_b = Client(self.a), Client(self.b)
        email = "member-%d@example.com" % os.getpid()
        _, policy = on_a.call("POST", "/api/v1/policies", self.owner,
                              {"name": "Instances IAM", "key": "instances-iam",
                               "description": "instances_test"}, (201,))
        on_a.call("PUT", "/api/v1/policies/%s/statements" % policy["id"], self.owner,
                  [{"id": "iam", "resourceType": "iam", "effect": "allow",
                    "actions": ["CanManageIAM"], "resources": ["iam/*"]}])
        _, member = on_a.call("POST", "/api/v1/members/add", self.owner,
                              {"email": email, "policyIds": [DEVELOPER], "groupIds": []}, (201,))
        on_a.call("PUT", "/api/v1/members/%s/add-policy/%s" % (member["id"], policy["id"]),
                  self.owner)
        jwt = mint_jwt(self.gatehouse, self.policies, self.dir_a, self.store, email)
        # B learns of the member and of the policy from the change log.
        start = time.monotonic()
        while True:
            status, envelope = on_b.decide(jwt, "CanManageIAM", "iam/members")
            if status == 200 and envelope["data"]["decision"] == "allow":
                break
            if status not in (200, 401) or time.monotonic() - start > PROPAGATION_LIMIT:
                raise Failure("the member added on A with a policy, on B: %d %s" %
                              (status, envelope))
            time.sleep(0.002)
        _, token = on_b.create_token(jwt, self.name("personal"), kind="Personal")
        secret = token["token"]
        on_b.expect_decision(secret, "CanManageIAM", "iam/members", "allow",
                             "the personal token on B")
        self.wait_accepted(on_a, secret, "the personal token created on B, on A")
        on_a.expect_decision(secret, "CanManageIAM", "iam/members", "allow",
                             "the personal token on A")
        on_a.call("DELETE", "/api/v1/members/remove-from-org/%s" % member["id"], self.owner)
        status, _ = on_a.decide(secret)
        if status != 401:
            raise Failure("the personal token of a member removed on A answers %d on A" % status)
        took = wait_decision(on_b, secret, 401, PROPAGATION_LIMIT,
                             "the personal token of a member removed on A, on B")
        status, _ = on_b.decide(jwt)
        if status != 401:
            raise Failure("the JWT of a member removed on A answers %d on B" % status)
        self.summary.append("member removed on A -> personal token 401 on B after %.1f ms" %
                            (took * 1000))
        on_a.close()
        on_b.close()

    def database_restart(self):
        _, token = Client(self.a).create_token(self.owner, self.name("loop"))
        secret = token["token"]
        self.wait_accepted(Client(self.b), secret, "the loops' token on B")
        stop = threading.Event()
        loops = {}

        def loop(server):
            record = loops[server.name] = {"ok": 0, "failures": [], "during": 0}
            client = Client(server)
            i = 0
            while not stop.is_set():
                auth = secret if i % 2 == 0 else self.owner
                i += 1
                try:
                    status, envelope = client.decide(auth)
                except Failure as e:
                    record["failures"].append(str(e))
                    time.sleep(0.05)
                    continue
                if status == 200 and envelope["data"]["decision"] == "allow":
                    record["ok"] += 1
                    if self.paused.is_set():
                        record["during"] += 1
                else:
                    record["failures"].append("%d %s" % (status, envelope))
                time.sleep(0.001)

        self.paused = threading.Event()
        threads = [threading.Thread(target=loop, args=(s,)) for s in (self.a, self.b)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.3)
            self.cluster.pause()
            self.paused.set()
            paused_at = time.monotonic()
            for server in (self.a, self.b):
                client = Client(server)
                before = time.monotonic()
                status, envelope, payload = client.request(
                    "POST", "/api/v1/access-tokens", self.owner,
                    {"name": self.name("outage"), "type": "Service", "permissions": SCOPE})
                write_ms = (time.monotonic() - before) * 1000
                if status != 503 or envelope != STORE_UNAVAILABLE:
                    raise Failure("a write on %s without the database answered %d %s" %
                                  (server.name, status, payload[:300]))
                start = time.monotonic()
                while True:
                    status, envelope, payload = client.request("GET", "/healthz")
                    data = envelope.get("data") if isinstance(envelope, dict) else None
                    if (status == 200 and isinstance(data, dict) and
                            data.get("store") == "unreachable"):
                        break
                    if time.monotonic() - start > 3:
                        raise Failure("/healthz on %s without the database: %d %s" %
                                      (server.name, status, payload[:300]))
                    time.sleep(0.05)
                if not isinstance(data.get("stalenessMs"), int):
                    raise Failure("/healthz on %s: stalenessMs %r" % (server.name, data))
                metrics = client.request("GET", "/metrics")[2].decode()
                if not re.search(r"^gatehouse_store_reachable 0$", metrics, re.MULTILINE):
                    raise Failure("/metrics on %s without the database: %s" %
                                  (server.name, re.findall(r"^gatehouse_store_.*$", metrics,
                                                           re.MULTILINE)))
                self.summary.append("database down: a write on %s answered 503 after %.1f ms; "
                                    "/healthz %s" % (server.name, write_ms, json.dumps(data)))
            # Decisions go on from memory for a while without the database.
            time.sleep(max(0.0, 1.5 - (time.monotonic() - paused_at)))
            self.paused.clear()
            self.cluster.resume()
            resumed = time.monotonic()
            created = {}
            for server in (self.a, self.b):
                client = Client(server)
                while True:
                    status, data = client.call("POST", "/api/v1/access-tokens", self.owner,
                                               {"name": self.name("after-" + server.name),
                                                "type": "Service", "permissions": SCOPE},
                                               (201, 503))
                    if status == 201:
                        created[server.name] = data["id"]
                        break
                    if time.monotonic() - resumed > 15:
                        raise Failure("%s: writes still answer 503 15 s after the database "
                                      "came back" % server.name)
                    time.sleep(0.05)
                self.summary.append("database back: writes on %s succeed after %.0f ms" %
                                    (server.name, (time.monotonic() - resumed) * 1000))
            # Each instance follows the change log again after its own back-off (doubling up to
            # 5 s), which may end after its writes already succeed.
            for server in (self.a, self.b):
                client = Client(server)
                while True:
                    status, envelope, payload = client.request("GET", "/healthz")
                    data = envelope.get("data") if isinstance(envelope, dict) else None
                    if (status == 200 and isinstance(data, dict) and
                            data.get("store") == "reachable"):
                        break
                    if time.monotonic() - resumed > FOLLOW_AGAIN_LIMIT:
                        raise Failure("/healthz on %s %.0f s after the database came back: %d %s"
                                      % (server.name, FOLLOW_AGAIN_LIMIT, status, payload[:300]))
                    time.sleep(0.02)
                self.summary.append("database back: %s follows the change log again after %.0f ms"
                                    % (server.name, (time.monotonic() - resumed) * 1000))
            self.same_lists("after the database restart", set(created.values()))
            time.sleep(0.2)
        finally:
            self.paused.clear()
            stop.set()
            for thread in threads:
                thread.join()
        for name in ("A", "B"):
            record = loops[name]
            if record["failures"]:
                raise Failure("decisions on %s during the database restart: %d failed, first: %s"
                              % (name, len(record["failures"]), record["failures"][0]))
            if record["during"] == 0:
                raise Failure("no decision on %s was answered while the database was down" % name)
        self.summary.append("decision loops: A %d allowed (%d while the database was down), B %d "
                            "(%d), none failed" % (loops["A"]["ok"], loops["A"]["during"],
                                                   loops["B"]["ok"], loops["B"]["during"]))

    def same_lists(self, where, must_have, limit=2.0):
        """Waits until A and B list the same tokens, `must_have` among them."""
        on_a, on_b = Client(self.a), Client(self.b)
        start = time.monotonic()
        while True:
            listed_a, listed_b = on_a.list_tokens(self.owner), on_b.list_tokens(self.owner)
            if listed_a == listed_b and must_have <= set(listed_a):
                return len(listed_a)
            if time.monotonic() - start > limit:
                only_a = sorted(set(listed_a) - set(listed_b))
                only_b = sorted(set(listed_b) - set(listed_a))
                differ = sorted(i for i in set(listed_a) & set(listed_b)
                                if listed_a[i] != listed_b[i])
                raise Failure("%s: A and B list different tokens after %.1f s: only on A %s, "
                              "only on B %s, different %s, missing %s" %
                              (where, limit, only_a, only_b,
                               [(listed_a[i], listed_b[i]) for i in differ[:2]],
                               sorted(must_have - set(listed_a))))
            time.sleep(0.05)

    def kill_during_writes(self):
        acknowledged = []
        done = threading.Event()
        writer_error = []

        def writer():
            client = Client(self.a)
            i = 0
            while True:
                i += 1
                try:
                    status, envelope, payload = client.request(
                        "POST", "/api/v1/access-tokens", self.owner,
                        {"name": "killed-%d" % i, "type": "Service", "permissions": SCOPE})
                except Failure:
                    break  # A is gone
                if status != 201:
                    writer_error.append("%d %s" % (status, payload[:300]))
                    break
                acknowledged.append(envelope["data"]["id"])
            done.set()

        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(1.0)
        self.a.kill9()
        thread.join(timeout=30)
        if writer_error:
            raise Failure("creating tokens on A before SIGKILL: " + writer_error[0])
        if not acknowledged:
            raise Failure("A acknowledged no token in 1 s")
        on_b = Client(self.b)
        start = time.monotonic()
        while True:
            missing = set(acknowledged) - set(on_b.list_tokens(self.owner))
            if not missing:
                break
            if time.monotonic() - start > 2:
                raise Failure("%d of the %d tokens A acknowledged before SIGKILL are not listed "
                              "on B after 2 s: %s" % (len(missing), len(acknowledged),
                                                      sorted(missing)[:5]))
            time.sleep(0.05)
        caught_up = time.monotonic() - start
        took = self.a.start()
        count = self.same_lists("after A restarted", set(acknowledged))
        self.summary.append("SIGKILL of A during writes: %d acknowledged, all on B after %.0f ms "
                            "and on A restarted (in %.0f ms); %d tokens listed on both" %
                            (len(acknowledged), caught_up * 1000, took * 1000, count))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("gatehouse")
    parser.add_argument("source_dir")
    args = parser.parse_args()

    cluster_dir = os.environ.get("GATEHOUSE_TEST_POSTGRES_DIR")
    if not cluster_dir:
        print("instances: FAILED: GATEHOUSE_TEST_POSTGRES_DIR is not set; it must name the "
              "directory of a running PostgreSQL cluster (tests/support/postgres_cluster.sh "
              "start DIR)")
        return 1
    try:
        with open(os.path.join(cluster_dir, "uri")) as f:
            admin_uri = f.read().strip()
        if not admin_uri:
            raise OSError("the file is empty")
    except OSError as e:
        print("instances: FAILED: cannot read the PostgreSQL cluster's admin URI from %s: %s" %
              (os.path.join(cluster_dir, "uri"), e))
        return 1

    started = time.monotonic()
    database = "gatehouse_instances_%d" % os.getpid()
    work = tempfile.mkdtemp(prefix="gatehouse-instances-")
    test = Test(args)
    failures = []
    created = False
    cluster = Cluster(cluster_dir, test.source_dir)
    try:
        psql(admin_uri, "CREATE DATABASE %s" % database)
        psql(admin_uri, "CREATE DATABASE %s_together" % database)
        created = True
        test.run(work, with_database(admin_uri, database), cluster,
                 with_database(admin_uri, database + "_together"))
    except Failure as e:
        failures.append(str(e))
    except Exception as e:  # pylint: disable=broad-except
        failures.append("%s: %s" % (type(e).__name__, e))
    finally:
        for server in test.servers:
            server.stop()
        if failures:
            for server in test.servers:
                print("%s's output (end):" % server.name)
                print(server.output(30))
        if created:
            try:
                if cluster.down:
                    # A failure between pause and resume left the database down.
                    try:
                        cluster.resume()
                    except Failure:
                        pass
                psql(admin_uri, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % database)
                psql(admin_uri, "DROP DATABASE IF EXISTS %s_together WITH (FORCE)" % database)
            except Failure as e:
                failures.append("dropping the database: %s" % e)
        shutil.rmtree(work, ignore_errors=True)
    for line in test.summary:
        log(line)
    if failures:
        log("FAILED")
        for f in failures:
            print("  " + f)
        return 1
    log("passed in %.1f s" % (time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
