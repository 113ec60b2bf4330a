#!/usr/bin/env python3
"""A real S3-compatible server for the photo tests and the benchmark: moto in server mode (PyPI
`moto[server]`) on a free loopback port, with one empty bucket. Prints the environment that points
the server and the tests at it, as `export` lines, then serves until it is killed:

    python3 scripts/s3_server.py > s3.env & ; (wait for the file) ; . ./s3.env

The tests then run their photo store in that bucket (`TEST_PHOTO_STORE_URL`, one prefix per test).
"""

import socket
import time

import boto3
from moto.server import ThreadedMotoServer

BUCKET = "aftercare-test-photos"


def main():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
    boto3.client("s3", endpoint_url=endpoint, **credentials).create_bucket(Bucket=BUCKET)
    print(f"export AWS_ENDPOINT={endpoint} AWS_ALLOW_HTTP=true AWS_ACCESS_KEY_ID=test "
          f"AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 TEST_PHOTO_STORE_URL=s3://{BUCKET}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
