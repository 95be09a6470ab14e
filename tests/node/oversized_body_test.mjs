// Node's fetch sends a whole request body before it reads the answer. A body over the
// limit must still get its 413 with the JSON error, not a reset (EPIPE, ECONNRESET): the
// server drains what is still coming before it closes.
//
//   node oversized_body_test.mjs <rundund>
import assert from 'node:assert/strict';
import { call, linkPath, startServer } from './harness.mjs';

const [rundund] = process.argv.slice(2);
const { server, base } = await startServer(rundund);
try {
  const big = await call(base, 'POST', '/v1/runs', {
    body: JSON.stringify({ template_id: 't-x', metadata: { pad: 'x'.repeat(2 << 20) } }),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(big.status, 413);
  assert.equal(big.json.error.code, 'body_too_large');

  const tid = (await call(base, 'POST', '/v1/templates', {
    body: { name: 'Photo', steps: [{ id: 'door', title: 'Door', photos_required: 1 }] },
  })).json.id;
  const run = (await call(base, 'POST', '/v1/runs', { body: { template_id: tid } })).json;
  const photo = await call(base, 'POST', `${linkPath(run.link)}/steps/door/photos`, {
    body: new Uint8Array(11 << 20),
    headers: { 'content-type': 'image/jpeg' },
    auth: false,
  });
  assert.equal(photo.status, 413);
  assert.equal(photo.json.error.code, 'body_too_large');

  // The server is fine afterwards.
  assert.equal((await call(base, 'GET', '/healthz', { auth: false })).status, 200);
  console.log('oversized bodies: 2 passed, 0 failed');
} finally {
  server.stop();
}
