// The receiver examples against a real rundund: each verifies, deduplicates by event_id,
// answers 200 at once, and refuses a forged delivery.
//
//   node receivers_test.mjs <rundund> <cpp_receiver> <examples/receivers/node/receiver.mjs>
//        <examples/receivers/python/receiver_stdlib.py>
import assert from 'node:assert/strict';
import { call, child, eventually, linkPath, startServer } from './harness.mjs';

const [rundund, cppReceiver, nodeReceiver, pythonReceiver] = process.argv.slice(2);
const secret = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';

const receivers = {
  node: () => new child(process.execPath, [nodeReceiver, '127.0.0.1:0'], { RUNDUN_WEBHOOK_SECRET: secret }),
  cpp: () => new child(cppReceiver, ['127.0.0.1:0'], { RUNDUN_WEBHOOK_SECRET: secret }),
  // The standard library only (PyPI is not reachable everywhere): `python3` from PATH.
  python: () => new child('python3', [pythonReceiver, '127.0.0.1:0'], { RUNDUN_WEBHOOK_SECRET: secret }),
};

const { server, base } = await startServer(rundund, ['--retry-schedule', '200ms']);
try {
  const tid = (await call(base, 'POST', '/v1/templates', {
    body: { name: 'Receivers', steps: [{ id: 'a', title: 'A' }, { id: 'b', title: 'B', required: false }] },
  })).json.id;

  for (const [name, start] of Object.entries(receivers)) {
    const receiver = start();
    try {
      const url = (await receiver.waitFor((l) => l.listening, 10000, `the ${name} receiver`)).listening;
      const run = (await call(base, 'POST', '/v1/runs', {
        body: { template_id: tid, webhook: { url, secret } },
      })).json;
      const link = linkPath(run.link);
      assert.equal((await call(base, 'POST', `${link}/steps/a/answer`, { body: { value: 1 }, auth: false })).status, 200);
      assert.equal((await call(base, 'POST', `${link}/steps/b/skip`, { auth: false })).status, 200);
      assert.equal((await call(base, 'POST', `${link}/submit`, { body: {}, auth: false })).status, 200);

      // Each event arrives once, verified, in creation order for the run.
      const seen = await eventually(() => {
        const events = receiver.lines.filter((l) => l.event_id);
        return events.length >= 3 && events;
      }, 10000, `three events at the ${name} receiver`);
      assert.deepEqual(seen.map((e) => e.event), ['step.completed', 'step.skipped', 'run.completed']);
      assert.ok(seen.every((e) => e.run_id === run.id && e.delivery_attempt === 1));

      // Every delivery got its 2xx at the first attempt.
      const events = await eventually(async () => {
        const r = await call(base, 'GET', `/v1/runs/${run.id}/events`);
        return r.json.events.every((e) => e.delivery.status === 'delivered') && r.json.events;
      }, 10000, 'deliveries to settle');
      assert.ok(events.every((e) => e.delivery.attempts.length === 1 && e.delivery.attempts[0].status_code === 200));

      // A redelivery is a duplicate: answered 200, not handled again.
      const first = events[0].event_id;
      assert.equal((await call(base, 'POST', `/v1/events/${first}/redeliver`)).status, 202);
      await receiver.waitFor((l) => l.duplicate === first, 10000, `the ${name} receiver to drop a duplicate`);
      await eventually(async () => {
        const r = await call(base, 'GET', `/v1/runs/${run.id}/events`);
        const e = r.json.events[0];
        return e.delivery.status === 'delivered' && e.delivery.attempts.length === 2 &&
          e.delivery.attempts[1].status_code === 200;
      }, 10000, 'the redelivery to be answered 200');
      assert.equal(receiver.lines.filter((l) => l.event_id).length, 3);

      // A forged delivery is refused.
      const forged = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': 'evt-forged',
          'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
          'webhook-signature': 'v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
        },
        body: '{"event":"run.completed","event_id":"evt-forged"}',
      });
      assert.equal(forged.status, 401);
      await receiver.waitFor((l) => l.rejected, 5000, `the ${name} receiver to reject a forgery`);
      console.log(`receivers: ${name}: 3 events verified once, a redelivery dropped, a forgery refused`);
    } finally {
      receiver.stop();
    }
  }
} finally {
  server.stop();
}
