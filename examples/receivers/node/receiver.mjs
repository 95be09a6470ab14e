// A webhook receiver for Rundun in Node.js, with the `standardwebhooks` package.
//
//   npm ci && RUNDUN_WEBHOOK_SECRET=whsec_... node receiver.mjs [HOST:PORT]
//
// It verifies each delivery's signature, answers 200 at once, and then hands each new
// event to handleEvent(). Deliveries are at least once, so it deduplicates by event_id: a
// second delivery of the same event is answered 200 and dropped. A real receiver keeps the
// seen ids in its database (a unique key), not in memory.
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

const secret = process.env.RUNDUN_WEBHOOK_SECRET;
if (!secret || !secret.startsWith('whsec_')) {
  console.error('receiver: set RUNDUN_WEBHOOK_SECRET to the run\'s whsec_ secret');
  process.exit(2);
}
const webhook = new Webhook(secret);
const maxBody = 16 << 20; // a step.completed with 20 thumbnails fits
const seen = new Set();

function log(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// The application's work for a new event. It runs after the answer went out.
function handleEvent(event) {
  log({
    event_id: event.event_id,
    event: event.event,
    run_id: event.run_id,
    delivery_attempt: event.delivery_attempt,
  });
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > maxBody) req.destroy();
    else chunks.push(chunk);
  });
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    let event;
    try {
      // Checks the timestamp (5 minutes either way) and the v1 signature over the raw body.
      event = webhook.verify(body, req.headers);
    } catch (err) {
      log({ rejected: err.message });
      res.writeHead(401).end();
      return;
    }
    res.writeHead(200).end(); // answer first; work later
    const id = req.headers['webhook-id'];
    if (seen.has(id)) {
      log({ duplicate: id });
      return;
    }
    seen.add(id);
    setImmediate(() => handleEvent(event));
  });
});

const [host, port] = (process.argv[2] || '127.0.0.1:9000').split(/:(?=[^:]*$)/);
server.listen(Number(port), host, () => {
  log({ listening: `http://${host}:${server.address().port}/hook` });
});
