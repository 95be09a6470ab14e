// The operator's console (GET /console): endpoints by health, events with filters and
// paging, a run's steps and events, redelivery and recovery, over the API of contract §8.
// The API key lives in this tab's sessionStorage only: never in a cookie, the address or
// localStorage. Every value from the server reaches the page as text, never as markup.
'use strict';

const keyName = 'rundun.console.api_key';
const eventTypes = ['step.completed', 'step.skipped', 'run.completed', 'run.cancelled', 'run.expired'];
const statuses = ['pending', 'delivered', 'failed', 'not_subscribed'];
const pageSize = 20;
/// The confirm step counts what a recovery sends by paging through this many events at most.
const countLimit = 10000;
const refreshMs = 5000;
/// Requests one page of events may take, following short pages.
const maxFollow = 10;

const $ = (id) => document.getElementById(id);
let refreshTimer = null;

/// An element with attributes and children (strings become text nodes).
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/// `2026-05-22 08:32:00 UTC` from an RFC 3339 time, or a dash.
function when(t) {
  if (!t) return '—';
  return t.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
}

function say(text, error = false) {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('error', error);
}

class unauthorized extends Error {}

/// A call to the API with the tab's key; throws `unauthorized` on a 401, an Error with the
/// server's message on another refusal.
async function api(method, target, body) {
  const headers = { authorization: `Bearer ${sessionStorage.getItem(keyName) || ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(target, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let json = null;
  try { json = await res.json(); } catch { /* not JSON */ }
  if (res.status === 401) throw new unauthorized();
  if (!res.ok) {
    const e = json && json.error;
    throw new Error(e ? `${e.message} (${e.code})` : `the server answered ${res.status}`);
  }
  return json;
}

// -- signing in --------------------------------------------------------------------------

function showSignIn(message = '') {
  stopRefresh();
  sessionStorage.removeItem(keyName);
  $('sign-in').hidden = false;
  $('nav').hidden = true;
  $('sign-out').hidden = true;
  $('view').replaceChildren();
  say('');
  $('sign-in-error').textContent = message;
  $('key').focus();
}

async function signIn(event) {
  event.preventDefault();
  const key = $('key').value.trim();
  if (!key) {
    $('sign-in-error').textContent = 'Enter the API key.';
    return;
  }
  sessionStorage.setItem(keyName, key);
  try {
    await api('GET', '/v1/endpoints?limit=1');
  } catch (e) {
    showSignIn(e instanceof unauthorized
      ? 'The server refused this API key. Check it and try again: it is the key given with ' +
        '--api-key, or the one rundund printed at its first start.'
      : `The server could not be reached: ${e.message}`);
    return;
  }
  $('key').value = '';
  $('sign-in').hidden = true;
  $('nav').hidden = false;
  $('sign-out').hidden = false;
  route();
}

// -- views -----------------------------------------------------------------------------

function stopRefresh() {
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = null;
}

/// Runs a view's loader, sending the user back to the key prompt on a 401.
async function show(load) {
  stopRefresh();
  try {
    await load();
  } catch (e) {
    if (e instanceof unauthorized) showSignIn('The server refused the API key. Sign in again.');
    else say(e.message, true);
  }
}

function route() {
  if (!sessionStorage.getItem(keyName)) return showSignIn();
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean);
  for (const a of document.querySelectorAll('nav a')) a.removeAttribute('aria-current');
  say('');
  if (parts[0] === 'events') {
    $('nav-events').setAttribute('aria-current', 'page');
    return show(() => eventsView(params));
  }
  if (parts[0] === 'runs' && parts[1]) return show(() => runView(decodeURIComponent(parts[1])));
  $('nav-endpoints').setAttribute('aria-current', 'page');
  return show(() => endpointsView(params));
}

function figure(name, value) {
  return el('div', {}, el('dt', {}, name), el('dd', {}, value));
}

function lastAttempt(a) {
  if (!a) return '—';
  return `${when(a.at)}: ${a.status_code !== undefined ? `HTTP ${a.status_code}` : a.error}`;
}

async function endpointsView(params) {
  const status = params.get('status') || '';
  const cursor = params.get('cursor') || '';
  const q = new URLSearchParams({ limit: String(pageSize) });
  if (status) q.set('status', status);
  if (cursor) q.set('cursor', cursor);
  const page = await api('GET', `/v1/endpoints?${q}`);
  const list = el('ul', { class: 'cards', 'aria-label': 'Endpoints' });
  for (const e of page.endpoints) {
    const disabled = e.disabled_at !== null && e.disabled_at !== undefined;
    const failing = e.failing_since !== null;
    const health = disabled ? 'disabled' : failing ? 'failing' : 'healthy';
    const badge = disabled ? `Disabled ${when(e.disabled_at)}`
      : failing ? `Failing since ${when(e.failing_since)}` : 'Healthy';
    list.append(el('li', { class: `card${health === 'healthy' ? '' : ` ${health}`}` },
      el('section', { 'aria-label': e.url },
        el('div', { class: 'card-head' },
          el('h2', { class: 'mono' }, e.url),
          el('span', { class: `badge ${health}` }, badge)),
        el('dl', { class: 'figures' },
          figure('Pending', e.pending), figure('In flight', e.in_flight),
          figure('Delivered', e.delivered), figure('Failed', e.failed),
          figure('Last attempt', lastAttempt(e.last_attempt)),
          figure('Next attempt', when(e.next_attempt_at)),
          figure('Recovering', e.recovering)),
        el('div', { class: 'buttons' },
          el('a', { href: `#/events?${new URLSearchParams({ endpoint: e.url })}` }, 'Events'),
          el('a', { href: `#/events?${new URLSearchParams({ endpoint: e.url, status: 'failed' })}` },
            'Failed events'),
          (e.failed > 0 || disabled) &&
            el('button', { type: 'button', onclick: () => confirmRecovery(e.url) },
              disabled ? 'Enable and recover' : 'Recover failed')))));
  }
  const filter = el('select', { id: 'endpoint-health' },
    el('option', { value: '' }, 'All'),
    el('option', { value: 'disabled', selected: status === 'disabled' }, 'Disabled'),
    el('option', { value: 'failing', selected: status === 'failing' }, 'Failing'),
    el('option', { value: 'healthy', selected: status === 'healthy' }, 'Healthy'));
  filter.addEventListener('change', () => { location.hash = `#/endpoints?status=${filter.value}`; });
  $('view').replaceChildren(
    el('h1', {}, 'Endpoints'),
    el('div', { class: 'buttons' },
      el('label', { for: 'endpoint-health' }, 'Health'), filter,
      el('button', { type: 'button', class: 'quiet', onclick: route }, 'Refresh')),
    page.endpoints.length ? list : el('p', { class: 'muted' }, 'No webhook has been sent yet.'),
    pager('endpoints', params, page.next_cursor));
  refreshTimer = setTimeout(() => { if (location.hash.startsWith('#/endpoints') || !location.hash) route(); },
    refreshMs);
}

