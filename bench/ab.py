"""A/B of two builds on the hot endpoints, back to back on the same machine.

    python3 bench/ab.py BASE_BINARY NEW_BINARY [--rounds 8] [--seconds 4] [--endpoints live,timeline,...]

Starts both binaries at once, each on its own fresh SQLite database seeded with the demo data, then
drives one endpoint of one build at a time with wrk, alternating which build goes first each round,
so both see the same machine noise. Prints the median req/s of each, new/base, and each read's ratio
to `/health/live` of the same build (the issue-12 rule: no endpoint may lose more than 5% of it).
Build a baseline with `git worktree add /tmp/base <commit> && (cd /tmp/base && cargo build --release)`.
"""

import argparse
import os
import statistics
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import bench  # noqa: E402
import harness  # noqa: E402

ENDPOINTS = {
    "live": ("GET", "/health/live"),
    "timeline": ("GET", "/v1/treatments/{t}/timeline"),
    "reminders": ("GET", "/v1/treatments/{t}/reminders"),
    "today": ("GET", "/v1/me/today"),
    "checkin": ("POST", "/v1/treatments/{t}/check-ins"),
}


def start(binary):
    harness.BINARY = binary
    work = tempfile.mkdtemp(prefix="aftercare-ab-")
    server = harness.Server(f"sqlite://{work}/ab.db", os.path.join(work, "server.log"),
                            LOGIN_FAILURES_PER_ACCOUNT="1000000", LOGIN_ATTEMPTS_PER_ACCOUNT="1000000")
    server.start()
    tokens, treatment, _ = bench.seed_demo(server)
    return server, tokens["patient"], treatment


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--endpoints", default="live,timeline,reminders,today,checkin")
    args = parser.parse_args()
    endpoints = args.endpoints.split(",")
    if "live" not in endpoints:
        endpoints.insert(0, "live")
    servers = {"base": start(args.base), "new": start(args.new)}
    rates = {}
    for round_ in range(args.rounds):
        order = ["base", "new"] if round_ % 2 == 0 else ["new", "base"]
        for endpoint in endpoints:
            method, path = ENDPOINTS[endpoint]
            for build in order:
                server, token, treatment = servers[build]
                url = server.base + path.format(t=treatment)
                body = {"symptoms": bench.SYMPTOMS} if method == "POST" else None
                result = bench.wrk(url, args.seconds, 32, method, None if endpoint == "live" else token, body)
                rates.setdefault((endpoint, build), []).append(result["rps"])
    live = {build: statistics.median(rates[("live", build)]) for build in servers}
    print(f"{args.rounds} rounds of {args.seconds} s, medians")
    print("| endpoint | base req/s | new req/s | new/base | base ratio to live | new ratio to live |")
    print("|---|---:|---:|---:|---:|---:|")
    for endpoint in endpoints:
        base, new = (statistics.median(rates[(endpoint, build)]) for build in ("base", "new"))
        print(f"| {endpoint} | {base:.0f} | {new:.0f} | {new / base:.3f} | {base / live['base']:.3f} | {new / live['new']:.3f} |")
    for server, _, _ in servers.values():
        server.terminate()


if __name__ == "__main__":
    main()
