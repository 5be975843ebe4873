// Notifications and moderation in a real browser (issue 19): a favourite
// by another member raises the author's notifications badge live; the
// notifications page and "mark all read"; a member reports a comment and
// an admin hides it from the queue. axe-core checks every page on the way.
//
//   GROUNDWORK_BIN=$CARGO_TARGET_DIR/release/groundwork node --test social.test.mjs

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { checkA11y, flash, launchBrowser, shot, signIn, signOut, signUp, startSite, watchedContext } from './harness.mjs';

const tag = randomBytes(3).toString('hex');
const password = 'a garden of forking paths';
const people = {
  author: { username: `author_${tag}`, email: `author_${tag}@example.org`, password },
  fan: { username: `fan_${tag}`, email: `fan_${tag}@example.org`, password },
  admin: { username: `mod_${tag}`, email: `mod_${tag}@example.org`, password },
};

let site;
let browser;
const pages = {};
const problems = [];

/** One SQL statement on the site's SQLite database. */
function sql(statement) {
  execFileSync('python3', ['-c', 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()', join(site.work, 'site.db'), statement]);
}

before(async () => {
  site = await startSite();
  browser = await launchBrowser();
  for (const who of Object.keys(people)) {
    const context = await watchedContext(browser, who, problems);
    pages[who] = await context.newPage();
    await signUp(pages[who], site.base, people[who]);
  }
  // The moderator becomes an admin, then signs in again on a fresh session.
  await signOut(pages.admin, site.base);
  sql(`UPDATE users SET role = 'admin' WHERE username = '${people.admin.username}'`);
  await signIn(pages.admin, site.base, people.admin.email, password);
});

after(async () => {
  await browser?.close();
  await site?.stop();
});

describe('notifications and moderation', () => {
  let articleUrl;

  it('an author publishes an article', async () => {
    const p = pages.author;
    await p.goto(`${site.base}/blog/new`);
    await p.getByLabel('Title', { exact: true }).fill('Garden notes');
    await p.getByLabel('Summary', { exact: true }).fill('What grows');
    await p.getByLabel('Text', { exact: true }).fill('Tomatoes, mostly.');
    await Promise.all([p.waitForURL(/\/blog\/garden-notes$/), p.getByRole('button', { name: /publish/i }).click()]);
    articleUrl = p.url();
    assert.equal(await p.locator('#nav-notifications-badge').count(), 0);
  });

  it('a favourite and a comment by another member raise the badge, live', async () => {
    const p = pages.fan;
    // The author stays on the article page: the badge moves without a
    // reload (static/js/live.js, /notifications/events).
    const badge = (text) => pages.author.waitForFunction(
      (want) => document.getElementById('nav-notifications-badge')?.textContent.trim() === want,
      text, { timeout: 10000 });
    await p.goto(articleUrl);
    await p.getByRole('button', { name: /^Favourite/ }).click();
    await p.getByRole('button', { name: /^Unfavourite/ }).waitFor();
    await badge('1 unread');
    await p.getByLabel('Your comment').fill('Lovely tomatoes, rude words.');
    await Promise.all([p.waitForURL(/#comment-\d+$/), p.getByRole('button', { name: 'Post the comment' }).click()]);
    await badge('2 unread');
    await pages.author.goto(`${site.base}/blog`);
    assert.equal((await pages.author.locator('#nav-notifications-badge').textContent()).trim(), '2 unread');
  });

  it('the notifications page shows them newest first and marks them read', async () => {
    const p = pages.author;
    await p.getByRole('link', { name: /^Notifications/ }).click();
    await p.waitForURL(`${site.base}/notifications`);
    const items = p.locator('.notification');
    assert.equal(await items.count(), 2);
    assert.match(await items.nth(0).textContent(), new RegExp(`${people.fan.username} commented on Garden notes`));
    assert.match(await items.nth(1).textContent(), new RegExp(`${people.fan.username} favourited Garden notes`));
    assert.equal(await p.locator('.notification-unread').count(), 2);
    await checkA11y(p);
    await shot(p, 'notifications');
    await Promise.all([p.waitForURL(`${site.base}/notifications`), p.getByRole('button', { name: 'Mark all read' }).click()]);
    assert.equal(await flash(p), 'All marked as read.');
    assert.equal(await p.locator('.notification-unread').count(), 0);
    assert.equal(await p.locator('#nav-notifications-badge').count(), 0);
    await p.goto(`${site.base}/notifications/preferences`);
    await checkA11y(p);
  });

  it('a member reports the comment', async () => {
    const p = pages.author;
    await p.goto(articleUrl);
    await p.getByRole('link', { name: new RegExp(`Report the comment by ${people.fan.username}`) }).click();
    await p.waitForURL(/\/report\?kind=comment/);
    await checkA11y(p);
    await p.getByLabel('What is wrong?').fill('Rude words in my garden.');
    await Promise.all([p.waitForURL(/\/blog\/garden-notes/), p.getByRole('button', { name: 'Send the report' }).click()]);
    assert.match(await flash(p), /moderator will look/);
  });

  it('an admin hides it from the queue; the author of the comment sees why', async () => {
    const p = pages.admin;
    await p.goto(`${site.base}/admin/reports`);
    const report = p.locator('.report').first();
    assert.match(await report.textContent(), /Rude words in my garden/);
    assert.match(await report.textContent(), /Lovely tomatoes/);
    await checkA11y(p);
    await shot(p, 'admin-reports');
    await report.getByLabel('Reason shown to the author').fill('Please stay kind');
    await Promise.all([p.waitForURL(`${site.base}/admin/reports`), report.getByRole('button', { name: 'Hide' }).click()]);
    assert.equal(await flash(p), 'Report decided.');
    assert.match(await p.textContent('main'), /No open reports/);

    await pages.author.goto(articleUrl);
    assert.ok(!(await pages.author.textContent('main')).includes('Lovely tomatoes'));
    await pages.fan.goto(articleUrl);
    assert.match(await pages.fan.textContent('main'), /A moderator hid your comment: Please stay kind/);
    await checkA11y(pages.fan);
    await pages.author.goto(`${site.base}/notifications`);
    assert.match(await pages.author.textContent('main'), /decided about your report/);
  });

  it('saw no console errors or CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
