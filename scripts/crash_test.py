#!/usr/bin/env python3
"""Crash safety: concurrent check-in writers while the server is killed with SIGKILL at random
moments, 20 times, and restarted. Every check-in that was answered 201 must be there afterwards, and
the SQLite file must pass PRAGMA integrity_check. Then SIGTERM with requests in flight: none may fail.

    scripts/crash_test.py sqlite|postgres [POSTGRES_URL]
"""

import os
import random
import sqlite3
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SYMPTOMS, Server, call, seed_demo  # noqa: E402

KILLS = int(os.environ.get("CRASH_KILLS", "20"))
WRITERS = 6


def main():
    backend = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    work = tempfile.mkdtemp(prefix="aftercare-crash-")
    sqlite_path = os.path.join(work, "crash.db")
    url = f"sqlite://{sqlite_path}" if backend == "sqlite" else sys.argv[2]
    random.seed(20261125)
    server = Server(url, os.path.join(work, "server.log"))
    server.command("migrate")
    tokens, treatment, _ = seed_demo_started(server)

    acknowledged, lock = [], threading.Lock()
    stop = threading.Event()

    def writer(n):
        i = 0
        while not stop.is_set():
            i += 1
            marker = f"writer {n} check-in {i}"
            try:
                status, body = call(server.base, "POST", f"/v1/treatments/{treatment}/check-ins", tokens["patient"],
                                    {"symptoms": SYMPTOMS, "notes": marker}, timeout=10)
            except Exception:
                time.sleep(0.02)  # the server is down: try again
                continue
            if status == 201:
                with lock:
                    acknowledged.append((body["id"], marker))
            elif status >= 500:
                print(f"writer {n}: {status} {body}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for kill in range(KILLS):
        time.sleep(random.uniform(0.2, 0.8))
        server.kill()
        server.start()
    stop.set()
    for thread in threads:
        thread.join()

    missing = []
    for check_in_id, marker in acknowledged:
        status, body = call(server.base, "GET", f"/v1/check-ins/{check_in_id}", tokens["patient"])
        if status != 200 or body.get("notes") != marker:
            missing.append((check_in_id, status))
    print(f"crash test ({backend}): {KILLS} SIGKILLs, {len(acknowledged)} acknowledged check-ins, {len(missing)} lost")

    integrity = "not applicable"
    if backend == "sqlite":
        server.kill()
        integrity = sqlite3.connect(sqlite_path).execute("PRAGMA integrity_check").fetchone()[0]
        print(f"PRAGMA integrity_check: {integrity}")
        server.start()

    drained = sigterm_drains(server, tokens, treatment)
    ok = not missing and len(acknowledged) > 0 and integrity in ("ok", "not applicable") and drained
    print("crash test passed" if ok else "crash test FAILED")
    sys.exit(0 if ok else 1)


def seed_demo_started(server):
    server.start()
    return seed_demo(server)


def sigterm_drains(server, tokens, treatment):
    """SIGTERM while requests are in flight: every request the server accepted completes."""
    results, lock = [], threading.Lock()
    started = threading.Barrier(21)

    def request():
        started.wait()
        try:
            status, _ = call(server.base, "POST", f"/v1/treatments/{treatment}/check-ins", tokens["patient"],
                             {"symptoms": SYMPTOMS, "notes": "in flight at SIGTERM"}, timeout=30)
        except Exception as error:  # refused: it arrived after the listener closed, never in flight
            status = f"not accepted ({type(error).__name__})"
        with lock:
            results.append(status)

    threads = [threading.Thread(target=request) for _ in range(20)]
    for thread in threads:
        thread.start()
    started.wait()
    time.sleep(0.01)
    code = server.terminate()
    for thread in threads:
        thread.join()
    answered = [r for r in results if isinstance(r, int)]
    failed = [r for r in answered if r != 201]
    print(f"SIGTERM with requests in flight: {len(answered)} answered, {len(failed)} failed, exit code {code}")
    return not failed and code == 0


if __name__ == "__main__":
    main()
