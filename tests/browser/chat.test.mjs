// Chat in a real browser (issue 16): two members in two browser contexts
// share a room. A message typed by one appears in the other's open room
// without a reload (the EventSource of static/js/chat.js); a mention of the
// other while they look at the room list raises its mention mark there and
// the navigation's chat badge (live, then from the server on another page);
// axe-core finds nothing on the chat pages; screenshot `chat-room`.
//
//   cargo build --release
//   cd tests/browser && GROUNDWORK_BIN=$CARGO_TARGET_DIR/release/groundwork \
//     node --test --test-concurrency=1 chat.test.mjs

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { checkA11y, launchBrowser, shot, signUp, startSite, watchedContext } from './harness.mjs';

const tag = randomBytes(3).toString('hex');
const ada = { username: `ada_${tag}`, email: `ada_${tag}@example.org`, password: 'a garden of forking paths' };
const bo = { username: `bo_${tag}`, email: `bo_${tag}@example.org`, password: 'the library of babel' };

let site;
let browser;
const problems = [];
let adaPage;
let boPage;
let roomUrl;

before(async () => {
  site = await startSite();
  browser = await launchBrowser();
  adaPage = await (await watchedContext(browser, 'ada', problems)).newPage();
  boPage = await (await watchedContext(browser, 'bo', problems)).newPage();
  await signUp(adaPage, site.base, ada);
  await signUp(boPage, site.base, bo);
});

after(async () => {
  await browser?.close();
  await site?.stop();
});

describe('chat between two browsers', () => {
  it('ada creates an open room and bo joins it', async () => {
    await adaPage.goto(`${site.base}/chat/new`);
    await adaPage.getByLabel('Name').fill('Garden');
    await adaPage.getByLabel('Topic').fill('Forking paths');
    await Promise.all([
      adaPage.waitForURL(/\/chat\/rooms\/\d+$/),
      adaPage.getByRole('button', { name: 'Create the room' }).click(),
    ]);
    roomUrl = adaPage.url();
    await boPage.goto(`${site.base}/chat`);
    await Promise.all([
      boPage.waitForURL(/\/chat\/rooms\/\d+/),
      boPage.getByRole('button', { name: 'Join Garden' }).click(),
    ]);
    assert.equal(new URL(boPage.url()).pathname, new URL(roomUrl).pathname);
  });

  it('a message typed by ada appears in bo\'s open room without a reload', async () => {
    await adaPage.goto(roomUrl);
    await boPage.goto(roomUrl);
    // Both pages hold their stream open before anything is sent.
    await boPage.waitForFunction(() => document.querySelector('#chat-log') !== null);
    await boPage.waitForTimeout(500);
    const before = boPage.url();
    await adaPage.getByRole('textbox', { name: 'Message' }).fill('Hello **bo**, from the garden');
    await adaPage.getByRole('button', { name: 'Send', exact: true }).click();
    // Ada's own page shows it too (her stream carries her own message).
    await adaPage.locator('#chat-log li', { hasText: 'Hello bo, from the garden' }).waitFor({ timeout: 5000 });
    const item = boPage.locator('#chat-log li', { hasText: 'Hello bo, from the garden' });
    await item.waitFor({ timeout: 5000 });
    assert.equal(await item.locator('strong').textContent(), 'bo');
    assert.equal(boPage.url(), before, 'no navigation happened');
    // And the reply the other way.
    await boPage.getByRole('textbox', { name: 'Message' }).fill('Hello ada <script>alert(1)</script>');
    await boPage.getByRole('button', { name: 'Send', exact: true }).click();
    const reply = adaPage.locator('#chat-log li', { hasText: 'Hello ada <script>alert(1)</script>' });
    await reply.waitFor({ timeout: 5000 });
    assert.equal(await adaPage.locator('#chat-log script').count(), 0, 'typed markup stays text');
    await shot(boPage, 'chat-room');
  });

  it('a mention of bo raises the mark on bo\'s room list, live', async () => {
    await boPage.goto(`${site.base}/chat`);
    await boPage.waitForTimeout(500);
    const item = boPage.locator('.chat-room-item', { hasText: 'Garden' }).first();
    assert.equal(await item.locator('.chat-mention').count(), 0);
    await adaPage.getByRole('textbox', { name: 'Message' }).fill(`@${bo.username} look at this`);
    await adaPage.getByRole('button', { name: 'Send', exact: true }).click();
    const mark = item.locator('.chat-mention');
    await mark.waitFor({ timeout: 5000 });
    assert.match(await mark.textContent(), /1 mention/);
    assert.match(await item.locator('.chat-unread').textContent(), /\d+ unread/);
    // The navigation's chat badge rises live too, marked as a mention...
    await boPage.waitForFunction(() => {
      const nav = document.getElementById('nav-chat-badge');
      return nav && !nav.hidden && nav.classList.contains('nav-badge-mention');
    }, null, { timeout: 5000 });
    // ...and any other page counts it from the server.
    await boPage.goto(`${site.base}/profile`);
    const nav = boPage.locator('#nav-chat-badge');
    assert.equal(await nav.isVisible(), true);
    assert.ok(Number(await nav.getAttribute('data-nav-mentions')) >= 1);
    assert.match(await nav.textContent(), /mentioning you/);
  });

  it('the chat pages pass axe-core', async () => {
    for (const path of ['/chat', new URL(roomUrl).pathname, '/chat/new',
      `${new URL(roomUrl).pathname}/members`, `/chat/people/${ada.username}`]) {
      await boPage.goto(`${site.base}${path}`);
      await checkA11y(boPage);
    }
    await adaPage.goto(`${new URL(roomUrl).pathname}/settings`.replace(/^/, site.base));
    await checkA11y(adaPage);
  });

  it('nothing was reported: no console error, no CSP violation', () => {
    assert.deepEqual(problems, []);
  });
});
