#!/usr/bin/env python3
# The pruning rate of retention: creates N ended runs (two events each) with retention off,
# restarts rundund with a 1 s retention so that all are due at once, and times their removal
# from rundun_retention_removed_runs_total.
#
#   python3 benchmarks/retention_bench.py ./build/app/rundund 6000
import http.client, json, re, shutil, subprocess, sys, tempfile, threading, time
rundund, n = sys.argv[1], int(sys.argv[2])
d = tempfile.mkdtemp()
def start(retention_days):
    p = subprocess.Popen([rundund, "--listen", "127.0.0.1:0", "--data-dir", d, "--api-key", "k" * 20,
                          "--retention-days", str(retention_days), "--log-level", "error"],
                         stdout=subprocess.PIPE, text=True)
    for line in p.stdout:
        m = re.search(r"listening on http://127.0.0.1:(\d+)", line)
        if m:
            return p, int(m.group(1))
p, port = start(0)
H = {"Authorization": "Bearer " + "k" * 20, "Content-Type": "application/json"}
def call(c, m, path, body=None):
    c.request(m, path, body=body, headers=H); r = c.getresponse(); return r.status, r.read()
c = http.client.HTTPConnection("127.0.0.1", port)
_, b = call(c, "POST", "/v1/templates", json.dumps({"name": "p", "steps": [{"id": "a", "title": "A"}]}))
tid = json.loads(b)["id"]
def work(k):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for _ in range(k):
        _, b = call(c, "POST", "/v1/runs", json.dumps({"template_id": tid}))
        path = json.loads(b)["link"].split(port.__str__())[1]
        call(c, "POST", path + "/steps/a/answer", "{}")
        call(c, "POST", path + "/submit", "")
t0 = time.time()
ts = [threading.Thread(target=work, args=(n // 8,)) for _ in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
made = time.time() - t0
def removed():
    _, b = call(c, "GET", "/metrics")
    return float(re.search(rb"\nrundun_retention_removed_runs_total (\S+)", b).group(1))
print(f"created {n} ended runs (2 events each) in {made:.1f} s, retention off")
p.terminate(); p.wait()
p, port = start(1 / 86400)  # every run is now due at once
c = http.client.HTTPConnection("127.0.0.1", port)
while removed() == 0: time.sleep(0.05)
start, first = time.time(), removed()
while removed() < n: time.sleep(0.25)
took = time.time() - start
print(f"retention removed {n} runs ({2*n} events) in {took:.2f} s: {n/took:.0f} runs/s, {2*n/took:.0f} events/s")
p.terminate(); p.wait()
shutil.rmtree(d, ignore_errors=True)
