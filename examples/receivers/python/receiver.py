"""A webhook receiver for Rundun in Python, with the `standardwebhooks` package.

    pip install standardwebhooks
    RUNDUN_WEBHOOK_SECRET=whsec_... python3 receiver.py [HOST:PORT]

It verifies each delivery's signature, answers 200 at once, and then hands each new event
to handle_event(). Deliveries are at least once, so it deduplicates by event_id: a second
delivery of the same event is answered 200 and dropped. A real receiver keeps the seen ids
in its database (a unique key), not in memory.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

MAX_BODY = 16 << 20  # a step.completed with 20 thumbnails fits

secret = os.environ.get("RUNDUN_WEBHOOK_SECRET", "")
if not secret.startswith("whsec_"):
    sys.exit("receiver: set RUNDUN_WEBHOOK_SECRET to the run's whsec_ secret")
webhook = Webhook(secret)
seen = set()
seen_lock = threading.Lock()


def log(obj):
    print(json.dumps(obj), flush=True)


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
            # Checks the timestamp (5 minutes either way) and the v1 signature.
            event = webhook.verify(body, headers)
        except WebhookVerificationError as err:
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
    host, _, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9000").rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), Handler)
    log({"listening": f"http://{host}:{server.server_address[1]}/hook"})
    server.serve_forever()


if __name__ == "__main__":
    main()
