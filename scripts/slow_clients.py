#!/usr/bin/env python3
"""Slow clients and unauthenticated floods against the real binary on SQLite, over loopback, with
bounded counts and durations (well under a minute).

1. Opens SLOW idle connections and prints how many the server holds at once before new ones wait
   in the listen queue. Then SLOW connections that send part of a request and stall (a head cut
   short, a body announced and never sent, a chunked body stalled, nothing at all): prints how fast
   /health/live answers meanwhile and how long until the server has let every one go.
2. Sends FLOOD unauthenticated requests (made-up methods, 60 KB ids, random paths) and prints what
   they wrote: /metrics size before and after, the largest audit row, log lines and bytes.

Exits 1 when a bound does not hold.

    scripts/slow_clients.py [SLOW] [FLOOD]
"""

import json
import os
import random
import socket
import sqlite3
import string
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Server  # noqa: E402

TIMEOUT_S = 2
MAX_CONNECTIONS = 200
MAX_AUDIT_ROW_BYTES = 520
failures = []


def check(ok, message):
    print(("ok    " if ok else "FAIL  ") + message)
    if not ok:
        failures.append(message)


def raw(port, request, timeout=30):
    """(status, elapsed seconds) of one request on its own connection."""
    started = time.time()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        answer = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, time.time() - started, answer


def get(port, path):
    return raw(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())


def open_connections(port):
    _, took, answer = get(port, "/metrics")
    for line in answer.decode().splitlines():
        if line.startswith("aftercare_http_connections_open "):
            return int(float(line.split()[1])), took
    raise RuntimeError("no connection gauge")


def open_slow(port, count, starts):
    """Connected sockets that sent `starts` in turn, until the listen queue has no more room (a
    connection not taken within 0.2 s) or `count` are open."""
    sockets = []
    for n in range(count):
        s = socket.socket()
        s.settimeout(0.2)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(starts[n % len(starts)])
            sockets.append(s)
        except OSError:
            s.close()
            break  # the listen queue is full
    return sockets


def capacity(port, count):
    """How many connections that send nothing the server holds at once: those it accepts get 408
    after the head timeout; the rest wait in the listen queue and are accepted only as places free
    up, so they are let go one timeout later or more."""
    opened = time.time()
    sockets = open_slow(port, count, [b""])
    check(time.time() - opened < TIMEOUT_S / 2, f"connected {len(sockets)} in {time.time() - opened:.1f}s")
    closed_at = wait_until_closed(sockets, 30)
    first = min(t for t in closed_at if t is not None)
    held = sum(1 for t in closed_at if t is not None and t - first <= TIMEOUT_S / 2)
    print(f"connections held at once: {held} of {len(sockets)} idle clients "
          f"(MAX_CONNECTIONS={MAX_CONNECTIONS}); first let go after {first - opened:.1f}s")
    check(0 < held <= MAX_CONNECTIONS + os.cpu_count(), f"the server holds at most its budget ({held})")


