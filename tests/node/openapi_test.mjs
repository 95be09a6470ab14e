// docs/openapi.yaml: valid OpenAPI 3.1 (swagger-parser), and every response of a real
// rundund, and every webhook it sends, valid against the document's schemas (ajv, JSON
// Schema 2020-12).
//
//   node openapi_test.mjs <rundund> <openapi.yaml> <photo.jpg>
import assert from 'node:assert/strict';
import fs from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { call, eventually, linkPath, startReceiver, startServer } from './harness.mjs';

const [rundund, specPath, photoPath] = process.argv.slice(2);

// 1. The document itself.
const api = await SwaggerParser.validate(specPath);
assert.equal(api.openapi, '3.1.0');
console.log(`openapi: ${specPath} is valid OpenAPI ${api.openapi} ` +
  `(${Object.keys(api.paths).length} paths, ${Object.keys(api.webhooks).length} webhooks)`);

// 2. Responses against their schemas. The dereferenced document has no $ref left.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const checked = new Map();

function schemaFor(route, method, status, type) {
  const op = api.paths[route]?.[method];
  assert.ok(op, `no operation ${method.toUpperCase()} ${route} in the document`);
  const res = op.responses[String(status)];
  assert.ok(res, `${method.toUpperCase()} ${route} answered ${status}, which the document does not list`);
  const media = res.content?.[type];
  assert.ok(media, `${method.toUpperCase()} ${route} ${status}: no ${type} content in the document`);
  return media.schema;
}

async function expect(route, method, target, status, opts = {}) {
  const r = await call(base, method.toUpperCase(), target, opts);
  assert.equal(r.status, status, `${method.toUpperCase()} ${target}: ${r.text}`);
  const type = (r.headers.get('content-type') || '').split(';')[0].trim();
  const schema = schemaFor(route, method, status, type);
  if (type === 'application/json') {
    const validate = ajv.compile(schema);
    assert.ok(validate(r.json), `${method.toUpperCase()} ${target} ${status} does not match its schema: ` +
      `${ajv.errorsText(validate.errors)}\n${r.text}`);
  }
  const key = `${method.toUpperCase()} ${route} ${status}`;
  checked.set(key, (checked.get(key) || 0) + 1);
  return r;
}

// A receiver that verifies each webhook and checks it against its `webhooks` schema.
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const receiver = await startReceiver(secret, (event, req) => {
  const op = api.webhooks[event.event]?.post;
  if (!op) throw new Error(`no webhook ${event.event} in the document`);
  const validate = ajv.compile(op.requestBody.content['application/json'].schema);
  if (!validate(event)) throw new Error(`${event.event}: ${ajv.errorsText(validate.errors)}`);
  for (const p of op.parameters) {
    if (p.in === 'header' && !ajv.validate(p.schema, req.headers[p.name])) {
      throw new Error(`${event.event}: header ${p.name} '${req.headers[p.name]}' does not match`);
    }
  }
});
const { received, failures } = receiver;
const hook = receiver.url;