/// "Newer" and "Older" buttons: the cursors of the pages before are kept in the address.
function pager(view, params, next) {
  const back = params.getAll('back');
  const here = params.get('cursor') || '';
  const base = new URLSearchParams(params);
  base.delete('cursor');
  base.delete('back');
  const go = (cursor, stack) => {
    const q = new URLSearchParams(base);
    if (cursor) q.set('cursor', cursor);
    for (const b of stack) q.append('back', b);
    location.hash = `#/${view}?${q}`;
  };
  const pageNo = back.length + (here ? 1 : 0) + 1;
  return el('nav', { class: 'pager', 'aria-label': 'Pages' },
    el('button', { type: 'button', class: 'quiet', disabled: pageNo === 1,
      onclick: () => go(back.length ? back[back.length - 1] : '', back.slice(0, -1)) }, 'Newer'),
    el('span', {}, `Page ${pageNo}`),
    el('button', { type: 'button', class: 'quiet', disabled: !next,
      onclick: () => go(next, here ? [...back, here] : back) }, 'Older'));
}

function attemptsTable(delivery) {
  if (!delivery.attempts.length) return el('p', { class: 'muted' }, 'No attempt yet.');
  return el('table', {},
    el('caption', { class: 'muted' }, 'Attempts'),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, '#'), el('th', { scope: 'col' }, 'Time'),
      el('th', { scope: 'col' }, 'Result'), el('th', { scope: 'col' }, 'Duration'))),
    el('tbody', {}, delivery.attempts.map((a) => el('tr', {},
      el('td', {}, a.attempt), el('td', {}, when(a.at)),
      el('td', {}, a.status_code !== undefined ? `HTTP ${a.status_code}` : a.error),
      el('td', {}, `${a.duration_ms} ms`)))));
}

