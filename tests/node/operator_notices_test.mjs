// The operator's notices (contract §7) from a real rundund, each verified by the stock
// Standard Webhooks library (npm `standardwebhooks`) with the operator's secret: a customer
// endpoint that fails is `endpoint.failing` once, however many of its events fail; once it
// has failed for --endpoint-disable-after it is `endpoint.disabled`; a recovery makes it
// `endpoint.recovered`. No notice carries a run_id.
//
//   node operator_notices_test.mjs <rundund>
import assert from 'node:assert/strict';
import http from 'node:http';
import { call, eventually, linkPath, startReceiver, startServer } from './harness.mjs';

const [rundund] = process.argv.slice(2);
const operatorSecret = `whsec_${Buffer.from('operator-secret-of-32-bytes-long').toString('base64')}`;
const customerSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const operator = await startReceiver(operatorSecret, (event, req) => {
  assert.equal(req.headers['webhook-id'], event.event_id);
  assert.ok(!('run_id' in event), 'a notice has no run_id');
  assert.equal(event.delivery_attempt, 1);
});
// The customer's endpoint: 503 until it is fixed.
let fixed = false;
const shop = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(fixed ? 204 : 503).end());
});
await new Promise((r) => shop.listen(0, '127.0.0.1', r));
const shopUrl = `http://127.0.0.1:${shop.address().port}/hooks`;

const { server, base } = await startServer(rundund, ['--retry-schedule', '100ms,100ms',
  '--endpoint-disable-after', '1s', '--operator-webhook', operator.url,
  '--operator-webhook-secret', operatorSecret]);
try {
  const since = new Date(Date.now() - 60000).toISOString();
  const template = (await call(base, 'POST', '/v1/templates', {
    body: { name: 'Keys', steps: [{ id: 'a', title: 'Keys', required: false }] },
  })).json.id;
  /// A run to the shop whose executor skips its step: one event.
  const oneEvent = async () => {
    const r = await call(base, 'POST', '/v1/runs', {
      body: { template_id: template, webhook: { url: shopUrl, secret: customerSecret } } });
    assert.equal(r.status, 201, r.text);
    assert.equal((await call(base, 'POST', `${linkPath(r.json.link)}/steps/a/skip`, { auth: false })).status, 200);
  };
  const shopHealth = async () => (await call(base, 'GET', '/v1/endpoints')).json.endpoints
    .find((e) => e.url === shopUrl);

  // Two events fail their three attempts: one endpoint.failing.
  await oneEvent();
  await eventually(() => operator.received.length === 1, 10000, 'endpoint.failing');
  await oneEvent();
  await eventually(async () => (await shopHealth()).failed === 2, 10000, 'the second failure');
  const failing = operator.received[0];
  assert.equal(failing.event, 'endpoint.failing');
  assert.equal(failing.data.url, shopUrl);
  assert.equal(failing.data.last_attempt.status_code, 503);
  assert.equal(failing.data.failing_since, (await shopHealth()).failing_since);

  // A second later, the next failed attempt disables it: endpoint.disabled.
  await eventually(async () => Date.now() - Date.parse((await shopHealth()).failing_since) > 1100,
    10000, 'the endpoint to fail for a second');
  await oneEvent();
  await eventually(() => operator.received.length === 2, 10000, 'endpoint.disabled');
  const disabled = operator.received[1];
  assert.equal(disabled.event, 'endpoint.disabled');
  assert.equal(disabled.data.url, shopUrl);
  assert.equal(disabled.data.disabled_at, (await shopHealth()).disabled_at);
  assert.ok(disabled.data.failed_events >= 3, JSON.stringify(disabled.data));

  // Fixed and recovered: endpoint.recovered, and the three events go out.
  fixed = true;
  const rec = await call(base, 'POST', '/v1/endpoints/recover', { body: { url: shopUrl, since } });
  assert.equal(rec.status, 202, rec.text);
  await eventually(() => operator.received.length === 3, 10000, 'endpoint.recovered');
  const recovered = operator.received[2];
  assert.equal(recovered.event, 'endpoint.recovered');
  assert.equal(recovered.data.failing_since, failing.data.failing_since);
  assert.ok(Date.parse(recovered.data.recovered_at) >= Date.parse(disabled.data.disabled_at));
  await eventually(async () => (await shopHealth()).delivered === 3, 10000, 'the recovered events');

  // Each once: nothing more comes, and every notice was verified.
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(operator.received.map((n) => n.event),
    ['endpoint.failing', 'endpoint.disabled', 'endpoint.recovered']);
  assert.equal(new Set(operator.received.map((n) => n.event_id)).size, 3);
  assert.deepEqual(operator.failures, []);
  const metrics = (await call(base, 'GET', '/metrics', { auth: false })).text;
  for (const type of ['endpoint.failing', 'endpoint.disabled', 'endpoint.recovered'])
    assert.match(metrics, new RegExp(`rundun_operator_notices_total\\{type="${type.replace('.', '\\.')}"\\} 1`));
  assert.match(metrics, /rundun_operator_notices_delivered_total 3/);
  console.log('operator notices: failing, disabled and recovered, each once, verified');
} finally {
  server.stop();
  operator.close();
  shop.close();
}
