// The executor's page: loads the run through its link's JSON routes, renders each step, and
// sends the executor's actions. Served from the same origin as the link; no inline script
// and no third-party request, so that the link's token goes nowhere but to this server.
'use strict';

(function () {
  const token = location.pathname.split('/')[2] || '';
  const base = '/r/' + encodeURIComponent(token);
  const maxSide = 2048;          // photos are scaled down to this before upload
  const retryDelays = [1, 2, 4, 8, 15, 30]; // seconds between tries on a flaky network

  const el = (id) => document.getElementById(id);
  let run = null;
  let busy = false;
  const notes = new Map();       // step id -> the note being typed (kept across renders)
  const previews = new Map();    // photo id -> a blob URL of the photo taken on this page

  // -- talking to the server ---------------------------------------------------------------

  const messages = {
    link_expired: 'This link has expired.',
    run_not_active: 'This checklist is no longer open.',
    link_not_found: 'This checklist link does not exist.',
    photos_missing: 'Add the required photos first.',
    too_many_photos: 'This step already has the most photos it can take.',
    invalid_image: 'That file is not a photo this page can read. Try a JPEG or PNG photo.',
    image_too_large: 'That photo is too large. Try a smaller one.',
    body_too_large: 'That photo is over 10 MB. Try a smaller one.',
    unsupported_media_type: 'Only JPEG and PNG photos can be added.',
    step_required: 'This step is required and cannot be skipped.',
    steps_missing: 'Some required steps are not done yet.',
  };

  function describe(error) {
    if (error && messages[error.code]) return messages[error.code];
    return 'Something went wrong on the server. Please try again in a moment.';
  }

  class ServerError extends Error {
    constructor(status, body) {
      super((body && body.error && body.error.message) || 'server error');
      this.status = status;
      this.error = (body && body.error) || {};
    }
  }

  // Sends one request; network failures and 5xx answers are retried with backoff while the
  // page says what it is waiting for. Resolves with the parsed JSON, rejects with a
  // ServerError for a 4xx.
  async function send(method, path, { body, type, what, onProgress } = {}) {
    for (let attempt = 0; ; attempt++) {
      let result;
      try {
        result = await xhr(method, path, body, type, onProgress);
      } catch (networkError) {
        result = null;
      }
      if (result && result.status < 500) {
        if (attempt > 0) setStatus(''); // the network is back: the waiting note goes
        if (result.status >= 400) throw new ServerError(result.status, result.json);
        return result.json;
      }
      if (attempt >= retryDelays.length) {
        setStatus('Could not reach the server to ' + what + '. Check your connection and try again.', true);
        throw new ServerError(0, null);
      }
      const wait = retryDelays[attempt];
      setStatus('No connection: waiting to ' + what + ' (trying again in ' + wait + ' s)…');
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    }
  }

  function xhr(method, path, body, type, onProgress) {
    return new Promise((resolve, reject) => {
      const req = new XMLHttpRequest();
      req.open(method, path);
      if (type) req.setRequestHeader('Content-Type', type);
      if (onProgress) {
        req.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      }
      req.onload = () => {
        let json = null;
        try { json = JSON.parse(req.responseText); } catch (e) { json = null; }
        resolve({ status: req.status, json });
      };
      req.onerror = () => reject(new Error('network'));
      req.ontimeout = () => reject(new Error('timeout'));
      req.timeout = 60000;
      req.send(body === undefined ? null : body);
    });
  }

  function setStatus(text, isError) {
    const s = el('status');
    s.textContent = text;
    s.classList.toggle('error', !!isError);
  }

  // -- rendering ---------------------------------------------------------------------------

  function node(tag, attrs, ...children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v === undefined || v === null) continue;
      if (k === 'class') n.className = v;
      else if (k === 'text') n.textContent = v;
      else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) if (c) n.append(c);
    return n;
  }

  function plural(n, one, many) { return n + ' ' + (n === 1 ? one : many); }

  function timeLeft(expiresAt) {
    const ms = Date.parse(expiresAt) - Date.now();
    if (ms <= 0) return 'This link has expired.';
    const minutes = Math.floor(ms / 60000);
    if (minutes < 1) return 'Link expires in less than a minute.';
    if (minutes < 60) return 'Link expires in ' + plural(minutes, 'minute', 'minutes') + '.';
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return 'Link expires in ' + plural(hours, 'hour', 'hours') + ' ' + plural(minutes % 60, 'minute', 'minutes') + '.';
    return 'Link expires in ' + plural(Math.floor(hours / 24), 'day', 'days') + '.';
  }

  const finalText = {
    completed: 'This checklist is submitted. Thank you!',
    cancelled: 'This checklist was cancelled. There is nothing left to do.',
    expired: 'This link has expired. Ask the sender for a new one if work remains.',
  };

  function render() {
    const app = el('app');
    app.setAttribute('aria-busy', 'false');
    document.title = run.template_name;
    el('title').textContent = run.template_name;
    const done = run.steps.filter((s) => s.status !== 'pending').length;
    el('progress').textContent = done + ' of ' + run.steps.length + ' done';
    const active = run.status === 'active';
    el('time-left').textContent = active ? timeLeft(run.expires_at) : '';
    const final = el('final');
    final.hidden = active;
    final.className = 'final ' + run.status;
    final.textContent = active ? '' : finalText[run.status] || '';

    const steps = el('steps');
    steps.replaceChildren(...run.steps.map((s, i) => renderStep(s, i, active)));

    el('actions').hidden = !active;
    if (active) {
      const missing = run.steps.filter((s) => s.required && s.status !== 'completed');
      el('submit').disabled = busy || missing.length > 0;
      el('missing').textContent = missing.length
        ? 'To submit, finish: ' + missing.map((s) => s.title).join(', ') + '.'
        : 'Every required step is done. You can submit.';
    }
  }

  function renderStep(step, index, active) {
    const titleId = 'step-title-' + index;
    const taken = step.photos.length;
    const need = step.photos_required;
    const section = node('section', {
      class: 'step' + (step.status === 'completed' ? ' done' : ''),
      role: 'region', 'aria-labelledby': titleId,
    });
    const statusText = { pending: active ? 'To do' : 'Not done', completed: 'Done', skipped: 'Skipped' }[step.status];
    section.append(node('div', { class: 'step-head' },
      node('h2', { id: titleId, text: step.title }),
      node('span', { class: 'badge ' + step.status, text: statusText })));
    const meta = [step.required ? 'Required' : 'Optional'];
    if (need > 0) meta.push('Photos: ' + taken + ' of ' + need + ' needed');
    else if (taken > 0) meta.push('Photos: ' + taken);
    section.append(node('p', { class: 'meta', text: meta.join(' · ') }));

    if (taken > 0) {
      section.append(node('ul', { class: 'photos', 'aria-label': 'Photos of ' + step.title },
        ...step.photos.map((id, n) => node('li', {}, node('img', {
          src: previews.get(id) || base + '/photos/' + encodeURIComponent(id) + '/thumbnail',
          alt: 'Photo ' + (n + 1) + ' of ' + step.title,
        })))));
    }
    if (step.answer && step.answer.note) {
      section.append(node('p', { class: 'meta', text: 'Note: ' + step.answer.note }));
    }
    if (!active || step.status !== 'pending') return section;

    const progress = node('progress', { max: '1', value: '0', hidden: true, 'aria-label': 'Upload of the photo' });
    const file = node('input', {
      type: 'file', accept: 'image/*', capture: 'environment', class: 'visually-hidden',
      tabindex: '-1', 'aria-hidden': 'true',
      onchange: () => { if (file.files[0]) addPhoto(step, file.files[0], progress); file.value = ''; },
    });
    const noteId = 'note-' + index;
    const note = node('textarea', { id: noteId, rows: '2', oninput: () => notes.set(step.id, note.value) });
    note.value = notes.get(step.id) || '';
    const missing = Math.max(0, need - taken);
    const hintId = 'hint-' + index;
    const buttons = node('div', { class: 'buttons' },
      node('button', { type: 'button', onclick: () => file.click(), disabled: busy || taken >= 20 }, 'Add photo'),
      node('button', {
        type: 'button', class: 'primary', disabled: busy || missing > 0,
        'aria-describedby': missing > 0 ? hintId : undefined,
        onclick: () => answer(step, note.value),
      }, 'Mark done'),
      step.required ? null : node('button', { type: 'button', class: 'quiet', disabled: busy, onclick: () => skip(step) }, 'Skip'));
    section.append(node('label', { for: noteId, text: 'Note (optional)' }), note);
    if (missing > 0) {
      section.append(node('p', { id: hintId, class: 'hint', text: 'Add ' + plural(missing, 'more photo', 'more photos') + ' to mark this step done.' }));
    }
    section.append(buttons, progress, file);
    return section;
  }

  // -- actions -------------------------------------------------------------------------------

  async function act(what, work) {
    if (busy) return;
    busy = true;
    setStatus(''); // the last action's note or error makes way for this one's
    render();
    try {
      const next = await work();
      if (next) run = next;
      else await refresh();
    } catch (err) {
      if (err instanceof ServerError && err.status !== 0) {
        let text = describe(err.error);
        if (err.error.code === 'steps_missing' && err.error.steps) {
          const titles = run.steps.filter((s) => err.error.steps.includes(s.id)).map((s) => s.title);
          text = 'Still to do: ' + titles.join(', ') + '.';
        }
        setStatus(text, true);
      }
      await refresh(); // the server's word is the truth
    } finally {
      busy = false;
      render();
    }
  }

  function answer(step, note) {
    const body = { value: true };
    if (note.trim()) body.note = note.trim();
    return act('answer', async () => {
      try {
        const next = await send('POST', base + '/steps/' + encodeURIComponent(step.id) + '/answer',
          { body: JSON.stringify(body), type: 'application/json', what: 'save “' + step.title + '”' });
        notes.delete(step.id);
        return next;
      } catch (err) {
        // Answered already (a retry whose first try got through): it is done.
        if (err instanceof ServerError && err.error.code === 'step_not_pending') return null;
        throw err;
      }
    });
  }

  function skip(step) {
    return act('skip', async () => {
      try {
        return await send('POST', base + '/steps/' + encodeURIComponent(step.id) + '/skip',
          { what: 'skip “' + step.title + '”' });
      } catch (err) {
        if (err instanceof ServerError && err.error.code === 'step_not_pending') return null;
        throw err;
      }
    });
  }

  // Scales a photo down to at most maxSide pixels, upright (the browser applies its EXIF
  // orientation), as a JPEG. Photos already small enough go as they are, in JPEG or PNG.
  async function prepare(file) {
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
    const keep = scale === 1 && (file.type === 'image/jpeg' || file.type === 'image/png');
    if (keep) { bitmap.close(); return { blob: file, type: file.type }; }
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.88));
    return { blob, type: 'image/jpeg' };
  }

  function addPhoto(step, file, progress) {
    return act('photo', async () => {
      let prepared;
      try {
        prepared = await prepare(file);
      } catch (e) {
        setStatus(messages.invalid_image, true);
        return null;
      }
      progress.hidden = false;
      const uploaded = await send('POST', base + '/steps/' + encodeURIComponent(step.id) + '/photos', {
        body: prepared.blob, type: prepared.type, what: 'upload the photo',
        onProgress: (f) => { progress.value = f; },
      });
      previews.set(uploaded.photo_id, URL.createObjectURL(prepared.blob));
      const next = await load();
      setStatus('Photo added.');
      return next;
    });
  }

  function submit() {
    return act('submit', () => send('POST', base + '/submit', { what: 'submit the checklist' }));
  }

  function leave() {
    if (!window.confirm('Leave this checklist? You will not be able to come back to it.')) return;
    act('leave', () => send('POST', base + '/exit', { what: 'leave the checklist' }));
  }

  // -- loading -------------------------------------------------------------------------------

  function load() {
    return send('GET', base + '/state', { what: 'load the checklist' });
  }

  async function refresh() {
    try { run = await load(); } catch (e) { /* keep what is shown */ }
  }

  async function start() {
    el('submit').addEventListener('click', submit);
    el('leave').addEventListener('click', leave);
    try {
      run = await load();
    } catch (err) {
      el('app').setAttribute('aria-busy', 'false');
      el('title').textContent = err.error && err.error.code === 'link_not_found'
        ? 'Link not found' : 'This checklist could not be loaded';
      setStatus(err.status ? describe(err.error) : '', true);
      return;
    }
    render();
    setInterval(() => { if (run && run.status === 'active' && !busy) { el('time-left').textContent = timeLeft(run.expires_at); } }, 30000);
  }

  start();
})();
