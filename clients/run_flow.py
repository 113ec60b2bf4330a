"""Runs one client flow against a live server: starts the real binary (scripts/harness.py) on a
fresh SQLite database in a temporary directory, runs the command given with the server's
environment plus AFTERCARE_URL (so the flow's `aftercare clinic create` writes where the server
reads), stops the server, and exits with the command's status. Standard library only.

    python3 clients/run_flow.py node clients/typescript/build/flow.js

CLIENT_FLOW_POSTGRES=postgres://user@host:port/db puts the server on a fresh database made beside
`db` (with psql) instead; TEST_PHOTO_STORE_URL=s3://bucket (with the AWS_* variables of
scripts/s3_server.py) its photo store in a prefix of its own in that bucket. CI runs the flows
both ways, so the photo a generated client uploads is checked on both databases and both stores.
"""

import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # nothing left beside scripts/harness.py
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
import harness  # noqa: E402


def main(command):
    if not os.access(harness.BINARY, os.X_OK):
        sys.exit(f"no binary at {harness.BINARY}: run `cargo build` first, or set AFTERCARE_BIN")
    with tempfile.TemporaryDirectory(prefix="client-flow-") as scratch:
        log_path = os.path.join(scratch, "server.log")
        extra = {}
        store = os.environ.get("TEST_PHOTO_STORE_URL", "")
        if store.startswith("s3://"):
            extra["PHOTO_STORE_URL"] = f"{store.rstrip('/')}/{os.path.basename(scratch)}"
        server = harness.Server(database(scratch), log_path, **extra)
        print(f"   server: {server.env['DATABASE_URL'].split('@')[-1]}, photos in {server.env['PHOTO_STORE_URL']}")
        status = 1
        try:
            server.start()
            env = dict(server.env, AFTERCARE_URL=server.base, AFTERCARE_BIN=harness.BINARY)
            status = subprocess.run(command, env=env, check=False).returncode
        finally:
            if server.process is not None:
                server.terminate()
            if status != 0:
                with open(log_path) as log:
                    tail = [line.rstrip() for line in log.readlines()[-20:]]
                print("server log, last lines:", *tail, sep="\n  ", file=sys.stderr)
        return status


def database(scratch):
    """A fresh SQLite file in `scratch`, or a fresh PostgreSQL database with CLIENT_FLOW_POSTGRES."""
    postgres = os.environ.get("CLIENT_FLOW_POSTGRES", "")
    if not postgres:
        return f"sqlite://{scratch}/flow.db"
    name = "flow_" + "".join(c for c in os.path.basename(scratch) if c.isalnum()).lower()
    subprocess.run(["psql", "-q", postgres, "-c", f"CREATE DATABASE {name}"], check=True)
    return f"{postgres.rsplit('/', 1)[0]}/{name}"


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
