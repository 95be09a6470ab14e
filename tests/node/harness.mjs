// Shared by the Node tests: a real rundund child on loopback, child processes that print
// JSON lines, and a small API client.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Webhook } from 'standardwebhooks';

export const apiKey = 'node-test-api-key-0123456789';

/// A child process whose stdout lines are collected (JSON lines parsed when they parse).
export class child {
  constructor(cmd, args, env = {}) {
    this.lines = [];
    this.waiters = [];
    this.proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.stderr = '';
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => {
      let value = line;
      try { value = JSON.parse(line); } catch { /* a plain line */ }
      this.lines.push(value);
      this.waiters = this.waiters.filter((w) => !w());
    });
  }

  /// Resolves with the first line for which `match` is true, or rejects after `ms`.
  waitFor(match, ms = 10000, what = 'a line') {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.lines.find(match);
        if (hit !== undefined) { clearTimeout(timer); resolve(hit); return true; }
        return false;
      };
      const timer = setTimeout(() => {
        reject(new Error(`timed out waiting for ${what}; got:\n${JSON.stringify(this.lines)}\n${this.stderr}`));
      }, ms);
      if (!check()) this.waiters.push(check);
    });
  }

  stop() { this.proc.kill('SIGTERM'); }
}

/// Starts rundund with a fresh data dir; resolves with { server, base }.
export async function startServer(rundund, extra = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rundun-node-'));
  const server = new child(rundund, ['--listen', '127.0.0.1:0', '--data-dir', dir, '--api-key', apiKey,
    '--allow-private-destinations', ...extra]);
  const line = await server.waitFor((l) => typeof l === 'string' && l.startsWith('rundund listening on '),
    15000, 'rundund to listen');
  const base = line.slice('rundund listening on '.length);
  const stop = server.stop.bind(server);
  server.stop = () => { stop(); fs.rmSync(dir, { recursive: true, force: true }); };
  return { server, base };
}

/// A fetch against the API; returns { status, headers, text, json }.
export async function call(base, method, target, { body, headers = {}, auth = true } = {}) {
  const h = { ...headers };
  if (auth) h.authorization = `Bearer ${apiKey}`;
  let payload = body;
  if (body !== undefined && !(body instanceof Uint8Array) && typeof body !== 'string') {
    payload = JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + target, { method, headers: h, body: payload });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

/// Polls `check` (async) until it returns a truthy value, or throws after `ms`.
export async function eventually(check, ms = 10000, what = 'a condition') {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/// The path part of a run's link.
export function linkPath(link) {
  return new URL(link).pathname;
}

/// A webhook receiver on loopback that verifies every delivery with the stock Standard
/// Webhooks library, then lets `check(event, req)` look further (it throws to refuse).
/// Resolves with { url, received, failures, close }.
export async function startReceiver(secret, check = () => {}) {
  const verifier = new Webhook(secret);
  const received = [];
  const failures = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        const event = verifier.verify(Buffer.concat(chunks).toString('utf8'), req.headers);
        check(event, req);
        received.push(event);
        res.writeHead(204).end();
      } catch (err) {
        failures.push(err.message);
        res.writeHead(400).end();
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    received,
    failures,
    close: () => server.close(),
  };
}