def slow_clients(port, count):
    starts = [
        b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{",
        b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"ema\r\n",
        b"GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Le",
        b"",
    ]
    # The budget and a hundred more: the server is full and the listen queue holds the rest.
    count = min(count, MAX_CONNECTIONS + 100)
    opened = time.time()
    sockets = open_slow(port, count, starts)
    print(f"slow clients: {len(sockets)} of {count} connected")
    live = get(port, "/health/live")
    print(f"/health/live answered {live[0]} after {live[1]:.2f}s while they wait")
    check(live[0] == 200 and live[1] < 2 * TIMEOUT_S + 2, "/health/live answers during the flood")
    closed_at = wait_until_closed(sockets, 30)
    still = sum(1 for t in closed_at if t is None)
    let_go = max((t for t in closed_at if t is not None), default=opened) - opened
    print(f"all {len(sockets)} slow clients let go after {let_go:.1f}s")
    check(still == 0, f"every slow client let go ({still} still open)")
    gauge, _ = open_connections(port)
    check(gauge <= 2, f"open-connections gauge back to {gauge}")


def wait_until_closed(sockets, patience):
    """When the server closed each socket (time.time()), or None if it did not within `patience`."""
    closed_at = [None] * len(sockets)
    started = time.time()
    for s in sockets:
        s.setblocking(False)
    while time.time() - started < patience and any(t is None for t in closed_at):
        for i, s in enumerate(sockets):
            if closed_at[i] is not None:
                continue
            try:
                while s.recv(65536):
                    pass
                closed_at[i] = time.time()
            except BlockingIOError:
                pass
            except OSError:
                closed_at[i] = time.time()
        time.sleep(0.05)
    for s in sockets:
        s.close()
    return closed_at


def token(rng, length):
    return "".join(rng.choice(string.ascii_letters) for _ in range(length))


def flood_requests(rng, count, huge):
    """Made-up methods, 60 KB ids on a /v1 route (401), random paths, encoded unmatched paths."""
    for n in range(count):
        kind = n % 4
        if kind == 0:
            line = f"{token(rng, rng.randint(1, 3000))} /v1/patients"
        elif kind == 1:
            line = f"GET /v1/patients/{huge}"
        elif kind == 2:
            line = f"GET /{token(rng, rng.randint(1, 3000))}"
        else:
            line = f"GET /%76%31/nothing/{huge}"
        yield f"{line} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()


def audit_rows(db_path):
    with sqlite3.connect(db_path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(audit_events)")]
        text = " + ".join(f"coalesce(length(CAST({c} AS BLOB)), 0)" for c in columns)
        return db.execute(f"SELECT count(*), coalesce(max({text}), 0) FROM audit_events").fetchone()


def flood(server, db_path, log_path, count):
    rng = random.Random(11)
    port = server.port
    # One request of each kind first, so every series the flood can touch exists before counting.
    for request in flood_requests(rng, 4, "x"):
        raw(port, request)
    get(port, "/metrics")
    time.sleep(0.3)  # the audit writer's batch delay
    _, _, before = get(port, "/metrics")
    log_before = os.path.getsize(log_path)
    rows_before, _ = audit_rows(db_path)
    started = time.time()
    for request in flood_requests(rng, count, "A" * 60_000):
        raw(port, request)
    seconds = time.time() - started
    time.sleep(0.3)  # the audit writer's batch delay
    _, _, after = get(port, "/metrics")
    rows_after, largest = audit_rows(db_path)
    log_bytes = os.path.getsize(log_path) - log_before
    with open(log_path, "rb") as log:
        log.seek(log_before)
        lines = log.read().count(b"\n")
    series = [sum(1 for line in m.decode().splitlines() if line and not line.startswith("#")) for m in (before, after)]
    print(f"flood: {count} unauthenticated requests in {seconds:.1f}s")
    print(f"metrics: {len(before)} -> {len(after)} bytes, {series[0]} -> {series[1]} series")
    print(f"audit: {rows_after - rows_before} rows (only requests that matched a /v1 route), "
          f"largest row {largest} bytes")
    print(f"log: {lines} lines, {log_bytes} bytes ({log_bytes / count:.1f} bytes a request)")
    check(series[1] == series[0], "no new metric series from made-up methods and paths")
    check(rows_after - rows_before == (count + 3) // 4, "one audit row for each request that matched a /v1 route")
    check(largest <= MAX_AUDIT_ROW_BYTES, f"audit rows stay under {MAX_AUDIT_ROW_BYTES} bytes")
    check(lines <= 10 * (seconds + 2) + 20, "log lines are rate-limited")


def main():
    slow = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    work = tempfile.mkdtemp(prefix="aftercare-slow-")
    log_path, db_path = os.path.join(work, "server.log"), os.path.join(work, "slow.db")
    server = Server(f"sqlite://{db_path}", log_path, REQUEST_HEAD_TIMEOUT_SECONDS=str(TIMEOUT_S),
                    REQUEST_BODY_TIMEOUT_SECONDS=str(TIMEOUT_S), MAX_CONNECTIONS=str(MAX_CONNECTIONS))
    server.env["RUST_LOG"] = "info"
    server.start()
    try:
        with open(log_path) as log:
            limits = [json.loads(line) for line in log if "connection limits" in line]
        if limits:
            print("server: " + ", ".join(f"{k}={v}" for k, v in limits[-1].items() if k not in ("timestamp", "level")))
        capacity(server.port, slow)
        slow_clients(server.port, slow)
        flood(server, db_path, log_path, count)
    finally:
        server.terminate()
    print("slow clients and floods: " + ("all bounds held" if not failures else f"{len(failures)} FAILED"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
