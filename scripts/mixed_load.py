#!/usr/bin/env python3
"""Mixed load on SQLite: many readers and 20% writers for a while. No answer may be a 5xx, and the
server may never log "database is locked".

    scripts/mixed_load.py [SECONDS] [CLIENTS]
"""

import os
import random
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SYMPTOMS, Server, call, seed_demo  # noqa: E402


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    work = tempfile.mkdtemp(prefix="aftercare-load-")
    log_path = os.path.join(work, "server.log")
    server = Server(f"sqlite://{work}/load.db", log_path)
    server.start()
    tokens, treatment, _ = seed_demo(server)
    reads = [
        ("patient", f"/v1/treatments/{treatment}/timeline"),
        ("patient", f"/v1/treatments/{treatment}/reminders"),
        ("patient", "/v1/me/today"),
        ("clinician", "/v1/review-queue"),
        ("clinician", f"/v1/treatments/{treatment}/check-ins?limit=20"),
    ]
    counts, latencies, lock = {}, {"read": [], "write": []}, threading.Lock()
    deadline = time.time() + seconds

    def client(n):
        rng = random.Random(n)
        while time.time() < deadline:
            write = rng.random() < 0.2
            started = time.perf_counter()
            try:
                if write:
                    status, _ = call(server.base, "POST", f"/v1/treatments/{treatment}/check-ins", tokens["patient"],
                                     {"symptoms": SYMPTOMS, "notes": f"load {n}"})
                else:
                    role, path = rng.choice(reads)
                    status, _ = call(server.base, "GET", path, tokens[role])
            except Exception as error:
                status = f"connection error ({type(error).__name__})"
            elapsed = time.perf_counter() - started
            with lock:
                counts[status] = counts.get(status, 0) + 1
                latencies["write" if write else "read"].append(elapsed)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    server.terminate()

    locked = sum("database is locked" in line for line in open(log_path))
    total = sum(counts.values())

    def pct(values, p):
        values = sorted(values)
        return values[min(len(values) - 1, int(len(values) * p))] * 1000 if values else 0

    print(f"mixed load on SQLite: {seconds:.0f} s, {clients} clients, {total} requests "
          f"({total / seconds:.0f}/s), answers {dict(sorted(counts.items(), key=str))}")
    for kind, values in latencies.items():
        print(f"  {kind}: {len(values)} requests, p50 {pct(values, 0.5):.1f} ms, p99 {pct(values, 0.99):.1f} ms")
    print(f"  'database is locked' in the server log: {locked}")
    bad = {s: c for s, c in counts.items() if not (isinstance(s, int) and s < 500)}
    ok = not bad and locked == 0 and total > 0
    print("mixed load passed" if ok else f"mixed load FAILED: {bad}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
