"""A webhook receiver for Rundun in Python, with the standard library only.

    RUNDUN_WEBHOOK_SECRET=whsec_... python3 receiver_stdlib.py [HOST:PORT]

The same receiver as receiver.py, for machines that cannot reach PyPI: it checks the
Standard Webhooks signature itself (hmac, hashlib, base64), answers 200 at once, and then
hands each new event to handle_event(). Deliveries are at least once, so it deduplicates by
event_id: a second delivery of the same event is answered 200 and dropped. A real receiver
keeps the seen ids in its database (a unique key), not in memory.
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 16 << 20  # a step.completed with 20 thumbnails fits
TOLERANCE_S = 5 * 60  # a delivery older or newer than this is refused (replay protection)

key = b""  # the secret's bytes, set in main()
seen = set()
seen_lock = threading.Lock()


def log(obj):
    print(json.dumps(obj), flush=True)


def secret_key(secret):
    """The HMAC key of a whsec_ secret: the base64 after the prefix."""
    if not secret.startswith("whsec_"):
        raise ValueError("a secret starts with whsec_")
    return base64.b64decode(secret[len("whsec_"):], validate=True)


def verify(key, body, headers, now=None):
    """Raises ValueError unless the delivery is signed with `key` and recent."""
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not msg_id or not timestamp.isdigit() or not signatures:
        raise ValueError("missing or malformed webhook headers")
    if abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_S:
        raise ValueError("timestamp outside the tolerance")
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # The header may carry several signatures ("v1,<sig> v1,<sig>"), during a key rotation.
    for candidate in signatures.split(" "):
        version, _, sig = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return
    raise ValueError("no matching signature")


def handle_event(event):
    """The application's work for a new event. It runs after the answer went out."""
    log({k: event[k] for k in ("event_id", "event", "run_id", "delivery_attempt")})


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            self.send_response(413)
            self.end_headers()
            return
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            verify(key, body, headers)
            event = json.loads(body)
        except ValueError as err:  # json's errors are ValueErrors too
            log({"rejected": str(err)})
            self.send_response(401)
            self.end_headers()
            return
        self.send_response(200)  # answer first; work later
        self.end_headers()
        event_id = headers["webhook-id"]
        with seen_lock:
            duplicate = event_id in seen
            seen.add(event_id)
        if duplicate:
            log({"duplicate": event_id})
            return
        threading.Thread(target=handle_event, args=(event,)).start()

    def log_message(self, *args):  # keep stdout for events
        pass


def main():
    global key
    try:
        key = secret_key(os.environ.get("RUNDUN_WEBHOOK_SECRET", ""))
    except ValueError:
        sys.exit("receiver: set RUNDUN_WEBHOOK_SECRET to the run's whsec_ secret")
    host, _, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9000").rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), Handler)
    log({"listening": f"http://{host}:{server.server_address[1]}/hook"})
    server.serve_forever()


if __name__ == "__main__":
    main()
