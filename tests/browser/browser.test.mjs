// A person's first visit, in a real browser: headless Debian Chromium driven
// by playwright-core against the release binary on a fresh SQLite database.
// They sign up, sign out and in, edit their profile, then write an article on
// the blog, comment on it and favourite it.
//
//   GROUNDWORK_BIN=target/release/groundwork node --test tests/browser/
//
// harness.mjs says how the binary and the browser are found, and where the
// screenshots go.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  checkA11y, confirmEmail, expectStatus, flash, launchBrowser, shot, startSite, watchedContext,
} from './harness.mjs';

const username = `ada_${randomBytes(3).toString('hex')}`;
const email = `${username}@example.org`;
const password = 'a garden of forking paths';

let site;
let base;
let browser;
let context; // the person's browser
let page;
/** Everything a page reported that should not happen: console errors,
 * uncaught exceptions and Content-Security-Policy violations. */
const problems = [];

async function signIn(p, who = email, secret = password) {
  await p.goto(`${base}/login`);
  await p.getByLabel('Email').fill(who);
  await p.getByLabel('Password').fill(secret);
  await Promise.all([p.waitForURL(`${base}/`), p.getByRole('button', { name: 'Sign in', exact: true }).click()]);
}

before(async () => {
  site = await startSite();
  base = site.base;
  browser = await launchBrowser();
  context = await watchedContext(browser, 'browser 1', problems);
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  await site?.stop();
});

describe('a new visitor', () => {
  it('notices CSP violations (the watcher itself works)', async () => {
    const seen = [];
    const probe = await watchedContext(browser, 'probe', seen);
    const p = await probe.newPage();
    await p.goto(`${base}/`);
    // An inline script, as an injected attack would add: CSP must refuse it.
    await p.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true';
      document.body.appendChild(s);
    });
    await p.waitForTimeout(200);
    assert.equal(await p.evaluate(() => window.__inlineRan === true), false, 'inline script ran');
    assert.ok(seen.some((s) => s.includes('CSP violation')), `no violation seen: ${seen}`);
    await probe.close();
  });

  it('sees the home page', async () => {
    const res = await page.goto(`${base}/`);
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    await assert.doesNotReject(page.getByRole('heading', { level: 1 }).waitFor());
    assert.match(await page.locator('h1').textContent(), /home on the web/i);
    await shot(page, 'home');
    await checkA11y(page);
  });

  it('is told what is wrong with a bad sign-up, input kept', async () => {
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(`${base}/signup`);
    await page.getByLabel('Username').fill('a!');
    await page.getByLabel('Email').fill('not-an-email');
    await page.getByLabel('Password').fill('password');
    expectStatus(`${base}/signup`, 422);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('.field-error').first().waitFor();
    const errors = await page.locator('.field-error').allTextContents();
    assert.equal(errors.length, 3, `expected a message beside each field, got ${errors}`);
    assert.ok(errors.some((e) => /commonly used/.test(e)), `${errors}`);
    assert.equal(await page.getByLabel('Email').inputValue(), 'not-an-email');
    assert.equal(await page.getByLabel('Password').inputValue(), '', 'password shown again');
    await shot(page, 'signup-errors');
  });

  it('signs up and lands on the profile', async () => {
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await Promise.all([
      page.waitForURL(`${base}/profile`),
      page.getByRole('button', { name: 'Create account' }).click(),
    ]);
    assert.match(await flash(page), new RegExp(`Welcome to Groundwork, ${username}`));
    assert.match(await page.locator('main').textContent(), new RegExp(email));
    assert.equal(await page.locator('.nav-user').textContent(), username);
  });

  it('signs out', async () => {
    await Promise.all([
      page.waitForURL(`${base}/`),
      page.locator('header').getByRole('button', { name: 'Sign out' }).click(),
    ]);
    assert.equal(await flash(page), 'You have been signed out.');
    assert.equal(await page.locator('.nav-user').count(), 0);
    await page.goto(`${base}/profile`);
    assert.ok(page.url().startsWith(`${base}/login`), `profile did not ask to sign in: ${page.url()}`);
  });

  it('signs in', async () => {
    await page.goto(`${base}/login`);
    await shot(page, 'login');
    await checkA11y(page);
    await signIn(page);
    assert.equal(await flash(page), `Signed in as ${username}.`);
    await page.locator('.nav-user').click();
    await page.waitForURL(`${base}/profile`);
    assert.match(await page.locator('main').textContent(), new RegExp(email));
  });

  it('edits the profile and sees what was saved', async () => {
    await page.getByLabel('Display name').fill('Ada Lovelace');
    await page.getByLabel('Bio').fill('Writes notes on the Analytical Engine.\nLikes <b>poetry</b> & numbers.');
    await Promise.all([
      page.waitForURL(`${base}/profile`),
      page.getByRole('button', { name: 'Save profile' }).click(),
    ]);
    assert.equal(await flash(page), 'Your profile has been saved.');
    assert.equal(await page.getByLabel('Display name').inputValue(), 'Ada Lovelace');
    assert.equal(
      await page.getByLabel('Bio').inputValue(),
      'Writes notes on the Analytical Engine.\nLikes <b>poetry</b> & numbers.',
    );
    // Still there on a fresh load, not only in the form just sent.
    await page.reload();
    assert.equal(await page.getByLabel('Display name').inputValue(), 'Ada Lovelace');
  });

  it('sees its sessions and signs out every other one', async () => {
    const other = await watchedContext(browser, 'browser 2', problems);
    const otherPage = await other.newPage();
    await signIn(otherPage);
    await otherPage.goto(`${base}/profile`);
    assert.equal(otherPage.url(), `${base}/profile`);

    await page.reload();
    const rows = page.locator('section[aria-labelledby="sessions-title"] tbody tr');
    assert.equal(await rows.count(), 2, 'both browsers are listed');
    assert.equal(await page.locator('.current-session').count(), 1);
    assert.match(await page.locator('.current-session').textContent(), /this device/);
    await shot(page, 'profile');
    await checkA11y(page);

    await Promise.all([
      page.waitForURL(`${base}/profile`),
      page.getByRole('button', { name: 'Sign out all other sessions' }).click(),
    ]);
    assert.equal(await flash(page), 'Your other session has been signed out.');
    assert.equal(await rows.count(), 1);

    await otherPage.goto(`${base}/profile`);
    assert.ok(otherPage.url().startsWith(`${base}/login`), `other browser still signed in: ${otherPage.url()}`);
    await page.reload();
    assert.equal(page.url(), `${base}/profile`, 'this browser stays signed in');
    await other.close();
  });
});

