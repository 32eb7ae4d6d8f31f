'use strict';
// The web chat in a real browser: conversation and presence (SSE and
// long-poll), user text stays text, reload, offline, errors in words,
// layout at phone and desktop width.  Run in groups by chat.sh,
// offline.sh and layout.sh (fcomet --rate 0: the rate limit has its own
// test, ratelimit.sh; chat.sh gives presence a 3 s grace).
const fs = require('fs');
const path = require('path');
const t = require('./lib');
const { assert, until, sleep } = t;

const XSS = '<img src=x onerror=alert(1)><script>alert(2)</script>';

async function enterViaLinkHasFocus(c) {
  const focus = await c.page.evaluate(() => document.activeElement && document.activeElement.id);
  assert(focus === 'text', `${c.nick}: after entering, focus is on "${focus}", not the message input`);
  const shown = await c.page.$eval('#room-title', (e) => e.textContent);
  assert(shown === '#' + c.room, `${c.nick}: room title "${shown}", expected #${c.room}`);
  const nick = await c.page.$eval('#nick', (e) => e.value);
  assert(nick === c.nick, `${c.nick}: nick field holds "${nick}"`);
}

async function assertTransport(c, want) {
  const got = await c.page.evaluate(() => document.body.dataset.transport);
  assert(got === want, `${c.nick}: transport is ${got}, expected ${want}`);
  if (want === 'longpoll') assert(c.streams === 0, `${c.nick}: opened /stream ${c.streams} times with ?transport=longpoll`);
  else assert(c.streams >= 1, `${c.nick}: never opened /stream`);
}

function assertClean(c) {
  assert(c.dialogs.length === 0, `${c.nick}: a dialog opened: ${c.dialogs.join(', ')}`);
  assert(c.errors.length === 0, `${c.nick}: page error: ${c.errors[0]}`);
}

// Two contexts chat both ways; each sees the other's join, messages, and
// after closing, leave.
async function conversation(browser, room, query, transport) {
  const a = await t.openChat(browser, room, 'ana', { query });
  await enterViaLinkHasFocus(a);
  const b = await t.openChat(browser, room, 'bo', { query });
  await enterViaLinkHasFocus(b);
  await assertTransport(a, transport);
  await assertTransport(b, transport);

  await t.waitSys(a, 'join', 'bo');
  await t.waitSys(b, 'join', 'ana');           // from the history on entry
  for (const c of [a, b]) {
    await until(async () => { const w = await t.who(c); return w.includes('ana') && w.includes('bo'); },
      `${c.nick}'s who list does not show ana and bo (${JSON.stringify(await t.who(c))})`);
  }

  await t.say(a, 'hola bo, ¿qué tal? ✓');
  await t.waitText(b, 'hola bo, ¿qué tal? ✓', 'ana');
  await t.say(b, 'hi ana\nsecond line');
  await t.waitText(a, 'hi ana\nsecond line', 'bo');
  await t.say(a, 'bye');
  await t.waitText(b, 'bye', 'ana');
  await t.waitText(a, 'bye', 'ana');            // one's own message comes back too

  // Nobody left while both pages stayed open.
  for (const c of [a, b]) {
    const early = (await t.lines(c)).filter((l) => l.kind === 'leave');
    assert(early.length === 0, `${c.nick} shows a leave while both pages are open: ${JSON.stringify(early)}`);
  }

  // bo closes: ana sees bo leave and the who list follows.
  await b.ctx.close();
  await t.waitSys(a, 'leave', 'bo', 20000);
  await until(async () => !(await t.who(a)).includes('bo'), 'ana\'s who list still shows bo after the leave');

  // bo comes back, then ana closes: bo sees ana leave.
  const b2 = await t.openChat(browser, room, 'bo', { query });
  await t.waitText(b2, 'bye', 'ana');           // history on entry
  await until(async () => (await t.lines(a)).filter((l) => l.kind === 'join' && l.nick === 'bo').length === 2,
    'ana did not see bo join again');
  const early = (await t.lines(b2)).filter((l) => l.kind === 'leave' && l.nick === 'ana');
  assert(early.length === 0, `bo shows ana leaving while ana's page is open: ${JSON.stringify(early)}`);
  await a.ctx.close();
  await t.waitSys(b2, 'leave', 'ana', 20000);
  await until(async () => !(await t.who(b2)).includes('ana'), 'bo\'s who list still shows ana after the leave');
  await until(async () => (await t.who(b2)).includes('bo'), 'bo\'s who list lost bo');

  const all = await t.texts(b2);
  const want = ['hola bo, ¿qué tal? ✓', 'hi ana\nsecond line', 'bye'];
  assert(JSON.stringify(all) === JSON.stringify(want), `bo's history after rejoining: ${JSON.stringify(all)}`);
  await t.assertNoDuplicates(b2);
  assertClean(a); assertClean(b); assertClean(b2);
  await b2.ctx.close();
}

