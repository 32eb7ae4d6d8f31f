'use strict';
// Run by rooms_flood.sh after 20,000 GETs of new rooms from another
// address: two pages chat in a room that did not exist, and a room
// written before the flood shows its message.
const t = require('./lib');
const { assert } = t;

(async () => {
  const browser = await t.launch();
  await t.test('browser: after a flood of new rooms from one address, two users chat in a new room', async () => {
    const a = await t.openChat(browser, 'after-flood', 'ana');
    const b = await t.openChat(browser, 'after-flood', 'bo');
    await t.say(a, 'hello after the flood');
    await t.waitText(b, 'hello after the flood', 'ana');
    await t.say(b, 'and back');
    await t.waitText(a, 'and back', 'bo');
    await t.assertNoDuplicates(a);
    await t.assertNoDuplicates(b);
    await a.ctx.close();
    await b.ctx.close();
  });
  await t.test('browser: a room written before the flood shows its history', async () => {
    const c = await t.openChat(browser, 'before', 'cy');
    await t.waitText(c, 'written before', 'ana');
    const shown = (await t.texts(c)).filter((x) => x === 'written before');
    assert(shown.length === 1, `shown ${shown.length} times`);
    await c.ctx.close();
  });
  await browser.close();
  t.finish();
})().catch((e) => { console.log(`FAIL: browser rooms flood tests - ${e.message}`); console.error(e.stack); process.exit(1); });
