// The executor's page in a real browser (Debian's chromium, headless, driven by
// playwright-core) at a phone's viewport, against a real rundund and a receiver that
// verifies every webhook.
//
//   node executor_page_test.mjs <rundund> <photo.jpg> <screenshot dir>
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { call, eventually, linkPath, startReceiver, startServer } from './harness.mjs';

const [rundund, photoPath, shotDir] = process.argv.slice(2);
fs.mkdirSync(shotDir, { recursive: true });
const browserPath = process.env.RUNDUN_CHROMIUM || '/usr/bin/chromium';
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

// A receiver that verifies every delivery with the stock Standard Webhooks library.
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const receiver = await startReceiver(secret);
const { received, failures: rejected } = receiver;
const hook = receiver.url;

const { server, base } = await startServer(rundund);
const browser = await chromium.launch({ executablePath: browserPath, headless: true });
let passed = 0;

/// A fresh page that records console errors, page errors and every request it makes.
async function open(link) {
  const context = await browser.newContext(phone);
  const page = await context.newPage();
  const problems = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`response ${r.status()} ${r.url()}`); });
  const response = await page.goto(link);
  return { context, page, problems, requests, response };
}

async function test(name, body) {
  await body();
  passed += 1;
  console.log(`executor page: ${name}: ok`);
}

const template = (await call(base, 'POST', '/v1/templates', {
  body: {
    name: 'Checkout inspection',
    steps: [
      { id: 'kitchen', title: 'Kitchen is clean', photos_required: 1 },
      { id: 'notes', title: 'Anything broken?', required: false },
      { id: 'keys', title: 'Keys on the table', required: true },
    ],
  },
})).json.id;

async function newRun(extra = {}) {
  const r = await call(base, 'POST', '/v1/runs', {
    body: { template_id: template, webhook: { url: hook, secret }, metadata: { booking: 'B-1234' }, ...extra },
  });
  assert.equal(r.status, 201, r.text);
  return { id: r.json.id, link: r.json.link };
}