async function offline(browser, room, query) {
  const a = await t.openChat(browser, room, 'ana', { query });
  const b = await t.openChat(browser, room, 'bo', { query });
  await t.say(a, 'before');
  await t.waitText(b, 'before');
  const streams = a.streams, polls = a.polls;

  await a.ctx.setOffline(true);
  const start = Date.now();
  const sent = [];
  for (let i = 1; i <= 20; i++) {
    const text = `offline ${i}`;
    await t.say(b, text);
    sent.push(text);
    await sleep(150);
  }
  const left = 5000 - (Date.now() - start);
  if (left > 0) await sleep(left);
  const before = { s: a.streams, p: a.polls };
  await a.ctx.setOffline(false);
  // Coming back is a real resume: a new request from the last id shown.
  await until(() => a.streams > before.s || a.polls > before.p, 'ana made no new request after going online', 15000);

  await t.waitText(a, 'offline 20', 'bo', 30000);
  await sleep(1000);                             // a late duplicate would show by now
  const got = (await t.texts(a)).filter((x) => x.startsWith('offline '));
  assert(JSON.stringify(got) === JSON.stringify(sent),
    `after 5 s offline ana shows ${got.length} of 20: ${JSON.stringify(got)}`);
  await t.assertNoDuplicates(a);
  // The page's own view is consistent after coming back: it can send again.
  await t.say(a, 'back online');
  await t.waitText(b, 'back online', 'ana');
  console.error(`  offline: ana made ${a.streams - streams} new /stream and ${a.polls - polls} new /listen requests`);
  assertClean(a); assertClean(b);
  await a.ctx.close(); await b.ctx.close();
}

// Which groups to run: chat.sh, offline.sh and layout.sh each run some
// (node chat.test.js GROUP...); none named runs all.
const groups = process.argv.slice(2);
const want = (g) => groups.length === 0 || groups.includes(g);

