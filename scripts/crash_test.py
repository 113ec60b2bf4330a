#!/usr/bin/env python3
"""Crash safety: concurrent check-in writers and photo uploaders while the server is killed with
SIGKILL at random moments, 20 times, and restarted. Every check-in that was answered 201 must be
there afterwards, every photo whose upload was answered 200 must serve its bytes (without their
EXIF), and after a sweep the photo store must hold exactly the objects of verified photos: no
orphan. The SQLite file must pass PRAGMA integrity_check. Then SIGTERM with requests in flight:
none may fail.

    scripts/crash_test.py sqlite|postgres [POSTGRES_URL]

The photo store is a directory in the work folder; with TEST_PHOTO_STORE_URL=s3://bucket (and the
AWS_* variables that scripts/s3_server.py prints) it is a prefix of its own in that S3-compatible
bucket. There, uploads a kill broke off leave incomplete multipart uploads, which S3 keeps out of
the bucket's listing and removes by the bucket's lifecycle rule (README, *Photos*); the test
counts them and reports them apart from orphans.
"""

import hashlib
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SYMPTOMS, Server, call, seed_demo  # noqa: E402

KILLS = int(os.environ.get("CRASH_KILLS", "20"))
WRITERS = 6
UPLOADERS = 3
SWEEP_GRACE_SECONDS = 4


def segment(marker, payload):
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def photo_bytes(n):
    """A JPEG as the server parses it (segments, a scan, EOI; it never decodes): returns the bytes
    as uploaded, with an EXIF segment holding a GPS position, and as they must be served."""
    scan = bytes(b if b != 0xFF else 0xFE for b in random.randbytes(150_000 + n % 1000))
    head = b"\xff\xd8" + segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0")
    exif = segment(0xE1, b"Exif\0\0MM\0*GPS 48.8584N 2.2945E")
    body = segment(0xDB, bytes(65)) + segment(0xDA, b"\x01\x01\0\0?\0") + scan + b"\xff\xd9"
    return head + exif + body, head + body


