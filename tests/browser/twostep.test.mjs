// Two-step sign-in in a real browser (issue 20): a member turns it on by
// reading the secret from the setup page (the code is computed here, as an
// authenticator app would), saves the recovery codes, signs out, signs in
// with the password and a code, then with a recovery code, and turns it off.
// axe-core checks every new page on the way. Passkeys: passkeys.test.mjs.
//
//   GROUNDWORK_BIN=$CARGO_TARGET_DIR/release/groundwork node --test twostep.test.mjs

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { checkA11y, flash, launchBrowser, shot, signOut, signUp, startSite, watchedContext } from './harness.mjs';

const username = `twostep_${randomBytes(3).toString('hex')}`;
const email = `${username}@example.org`;
const password = 'two steps are better than one';

/** RFC 4648 base32 (spaces ignored) to bytes. */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/\s+/g, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The RFC 6238 code `offset` 30-second steps from now. */
function totp(secret, offset = 0) {
  const step = Math.floor(Date.now() / 1000 / 30) + offset;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const h = createHmac('sha1', secret).update(counter).digest();
  const o = h[h.length - 1] & 0x0f;
  const n = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 1_000_000).padStart(6, '0');
}

let site;
let browser;
let page;
let secret;
let codes;
const problems = [];

before(async () => {
  site = await startSite();
  browser = await launchBrowser();
  const context = await watchedContext(browser, 'twostep', problems);
  page = await context.newPage();
  await signUp(page, site.base, { username, email, password });
});

after(async () => {
  await browser?.close();
  await site?.stop();
});

async function signInWithPassword() {
  await page.goto(`${site.base}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL(`${site.base}/login/two-step`), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
}

describe('a member with two-step sign-in', () => {
  it('turns it on with the secret from the page', async () => {
    await page.goto(`${site.base}/profile`);
    await page.getByRole('link', { name: 'Set up two-step sign-in' }).click();
    await page.waitForURL(`${site.base}/account/two-step`);
    await checkA11y(page);
    await Promise.all([page.waitForURL(`${site.base}/account/two-step/setup`), page.getByRole('button', { name: 'Turn on two-step sign-in' }).click()]);
    assert.ok(await page.getByRole('img', { name: 'QR code for your authenticator app' }).isVisible());
    await checkA11y(page);
    await shot(page, 'twostep-setup');
    secret = base32(await page.locator('#secret').textContent());
    assert.equal(secret.length, 20);
    await page.getByLabel('Code from the app').fill(totp(secret));
    await Promise.all([page.waitForURL(`${site.base}/account/two-step/enable`), page.getByRole('button', { name: 'Turn on' }).click()]);
    codes = await page.locator('.recovery-code').allTextContents();
    assert.equal(codes.length, 10);
    await checkA11y(page);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download as a text file' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'recovery-codes.txt');
  });

  it('signs in with the password and a code', async () => {
    await page.goto(`${site.base}/`);
    await signOut(page, site.base);
    await signInWithPassword();
    await checkA11y(page);
    await shot(page, 'twostep-code');
    // One step ahead: accepted whether or not the clock has reached it.
    await page.getByLabel('Code', { exact: true }).fill(totp(secret, 1));
    await Promise.all([page.waitForURL(`${site.base}/`), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
    assert.equal(await flash(page), `Signed in as ${username}.`);
  });

  it('signs in with a recovery code when the phone is lost', async () => {
    await signOut(page, site.base);
    await signInWithPassword();
    await page.getByLabel('Code', { exact: true }).fill(codes[0]);
    await Promise.all([page.waitForURL(`${site.base}/`), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
    await page.goto(`${site.base}/account/two-step`);
    assert.ok((await page.textContent('main')).includes('9 unused recovery codes'));
    await checkA11y(page);
  });

  it('turns it off with the password', async () => {
    await page.getByLabel('Your password').last().fill(password);
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Turn two-step sign-in off' }).click()]);
    assert.equal(await flash(page), 'Two-step sign-in is off.');
  });

  it('saw no console errors or CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
