// What every browser test needs: the release binary on a fresh database,
// headless Debian Chromium, browser contexts that record console errors and
// CSP violations, sign-up and sign-in, screenshots, and axe-core.
//
//   const site = await startSite();            // site.base, site.mailDir, site.log(), site.stop()
//   const browser = await launchBrowser();
//   const problems = [];
//   const ctx = await watchedContext(browser, 'ada', problems);
//   const page = await ctx.newPage();
//   await signUp(page, site.base, { username, email, password });
//   await checkA11y(page);                     // throws, listing every violation
//
// Each test file starts its own site, so the files are independent of each
// other (`node --test --test-concurrency=1` runs them one after another).
//
// GROUNDWORK_BIN defaults to $CARGO_TARGET_DIR/release/groundwork (or
// target/release/groundwork). startSite({ postgres: true }) uses a new
// database on BROWSER_POSTGRES_URL's server (default the local one).
// Screenshots go to tests/browser/screenshots-tmp/; with UPDATE_SCREENSHOTS=1
// they replace the ones in docs/screenshots/ that the README shows.
// Playwright's own browser download does not work here and is never used:
// the browser is /usr/bin/chromium (apt-get install chromium).

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR
  ? resolve(root, process.env.CARGO_TARGET_DIR)
  : join(root, 'target');
export const binary = process.env.GROUNDWORK_BIN
  ? resolve(process.env.GROUNDWORK_BIN) // relative to the current directory
  : join(targetDir, 'release', 'groundwork');
const shotDir = process.env.UPDATE_SCREENSHOTS === '1'
  ? join(root, 'docs', 'screenshots')
  : join(here, 'screenshots-tmp');

/** Pages that are meant to answer with an error status (a form shown again
 * with its errors answers 422): Chromium logs those as console errors too. */
const expectedStatuses = new Map(); // url -> status

/** Say that `url` is meant to answer `status`, so its console error is not a problem. */
export function expectStatus(url, status) {
  expectedStatuses.set(url, status);
}

function isExpectedStatus(msg) {
  const m = /the server responded with a status of (\d{3})/.exec(msg.text());
  return m !== null && expectedStatuses.get(msg.location().url) === Number(m[1]);
}

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function waitForHealth(server, url, ms, log) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (server.exitCode !== null) {
      throw new Error(`the server exited with ${server.exitCode}:\n${log()}`);
    }
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no /healthz within ${ms} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function newPostgresDatabase() {
  const server = process.env.BROWSER_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `test_${randomBytes(8).toString('hex')}`;
  execFileSync('psql', [server, '-qAtc', `CREATE DATABASE "${name}"`]);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => execFileSync('psql', [server, '-qAtc', `DROP DATABASE IF EXISTS "${name}"`]) };
}

/**
 * The release binary on a fresh database (SQLite in a temp folder, or a new
 * Postgres database with `postgres: true`), mail written to .eml files in
 * `site.mailDir`, on a free loopback port. `env` adds or overrides settings.
 * `host: 'localhost'` makes that name the site's base_url (WebAuthn needs a
 * domain as its relying party id, never an IP address); it still listens
 * on 127.0.0.1, where Chromium resolves localhost.
 */
