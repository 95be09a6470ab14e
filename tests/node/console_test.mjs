// The operator's console (GET /console) in a real browser (Debian's chromium, headless,
// driven by playwright-core through accessible names and roles only), against a real
// rundund and real receivers: a failing endpoint found, fixed and recovered, paging, a run's
// page, a redelivery, a wrong key, at a desktop's and at a phone's viewport.
//
//   node console_test.mjs <rundund> <screenshot dir>
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { apiKey, call, eventually, linkPath, startReceiver, startServer } from './harness.mjs';

const [rundund, shotDir] = process.argv.slice(2);
fs.mkdirSync(shotDir, { recursive: true });
const browserPath = process.env.RUNDUN_CHROMIUM || '/usr/bin/chromium';
const desktop = { viewport: { width: 1280, height: 800 } };
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

// The shop: answers 503 until it is fixed, then verifies each delivery and keeps it.
let fixed = false;
const shopGot = [];
const verifier = new Webhook(secret);
const shop = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (!fixed) { res.writeHead(503).end(); return; }
    shopGot.push(verifier.verify(Buffer.concat(chunks).toString('utf8'), req.headers));
    res.writeHead(204).end();
  });
});
await new Promise((r) => shop.listen(0, '127.0.0.1', r));
const shopUrl = `http://127.0.0.1:${shop.address().port}/hooks`;
const healthy = await startReceiver(secret);

const { server, base } = await startServer(rundund, ['--retry-schedule', '100ms,100ms']);
const browser = await chromium.launch({ executablePath: browserPath, headless: true });
let passed = 0;

async function open(device, at = base) {
  const context = await browser.newContext(device);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  const response = await page.goto(`${at}/console`);
  return { context, page, problems, response };
}

