"""Start, stop and kill the real aftercare binary, and talk to it over loopback. Used by the crash
and load scripts; standard library only."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.environ.get("AFTERCARE_BIN", os.path.join(ROOT, "target", "debug", "aftercare"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, database_url, log_path, **extra_env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, DATABASE_URL=database_url, BIND_ADDR=f"127.0.0.1:{self.port}",
                        JWT_SECRET="harness-secret-harness-secret-harness-0", ACCESS_TOKEN_TTL_SECONDS="7200",
                        LOG_FORMAT="json", RUST_LOG="warn", LOGIN_FAILURES_PER_CLIENT="1000000",
                        **{"PHOTO_STORE_URL": os.path.join(os.path.dirname(os.path.abspath(log_path)), "photos"),
                           **extra_env})
        self.log = open(log_path, "a")
        self.process = None

    def command(self, *args):
        out = subprocess.run([BINARY, *args], env=self.env, capture_output=True, text=True, check=True)
        return out.stdout

    def start(self):
        self.process = subprocess.Popen([BINARY, "serve"], env=self.env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/health/ready", timeout=1)
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("the server did not become ready")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def call(base, method, path, token=None, body=None, headers=None, timeout=30, raw=None):
    """(status, parsed body); raises on a connection error. `raw`: bytes sent as they are."""
    data = json.dumps(body).encode() if body is not None else raw
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Connection", "close")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    elif raw is not None:
        request.add_header("Content-Type", "application/octet-stream")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, None


def seed_demo(server):
    """Seeds a demo clinic; returns {role: token}, the patient's active treatment id, and the logins."""
    logins = json.loads(server.command("demo"))["logins"]
    tokens = {}
    for login in logins:
        status, body = call(server.base, "POST", "/v1/auth/login", body={"email": login["email"], "password": login["password"]})
        assert status == 200, (status, body)
        tokens[login["role"]] = body["access_token"]
    status, today = call(server.base, "GET", "/v1/me/today", tokens["patient"])
    return tokens, today["treatments"][0]["treatment_id"], logins


SYMPTOMS = {"redness": 2, "swelling": 1, "pain": 1, "itching": 0, "peeling": 1,
            "bleeding": False, "pus": False, "fever": False, "hives": False, "darkening": False}