export async function startSite({ env = {}, postgres = false, secretKey, host = '127.0.0.1' } = {}) {
  assert.ok(existsSync(binary), `no binary at ${binary}: run cargo build --release first`);
  const work = mkdtempSync(join(tmpdir(), 'groundwork-browser-'));
  const port = await freePort();
  const base = `http://${host}:${port}`;
  const mailDir = join(work, 'mail');
  const pg = postgres ? newPostgresDatabase() : null;
  let log = '';
  const server = spawn(binary, ['serve'], {
    cwd: root, // so Rocket.toml's release profile applies
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ROCKET_PROFILE: 'release',
      ROCKET_SECRET_KEY: secretKey ?? randomBytes(64).toString('base64'),
      ROCKET_ADDRESS: '127.0.0.1',
      ROCKET_PORT: String(port),
      ROCKET_BASE_URL: base,
      ROCKET_LOG_LEVEL: 'normal',
      ROCKET_CLI_COLORS: 'false',
      DATABASE_URL: pg ? pg.url : `sqlite://${join(work, 'site.db')}?mode=rwc`,
      // No SMTP server: mail goes to .eml files, here in the temp folder.
      ROCKET_MAIL: `{outbox_dir="${mailDir}"}`,
      ...env,
    },
  });
  server.stdout.on('data', (d) => { log += d; });
  server.stderr.on('data', (d) => { log += d; });
  await waitForHealth(server, `http://127.0.0.1:${port}`, 30_000, () => log);
  return {
    base,
    port,
    mailDir,
    work,
    databaseUrl: pg ? pg.url : null,
    log: () => log,
    async stop() {
      if (server.exitCode === null) {
        server.kill('SIGTERM');
        await new Promise((r) => server.once('exit', r));
      }
      if (pg) {
        try { pg.drop(); } catch { /* still in use: CI drops leftovers */ }
      }
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Headless Debian Chromium, each launch with a new empty profile. */
export async function launchBrowser() {
  mkdirSync(shotDir, { recursive: true });
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A browser context whose pages report console errors, uncaught exceptions
 * and Content-Security-Policy violations into `sink`. */
export async function watchedContext(browser, label, sink) {
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
  ctx.on('page', (p) => {
    p.on('console', (msg) => {
      if (msg.type() === 'error' && !isExpectedStatus(msg)) sink.push(`${label}: console error on ${p.url()}: ${msg.text()}`);
    });
    p.on('pageerror', (err) => sink.push(`${label}: uncaught exception on ${p.url()}: ${err.message}`));
  });
  return ctx;
}

export async function shot(p, name) {
  await p.screenshot({ path: join(shotDir, `${name}.png`), fullPage: true });
}

/** The flash message at the top of the page, trimmed. */
export async function flash(p) {
  return (await p.locator('.flash').first().textContent())?.trim();
}

export async function signUp(p, base, { username, email, password }) {
  await p.goto(`${base}/signup`);
  await p.getByLabel('Username').fill(username);
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password').fill(password);
  await Promise.all([
    p.waitForURL(`${base}/profile`),
    p.getByRole('button', { name: 'Create account' }).click(),
  ]);
}

export async function signIn(p, base, email, password) {
  await p.goto(`${base}/login`);
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password').fill(password);
  await Promise.all([p.waitForURL(`${base}/`), p.getByRole('button', { name: 'Sign in', exact: true }).click()]);
}

/**
 * The link in the newest mail to `to` in `site.mailDir` whose path starts
 * with `path` (mail is written by the site's mail worker: waits up to 10 s).
 * Quoted-printable soft breaks and `=3D` are undone.
 */
export async function linkInMail(site, to, path) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const files = existsSync(site.mailDir) ? readdirSync(site.mailDir).filter((f) => f.endsWith('.eml')).sort().reverse() : [];
    for (const f of files) {
      const text = readFileSync(join(site.mailDir, f), 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
      if (!text.includes(to)) continue;
      const at = text.indexOf(`${site.base}${path}`);
      if (at >= 0) return text.slice(at).match(/^[^\s"<>]+/)[0];
    }
    if (Date.now() > deadline) throw new Error(`no mail to ${to} with a ${path} link in ${site.mailDir}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Confirm `email` as its owner would: the link in the sign-up mail. */
export async function confirmEmail(p, site, email) {
  await p.goto(await linkInMail(site, email, '/verify-email/'));
  await Promise.all([
    p.waitForURL(`${site.base}/`),
    p.getByRole('button', { name: 'Confirm my email address' }).click(),
  ]);
}

export async function signOut(p, base) {
  await Promise.all([
    p.waitForURL(`${base}/`),
    p.locator('header').getByRole('button', { name: 'Sign out' }).click(),
  ]);
}

let axeSource;
/**
 * Runs axe-core (WCAG 2.0/2.1 A and AA rules) on the page as it is now and
 * throws with every violation, its rule, impact and the offending elements.
 * The script goes in through the DevTools protocol, so the page's CSP does
 * not have to allow it.
 */
export async function checkA11y(p, { exclude = [] } = {}) {
  if (!axeSource) {
    const require = createRequire(import.meta.url);
    axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  }
  if (!(await p.evaluate(() => typeof window.axe === 'object'))) {
    await p.evaluate(axeSource);
  }
  const violations = await p.evaluate(async (excluded) => {
    const context = excluded.length ? { exclude: excluded.map((s) => [s]) } : document;
    const result = await window.axe.run(context, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return result.violations.map((v) => ({
      rule: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`),
    }));
  }, exclude);
  if (violations.length) {
    const text = violations
      .map((v) => `- ${v.rule} (${v.impact}): ${v.help}\n    ${v.nodes.join('\n    ')}`)
      .join('\n');
    throw new Error(`axe-core found ${violations.length} violation(s) on ${p.url()}:\n${text}`);
  }
}