async function signIn(page, key = apiKey) {
  await page.getByRole('textbox', { name: 'API key' }).fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function test(name, body) {
  await body();
  passed += 1;
  console.log(`console: ${name}: ok`);
}

const template = (await call(base, 'POST', '/v1/templates', {
  body: { name: 'Checkout', steps: [{ id: 'a', title: 'Kitchen', required: false }, { id: 'b', title: 'Keys', required: false }] },
})).json.id;

/// A run to `url` whose executor skips step a, then leaves: two events.
async function runTo(url) {
  const r = await call(base, 'POST', '/v1/runs', { body: { template_id: template, webhook: { url, secret } } });
  assert.equal(r.status, 201, r.text);
  const link = linkPath(r.json.link);
  assert.equal((await call(base, 'POST', `${link}/steps/a/skip`, { auth: false })).status, 200);
  assert.equal((await call(base, 'POST', `${link}/exit`, { auth: false })).status, 200);
  return r.json.id;
}

try {
  const shopRuns = [];
  for (let i = 0; i < 3; i += 1) shopRuns.push(await runTo(shopUrl));
  for (let i = 0; i < 13; i += 1) await runTo(healthy.url);
  // 6 events to the shop fail their 3 attempts; 26 reach the healthy receiver.
  await eventually(async () => {
    const r = await call(base, 'GET', '/v1/events?status=failed&limit=500');
    return r.json.events.length === 6;
  }, 20000, 'the shop\'s events to fail');
  await eventually(() => healthy.received.length === 26, 20000, 'the healthy deliveries');

  await test('the page asks for the key, and a wrong key gets a clear message', async () => {
    const { context, page, problems, response } = await open(desktop);
    assert.equal(response.status(), 200);
    const csp = response.headers()['content-security-policy'];
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signIn(page, 'not-the-key-at-all');
    await page.getByRole('alert').getByText('The server refused this API key').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.equal(await page.getByRole('navigation', { name: 'Sections' }).count(), 0);
    await page.screenshot({ path: path.join(shotDir, '1-wrong-key.png') });
    // The browser shows only the 401 it was meant to get.
    assert.deepEqual(problems.filter((p) => !p.includes('401')), []);
    await context.close();
  });

  await test('a failing endpoint is found, and recovered once it is fixed', async () => {
    const { context, page, problems } = await open(desktop);
    await signIn(page);
    await page.getByRole('heading', { name: 'Endpoints' }).waitFor();
    // The key is in this tab only: not in a cookie, not in the address.
    assert.equal(await page.evaluate(() => document.cookie), '');
    assert.ok(!page.url().includes(apiKey));
    assert.equal(await page.evaluate(() => sessionStorage.getItem('rundun.console.api_key')), apiKey);
    const endpoints = page.getByRole('list', { name: 'Endpoints' });
    const first = endpoints.getByRole('listitem').first();
    await first.getByRole('heading', { name: shopUrl }).waitFor();
    await first.getByText(/^Failing since /).waitFor();
    const shopCard = page.getByRole('region', { name: shopUrl });
    const healthyCard = page.getByRole('region', { name: healthy.url });
    await healthyCard.getByText('Healthy', { exact: true }).waitFor();
    await page.screenshot({ path: path.join(shotDir, '2-endpoints-failing.png') });

    fixed = true;
    await shopCard.getByRole('button', { name: 'Recover failed' }).click();
    const dialog = page.getByRole('dialog', { name: 'Recover failed events' });
    await dialog.getByText('This sends 6 failed events to this URL again').waitFor();
    // Modal: Tab goes round the dialog's own controls, never behind it.
    const inDialog = () => page.evaluate(() => document.activeElement.closest('[role="dialog"]') !== null);
    await dialog.getByRole('button', { name: 'Cancel' }).focus();
    await page.keyboard.press('Tab'); // past the last control: back to the first
    assert.ok(await inDialog(), 'Tab left the dialog');
    await dialog.getByRole('button', { name: 'Send them again' }).focus();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab'); // before the first control: round to the last
    assert.ok(await inDialog(), 'Shift+Tab left the dialog');
    await page.screenshot({ path: path.join(shotDir, '3-recover-confirm.png') });
    await dialog.getByRole('button', { name: 'Send them again' }).click();
    await page.getByRole('status').getByText(`Recovering 6 events to ${shopUrl}`).waitFor();
    await eventually(() => shopGot.length >= 6, 10000, 'the recovered events at the shop');
    assert.equal(shopGot.length, 6);
    for (const run of shopRuns) {
      assert.deepEqual(shopGot.filter((e) => e.run_id === run).map((e) => e.event), ['step.skipped', 'run.cancelled']);
    }
    await eventually(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      return (await shopCard.getByText('Healthy', { exact: true }).count()) === 1;
    }, 10000, 'the shop to show as healthy');
    await page.screenshot({ path: path.join(shotDir, '4-endpoints-recovered.png') });
    assert.deepEqual(problems, []);
    await context.close();
  });

  await test('events page through, filter, open their run, and redeliver', async () => {
    const { context, page, problems } = await open(desktop);
    await signIn(page);
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Events' }).click();
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    const events = page.getByRole('list', { name: 'Events' });
    const pages = page.getByRole('navigation', { name: 'Pages' });
    await pages.getByText('Page 1').waitFor();
    assert.equal(await events.getByRole('listitem').count(), 20);
    const firstOnPage1 = await events.getByRole('article').first().getAttribute('aria-label');
    await pages.getByRole('button', { name: 'Older' }).click();
    await pages.getByText('Page 2').waitFor();
    assert.equal(await events.getByRole('listitem').count(), 12);
    assert.equal(await pages.getByRole('button', { name: 'Older' }).isDisabled(), true);
    await pages.getByRole('button', { name: 'Newer' }).click();
    await pages.getByText('Page 1').waitFor();
    assert.equal(await events.getByRole('article').first().getAttribute('aria-label'), firstOnPage1);

    // Filtered to the shop's run.cancelled events: 3, each with its 4 attempts.
    await page.getByRole('combobox', { name: 'Type' }).selectOption('run.cancelled');
    await page.getByRole('textbox', { name: 'Endpoint URL' }).fill(shopUrl);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await eventually(async () => (await events.getByRole('listitem').count()) === 3, 5000, 'the filter');
    const card = events.getByRole('article').first();
    const attempts = card.getByRole('table');
    assert.equal(await attempts.getByRole('row').count(), 5); // a header and 4 attempts
    await attempts.getByRole('cell', { name: 'HTTP 503' }).first().waitFor();
    await attempts.getByRole('cell', { name: 'HTTP 204' }).waitFor();
    await page.screenshot({ path: path.join(shotDir, '5-events-filtered.png') });

    await card.getByRole('button', { name: 'Redeliver' }).click();
    await card.getByText('Sent again: it is pending now.').waitFor();
    await eventually(() => shopGot.length === 7, 10000, 'the redelivery');

    // The run's own page: its steps and its events.
    await card.getByRole('link', { name: /^r-/ }).click();
    await page.getByRole('heading', { name: /^Run r-/ }).waitFor();
    const steps = page.getByRole('table', { name: 'Steps' });
    await steps.getByRole('cell', { name: 'skipped', exact: false }).first().waitFor();
    assert.equal(await page.getByRole('list', { name: 'Events' }).getByRole('listitem').count(), 2);
    await page.screenshot({ path: path.join(shotDir, '6-run.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await context.close();
  });

  await test('a phone can use it, without scrolling sideways', async () => {
    const { context, page, problems } = await open(phone);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signIn(page);
    await page.getByRole('heading', { name: 'Endpoints' }).waitFor();
    await page.getByRole('region', { name: shopUrl }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    await page.screenshot({ path: path.join(shotDir, '7-phone-endpoints.png'), fullPage: true });
    await page.getByRole('link', { name: 'Events' }).first().click();
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(wide <= 0, `the events page is ${wide}px wider than the phone`);
    await page.screenshot({ path: path.join(shotDir, '8-phone-events.png') });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.deepEqual(problems, []);
    await context.close();
  });
  await test('a disabled endpoint is shown, filtered, and enabled again by a recovery', async () => {
    // Its own server, which disables an endpoint after half a second of failures.
    let back = false;
    const gotBack = [];
    const dead = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        if (!back) { res.writeHead(503).end(); return; }
        gotBack.push(verifier.verify(Buffer.concat(chunks).toString('utf8'), req.headers));
        res.writeHead(204).end();
      });
    });
    await new Promise((r) => dead.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${dead.address().port}/hooks`;
    const second = await startServer(rundund, ['--retry-schedule', Array(30).fill('100ms').join(','),
      '--endpoint-disable-after', '500ms']);
    try {
      const tmpl = (await call(second.base, 'POST', '/v1/templates', {
        body: { name: 'Keys', steps: [{ id: 'a', title: 'Keys', required: false }] },
      })).json.id;
      const r = await call(second.base, 'POST', '/v1/runs', { body: { template_id: tmpl, webhook: { url: deadUrl, secret } } });
      assert.equal(r.status, 201, r.text);
      assert.equal((await call(second.base, 'POST', `${linkPath(r.json.link)}/steps/a/skip`, { auth: false })).status, 200);
      await eventually(async () => (await call(second.base, 'GET', '/v1/endpoints?status=disabled')).json.endpoints.length === 1,
        15000, 'the endpoint to be disabled');

      const { context, page, problems } = await open(desktop, second.base);
      await signIn(page);
      const card = page.getByRole('region', { name: deadUrl });
      await card.getByText(/^Disabled /).waitFor();
      await page.getByLabel('Health').selectOption('disabled');
      await page.waitForFunction(() => location.hash.includes('status=disabled'));
      await card.getByText(/^Disabled /).waitFor();
      await page.screenshot({ path: path.join(shotDir, '9-endpoint-disabled.png') });
      await page.getByLabel('Health').selectOption('');
      back = true;
      await card.getByRole('button', { name: 'Enable and recover' }).click();
      const dialog = page.getByRole('dialog', { name: 'Recover failed events' });
      await dialog.getByText('This sends 1 failed event').waitFor();
      await dialog.getByRole('button', { name: 'Send them again' }).click();
      await eventually(() => gotBack.length === 1, 10000, 'the resent event');
      assert.equal(gotBack[0].event, 'step.skipped');
      await eventually(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return (await card.getByText('Healthy', { exact: true }).count()) === 1;
      }, 10000, 'the endpoint to show as enabled and healthy');
      assert.deepEqual(problems, []);
      await context.close();
    } finally {
      second.server.stop();
      dead.close();
    }
  });
  console.log(`console: ${passed} scenarios passed`);
} finally {
  await browser.close();
  server.stop();
  healthy.close();
  shop.close();
}