def main():
    backend = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    work = tempfile.mkdtemp(prefix="aftercare-crash-")
    sqlite_path = os.path.join(work, "crash.db")
    url = f"sqlite://{sqlite_path}" if backend == "sqlite" else sys.argv[2]
    random.seed(20261125)
    store = PhotoStoreListing(work)
    server = Server(url, os.path.join(work, "server.log"), PHOTO_STORE_URL=store.url, PHOTO_SWEEP_SECONDS="1",
                    PHOTO_SWEEP_GRACE_SECONDS=str(SWEEP_GRACE_SECONDS), PHOTOS_PER_PATIENT="1000000")
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

    uploaded, upload_statuses = [], {}

    def uploader(n):
        i = 0
        while not stop.is_set():
            i += 1
            original, served = photo_bytes(n * 100_000 + i)
            try:
                status, check_in = call(server.base, "POST", f"/v1/treatments/{treatment}/check-ins", tokens["patient"],
                                        {"symptoms": SYMPTOMS}, timeout=10)
                if status != 201:
                    with lock:
                        upload_statuses[f"check-in {status}"] = upload_statuses.get(f"check-in {status}", 0) + 1
                    continue
                status, photo = call(server.base, "POST", f"/v1/check-ins/{check_in['id']}/photos", tokens["patient"],
                                     {"content_type": "image/jpeg", "byte_size": len(original),
                                      "sha256": hashlib.sha256(original).hexdigest(), "width": 640, "height": 480,
                                      "captured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60)),
                                      "body_site": "chin", "view": "front"}, timeout=10)
                if status != 201:
                    with lock:
                        upload_statuses[f"photo {status}"] = upload_statuses.get(f"photo {status}", 0) + 1
                    continue
                status, _ = call(server.base, "PUT", f"/v1/photos/{photo['id']}/content", tokens["patient"],
                                 raw=original, timeout=10)
            except Exception as error:
                with lock:
                    name = f"no answer ({type(error).__name__})"
                    upload_statuses[name] = upload_statuses.get(name, 0) + 1
                time.sleep(0.02)  # the server is down: try again
                continue
            with lock:
                upload_statuses[status] = upload_statuses.get(status, 0) + 1
            if status == 200:
                with lock:
                    uploaded.append((photo["id"], served))
            elif status >= 500 and status != 503:
                print(f"uploader {n}: {status}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    threads += [threading.Thread(target=uploader, args=(n,)) for n in range(UPLOADERS)]
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
    lost_photos = [photo_id for photo_id, served in uploaded
                   if get_bytes(server.base, f"/v1/photos/{photo_id}/content", tokens["clinician"]) != served]
    print(f"photos: {len(uploaded)} uploads answered 200 (answers {upload_statuses}), "
          f"{len(lost_photos)} lost or served other bytes")
    # Sweeps run every second; after the grace period only verified photos' objects may remain.
    time.sleep(SWEEP_GRACE_SECONDS + 3)
    objects = store.objects()
    verified = set(verified_keys(backend, sqlite_path, url))
    orphans, missing_objects = objects - verified, verified - objects
    print(f"photo store after a sweep: {len(objects)} objects, {len(verified)} verified photos, "
          f"{len(orphans)} orphans, {len(missing_objects)} missing ({store.description})")
    if store.bucket:
        print(f"incomplete multipart uploads left for the bucket's lifecycle rule: {store.unfinished_uploads()}")
    photos_ok = uploaded and not lost_photos and not orphans and not missing_objects

    integrity = "not applicable"
    if backend == "sqlite":
        server.kill()
        integrity = sqlite3.connect(sqlite_path).execute("PRAGMA integrity_check").fetchone()[0]
        print(f"PRAGMA integrity_check: {integrity}")
        server.start()

    drained = sigterm_drains(server, tokens, treatment)
    ok = not missing and len(acknowledged) > 0 and integrity in ("ok", "not applicable") and drained and photos_ok
    print("crash test passed" if ok else "crash test FAILED")
    sys.exit(0 if ok else 1)


class PhotoStoreListing:
    """The test's photo store, and what it holds."""

    def __init__(self, work):
        base = os.environ.get("TEST_PHOTO_STORE_URL", "")
        self.bucket = base.removeprefix("s3://").split("/")[0] if base.startswith("s3://") else None
        if self.bucket:
            import boto3

            self.prefix = f"crash-{os.path.basename(work)}"
            self.url = f"s3://{self.bucket}/{self.prefix}"
            self.s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT"],
                                   region_name=os.environ.get("AWS_REGION", "us-east-1"))
            self.description = f"S3-compatible bucket {self.bucket} at {os.environ['AWS_ENDPOINT']}"
        else:
            self.url = os.path.join(work, "photos")
            self.description = f"directory {self.url}"

    def objects(self):
        if not self.bucket:
            found = set()
            for prefix in ("photos", "originals", "staging", "renditions"):
                folder = os.path.join(self.url, prefix)
                found |= {f"{prefix}/{name}" for name in os.listdir(folder)} if os.path.isdir(folder) else set()
            return found
        found = set()
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + "/"):
            found |= {item["Key"].removeprefix(self.prefix + "/") for item in page.get("Contents", [])}
        return found

    def unfinished_uploads(self):
        answer = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix + "/")
        return len(answer.get("Uploads", []))


def get_bytes(base, path, token):
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}", "Connection": "close"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        return error.code


def verified_keys(backend, sqlite_path, url):
    """The keys of verified photos' bytes and of their renditions, where made."""
    query = ("SELECT object_key FROM photos WHERE state = 'verified' UNION ALL "
             "SELECT thumbnail_key FROM photos WHERE renditions = 'ready' UNION ALL "
             "SELECT display_key FROM photos WHERE renditions = 'ready'")
    if backend == "sqlite":
        return [row[0] for row in sqlite3.connect(sqlite_path).execute(query)]
    out = subprocess.run(["psql", "-At", url, "-c", query], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


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
