'use strict';
// Helpers shared by the browser tests: launch Debian's chromium through
// playwright-core, open the chat page as a nick, read what it shows, and
// report each case as "PASS: name" or "FAIL: name - why".
//
// Environment: BASE (http://127.0.0.1:PORT, set by common.bash), CTL (a
// directory for requests to the shell, see control()), SHOTS (screenshot
// directory).

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const BASE = process.env.BASE;
const TAG = process.env.FC_TAG || '';	// " (apache)": which web server
if (!BASE) { console.log('FAIL: setup - BASE is not set'); process.exit(1); }
const CTL = process.env.CTL || '';
const SHOTS = process.env.SHOTS || path.join(__dirname, 'screenshots');

const LAUNCH = {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  timeout: 60000,
};

let failed = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function launch() { return chromium.launch(LAUNCH); }

// Run one case with a time bound; a thrown error or the bound is a FAIL.
async function test(name, fn, limitMs = 150000) {
  let timer;
  const started = Date.now();
  try {
    await Promise.race([
      fn(),
      new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`timed out after ${limitMs / 1000} s`)), limitMs); }),
    ]);
    console.log(`PASS: ${name}${TAG}`);
  } catch (e) {
    failed++;
    const why = String((e && e.message) || e).split('\n')[0];
    console.log(`FAIL: ${name}${TAG} - ${why}`);
    if (e && e.stack) console.error(e.stack);
  } finally {
    clearTimeout(timer);
    console.error(`  (${name}: ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
}

function assert(cond, why) { if (!cond) throw new Error(why); }

// Poll fn() until it returns a truthy value; throw `why` after ms.
async function until(fn, why, ms = 15000, step = 100) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try { last = await fn(); } catch (e) { last = undefined; }
    if (last) return last;
    if (Date.now() > end) throw new Error(`${why} (waited ${ms / 1000} s)`);
    await sleep(step);
  }
}

// Open the chat as `nick` in `room` in a new context of `browser`.
// opts: query ('?transport=longpoll'), viewport, colorScheme, context.
async function openChat(browser, room, nick, opts = {}) {
  const ctx = opts.context || await browser.newContext({
    viewport: opts.viewport || { width: 1100, height: 760 },
    colorScheme: opts.colorScheme || 'light',
  });
  const page = await ctx.newPage();
  const c = { ctx, page, nick, room, dialogs: [], streams: 0, polls: 0, errors: [] };
  page.on('dialog', (d) => { c.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('request', (r) => {
    const u = r.url();
    if (u.includes('/chat/stream')) c.streams++;
    if (u.includes('/chat/listen')) c.polls++;
  });
  page.on('pageerror', (e) => c.errors.push(String(e)));
  const hash = `#room=${encodeURIComponent(room)}&nick=${encodeURIComponent(nick)}`;
  await page.goto(`${BASE}/${opts.query || ''}${hash}`, { waitUntil: 'load' });
  await waitLive(c);
  return c;
}

async function waitLive(c, ms = 20000) {
  await c.page.waitForSelector('#status[data-state="live"]', { timeout: ms });
}

// What the message list shows: [{kind, id, nick, text}] in page order.
function lines(c) {
  return c.page.$$eval('#messages > li', (lis) => lis.map((li) => ({
    kind: li.classList.contains('msg') ? 'msg' : li.classList.contains('sys') ? li.className.replace('sys ', '') : 'notice',
    id: li.dataset.id ? Number(li.dataset.id) : null,
    nick: li.classList.contains('msg') ? li.querySelector('.nick').textContent
      : li.classList.contains('sys') ? li.querySelector('span').textContent.replace(/ (joined|left)$/, '') : null,
    text: li.classList.contains('msg') ? li.querySelector('.text').textContent : li.textContent,
  })));
}

async function texts(c) { return (await lines(c)).filter((l) => l.kind === 'msg').map((l) => l.text); }

async function who(c) { return c.page.$$eval('#who-list li', (lis) => lis.map((li) => li.textContent)); }

// Type `text` and press Enter; wait until the server accepted it (the
// input is cleared only then).
async function say(c, text) {
  await c.page.fill('#text', text);
  await c.page.press('#text', 'Enter');
  await c.page.waitForFunction(() => document.getElementById('text').value === '' ||
    !document.getElementById('send-error').hidden, null, { timeout: 10000 });
  const err = await c.page.$eval('#send-error', (e) => (e.hidden ? '' : e.textContent));
  if (err) throw new Error(`${c.nick} could not send "${text}": ${err}`);
}

// Wait until `c` shows a message line with this text (from nick).
async function waitText(c, text, nick, ms = 15000) {
  await until(async () => (await lines(c)).some((l) => l.kind === 'msg' && l.text === text && (!nick || l.nick === nick)),
    `${c.nick} did not show "${text}"${nick ? ' from ' + nick : ''}`, ms);
}

async function waitSys(c, kind, nick, ms = 15000) {
  await until(async () => (await lines(c)).some((l) => l.kind === kind && l.nick === nick),
    `${c.nick} did not show "${nick} ${kind === 'join' ? 'joined' : 'left'}"`, ms);
}

// No event id shown twice, ids shown in increasing order.
async function assertNoDuplicates(c) {
  const ids = (await lines(c)).filter((l) => l.id !== null).map((l) => l.id);
  const seen = new Set();
  for (let i = 0; i < ids.length; i++) {
    assert(!seen.has(ids[i]), `${c.nick} shows event ${ids[i]} twice`);
    seen.add(ids[i]);
    if (i > 0) assert(ids[i] > ids[i - 1], `${c.nick} shows event ${ids[i]} after ${ids[i - 1]}`);
  }
  return ids;
}

// POST /send from node (the "other side" when no page is needed).
async function post(room, nick, text) {
  const r = await fetch(`${BASE}/chat/send`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ room, nick, text }).toString(),
  });
  const body = await r.text();
  if (r.status !== 200) throw new Error(`send "${text}": ${r.status} ${body}`);
  return JSON.parse(body);
}

// Ask the shell (common.bash) to do something, e.g. control('restart'),
// and wait for it to be done.
async function control(what, ms = 30000) {
  assert(CTL, 'no CTL directory: run through the tests/browser/*.sh entry');
  const req = path.join(CTL, 'request'), done = path.join(CTL, 'done');
  try { fs.unlinkSync(done); } catch (e) { /* none */ }
  fs.writeFileSync(req + '.tmp', what + '\n');
  fs.renameSync(req + '.tmp', req);
  await until(() => fs.existsSync(done), `shell did not do "${what}"`, ms, 50);
  const res = fs.readFileSync(done, 'utf8').trim();
  fs.unlinkSync(done);
  assert(res === 'ok', `shell: "${what}" failed: ${res}`);
}

function finish() {
  process.exit(failed ? 1 : 0);
}

module.exports = {
  BASE, SHOTS, launch, test, assert, until, sleep, openChat, waitLive, lines, texts, who, say,
  waitText, waitSys, assertNoDuplicates, post, control, finish,
};
