// A person's first visit, in a real browser: headless Debian Chromium driven
// by playwright-core against the release binary on a fresh SQLite database.
// They sign up, sign out and in, edit their profile, then write an article on
// the blog, comment on it and favourite it.
//
//   GROUNDWORK_BIN=target/release/groundwork node --test tests/browser/
//
// GROUNDWORK_BIN defaults to $CARGO_TARGET_DIR/release/groundwork (or
// target/release/groundwork). Screenshots go to tests/browser/screenshots-tmp/;
// with UPDATE_SCREENSHOTS=1 they replace the ones in docs/screenshots/ that
// the README shows. Playwright's own browser download does not work here and
// is never used: the browser is /usr/bin/chromium (apt-get install chromium).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR
  ? resolve(root, process.env.CARGO_TARGET_DIR)
  : join(root, 'target');
const binary = process.env.GROUNDWORK_BIN
  ? resolve(process.env.GROUNDWORK_BIN) // relative to the current directory
  : join(targetDir, 'release', 'groundwork');
const shotDir = process.env.UPDATE_SCREENSHOTS === '1'
  ? join(root, 'docs', 'screenshots')
  : join(here, 'screenshots-tmp');

const username = `ada_${randomBytes(3).toString('hex')}`;
const email = `${username}@example.org`;
const password = 'a garden of forking paths';

let server;
let serverLog = '';
let work;
let base;
let browser;
let context; // the person's browser
let page;
/** Everything a page reported that should not happen: console errors,
 * uncaught exceptions and Content-Security-Policy violations. */
const problems = [];
/** Pages that are meant to answer with an error status (a form shown again
 * with its errors answers 422): Chromium logs those as console errors too. */
const expectedStatus = new Map(); // url -> status

function isExpectedStatus(msg) {
  const m = /the server responded with a status of (\d{3})/.exec(msg.text());
  return m !== null && expectedStatus.get(msg.location().url) === Number(m[1]);
}

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function waitForHealth(url, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (server.exitCode !== null) {
      throw new Error(`the server exited with ${server.exitCode}:\n${serverLog}`);
    }
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no /healthz within ${ms} ms:\n${serverLog}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A browser context that records console errors and CSP violations. */
async function watchedContext(label, sink = problems) {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  // Injected through the DevTools protocol, so the page's CSP does not block it.
  await ctx.exposeBinding('__reportCspViolation', ({ page: p }, text) => {
    sink.push(`${label}: CSP violation on ${p.url()}: ${text}`);
  });
  await ctx.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
    });
  });
  ctx.on('page', (p) => watchPage(p, label, sink));
  return ctx;
}

function watchPage(p, label, sink) {
  p.on('console', (msg) => {
    if (msg.type() === 'error' && !isExpectedStatus(msg)) sink.push(`${label}: console error on ${p.url()}: ${msg.text()}`);
  });
  p.on('pageerror', (err) => sink.push(`${label}: uncaught exception on ${p.url()}: ${err.message}`));
}

async function shot(p, name) {
  await p.screenshot({ path: join(shotDir, `${name}.png`), fullPage: true });
}

async function flash(p) {
  return (await p.locator('.flash').first().textContent())?.trim();
}

async function signIn(p, who = email, secret = password) {
  await p.goto(`${base}/login`);
  await p.getByLabel('Email').fill(who);
  await p.getByLabel('Password').fill(secret);
  await Promise.all([p.waitForURL(`${base}/`), p.getByRole('button', { name: 'Sign in' }).click()]);
}

before(async () => {
  assert.ok(existsSync(binary), `no binary at ${binary}: run cargo build --release first`);
  mkdirSync(shotDir, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'groundwork-browser-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(binary, ['serve'], {
    cwd: root, // so Rocket.toml's release profile applies
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ROCKET_PROFILE: 'release',
      ROCKET_SECRET_KEY: randomBytes(64).toString('base64'),
      ROCKET_ADDRESS: '127.0.0.1',
      ROCKET_PORT: String(port),
      ROCKET_BASE_URL: base,
      ROCKET_LOG_LEVEL: 'normal',
      ROCKET_CLI_COLORS: 'false',
      DATABASE_URL: `sqlite://${join(work, 'browser.db')}?mode=rwc`,
      // No SMTP server: mail goes to .eml files, here in the temp folder.
      ROCKET_MAIL: `{outbox_dir="${join(work, 'mail')}"}`,
    },
  });
  server.stdout.on('data', (d) => { serverLog += d; });
  server.stderr.on('data', (d) => { serverLog += d; });
  await waitForHealth(base, 30_000);

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // launch() gives every run a new, empty temporary --user-data-dir.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  context = await watchedContext('browser 1');
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a new visitor', () => {
  it('notices CSP violations (the watcher itself works)', async () => {
    const seen = [];
    const probe = await watchedContext('probe', seen);
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
  });

  it('is told what is wrong with a bad sign-up, input kept', async () => {
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(`${base}/signup`);
    await page.getByLabel('Username').fill('a!');
    await page.getByLabel('Email').fill('not-an-email');
    await page.getByLabel('Password').fill('password');
    expectedStatus.set(`${base}/signup`, 422);
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
    const other = await watchedContext('browser 2');
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
    // Still signed in from the steps above.
    await page.locator('header').getByRole('link', { name: 'Blog', exact: true }).click();
    await page.waitForURL(`${base}/blog`);
    await page.getByRole('link', { name: 'Write an article' }).click();
    await page.waitForURL(`${base}/blog/new`);

    expectedStatus.set(`${base}/blog`, 422); // the form shown again, from POST /blog
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

    await listed.getByRole('link', { name: username }).click();
    await page.waitForURL(`${base}/blog/author/${username}`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), username);
    assert.equal(await listed.getByRole('heading').textContent(), title);

    await listed.getByRole('link', { name: title }).click();
    await page.waitForURL(articleUrl());
    await shot(page, 'blog-article');
  });
});

describe('the whole visit', () => {
  it('reported no console errors and no CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
