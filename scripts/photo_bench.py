#!/usr/bin/env python3
"""Photo upload benchmark: 2 MB photos uploaded through the API (PUT /v1/photos/{id}/content:
streamed, hashed, stripped, staged, promoted, committed) against raw writes of the same bytes to the
same store in the same run, and the server's peak RSS while 16 uploads run at once.

    scripts/photo_bench.py [local|s3] [PHOTOS]      (AFTERCARE_BIN: the binary, default target/debug)

`s3` starts moto (scripts/s3_server.py) and writes raw objects with boto3; `local` writes raw files
with os.write + rename into the store's directory, as the store itself does. Raw writes and uploads
alternate in rounds of 8, each timed on its own, so that a neighbour's load falls on both.
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SYMPTOMS, Server, call, seed_demo  # noqa: E402

SIZE = 2 * 1024 * 1024
CONCURRENCY = 4
ROUND = 2 * CONCURRENCY
RSS_UPLOADS = 16


def segment(marker, payload):
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def photo(n):
    """2 MB shaped like a JPEG (the server parses segments, never decodes), with an EXIF segment."""
    head = b"\xff\xd8" + segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0") + segment(0xE1, b"Exif\0\0MM\0*GPS")
    tail = segment(0xDB, bytes(65)) + segment(0xDA, b"\x01\x01\0\0?\0")
    fill = SIZE - len(head) - len(tail) - 2
    scan = bytes(b if b != 0xFF else 0xFE for b in os.urandom(fill))
    return head + tail + scan + b"\xff\xd9"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_parallel(jobs, workers):
    """Runs callables on `workers` threads; returns elapsed seconds. Fails when any job failed (a
    refused upload must not pass for a fast one)."""
    queue, lock, failures = list(jobs), threading.Lock(), []

    def work():
        while True:
            with lock:
                if not queue:
                    return
                job = queue.pop()
            try:
                job()
            except Exception as e:  # noqa: BLE001 (reported below, after the threads end)
                with lock:
                    failures.append(e)
                    queue.clear()

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"{len(failures)} jobs failed, the first: {failures[0]!r}")
    return time.perf_counter() - started


def main():
    kind = sys.argv[1] if len(sys.argv) > 1 else "local"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    work = tempfile.mkdtemp(prefix="aftercare-photo-bench-")
    env = {"PHOTOS_PER_PATIENT": "100000", "PHOTOS_PER_CHECK_IN": "100000", "PHOTO_UPLOADS_PER_WINDOW": "100000"}
    moto = None
    if kind == "s3":
        env_file = os.path.join(work, "s3.env")
        moto = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "s3_server.py")],
                                stdout=open(env_file, "w"), stderr=subprocess.DEVNULL)
        for _ in range(300):
            if os.path.getsize(env_file):
                break
            time.sleep(0.1)
        pairs = dict(p.split("=", 1) for p in open(env_file).read().split()[1:])
        os.environ.update({k: v for k, v in pairs.items() if k.startswith("AWS_")})
        env["PHOTO_STORE_URL"] = pairs["TEST_PHOTO_STORE_URL"] + "/bench"
    else:
        env["PHOTO_STORE_URL"] = os.path.join(work, "photos")
    server = Server(f"sqlite://{os.path.join(work, 'bench.db')}", os.path.join(work, "server.log"), **env)
    try:
        server.command("migrate")
        server.start()
        tokens, treatment, _ = seed_demo(server)
        patient = tokens["patient"]
        status, check_in = call(server.base, "POST", f"/v1/treatments/{treatment}/check-ins", patient,
                                {"symptoms": SYMPTOMS})
        assert status == 201, (status, check_in)
        photos = [photo(i) for i in range(count)]

        def create(data):
            status, body = call(server.base, "POST", f"/v1/check-ins/{check_in['id']}/photos", patient,
                                {"content_type": "image/jpeg", "byte_size": len(data),
                                 "sha256": hashlib.sha256(data).hexdigest(), "width": 4032, "height": 3024,
                                 "captured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60)),
                                 "body_site": "chin", "view": "front"})
            assert status == 201, (status, body)
            return body["id"]

        def upload(photo_id, data):
            status, body = call(server.base, "PUT", f"/v1/photos/{photo_id}/content", patient, raw=data, timeout=120)
            assert status == 200, (status, body)

        # Raw writes of the same bytes to the same store, same concurrency.
        if kind == "s3":
            import boto3
            s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT"], region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")
            bucket = env["PHOTO_STORE_URL"][len("s3://"):].split("/")[0]
            raw_jobs = [lambda d=d: s3.put_object(Bucket=bucket, Key=f"raw/{uuid.uuid4().hex}", Body=d) for d in photos]
        else:
            raw_dir = os.path.join(env["PHOTO_STORE_URL"], "raw")
            os.makedirs(raw_dir, exist_ok=True)

            def raw_write(data):
                name = os.path.join(raw_dir, uuid.uuid4().hex)
                with open(name + "#1", "wb") as f:
                    f.write(data)
                os.rename(name + "#1", name)
            raw_jobs = [lambda d=d: raw_write(d) for d in photos]
        ids = [create(d) for d in photos]
        api_jobs = [lambda i=i, d=d: upload(i, d) for i, d in zip(ids, photos)]
        # Raw and API rounds alternate, so that both see the same load on a shared machine.
        raw_seconds = api_seconds = 0.0
        for start in range(0, count, ROUND):
            raw_seconds += run_parallel(raw_jobs[start:start + ROUND], CONCURRENCY)
            api_seconds += run_parallel(api_jobs[start:start + ROUND], CONCURRENCY)

        # Peak RSS while 16 uploads run at once (three rounds).
        peak, idle = 0, rss_kib(server.process.pid)
        sampling = threading.Event()

        def sample():
            nonlocal peak
            while not sampling.is_set():
                peak = max(peak, rss_kib(server.process.pid))
                time.sleep(0.005)
        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            for _ in range(3):
                batch = [photo(i) for i in range(RSS_UPLOADS)]
                batch_ids = [create(d) for d in batch]
                run_parallel([lambda i=i, d=d: upload(i, d) for i, d in zip(batch_ids, batch)], RSS_UPLOADS)
        finally:
            sampling.set()
            sampler.join()

        mb = count * SIZE / 1e6
        raw_rate, api_rate = mb / raw_seconds, mb / api_seconds
        print(f"photo bench ({kind} store, {count} photos of 2 MiB, {CONCURRENCY} at a time, "
              f"binary {os.path.relpath(os.environ.get('AFTERCARE_BIN', 'target/debug/aftercare'))}):")
        print(f"  raw store writes: {raw_rate:8.1f} MB/s")
        print(f"  API uploads:      {api_rate:8.1f} MB/s  (ratio {api_rate / raw_rate:.2f}; target >= 0.5)")
        print(f"  server RSS: idle {idle / 1024:.1f} MiB, peak during {RSS_UPLOADS} concurrent uploads "
              f"{peak / 1024:.1f} MiB (target < 150 MiB)")
    finally:
        server.terminate()
        if moto:
            moto.kill()


if __name__ == "__main__":
    main()