const { server, base } = await startServer(rundund, ['--retry-schedule', '100ms']);
try {
  await expect('/healthz', 'get', '/healthz', 200, { auth: false });
  await expect('/metrics', 'get', '/metrics', 200, { auth: false });

  const template = await expect('/v1/templates', 'post', '/v1/templates', 201, {
    body: {
      name: 'Checkout inspection',
      steps: [{ id: 'kitchen', title: 'Kitchen is clean', photos_required: 1 },
        { id: 'notes', title: 'Anything broken?', required: false },
        { title: 'Keys returned', required: false }],
    },
  });
  const tid = template.json.id;
  await expect('/v1/templates', 'post', '/v1/templates', 400, { body: { name: 'x', steps: [] } });
  await expect('/v1/templates', 'post', '/v1/templates', 401, { body: {}, auth: false });
  await expect('/v1/templates/{template_id}', 'get', `/v1/templates/${tid}`, 200);
  await expect('/v1/templates/{template_id}', 'get', '/v1/templates/t-nope', 404);

  // A run with a generated secret (shown once), and one with ours and a webhook.
  const generated = await expect('/v1/runs', 'post', '/v1/runs', 201,
    { body: { template_id: tid, webhook: { url: hook, events: [] } } });
  assert.ok(generated.json.webhook.secret.startsWith('whsec_'));
  await expect('/v1/runs', 'post', '/v1/runs', 404, { body: { template_id: 't-nope' } });
  await expect('/v1/runs', 'post', '/v1/runs', 400,
    { body: { template_id: tid, webhook: { url: hook, secret: 'nope' } } });
  const run = await expect('/v1/runs', 'post', '/v1/runs', 201, {
    body: { template_id: tid, webhook: { url: hook, secret }, metadata: { booking: 'B-1234' } },
  });
  const rid = run.json.id;
  const link = linkPath(run.json.link);

  const page = await expect('/r/{token}', 'get', link, 200, { auth: false });
  assert.match(page.text, /<html/i);
  await expect('/r/{token}', 'get', '/r/not-a-token', 404, { auth: false });
  await expect('/r/{token}/state', 'get', `${link}/state`, 200, { auth: false });
  await expect('/r/{token}/state', 'get', '/r/not-a-token/state', 404, { auth: false });

  const jpeg = fs.readFileSync(photoPath);
  await expect('/r/{token}/steps/{step_id}/answer', 'post', `${link}/steps/kitchen/answer`, 409,
    { body: { value: true }, auth: false });
  const photo = await expect('/r/{token}/steps/{step_id}/photos', 'post', `${link}/steps/kitchen/photos`,
    201, { body: jpeg, headers: { 'content-type': 'image/jpeg' }, auth: false });
  await expect('/r/{token}/steps/{step_id}/photos', 'post', `${link}/steps/kitchen/photos`, 415,
    { body: 'hello', headers: { 'content-type': 'text/plain' }, auth: false });
  await expect('/r/{token}/steps/{step_id}/photos', 'post', `${link}/steps/kitchen/photos`, 400,
    { body: 'not a jpeg', headers: { 'content-type': 'image/jpeg' }, auth: false });
  await expect('/v1/photos/{photo_id}', 'get', `/v1/photos/${photo.json.photo_id}`, 200);
  await expect('/r/{token}/photos/{photo_id}/thumbnail', 'get',
    `${link}/photos/${photo.json.photo_id}/thumbnail`, 200, { auth: false });
  await expect('/r/{token}/photos/{photo_id}/thumbnail', 'get', `${link}/photos/p-nope/thumbnail`, 404,
    { auth: false });
  await expect('/assets/{file}', 'get', '/assets/executor.js', 200, { auth: false });
  await expect('/assets/{file}', 'get', '/assets/executor.css', 200, { auth: false });
  await expect('/assets/{file}', 'get', '/assets/console.js', 200, { auth: false });
  await expect('/assets/{file}', 'get', '/assets/console.css', 200, { auth: false });
  await expect('/console', 'get', '/console', 200, { auth: false });
  await expect('/v1/photos/{photo_id}', 'get', '/v1/photos/p-nope', 404);

  await expect('/r/{token}/submit', 'post', `${link}/submit`, 409, { body: {}, auth: false });
  await expect('/r/{token}/steps/{step_id}/answer', 'post', `${link}/steps/kitchen/answer`, 200,
    { body: { value: 'yes', note: 'spotless' }, auth: false });
  await expect('/r/{token}/steps/{step_id}/answer', 'post', `${link}/steps/kitchen/answer`, 409,
    { body: {}, auth: false });
  await expect('/r/{token}/steps/{step_id}/answer', 'post', `${link}/steps/nope/answer`, 404,
    { body: {}, auth: false });
  await expect('/r/{token}/steps/{step_id}/skip', 'post', `${link}/steps/notes/skip`, 200,
    { auth: false });
  await expect('/r/{token}/steps/{step_id}/skip', 'post', `${link}/steps/notes/skip`, 409,
    { auth: false });
  await expect('/r/{token}/submit', 'post', `${link}/submit`, 200, { body: {}, auth: false });
  await expect('/r/{token}/exit', 'post', `${link}/exit`, 409, { body: {}, auth: false });
  await expect('/v1/runs/{run_id}', 'get', `/v1/runs/${rid}`, 200);
  await expect('/v1/runs/{run_id}', 'get', '/v1/runs/r-nope', 404);
  await expect('/v1/runs/{run_id}/cancel', 'post', `/v1/runs/${rid}/cancel`, 409);
  await expect('/v1/runs/{run_id}/cancel', 'post', `/v1/runs/${generated.json.id}/cancel`, 200);

  // Three events to our receiver: step.completed (with a thumbnail), step.skipped, run.completed.
  await eventually(() => received.length >= 3 || failures.length > 0, 10000, 'three webhooks');
  assert.deepEqual(failures, []);
  assert.deepEqual(received.map((e) => e.event).sort(), ['run.completed', 'step.completed', 'step.skipped']);
  const completed = received.find((e) => e.event === 'step.completed');
  assert.equal(completed.data.photos.length, 1);
  assert.ok(completed.data.photos[0].thumbnail.data.length > 0);

  const events = await expect('/v1/runs/{run_id}/events', 'get', `/v1/runs/${rid}/events`, 200);
  await expect('/v1/runs/{run_id}/events', 'get', '/v1/runs/r-nope/events', 404);
  const delivered = await eventually(async () => {
    const r = await call(base, 'GET', `/v1/runs/${rid}/events`);
    return r.json.events.every((e) => e.delivery.status === 'delivered') && r;
  }, 10000, 'deliveries to settle');
  const first = delivered.json.events[0].event_id;
  assert.ok(events.json.events.length === 3);
  await expect('/v1/events/{event_id}/redeliver', 'post', `/v1/events/${first}/redeliver`, 202);
  await expect('/v1/events/{event_id}/redeliver', 'post', '/v1/events/evt-nope/redeliver', 404);
  const unsubscribed = await call(base, 'GET', `/v1/runs/${generated.json.id}/events`);
  await expect('/v1/events/{event_id}/redeliver', 'post',
    `/v1/events/${unsubscribed.json.events[0].event_id}/redeliver`, 409);
  await eventually(() => received.length >= 4, 10000, 'the redelivery');
  assert.equal(received[3].event_id, first);
  assert.equal(received[3].delivery_attempt, 2);
  assert.deepEqual(failures, []);

  // The lists (contract §8), with a page boundary, and a recovery.
  const runs = await expect('/v1/runs', 'get', '/v1/runs?limit=1', 200);
  assert.equal(runs.json.runs.length, 1);
  await expect('/v1/runs', 'get', `/v1/runs?limit=1&cursor=${runs.json.next_cursor}`, 200);
  await expect('/v1/runs', 'get', `/v1/runs?status=active&cursor=${runs.json.next_cursor}`, 400);
  await expect('/v1/runs', 'get', '/v1/runs?status=done', 400);
  await expect('/v1/runs', 'get', `/v1/runs?status=completed&template_id=${tid}`, 200);
  const listed = await expect('/v1/events', 'get',
    `/v1/events?endpoint=${encodeURIComponent(hook)}&type=step.completed`, 200);
  assert.equal(listed.json.events.length, 1);
  assert.equal(listed.json.events[0].endpoint, hook);
  await expect('/v1/events', 'get', '/v1/events?status=not_subscribed&limit=500', 200);
  await expect('/v1/events', 'get', '/v1/events?created_after=2026-05-22T08:32:00%2B02:00', 200);
  await expect('/v1/events', 'get', '/v1/events?limit=0', 400);
  await expect('/v1/events', 'get', '/v1/events', 401, { auth: false });
  const endpoints = await expect('/v1/endpoints', 'get', '/v1/endpoints', 200);
  assert.ok(endpoints.json.endpoints.some((e) => e.url === hook && e.delivered >= 3));
  await expect('/v1/endpoints', 'get', '/v1/endpoints?status=failing', 200);
  await expect('/v1/endpoints', 'get', '/v1/endpoints?status=sick', 400);
  await expect('/v1/endpoints/recover', 'post', '/v1/endpoints/recover', 202,
    { body: { url: hook, since: '2026-01-01T00:00:00Z' } });
  await expect('/v1/endpoints/recover', 'post', '/v1/endpoints/recover', 404,
    { body: { url: 'https://nobody.example/hooks', since: '2026-01-01T00:00:00Z' } });
  await expect('/v1/endpoints/recover', 'post', '/v1/endpoints/recover', 400,
    { body: { url: hook } });

  const total = [...checked.values()].reduce((a, b) => a + b, 0);
  console.log(`openapi: ${total} responses in ${checked.size} route/status pairs and ` +
    `${received.length} webhooks matched their schemas`);
} finally {
  server.stop();
  receiver.close();
}