try {
  await test('a whole run is completed through the page', async () => {
    const run = await newRun();
    const { context, page, problems, requests, response } = await open(run.link);
    assert.equal(response.status(), 200);
    await page.getByRole('heading', { level: 1, name: 'Checkout inspection' }).waitFor();
    await page.getByText('0 of 3 done').waitFor();
    assert.match(await page.locator('#time-left').textContent(), /^Link expires in 23 hours/);
    const kitchen = page.getByRole('region', { name: 'Kitchen is clean' });
    const notes = page.getByRole('region', { name: 'Anything broken?' });
    const keys = page.getByRole('region', { name: 'Keys on the table' });
    // Required and optional, photos taken and needed, each step's status.
    await kitchen.getByText('Required · Photos: 0 of 1 needed').waitFor();
    await notes.getByText('Optional', { exact: true }).waitFor();
    assert.equal(await keys.getByText('To do').count(), 1);
    // Mark done waits for the photo, and says how many are missing; Skip is for optional steps.
    assert.ok(await kitchen.getByRole('button', { name: 'Mark done' }).isDisabled());
    await kitchen.getByText('Add 1 more photo to mark this step done.').waitFor();
    assert.equal(await kitchen.getByRole('button', { name: 'Skip' }).count(), 0);
    assert.equal(await notes.getByRole('button', { name: 'Skip' }).count(), 1);
    assert.ok(await page.getByRole('button', { name: 'Submit' }).isDisabled());
    await page.getByText('To submit, finish: Kitchen is clean, Keys on the table.').waitFor();
    // Touch targets of at least 44 px.
    for (const b of await page.getByRole('button').all()) {
      const box = await b.boundingBox();
      assert.ok(box.height >= 44 && box.width >= 44, `a button is ${box.width}x${box.height}`);
    }
    // WCAG AA contrast of every visible text against its effective background (disabled
    // controls are exempt in WCAG and here).
    const lowContrast = await page.evaluate(() => {
      const parse = (c) => {
        const m = c.match(/rgba?\(([^)]+)\)/);
        if (!m) return null;
        const p = m[1].split(',').map(Number);
        return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
      };
      const lum = ({ r, g, b }) => {
        const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      const background = (el) => {
        for (let e = el; e; e = e.parentElement) {
          const c = parse(getComputedStyle(e).backgroundColor);
          if (c && c.a > 0) return c;
        }
        return { r: 255, g: 255, b: 255, a: 1 };
      };
      const out = [];
      let checked = 0;
      for (const el of document.querySelectorAll('body *')) {
        if (el.disabled || !el.offsetParent) continue;
        if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
        const s = getComputedStyle(el);
        const [hi, lo] = [lum(parse(s.color)), lum(background(el))].sort((a, b) => b - a);
        const ratio = (hi + 0.05) / (lo + 0.05);
        const size = parseFloat(s.fontSize);
        const large = size >= 24 || (Number(s.fontWeight) >= 700 && size >= 18.66);
        checked += 1;
        if (ratio < (large ? 3 : 4.5)) out.push(`${el.tagName} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}:1`);
      }
      return { out, checked };
    });
    assert.ok(lowContrast.checked >= 20, `only ${lowContrast.checked} texts checked`);
    assert.deepEqual(lowContrast.out, []);
    await page.screenshot({ path: path.join(shotDir, '1-active.png') });

    // A photo from the camera input: a real JPEG, uploaded and shown as a preview.
    const chooser = page.waitForEvent('filechooser');
    await kitchen.getByRole('button', { name: 'Add photo' }).click();
    await (await chooser).setFiles(photoPath);
    await kitchen.getByText('Required · Photos: 1 of 1 needed').waitFor();
    await kitchen.getByRole('img', { name: 'Photo 1 of Kitchen is clean' }).waitFor();
    await page.getByText('Photo added.').waitFor();
    await page.screenshot({ path: path.join(shotDir, '2-photo-added.png') });

    // By keyboard: the note, then Mark done.
    await kitchen.getByLabel('Note (optional)').fill('Spotless');
    await kitchen.getByRole('button', { name: 'Mark done' }).focus();
    await page.keyboard.press('Enter');
    await page.getByText('1 of 3 done').waitFor();
    await kitchen.getByText('Note: Spotless').waitFor();
    await notes.getByRole('button', { name: 'Skip' }).click();
    await page.getByText('2 of 3 done').waitFor();

    // A flaky network: the first try to mark "keys" done is cut off; the page says it waits,
    // tries again, and the step is done once.
    let cut = 0;
    await page.route('**/steps/keys/answer', (route) => (cut++ === 0 ? route.abort('failed') : route.continue()));
    await keys.getByRole('button', { name: 'Mark done' }).click();
    await page.getByText(/No connection: waiting to save “Keys on the table” \(trying again in 1 s\)/).waitFor();
    await page.getByText('3 of 3 done').waitFor();
    assert.equal(cut, 2);
    await page.getByText('Every required step is done. You can submit.').waitFor();
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.getByText('This checklist is submitted. Thank you!').waitFor();
    assert.equal(await page.getByRole('button').count(), 0, 'a submitted run shows no actions');
    await page.screenshot({ path: path.join(shotDir, '3-completed.png') });

    // The receiver got the run's webhooks, verified, with the photo's thumbnail inline.
    await eventually(() => received.filter((e) => e.run_id === run.id).length >= 4, 10000, 'the webhooks');
    const events = received.filter((e) => e.run_id === run.id);
    assert.deepEqual(events.map((e) => e.event), ['step.completed', 'step.skipped', 'step.completed', 'run.completed']);
    const photo = events[0].data.photos[0];
    assert.equal(events[0].data.answer.note, 'Spotless');
    assert.equal(photo.thumbnail.content_type, 'image/jpeg');
    assert.ok(Math.max(photo.thumbnail.width, photo.thumbnail.height) <= 256);
    assert.ok(Buffer.from(photo.thumbnail.data, 'base64').subarray(0, 2).equals(Buffer.from([0xff, 0xd8])));
    assert.equal(events[2].data.step.id, 'keys');
    assert.deepEqual(rejected, []);

    // No console error but the request we cut off; every request went to the server itself.
    assert.deepEqual(problems.filter((p) => !p.includes('ERR_FAILED')), []);
    const origin = new URL(base).origin;
    for (const url of requests) assert.ok(url.startsWith(origin + '/') || url.startsWith('blob:'), `a request to ${url}`);
    await context.close();
  });

  await test('a cancelled run shows its final state and no actions', async () => {
    const run = await newRun();
    assert.equal((await call(base, 'POST', `/v1/runs/${run.id}/cancel`)).status, 200);
    const { context, page, problems } = await open(run.link);
    await page.getByText('This checklist was cancelled. There is nothing left to do.').waitFor();
    assert.equal(await page.getByRole('button').count(), 0);
    await page.screenshot({ path: path.join(shotDir, '4-cancelled.png') });
    assert.deepEqual(problems, []);
    await context.close();
  });

  await test('leaving asks first, then shows the run cancelled', async () => {
    const run = await newRun();
    const { context, page, problems } = await open(run.link);
    await page.getByText('0 of 3 done').waitFor();
    page.once('dialog', (d) => d.dismiss());
    await page.getByRole('button', { name: 'Leave' }).click();
    await page.waitForTimeout(200);
    assert.equal((await call(base, 'GET', `/v1/runs/${run.id}`)).json.status, 'active');
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Leave' }).click();
    await page.getByText('This checklist was cancelled. There is nothing left to do.').waitFor();
    const state = (await call(base, 'GET', `/v1/runs/${run.id}`)).json;
    assert.equal(state.status, 'cancelled');
    assert.equal(state.cancel_reason, 'executor_exit');
    assert.deepEqual(problems, []);
    await context.close();
  });

  await test('an expired run shows its final state, also to a page opened before', async () => {
    const run = await newRun({ expires_in_hours: 0.001 }); // 3.6 s
    const { context, page, problems } = await open(run.link);
    await page.getByText('0 of 3 done').waitFor();
    await page.getByText('Link expires in less than a minute.').waitFor();
    await eventually(async () => (await call(base, 'GET', `/v1/runs/${run.id}`)).json.status === 'expired',
      10000, 'the run to expire');
    // The page learns it on its next action: the server's words, then the final state.
    await page.getByRole('region', { name: 'Anything broken?' }).getByRole('button', { name: 'Skip' }).click();
    await page.getByText('This link has expired. Ask the sender for a new one if work remains.').waitFor();
    await page.getByText('This link has expired.', { exact: true }).waitFor();
    assert.equal(await page.getByRole('button').count(), 0);
    await page.reload();
    await page.getByText('This link has expired. Ask the sender for a new one if work remains.').waitFor();
    await page.screenshot({ path: path.join(shotDir, '5-expired.png') });
    assert.deepEqual(problems.filter((p) => !p.includes('410')), []);
    await context.close();
  });

  await test('an unknown link is a plain 404 page', async () => {
    const { context, page, response, problems } = await open(`${base}/r/no-such-token`);
    assert.equal(response.status(), 404);
    await page.getByRole('heading', { name: 'Link not found' }).waitFor();
    await page.screenshot({ path: path.join(shotDir, '6-not-found.png') });
    assert.deepEqual(problems.filter((p) => !p.includes('404')), []);
    await context.close();
  });

  await test('the page sends its safety headers and its CSP holds without errors', async () => {
    const run = await newRun();
    const { context, page, problems, response } = await open(run.link);
    const h = response.headers();
    assert.match(h['content-security-policy'], /default-src 'self'/);
    assert.match(h['content-security-policy'], /img-src 'self' blob: data:/);
    assert.match(h['content-security-policy'], /frame-ancestors 'none'/);
    assert.doesNotMatch(h['content-security-policy'], /unsafe-inline|unsafe-eval/);
    assert.equal(h['referrer-policy'], 'no-referrer');
    assert.equal(h['cache-control'], 'no-store');
    await page.getByText('0 of 3 done').waitFor();
    // Usable by keyboard: Tab reaches every enabled control, in order.
    const reached = [];
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate(() => {
        const a = document.activeElement;
        return a && a.tagName === 'BUTTON' ? a.textContent.trim() : a && a.tagName;
      }));
    }
    for (const name of ['Add photo', 'Mark done', 'Skip', 'Leave']) {
      assert.ok(reached.includes(name), `Tab never reaches ${name}: ${reached.join(', ')}`);
    }
    assert.ok(reached.includes('TEXTAREA'), 'Tab never reaches a note');
    // An inline script is refused by the policy: the page's own code runs from /assets only.
    const ran = await page.evaluate(() => new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', () => resolve('blocked'), { once: true });
      const s = document.createElement('script');
      s.textContent = 'window.__inline = 1';
      document.body.append(s);
      setTimeout(() => resolve(window.__inline ? 'ran' : 'blocked'), 500);
    }));
    assert.equal(ran, 'blocked');
    assert.deepEqual(problems.filter((p) => !p.includes('Content Security Policy')), []);
    await context.close();
  });

  console.log(`executor page: ${passed} tests passed; screenshots in ${shotDir}`);
} finally {
  await browser.close();
  server.stop();
  receiver.close();
}
