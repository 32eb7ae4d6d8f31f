'use strict';
// Run by private.sh: a private room with tokens (TOK_* from fcometctl
// token), through the page's data-token / ?token= support.
const { execFileSync } = require('child_process');
const t = require('./lib');
const { assert, until, sleep } = t;
const room = process.env.PRIVATE_ROOM;
const BASE = process.env.BASE;

// A token of TTL seconds for SUB in the room, minted at the moment it is
// used: minted by private.sh, a 6 s one could expire while Chromium
// starts and the tests before it run.
const mint = (sub, ttl) => execFileSync(process.env.FCOMETCTL, ['token', '--key', process.env.TOKEN_KEY,
  '--sub', sub, '--ttl', String(ttl), '--read', room, '--write', room]).toString().trim();

// The page as a user with a token; renew: inject data-token-url.
async function openWith(browser, token, renew) {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await ctx.newPage();
  if (renew) {
    await page.route(/\/(\?.*)?$/, async (route) => {
      const r = await route.fetch();
      const html = (await r.text()).replace('<body>', `<body data-token-url="${renew}">`);
      await route.fulfill({ response: r, body: html });
    });
  }
  await page.goto(`${BASE}/?token=${token}#room=${room}`, { waitUntil: 'load' });
  return { ctx, page };
}

const state = (c) => c.page.$eval('#status', (e) => ({ state: e.dataset.state, text: e.textContent }));
const texts = (c) => c.page.$$eval('#messages > li.msg .text', (l) => l.map((e) => e.textContent));

async function say(c, text) {
  await c.page.fill('#text', text);
  await c.page.press('#text', 'Enter');
}

async function sees(c, text, ms = 15000) {
  await until(async () => (await texts(c)).includes(text), `"${text}" shown`, ms);
}

(async () => {
  const browser = await t.launch();
  await t.test('browser: two users with a grant chat in a private room; the nick is the token\'s sub', async () => {
    const a = await openWith(browser, process.env.TOK_ANA);
    const b = await openWith(browser, process.env.TOK_BO);
    for (const c of [a, b]) await c.page.waitForSelector('#status[data-state="live"]', { timeout: 20000 });
    assert(await a.page.$eval('#nick', (e) => e.value === 'ana' && e.readOnly), 'nick field is not the sub, read-only');
    await say(a, 'private hello');
    await sees(b, 'private hello');
    await say(b, 'private reply');
    await sees(a, 'private reply');
    await a.ctx.close();
    await b.ctx.close();
  });
  await t.test('browser: a user without a grant is told so and sees nothing of the room', async () => {
    const c = await openWith(browser, process.env.TOK_CY);
    await c.page.waitForSelector('body[data-refused="403"]', { timeout: 20000 });
    const s = await state(c);
    assert(s.state === 'error' && /Not allowed in this room/.test(s.text), `status: ${JSON.stringify(s)}`);
    assert((await texts(c)).length === 0, `shown: ${JSON.stringify(await texts(c))}`);
    await c.ctx.close();
  });
  await t.test('browser: a token that expires mid-stream ends it and the page says so', async () => {
    const c = await openWith(browser, mint('dee', 6));
    await c.page.waitForSelector('#status[data-state="live"]', { timeout: 20000 });
    await c.page.waitForSelector('body[data-refused="401"]', { timeout: 20000 });
    const s = await state(c);
    assert(/Access refused: the token has expired/.test(s.text), `status: ${JSON.stringify(s)}`);
    await c.ctx.close();
  });
  await t.test('browser: a token renewed through data-token-url keeps the page in the room', async () => {
    const c = await openWith(browser, mint('eve', 6), '/tok/eve.txt');
    await c.page.waitForSelector('#status[data-state="live"]', { timeout: 20000 });
    await sleep(9000);	// past the first token's 6 s
    const s = await state(c);
    assert(s.state === 'live', `status after expiry: ${JSON.stringify(s)}`);
    const b = await openWith(browser, process.env.TOK_BO);
    await b.page.waitForSelector('#status[data-state="live"]', { timeout: 20000 });
    await say(c, 'after renewal');
    await sees(b, 'after renewal');
    await c.ctx.close();
    await b.ctx.close();
  });
  await browser.close();
  t.finish();
})().catch((e) => { console.log(`FAIL: browser private room tests - ${e.message}`); console.error(e.stack); process.exit(1); });
