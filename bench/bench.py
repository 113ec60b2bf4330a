#!/usr/bin/env python3
"""The benchmark: a release build of aftercare on SQLite and on PostgreSQL, a seeded data set, and
wrk over loopback for each endpoint, with `/health/live` from the same run as the framework's
ceiling and the database's raw single-row commit rate as the writes' ceiling.

    python3 bench/bench.py [--size small|medium|large] [--backends sqlite,postgres] [--seconds 10]

PostgreSQL needs TEST_DATABASE_URL (see scripts/throwaway-postgres.sh); without it, it is skipped.
"""

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts"))
os.environ.setdefault("AFTERCARE_BIN", os.path.join(ROOT, "target", "release", "aftercare"))
from harness import SYMPTOMS, Server, call, seed_demo  # noqa: E402
from seed import seed  # noqa: E402

SIZES = {"small": (1_000, 10_000), "medium": (10_000, 300_000), "large": (10_000, 1_000_000)}


# Each request gets a key of its own, as the app sends (one per check-in, reused only on retry).
UNIQUE_IDEMPOTENCY_KEY = """
local threads = 0
function setup(thread) thread:set("thread_id", threads); threads = threads + 1 end
local sent = 0
function request()
  sent = sent + 1
  wrk.headers["Idempotency-Key"] = "bench-" .. thread_id .. "-" .. sent
  return wrk.format()
end
"""


def wrk(url, seconds, connections, method="GET", token=None, body=None, unique_key=False):
    script = ["wrk.method = %s" % json.dumps(method)]
    if token:
        script.append('wrk.headers["Authorization"] = "Bearer %s"' % token)
    if body is not None:
        script.append('wrk.headers["Content-Type"] = "application/json"')
        script.append("wrk.body = %s" % json.dumps(json.dumps(body)))
    if unique_key:
        script.append(UNIQUE_IDEMPOTENCY_KEY)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write("\n".join(script) + "\n")
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)

    def latency(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return {"rps": rps, "p50": latency(50), "p99": latency(99), "errors": errors}


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) / 1024


