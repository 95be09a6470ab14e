#!/usr/bin/env python3
"""Writes the format 3 data dir that `store_migration_test` opens.

Run it once with a rundund that writes format 3 (any build before commit 6974e5a, for
example 41936e5):

    python3 tests/data/format3/make_fixture.py /path/to/old/rundund tests/data/format3

With `--first-attempt-waiting` (format 7, commit 322ed99), it also leaves a run whose one
event's first attempt is in flight to a receiver that never answers (`/hang`), and stops
the server with SIGKILL instead: the event waits for its first attempt, as a crash leaves
it.

It drives that server over HTTP, with the standard library only, until the data dir holds:
- runs in every state: active (a photo and an answer), completed, cancelled, expired, and a
  completed run without a webhook;
- events of every type, each of the webhook's waiting for a retry: the receiver answers 500,
  and the server stops before the second attempt, due 3 s later, so the test sees it
  sent promptly after the upgrade;
- a photo (tests/data/photo.jpg) with its thumbnail.

It stops the server with SIGTERM, then writes `data.mdb.gz` (the LMDB file, gzipped) and
`expected.json`: what the old server answered for the template, each run and its events.
Webhooks go to http://127.0.0.1:47913/hook, where the test's receiver listens.
"""

import gzip
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

RECEIVER_PORT = 47913
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
API_KEY = "format3-fixture-key-0123456789"
HERE = os.path.dirname(os.path.abspath(__file__))


class failing_receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path == "/hang":
            time.sleep(600)
            return
        self.send_response(500)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def call(port, method, path, body=None, content_type="application/json", raw=False):
    data = body if raw or body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("authorization", f"Bearer {API_KEY}")
    if data is not None:
        req.add_header("content-type", content_type)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def wait_until(check, what, limit=30):
    until = time.time() + limit
    while time.time() < until:
        if check():
            return
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}")


def main(rundund, out_dir, first_attempt_waiting=False):
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", RECEIVER_PORT), failing_receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    data_dir = tempfile.mkdtemp(prefix="rundun-format3-")
    server = subprocess.Popen(
        [rundund, "--listen", "127.0.0.1:0", "--data-dir", data_dir, "--api-key", API_KEY,
         "--allow-private-destinations", "--retry-schedule", "3s,1h"],
        stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    port = int(line.strip().rsplit(":", 1)[1])

    tmpl = call(port, "POST", "/v1/templates", {"name": "Format 3 fixture", "steps": [
        {"id": "kitchen", "title": "Kitchen is clean", "photos_required": 1},
        {"id": "notes", "title": "Anything broken?", "required": False}]})
    hook = {"url": f"http://127.0.0.1:{RECEIVER_PORT}/hook", "secret": SECRET}

    def new_run(webhook=hook, hours=24, metadata=None):
        body = {"template_id": tmpl["id"], "webhook": webhook, "expires_in_hours": hours,
                "metadata": metadata or {}}
        run = call(port, "POST", "/v1/runs", body)
        return run, "/r/" + run["link"].rsplit("/r/", 1)[1]

    with open(os.path.join(HERE, "..", "photo.jpg"), "rb") as f:
        jpeg = f.read()
    runs = {}
    active, link = new_run(metadata={"state": "active"})
    call(port, "POST", link + "/steps/kitchen/photos", jpeg, "image/jpeg", raw=True)
    call(port, "POST", link + "/steps/kitchen/answer", {"value": True, "note": "spotless"})
    runs["active"] = (active, link)

    completed, link = new_run(metadata={"state": "completed"})
    call(port, "POST", link + "/steps/kitchen/photos", jpeg, "image/jpeg", raw=True)
    call(port, "POST", link + "/steps/kitchen/answer", {"value": 3})
    call(port, "POST", link + "/steps/notes/skip")
    call(port, "POST", link + "/submit")
    runs["completed"] = (completed, link)

    cancelled, link = new_run(metadata={"state": "cancelled"})
    call(port, "POST", f"/v1/runs/{cancelled['id']}/cancel")
    runs["cancelled"] = (cancelled, link)

    expired, link = new_run(hours=0.0001, metadata={"state": "expired"})
    runs["expired"] = (expired, link)

    quiet, link = new_run(webhook=None, metadata={"state": "no webhook"})
    call(port, "POST", link + "/steps/kitchen/photos", jpeg, "image/jpeg", raw=True)
    call(port, "POST", link + "/steps/kitchen/answer", {"value": "ok"})
    call(port, "POST", link + "/exit")
    runs["no_webhook"] = (quiet, link)

    def settled():
        for run, _ in runs.values():
            if call(port, "GET", f"/v1/runs/{run['id']}")["status"] == "active" and \
                    run is not active:
                return False
            for e in call(port, "GET", f"/v1/runs/{run['id']}/events")["events"]:
                d = e["delivery"]
                if d["status"] == "pending" and not d["attempts"]:
                    return False
        return True

    wait_until(settled, "every event's first attempt and the expiry")
    if first_attempt_waiting:
        hang = {"url": f"http://127.0.0.1:{RECEIVER_PORT}/hang", "secret": SECRET}
        waiting, link = new_run(webhook=hang, metadata={"state": "first attempt waiting"})
        call(port, "POST", link + "/steps/notes/skip")
        runs["first_attempt_waiting"] = (waiting, link)
        wait_until(lambda: call(port, "GET", f"/v1/runs/{waiting['id']}/events")["events"],
                   "the waiting run's event")
        time.sleep(1)  # its first attempt is on its way to /hang
    expected = {"template": call(port, "GET", f"/v1/templates/{tmpl['id']}"), "runs": {}}
    for name, (run, link) in runs.items():
        expected["runs"][name] = {
            "run": call(port, "GET", f"/v1/runs/{run['id']}"),
            "events": call(port, "GET", f"/v1/runs/{run['id']}/events")["events"],
            "link": link,
        }
    if first_attempt_waiting:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
    else:
        server.send_signal(signal.SIGTERM)
        if server.wait(timeout=30) != 0:
            sys.exit("the old server did not stop cleanly")
    receiver.shutdown()

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(data_dir, "data.mdb"), "rb") as src, \
            gzip.open(os.path.join(out_dir, "data.mdb.gz"), "wb", 9) as dst:
        shutil.copyfileobj(src, dst)
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    print("data dir files:", sorted(os.listdir(data_dir)))
    shutil.rmtree(data_dir)


if __name__ == "__main__":
    flags = [a for a in sys.argv[1:] if a.startswith("--")]
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2 or flags not in ([], ["--first-attempt-waiting"]):
        sys.exit(__doc__)
    main(args[0], args[1], first_attempt_waiting=bool(flags))
