'use strict';
// The responder restarted (SIGTERM, start again on the same segment) in the
// middle of a conversation: each page reconnects by itself and nothing
// stored is lost or shown twice.  Run by restart.sh.
const t = require('./lib');
const { assert, until, sleep } = t;

async function live(c) {
  return c.page.$eval('#status', (e) => e.dataset.state === 'live');
}

async function restartCase(browser, room, query) {
  const t0 = Date.now();
  const step = (what) => console.error(`  ${room} +${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  const a = await t.openChat(browser, room, 'ana', { query });
  const b = await t.openChat(browser, room, 'bo', { query });
  const sent = [];
  for (let i = 1; i <= 4; i++) {
    const c = i % 2 ? a : b, text = `before ${i}`;
    await t.say(c, text);
    sent.push(text);
  }
  await t.waitText(a, 'before 4');
  await t.waitText(b, 'before 4');
  const was = { as: a.streams, ap: a.polls, bs: b.streams, bp: b.polls };

  step('restarting the responder');
  await t.control('restart');
  step('restarted');
  // Stored right after the restart, most likely before the pages are back.
  for (let i = 1; i <= 3; i++) {
    const text = `while reconnecting ${i}`;
    await t.post(room, 'cy', text);
    sent.push(text);
  }
  // Each page opens a new request by itself and is live again.
  for (const [c, s, p] of [[a, was.as, was.ap], [b, was.bs, was.bp]]) {
    await until(async () => (c.streams > s || c.polls > p + 1) && await live(c),
      `${c.nick} did not reconnect by itself (stream requests ${c.streams - s}, listen requests ${c.polls - p})`, 30000);
    await t.waitText(c, 'while reconnecting 3', 'cy', 30000);
  }
  step('both pages reconnected and show what was sent meanwhile');
  await t.say(b, 'after 1'); sent.push('after 1');
  await t.waitText(a, 'after 1', 'bo');
  await t.say(a, 'after 2'); sent.push('after 2');
  await t.waitText(b, 'after 2', 'ana');
  await sleep(1000);                             // a late duplicate would show by now

  for (const c of [a, b]) {
    const got = await t.texts(c);
    assert(JSON.stringify(got) === JSON.stringify(sent), `${c.nick} shows ${JSON.stringify(got)}`);
    await t.assertNoDuplicates(c);
    assert(c.dialogs.length === 0 && c.errors.length === 0, `${c.nick}: dialog or page error: ${c.errors[0] || c.dialogs[0]}`);
  }
  step('conversation checked');
  // The stored history survived the restart: a new page shows all of it.
  const c = await t.openChat(browser, room, 'dee', { query });
  await t.waitText(c, 'after 2');
  const got = await t.texts(c);
  assert(JSON.stringify(got) === JSON.stringify(sent), `a new page after the restart shows ${JSON.stringify(got)}`);
  await t.assertNoDuplicates(c);
  console.error(`  ${room}: ana made ${a.streams - was.as} /stream and ${a.polls - was.ap} /listen requests after the restart`);
  for (const x of [a, b, c]) await x.ctx.close();
}

(async () => {
  const browser = await t.launch();
  await t.test('browser: responder restarted mid-conversation: pages reconnect, nothing stored lost (SSE)',
    () => restartCase(browser, 'restart', ''), 120000);
  await t.test('browser: responder restarted mid-conversation: pages reconnect, nothing stored lost (long-poll)',
    () => restartCase(browser, 'restartlp', '?transport=longpoll'), 120000);
  await browser.close();
  t.finish();
})().catch((e) => { console.log(`FAIL: browser restart tests - ${e.message}`); console.error(e.stack); process.exit(1); });