(async () => {
  const browser = await t.launch();

  if (want('chat')) await t.test('browser: two contexts chat both ways, see join, messages, leave (SSE)',
    () => conversation(browser, 'conv', '', 'sse'));

  if (want('chat')) await t.test('browser: ?transport=longpoll: the same conversation works',
    () => conversation(browser, 'convlp', '?transport=longpoll', 'longpoll'));

  if (want('chat')) await t.test('browser: HTML in a message shows as literal text, no element, no dialog', async () => {
    const a = await t.openChat(browser, 'xss', 'ana');
    const b = await t.openChat(browser, 'xss', 'bo');
    await t.say(a, XSS);
    await t.waitText(b, XSS, 'ana');
    await t.waitText(a, XSS, 'ana');
    await t.say(a, 'see https://example.com/a?b=1&c=2. and javascript:alert(3)');
    await t.waitText(b, 'see https://example.com/a?b=1&c=2. and javascript:alert(3)', 'ana');
    await sleep(500);                            // give a payload the chance to run
    for (const c of [a, b]) {
      const n = await c.page.$$eval('#messages img, #messages script, #messages iframe', (x) => x.length);
      assert(n === 0, `${c.nick}: ${n} img/script elements in the message list`);
      const links = await c.page.$$eval('#messages a', (as) => as.map((x) => ({ href: x.href, rel: x.rel, target: x.target, text: x.textContent })));
      assert(links.length === 1, `${c.nick}: ${links.length} links, expected 1: ${JSON.stringify(links)}`);
      assert(links[0].href === 'https://example.com/a?b=1&c=2' && links[0].text === 'https://example.com/a?b=1&c=2' && /noopener/.test(links[0].rel) && links[0].target === '_blank',
        `${c.nick}: link ${JSON.stringify(links[0])}`);
      const xssLine = (await t.lines(c)).find((l) => l.kind === 'msg' && l.text === XSS);
      assert(xssLine, `${c.nick}: the payload is not shown as its literal text`);
      assert(await c.page.evaluate(() => !window.__pwned), `${c.nick}: script ran`);
      assertClean(c);
    }
    await a.ctx.close(); await b.ctx.close();
  });

  if (want('chat')) await t.test('browser: reload shows the history once, no duplicates', async () => {
    const a = await t.openChat(browser, 'reload', 'ana');
    const sent = [];
    for (let i = 1; i <= 5; i++) { await t.say(a, `r${i}`); sent.push(`r${i}`); }
    await t.waitText(a, 'r5');
    for (let round = 1; round <= 2; round++) {
      await a.page.reload({ waitUntil: 'load' });
      await t.waitLive(a);
      await t.waitText(a, 'r5');
      await sleep(1500);                         // let any duplicate arrive
      const got = await t.texts(a);
      assert(JSON.stringify(got) === JSON.stringify(sent), `after reload ${round}: ${JSON.stringify(got)}`);
      const ids = await t.assertNoDuplicates(a);
      const joins = (await t.lines(a)).filter((l) => l.kind === 'join' && l.nick === 'ana');
      assert(joins.length >= 1, 'ana\'s own join is not in the history');
      assert(ids.length > 0, 'no events after reload');
    }
    assertClean(a);
    await a.ctx.close();
  });

  if (want('offline')) await t.test('browser: 5 s offline while the other sends 20: all 20 appear once, in order (SSE)',
    () => offline(browser, 'offline', ''));

  if (want('offline')) await t.test('browser: 5 s offline while the other sends 20: all 20 appear once, in order (long-poll)',
    () => offline(browser, 'offlinelp', '?transport=longpoll'));

  if (want('chat')) await t.test('browser: room change without reload, nick remembered, unread count in the title', async () => {
    await t.post('elsewhere', 'cy', 'in elsewhere');
    const a = await t.openChat(browser, 'start', 'ana');
    await t.say(a, 'in start');
    await a.page.evaluate(() => { window.__sameDocument = true; });
    // Change room with the form, by keyboard.
    await a.page.fill('#room', 'elsewhere');
    await a.page.press('#room', 'Enter');
    await t.waitText(a, 'in elsewhere', 'cy');
    await t.waitLive(a);
    assert(await a.page.evaluate(() => window.__sameDocument === true), 'the page reloaded to change room');
    assert(!(await t.texts(a)).includes('in start'), 'the old room\'s messages are still shown');
    assert(await a.page.evaluate(() => location.hash) === '#room=elsewhere', 'the URL does not name the new room');
    assert(await a.page.$eval('#room-title', (e) => e.textContent) === '#elsewhere', 'room title not updated');
    assert(await a.page.evaluate(() => document.activeElement.id) === 'text', 'message input has no focus after the change');
    // Change room through the URL.
    await a.page.evaluate(() => { location.hash = '#room=start'; });
    await t.waitText(a, 'in start', 'ana');
    assert(!(await t.texts(a)).includes('in elsewhere'), 'elsewhere\'s messages are still shown');
    assert(await a.page.evaluate(() => window.__sameDocument === true), 'the page reloaded on a hash change');
    // The nick is remembered: a page without nick in its URL enters as ana.
    const p2 = await a.ctx.newPage();
    await p2.goto(`${t.BASE}/#room=start`);
    await p2.waitForSelector('#status[data-state="live"]', { timeout: 20000 });
    assert(await p2.$eval('#nick', (e) => e.value) === 'ana', 'the nick is not remembered');
    await p2.close();
    // Tab hidden: the title counts unread messages; shown again: it stops.
    await a.page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    for (let i = 1; i <= 3; i++) await t.post('start', 'cy', `unread ${i}`);
    await t.waitText(a, 'unread 3', 'cy');
    const title = await a.page.title();
    assert(/^\(3\) /.test(title), `title while hidden: "${title}"`);
    await a.page.evaluate(() => {
      delete document.hidden; delete document.visibilityState;
      document.dispatchEvent(new Event('visibilitychange'));
    });
    const title2 = await a.page.title();
    assert(!/^\(\d+\) /.test(title2), `title once shown again: "${title2}"`);
    assertClean(a);
    await a.ctx.close();
  });

  if (want('layout')) await t.test('browser: send errors in words, input keeps the text, counter counts UTF-8 bytes', async () => {
    const a = await t.openChat(browser, 'errors', 'ana');
    const counter = () => a.page.$eval('#counter', (e) => e.textContent);
    await a.page.fill('#text', 'ñ€😀');          // 2 + 3 + 4 bytes
    assert(/^1991 bytes left$/.test(await counter()), `counter shows "${await counter()}" for 9 bytes`);
    const long = 'é'.repeat(1001);               // 2002 bytes
    await a.page.fill('#text', long);
    assert(/2 bytes too many/.test(await counter()), `counter shows "${await counter()}" for 2002 bytes`);
    await a.page.press('#text', 'Enter');
    await a.page.waitForSelector('#send-error:not([hidden])', { timeout: 10000 });
    let err = await a.page.$eval('#send-error', (e) => e.textContent);
    assert(/too long/i.test(err), `413: error shown is "${err}"`);
    assert(await a.page.$eval('#text', (e) => e.value) === long, '413: the input lost its text');
    // A control character: the server's own message is shown.
    await a.page.fill('#text', 'bell \u0007 here');
    await a.page.press('#text', 'Enter');
    await until(async () => (await a.page.$eval('#send-error', (e) => e.textContent)) !== err, '400: error unchanged');
    err = await a.page.$eval('#send-error', (e) => e.textContent);
    assert(/^Message refused: ./.test(err) && err.length > 'Message refused: .'.length, `400: error shown is "${err}"`);
    assert(await a.page.$eval('#text', (e) => e.value) === 'bell \u0007 here', '400: the input lost its text');
    // Shift+Enter adds a line, Enter then sends and clears the error.
    await a.page.fill('#text', 'two');
    await a.page.press('#text', 'Shift+Enter');
    await a.page.type('#text', 'lines');
    assert(await a.page.$eval('#text', (e) => e.value) === 'two\nlines', 'Shift+Enter did not add a line');
    await a.page.press('#text', 'Enter');
    await t.waitText(a, 'two\nlines', 'ana');
    assert(await a.page.$eval('#send-error', (e) => e.hidden), 'the error stays after a successful send');
    assertClean(a);
    await a.ctx.close();
  });

  if (want('layout')) await t.test('browser: at 360 px nothing overflows; screenshots at phone and desktop width', async () => {
    fs.mkdirSync(t.SHOTS, { recursive: true });
    const other = await t.openChat(browser, 'layout', 'bo_with_a_long_nick_1234567890');
    await t.say(other, 'Hello! A long link: https://example.com/' + 'very-long-path-segment/'.repeat(6) + 'end');
    await t.say(other, 'Averyveryveryveryveryveryveryveryveryveryverylongwordwithoutanyspacesatall_' + 'x'.repeat(60));
    await t.say(other, 'Line one\nline two\n   indented three');
    const shots = [
      ['phone', { width: 360, height: 740 }, 'light'],
      ['phone-dark', { width: 360, height: 740 }, 'dark'],
      ['desktop', { width: 1280, height: 800 }, 'light'],
      ['desktop-dark', { width: 1280, height: 800 }, 'dark'],
    ];
    for (const [name, viewport, colorScheme] of shots) {
      const a = await t.openChat(browser, 'layout', 'ana', { viewport, colorScheme });
      await t.waitText(a, 'Line one\nline two\n   indented three');
      await until(async () => (await t.who(a)).length === 2, 'who list does not show both');
      await a.page.fill('#text', 'Draft: unsent text stays here');
      const metrics = () => a.page.$eval('#messages', (m) => [m.scrollHeight, m.scrollTop, m.clientHeight]);
      try {
        await until(async () => { const [h, top, c] = await metrics(); return h - top - c < 2; }, 'not at bottom', 5000);
      } catch (e) {
        await a.page.screenshot({ path: path.join(t.SHOTS, `${name}-failed.png`) });
        throw new Error(`${name}: the message list is not scrolled to the newest line (scrollHeight, scrollTop, clientHeight: ${await metrics()})`);
      }
      if (name.startsWith('phone')) {
        const w = await a.page.evaluate(() => [document.documentElement.scrollWidth, document.body.scrollWidth]);
        assert(w[0] <= 360 && w[1] <= 360, `${name}: scrollWidth ${w[0]}/${w[1]} > 360`);
        const wide = await a.page.evaluate(() => Array.from(document.querySelectorAll('body *'))
          .filter((e) => e.getBoundingClientRect().right > 360.5).map((e) => e.tagName + '#' + e.id + '.' + e.className));
        assert(wide.length === 0, `${name}: elements reach past 360 px: ${wide.slice(0, 5).join(', ')}`);
      }
      await a.page.screenshot({ path: path.join(t.SHOTS, `${name}.png`) });
      assertClean(a);
      await a.ctx.close();
    }
    await other.ctx.close();
  });

  await browser.close();
  t.finish();
})().catch((e) => { console.log(`FAIL: browser tests - ${e.message}`); console.error(e.stack); process.exit(1); });
