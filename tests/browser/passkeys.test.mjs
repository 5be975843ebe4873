// Passkeys in a real browser (issue 20): Chromium's virtual authenticator
// (the DevTools Protocol's WebAuthn domain: CTAP2, internal transport,
// resident keys, user verification) stands in for a phone's screen lock.
// A member adds a named passkey on the profile, signs out, signs in with
// "Sign in with a passkey" alone, and removes it with the password (the
// passkey as a second step is tested in Rust, tests/passkeys.rs). axe-core
// checks the new page and the sign-in page with its passkey button.
//
//   GROUNDWORK_BIN=$CARGO_TARGET_DIR/release/groundwork node --test passkeys.test.mjs

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { checkA11y, flash, launchBrowser, shot, signOut, signUp, startSite, watchedContext } from './harness.mjs';

const username = `passkey_${randomBytes(3).toString('hex')}`;
const email = `${username}@example.org`;
const password = 'a passkey is better than a password';

let site;
let browser;
let page;
let cdp;
let authenticatorId;
const problems = [];

before(async () => {
  // The relying party id is the host of base_url, and must be a domain.
  site = await startSite({ host: 'localhost' });
  browser = await launchBrowser();
  const context = await watchedContext(browser, 'passkeys', problems);
  page = await context.newPage();
  cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  }));
  await signUp(page, site.base, { username, email, password });
});

after(async () => {
  await browser?.close();
  await site?.stop();
});

describe('a member with a passkey', () => {
  it('adds a named passkey on the profile', async () => {
    await page.goto(`${site.base}/profile`);
    await page.getByRole('link', { name: 'Add a passkey' }).click();
    await page.waitForURL(`${site.base}/account/passkeys`);
    await checkA11y(page);
    await page.getByLabel('Name', { exact: true }).fill('Virtual phone');
    const add = page.getByRole('button', { name: 'Add a passkey' });
    await assert.doesNotReject(add.waitFor({ state: 'visible' }));
    assert.ok(await add.isEnabled(), 'the script enables the button');
    await Promise.all([page.waitForEvent('load'), add.click()]);
    assert.equal(await flash(page), 'Passkey "Virtual phone" added.');
    assert.ok((await page.textContent('main')).includes('Last used: never'));
    await checkA11y(page);
    await shot(page, 'passkeys');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.ok(credentials[0].isResidentCredential, 'a discoverable credential');
  });

  it('signs out and signs in with the passkey alone', async () => {
    await signOut(page, site.base);
    await page.goto(`${site.base}/login`);
    await checkA11y(page);
    const button = page.getByRole('button', { name: 'Sign in with a passkey' });
    await Promise.all([page.waitForURL(`${site.base}/`), button.click()]);
    assert.equal(await flash(page), `Signed in as ${username}.`);
    await page.goto(`${site.base}/account/passkeys`);
    assert.ok(!(await page.textContent('main')).includes('Last used: never'));
  });

  it('removes it with the password', async () => {
    await page.getByLabel('Your password, to remove Virtual phone').fill(password);
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Remove Virtual phone' }).click()]);
    assert.equal(await flash(page), 'Passkey "Virtual phone" removed.');
    assert.ok((await page.textContent('main')).includes('You have no passkeys yet.'));
  });

  it('saw no console errors or CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