function eventCard(e, withRun) {
  const d = e.delivery;
  const redeliverable = d.status === 'delivered' || d.status === 'failed';
  const result = el('p', { role: 'status' });
  return el('li', { class: 'card' },
    el('article', { 'aria-label': `${e.event} ${e.event_id}` },
      el('div', { class: 'card-head' },
        el('h2', {}, e.event),
        el('span', { class: `badge ${d.status}` }, d.status.replace('_', ' '))),
      el('dl', { class: 'figures' },
        figure('Event', el('code', {}, e.event_id)),
        figure('Created', when(e.created_at)),
        withRun && figure('Run', el('a', { href: `#/runs/${encodeURIComponent(e.run_id)}` }, e.run_id)),
        withRun && figure('Endpoint', e.endpoint || 'none'),
        d.next_attempt_at && figure('Next attempt', when(d.next_attempt_at)),
        d.error && figure('Why', d.error)),
      attemptsTable(d),
      redeliverable && el('button', { type: 'button', onclick: async (ev) => {
        ev.target.disabled = true;
        try {
          await api('POST', `/v1/events/${encodeURIComponent(e.event_id)}/redeliver`);
          result.textContent = 'Sent again: it is pending now.';
        } catch (err) {
          if (err instanceof unauthorized) return showSignIn('The server refused the API key. Sign in again.');
          result.textContent = err.message;
          result.className = 'error';
          ev.target.disabled = false;
        }
      } }, 'Redeliver'),
      result));
}

/// A page of events. A rare filter can make the server end a page early (its scan budget),
/// so short pages are followed, a few at a time, until the page is full or the list ends.
async function eventsPage(filters, cursor) {
  const events = [];
  let next = cursor;
  for (let asked = 0; asked < maxFollow; asked += 1) {
    const q = new URLSearchParams({ ...filters, limit: String(pageSize - events.length) });
    if (next) q.set('cursor', next);
    const page = await api('GET', `/v1/events?${q}`);
    events.push(...page.events);
    next = page.next_cursor;
    if (!next || events.length >= pageSize) break;
  }
  return { events, next_cursor: next };
}

async function eventsView(params) {
  const filters = {};
  for (const name of ['status', 'type', 'run_id', 'endpoint']) {
    if (params.get(name)) filters[name] = params.get(name);
  }
  const page = await eventsPage(filters, params.get('cursor') || '');
  const choice = (id, label, options, value) => el('div', {},
    el('label', { for: id }, label),
    el('select', { id, name: id }, el('option', { value: '' }, 'Any'),
      options.map((o) => el('option', { value: o, selected: o === value }, o.replace('_', ' ')))));
  const text = (id, label, value) => el('div', {},
    el('label', { for: id }, label), el('input', { id, name: id, value: value || '', spellcheck: 'false' }));
  const form = el('form', { class: 'filters', 'aria-label': 'Filters' },
    choice('status', 'Status', statuses, filters.status),
    choice('type', 'Type', eventTypes, filters.type),
    text('run_id', 'Run id', filters.run_id),
    text('endpoint', 'Endpoint URL', filters.endpoint),
    el('div', {}, el('button', { type: 'submit', class: 'primary' }, 'Apply filters')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim()) next.set(k, String(v).trim());
    location.hash = `#/events?${next}`;
  });
  const list = el('ul', { class: 'cards', 'aria-label': 'Events' }, page.events.map((e) => eventCard(e, true)));
  $('view').replaceChildren(
    el('h1', {}, 'Events'), form,
    page.events.length ? list : el('p', { class: 'muted' }, 'No event matches these filters.'),
    pager('events', params, page.next_cursor));
}

async function runView(id) {
  const run = await api('GET', `/v1/runs/${encodeURIComponent(id)}`);
  const events = await api('GET', `/v1/runs/${encodeURIComponent(id)}/events`);
  const steps = el('table', {},
    el('caption', { class: 'muted' }, 'Steps'),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Step'), el('th', { scope: 'col' }, 'Status'),
      el('th', { scope: 'col' }, 'Answer'), el('th', { scope: 'col' }, 'Photos'))),
    el('tbody', {}, run.steps.map((s) => el('tr', {},
      el('td', {}, s.title, el('br'), el('code', {}, s.id)),
      el('td', {}, s.status, s.completed_at ? ` ${when(s.completed_at)}` : '',
        s.skipped_at ? ` ${when(s.skipped_at)}` : ''),
      el('td', {}, s.answer ? JSON.stringify(s.answer.value ?? null) + (s.answer.note ? ` · ${s.answer.note}` : '') : '—'),
      el('td', {}, String((s.photos || []).length))))));
  $('view').replaceChildren(
    el('h1', {}, `Run ${run.id}`),
    el('dl', { class: 'figures' },
      figure('Status', run.status), figure('Template', el('code', {}, run.template_id)),
      figure('Created', when(run.created_at)), figure('Expires', when(run.expires_at)),
      run.ended_at && figure('Ended', when(run.ended_at)),
      figure('Webhook', run.webhook ? run.webhook.url : 'none')),
    steps,
    el('h2', {}, 'Events'),
    events.events.length
      ? el('ul', { class: 'cards', 'aria-label': 'Events' }, events.events.map((e) => eventCard(e, false)))
      : el('p', { class: 'muted' }, 'No event yet.'));
}