def sqlite_commit_rate(path, seconds):
    """Single-row INSERT + COMMIT per transaction, WAL and synchronous=FULL like the server."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS commit_probe (id INTEGER PRIMARY KEY, payload TEXT)")
    n, deadline = 0, time.time() + seconds
    while time.time() < deadline:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO commit_probe (payload) VALUES (?)", ("x" * 200,))
        conn.execute("COMMIT")
        n += 1
    conn.close()
    return n / seconds


def postgres_commit_rate(url, seconds, clients=16):
    """pgbench with a one-row INSERT per transaction, against the same cluster and settings."""
    subprocess.run(["psql", "-q", url, "-c", "CREATE TABLE IF NOT EXISTS commit_probe (id BIGSERIAL PRIMARY KEY, payload TEXT)"], check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("INSERT INTO commit_probe (payload) VALUES (repeat('x', 200));\n")
    out = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", f.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def run_backend(backend, size, seconds, connections):
    patients, check_ins = SIZES[size]
    work = tempfile.mkdtemp(prefix=f"aftercare-bench-{backend}-")
    if backend == "sqlite":
        url = f"sqlite://{work}/bench.db"
    else:
        admin = os.environ["TEST_DATABASE_URL"]
        name = f"bench_{int(time.time())}"
        subprocess.run(["psql", "-q", admin, "-c", f"CREATE DATABASE {name}"], check=True)
        url = admin.rsplit("/", 1)[0] + "/" + name
    # The server's own pool size (twice the cores) unless BENCH_POOL_SIZE says otherwise.
    pool = {"DATABASE_POOL_SIZE": os.environ["BENCH_POOL_SIZE"]} if os.environ.get("BENCH_POOL_SIZE") else {}
    server = Server(url, os.path.join(work, "server.log"), LOGIN_FAILURES_PER_ACCOUNT="1000000",
                    LOGIN_ATTEMPTS_PER_ACCOUNT="1000000", **pool)
    server.start()
    tokens, treatment, logins = seed_demo(server)
    status, me = call(server.base, "GET", "/v1/me", tokens["clinician"])
    started = time.time()
    seed(url, me["clinic_id"], patients, check_ins)
    print(f"[{backend}] seeded {patients} patients, {patients} treatments, {check_ins} check-ins in {time.time() - started:.1f} s", flush=True)
    base = server.base
    patient = next(login for login in logins if login["role"] == "patient")
    login_body = {"email": patient["email"], "password": patient["password"]}
    results = {}
    plan = [
        ("GET /health/live", f"{base}/health/live", "GET", None, None),
        ("GET timeline", f"{base}/v1/treatments/{treatment}/timeline", "GET", tokens["patient"], None),
        ("GET reminders (week)", f"{base}/v1/treatments/{treatment}/reminders", "GET", tokens["patient"], None),
        ("GET /v1/me/today", f"{base}/v1/me/today", "GET", tokens["patient"], None),
        ("GET review queue", f"{base}/v1/review-queue", "GET", tokens["clinician"], None),
        ("POST check-in", f"{base}/v1/treatments/{treatment}/check-ins", "POST", tokens["patient"], {"symptoms": SYMPTOMS}),
        ("POST check-in + Idempotency-Key", f"{base}/v1/treatments/{treatment}/check-ins", "POST", tokens["patient"], {"symptoms": SYMPTOMS}),
        ("POST login", f"{base}/v1/auth/login", "POST", None, login_body),
    ]
    for name, url_, method, token, body in plan:
        results[name] = wrk(url_, seconds, connections, method, token, body, unique_key="Idempotency-Key" in name)
        print(f"[{backend}] {name}: {results[name]}", flush=True)

    # Reads while 10 logins a second run alongside.
    stop = threading.Event()

    def logins():
        while not stop.is_set():
            tick = time.time()
            for _ in range(10):
                threading.Thread(target=call, args=(base, "POST", "/v1/auth/login", None, login_body)).start()
            time.sleep(max(0.0, 1 - (time.time() - tick)))

    thread = threading.Thread(target=logins)
    thread.start()
    results["GET timeline + 10 logins/s"] = wrk(f"{base}/v1/treatments/{treatment}/timeline", seconds, connections, "GET", tokens["patient"])
    stop.set()
    thread.join()
    print(f"[{backend}] GET timeline + 10 logins/s: {results['GET timeline + 10 logins/s']}", flush=True)
    rss = peak_rss_mib(server.process.pid)
    server.terminate()
    if backend == "sqlite":
        commits = sqlite_commit_rate(os.path.join(work, "commit-probe.db"), seconds)
    else:
        commits = postgres_commit_rate(url, seconds)
    return {"results": results, "peak_rss_mib": rss, "raw_commits_per_s": commits}


def report(size, seconds, connections, by_backend):
    lines = [f"size {size} ({SIZES[size][0]} patients, {SIZES[size][1]} check-ins), wrk -t2 -c{connections} -d{seconds}s", ""]
    lines.append("| backend | endpoint | req/s | p50 ms | p99 ms | errors | ratio |")
    lines.append("|---|---|---:|---:|---:|---:|---:|")
    for backend, data in by_backend.items():
        ceiling = data["results"]["GET /health/live"]["rps"]
        for name, r in data["results"].items():
            if name.startswith("POST check-in"):
                ratio = f"{r['rps'] / data['raw_commits_per_s']:.2f} of raw commits"
            elif name.startswith("GET") and name != "GET /health/live":
                ratio = f"{r['rps'] / ceiling:.2f} of live"
            else:
                ratio = ""
            lines.append(f"| {backend} | {name} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} | {ratio} |")
        lines.append(f"| {backend} | raw single-row commits/s | {data['raw_commits_per_s']:.0f} | | | | |")
        lines.append(f"| {backend} | server peak RSS | {data['peak_rss_mib']:.0f} MiB | | | | |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="small", choices=SIZES)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--smoke", action="store_true", help="report errors without failing (CI's smoke run)")
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    by_backend = {}
    for backend in args.backends.split(","):
        if backend == "postgres" and not os.environ.get("TEST_DATABASE_URL"):
            print("[postgres] skipped: set TEST_DATABASE_URL (scripts/throwaway-postgres.sh start)")
            continue
        by_backend[backend] = run_backend(backend, args.size, args.seconds, args.connections)
    print()
    print(report(args.size, args.seconds, args.connections, by_backend))
    errors = sum(r["errors"] for d in by_backend.values() for r in d["results"].values())
    print(f"errors in all runs: {errors}")
    sys.exit(1 if errors and not args.smoke else 0)


if __name__ == "__main__":
    main()
