#!/usr/bin/env bash
# Spec-driven fuzzing: schemathesis (PyPI) runs every check against a real server and openapi.yaml,
# as two clinics' clinicians and patients, so its object-level-authorization check can compare them.
#
#   scripts/fuzz.sh [DATABASE_URL]     (default: a temporary SQLite file)
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import schemathesis' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check 'schemathesis>=4.3,<5'
cargo build --quiet
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DATABASE_URL=${1:-sqlite://$work/fuzz.db}
export BIND_ADDR=127.0.0.1:$port
export JWT_SECRET=fuzzing-secret-fuzzing-secret-fuzzing-secret
export ACCESS_TOKEN_TTL_SECONDS=7200
export LOGIN_FAILURES_PER_CLIENT=1000000 LOGIN_FAILURES_PER_ACCOUNT=1000000 LOGIN_ATTEMPTS_PER_ACCOUNT=1000000
# Likewise the photo limits: at 60 uploads an hour nearly every generated upload was a 429, and no
# body reached the size, checksum and signature checks.
export PHOTO_UPLOADS_PER_WINDOW=1000000 PHOTOS_PER_CHECK_IN=1000000 PHOTOS_PER_PATIENT=1000000
export LOG_FORMAT=json RUST_LOG=warn
export PHOTO_STORE_URL=$work/photos
./target/debug/aftercare demo > "$work/clinic_a.json"
./target/debug/aftercare demo > "$work/clinic_b.json"
./target/debug/aftercare serve 2> "$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://$BIND_ADDR/health/ready" >/dev/null && break; sleep 0.1; done

python3 - "$work" "http://$BIND_ADDR" <<'PY'
import json, sys, urllib.request
work, base = sys.argv[1], sys.argv[2]
def login(email, password):
    req = urllib.request.Request(base + "/v1/auth/login", data=json.dumps({"email": email, "password": password}).encode(),
                                 headers={"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))["access_token"]
entries = []
for clinic in ("a", "b"):
    logins = json.load(open(f"{work}/clinic_{clinic}.json"))["logins"]
    for who in logins:
        if who["role"] in ("clinician", "patient"):
            token = login(who["email"], who["password"])
            entries.append({"name": f"{who['role']}_{clinic}",
                            "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]})
json.dump({"auth": entries}, open(f"{work}/auth.json", "w"))

# Clinic A's own objects, so operations that take an id reach their logic instead of a 404.
def get(path, who):
    token = next(e for e in entries if e["name"] == who)["fixedHeaders"][0]["value"]
    return json.load(urllib.request.urlopen(urllib.request.Request(base + path, headers={"Authorization": token})))
today = get("/v1/me/today", "patient_a")["treatments"][0]
treatment = today["treatment_id"]
check_in = get(f"/v1/treatments/{treatment}/check-ins", "clinician_a")["items"][0]["id"]
# A photo with its bytes uploaded (the demo's photos are records only, pending): a tiny JPEG as the
# server parses it (segments, a scan, the end marker; it never decodes), EXIF included.
def send(method, path, who, data, content_type):
    token = next(e for e in entries if e["name"] == who)["fixedHeaders"][0]["value"]
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": token, "content-type": content_type})
    return json.load(urllib.request.urlopen(req))
def segment(marker, payload):
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload
jpeg = (b"\xff\xd8" + segment(0xE1, b"Exif\0\0MM\0*GPS") + segment(0xDB, bytes(65))
        + segment(0xDA, b"\x01\x01\0\0?\0") + bytes(range(200)) + b"\xff\xd9")
import hashlib, time
metadata = {"content_type": "image/jpeg", "byte_size": len(jpeg), "sha256": hashlib.sha256(jpeg).hexdigest(),
            "width": 640, "height": 480, "captured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60)),
            "body_site": "chin", "view": "front"}
def verified_photo():
    photo = send("POST", f"/v1/check-ins/{check_in}/photos", "patient_a", json.dumps(metadata).encode(), "application/json")["id"]
    send("PUT", f"/v1/photos/{photo}/content", "patient_a", jpeg, "application/octet-stream")
    return photo
# deletePhoto gets a photo of its own: once it succeeds, the shared one would answer 404 to the rest.
photo, doomed = verified_photo(), verified_photo()
ids = {"patients": get(f"/v1/treatments/{treatment}", "clinician_a")["patient_id"], "treatments": treatment,
       "check-ins": check_in, "photos": photo, "reminders": today["reminders"][0]["id"]}
with open(f"{work}/ids.toml", "w") as out:
    # The first entry that sets `parameters` wins, so the more specific one goes first.
    out.write(f'[[operations]]\ninclude-path = "/v1/photos/{{id}}"\ninclude-method = "DELETE"\n'
              f'parameters = {{ id = "{doomed}" }}\n\n')
    for prefix, value in ids.items():
        out.write(f'[[operations]]\ninclude-path-regex = "^/v1/{prefix}/\\\\{{id\\\\}}"\nparameters = {{ id = "{value}" }}\n\n')
PY
cat > "$work/schemathesis.toml" <<TOML
[auth.wfc]
path = "$work/auth.json"
peers = ["clinician_a", "clinician_b"]
$(cat fuzz/rules-a-schema-cannot-express.toml)
$(cat "$work/ids.toml")
TOML
# /metrics and /openapi.yaml take no input. The document is YAML text (`type: string`, what a
# generated client gets), which schemathesis would parse into an object before checking it.
schemathesis --config-file "$work/schemathesis.toml" run openapi.yaml \
  --url "http://$BIND_ADDR" --checks all --seed 20261125 --max-examples 100 --workers 1 \
  --exclude-path /metrics --exclude-path /openapi.yaml "${@:2}"
status=$?
# Our own errors (a bad client's unparsable request is logged by the HTTP layer, not by us).
grep '"level":"ERROR"' "$work/server.log" | grep -v '"target":"actix_http' && { echo "the server logged errors"; exit 1; }
exit $status