// -- recovery ------------------------------------------------------------------------

/// Counts what a recovery from `since` (a Date, or null for all) would send and leave out.
async function countFailed(url, since) {
  let send = 0;
  let gone = 0;
  let cursor = '';
  for (let seen = 0; seen < countLimit;) {
    const q = new URLSearchParams({ status: 'failed', endpoint: url, limit: '500' });
    if (since) q.set('created_after', new Date(since.getTime() - 1).toISOString());
    if (cursor) q.set('cursor', cursor);
    const page = await api('GET', `/v1/events?${q}`);
    for (const e of page.events) {
      if (e.delivery.error === 'endpoint_gone') gone += 1;
      else send += 1;
    }
    seen += page.events.length;
    if (!page.next_cursor) return { send, gone, more: false };
    cursor = page.next_cursor;
  }
  return { send, gone, more: true };
}

let recovery = null;

async function recount() {
  const r = recovery;
  const ok = $('confirm-ok');
  ok.disabled = true;
  $('confirm-text').textContent = 'Counting the failed events…';
  const since = $('confirm-since').value ? new Date(`${$('confirm-since').value}Z`) : null;
  try {
    const n = await countFailed(r.url, since);
    if (recovery !== r) return;
    r.since = since;
    const events = `${n.more ? 'more than ' : ''}${n.send} failed event${n.send === 1 ? '' : 's'}`;
    $('confirm-text').textContent = n.send === 0 && !n.more
      ? 'No failed event to send again.'
      : `This sends ${events} to this URL again, each run's in creation order.` +
        (n.gone ? ` ${n.gone} more are left out: their run's webhook answered 410 Gone.` : '');
    ok.disabled = n.send === 0 && !n.more;
  } catch (e) {
    if (e instanceof unauthorized) { closeConfirm(); return showSignIn('The server refused the API key. Sign in again.'); }
    $('confirm-text').textContent = e.message;
  }
}

function confirmRecovery(url) {
  stopRefresh();
  recovery = { url, since: null, opener: document.activeElement };
  $('confirm-url').textContent = url;
  $('confirm-since').value = '';
  $('confirm').hidden = false;
  $('confirm-since').focus();
  recount();
}

/// The dialog is modal: Tab and Shift+Tab go round its own controls only.
function keepFocusInDialog(e) {
  const inside = [...$('confirm').querySelectorAll('input, button')].filter((x) => !x.disabled);
  if (!inside.length) return;
  const first = inside[0];
  const last = inside[inside.length - 1];
  if (e.shiftKey && (document.activeElement === first || !$('confirm').contains(document.activeElement))) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && (document.activeElement === last || !$('confirm').contains(document.activeElement))) {
    e.preventDefault();
    first.focus();
  }
}

function closeConfirm() {
  $('confirm').hidden = true;
  const opener = recovery && recovery.opener;
  recovery = null;
  if (opener && opener.isConnected) opener.focus();
}

async function recover() {
  const r = recovery;
  $('confirm-ok').disabled = true;
  try {
    const since = (r.since || new Date(0)).toISOString();
    const started = await api('POST', '/v1/endpoints/recover', { url: r.url, since });
    closeConfirm();
    say(`Recovering ${started.recovering} event${started.recovering === 1 ? '' : 's'} to ${r.url}` +
      (started.skipped_webhook_disabled ? ` (${started.skipped_webhook_disabled} left out: webhook off)` : '') + '.');
    setTimeout(route, 500);
  } catch (e) {
    if (e instanceof unauthorized) { closeConfirm(); return showSignIn('The server refused the API key. Sign in again.'); }
    $('confirm-text').textContent = e.message;
    $('confirm-ok').disabled = false;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('key-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', () => showSignIn('Signed out.'));
  $('confirm-ok').addEventListener('click', recover);
  $('confirm-cancel').addEventListener('click', closeConfirm);
  $('confirm-since').addEventListener('change', recount);
  document.addEventListener('keydown', (e) => {
    if ($('confirm').hidden) return;
    if (e.key === 'Escape') closeConfirm();
    if (e.key === 'Tab') keepFocusInDialog(e);
  });
  window.addEventListener('hashchange', () => { if (sessionStorage.getItem(keyName)) route(); });
  if (sessionStorage.getItem(keyName)) {
    $('nav').hidden = false;
    $('sign-out').hidden = false;
    route();
  } else {
    showSignIn();
  }
});