describe('a member on the blog', () => {
  // Markup, an ampersand and quotes: shown as typed, never interpreted.
  const title = 'Engines <b>and</b> poems: "notes" & sketches';
  const slug = 'engines-b-and-b-poems-notes-sketches';
  const articleUrl = () => `${base}/blog/${slug}`;
  const comment = 'Lovely. <i>Not italic</i> & "quoted".';

  it('writes an article: errors first, then published with its Markdown rendered safely', async () => {
    // Still signed in from the steps above. Links in posts wait for a
    // confirmed email address (issue 19's rule against spam): confirm it
    // from the sign-up mail, as the banner asks.
    await confirmEmail(page, site, email);
    assert.match(await flash(page), /your email address is confirmed/);
    await page.locator('header').getByRole('link', { name: 'Blog', exact: true }).click();
    await page.waitForURL(`${base}/blog`);
    await page.getByRole('link', { name: 'Write an article' }).click();
    await page.waitForURL(`${base}/blog/new`);

    expectStatus(`${base}/blog`, 422); // the form shown again, from POST /blog
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.locator('.field-error').first().waitFor();
    assert.equal(page.url(), `${base}/blog`);
    assert.deepEqual(await page.locator('.field-error').allTextContents(), [
      'Give the article a title.',
      'Sum the article up in a sentence.',
      "Write the article's text.",
    ]);
    assert.equal(await page.getByLabel('Title', { exact: true }).getAttribute('aria-invalid'), 'true');

    await page.getByLabel('Title', { exact: true }).fill(title);
    await page.getByLabel('Summary').fill('What the Analytical Engine might write.');
    await page.getByLabel('Text', { exact: true }).fill([
      'The engine weaves **algebraic patterns** as the loom weaves flowers;',
      'see [the notes](https://example.org/notes).',
      '',
      '<script>window.__articleScriptRan = true</script>',
      '',
      'More soon.',
    ].join('\n'));
    await page.getByLabel('Tags').fill('rust, web');
    await Promise.all([
      page.waitForURL(articleUrl()),
      page.getByRole('button', { name: 'Publish' }).click(),
    ]);
    assert.equal(await flash(page), 'Article published.');

    const heading = page.getByRole('heading', { level: 1 });
    assert.equal(await heading.textContent(), title);
    assert.equal(await heading.locator('b').count(), 0, 'the title\'s <b> became markup');
    const body = page.locator('.article-body');
    assert.equal(await body.locator('strong').textContent(), 'algebraic patterns');
    assert.equal(
      await body.getByRole('link', { name: 'the notes' }).getAttribute('href'),
      'https://example.org/notes',
    );
    assert.equal(await body.locator('script').count(), 0, 'a <script> element in the article');
    assert.match(await body.textContent(), /<script>window\.__articleScriptRan = true<\/script>/);
    assert.equal(await page.evaluate(() => window.__articleScriptRan), undefined);
    assert.deepEqual(await page.locator('article .tag').allTextContents(), ['#rust', '#web']);
    // The author may change and delete it.
    await page.getByRole('link', { name: 'Edit', exact: true }).waitFor();
    await page.getByRole('link', { name: 'Delete', exact: true }).waitFor();
  });

  it('comments on it and favourites it', async () => {
    await page.getByLabel('Your comment').fill(comment);
    await Promise.all([
      page.waitForURL((url) => url.href.startsWith(`${articleUrl()}#comment-`)),
      page.getByRole('button', { name: 'Post the comment' }).click(),
    ]);
    assert.equal(await flash(page), 'Comment added.');
    assert.equal(await page.locator('#comments-title').textContent(), 'Comments (1)');
    const shown = page.locator('.comment-body');
    assert.equal(await shown.textContent(), comment);
    assert.equal(await shown.locator('i').count(), 0, 'the comment\'s <i> became markup');
    assert.equal(await page.getByLabel('Your comment').inputValue(), '', 'the form is emptied');

    await Promise.all([
      page.waitForURL(articleUrl()),
      page.getByRole('button', { name: 'Favourite (0)' }).click(),
    ]);
    await page.getByRole('button', { name: 'Unfavourite (1)' }).waitFor();
    assert.equal(await page.locator('.article-actions .favorites-count').textContent(), '(1)');
  });

  it('finds it by its tag, in the list and on the author page', async () => {
    await page.locator('article').getByRole('link', { name: '#rust' }).click();
    await page.waitForURL(`${base}/blog/tag/rust`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Articles tagged “rust”');
    const listed = page.locator('.article-item');
    assert.equal(await listed.count(), 1);
    assert.equal(await listed.getByRole('heading').textContent(), title);
    assert.match(await listed.locator('.favorites-count').textContent(), /^1 favourite$/);

    await page.locator('header').getByRole('link', { name: 'Blog', exact: true }).click();
    await page.waitForURL(`${base}/blog`);
    assert.equal(await listed.count(), 1);
    assert.equal(await listed.getByRole('link', { name: title }).getAttribute('href'), `/blog/${slug}`);
    const sidebar = page.getByRole('complementary', { name: 'Popular tags' });
    assert.deepEqual((await sidebar.locator('.tag').allTextContents()).sort(), ['#rust', '#web']);
    await shot(page, 'blog-list');
    await checkA11y(page);

    await listed.getByRole('link', { name: username }).click();
    await page.waitForURL(`${base}/blog/author/${username}`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), username);
    assert.equal(await listed.getByRole('heading').textContent(), title);

    await listed.getByRole('link', { name: title }).click();
    await page.waitForURL(articleUrl());
    await shot(page, 'blog-article');
    await checkA11y(page);
  });
});

describe('the whole visit', () => {
  it('reported no console errors and no CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
