// Paying for an order in a real browser (issue 18), with the built-in test
// provider (enabled in the release profile for this test): "Pay" leads to
// the clearly marked test payment page; "Decline" comes back with a way to
// try again; "Pay" comes back to the order, which is paid (the signed
// webhook went through the same path as Stripe's). axe-core checks every
// payment page on the way.
//
//   GROUNDWORK_BIN=$CARGO_TARGET_DIR/release/groundwork node --test payments.test.mjs

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { checkA11y, launchBrowser, shot, signUp, startSite, watchedContext } from './harness.mjs';

const username = `payer_${randomBytes(3).toString('hex')}`;
const email = `${username}@example.org`;
const password = 'a basket of forking paths';

let site;
let browser;
let page;
let orderUrl;
const problems = [];

/** One product straight into the site's SQLite database. */
function seed(dbPath) {
  const sql = `
    INSERT INTO shop_products (slug, title, description, compare_at, active, category_id, created_at, updated_at)
      VALUES ('tea', 'Tea tin', 'Loose leaf tea.', NULL, 1, NULL, 0, 0);
    INSERT INTO shop_variants (product_id, sku, name, price, stock, position)
      VALUES (1, 'TEA', '', 800, 10, 0);`;
  execFileSync('python3', ['-c', 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()', dbPath, sql]);
}

before(async () => {
  site = await startSite({ env: { ROCKET_PAYMENTS: '{test={allow_in_release=true}}' } });
  seed(join(site.work, 'site.db'));
  browser = await launchBrowser();
  const context = await watchedContext(browser, 'payer', problems);
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  await site?.stop();
});

describe('a customer pays for an order', () => {
  it('places an order', async () => {
    await signUp(page, site.base, { username, email, password });
    await page.goto(`${site.base}/shop/p/tea`);
    await Promise.all([page.waitForURL(`${site.base}/shop/cart`), page.getByRole('button', { name: 'Add to cart' }).click()]);
    await page.goto(`${site.base}/shop/checkout`);
    await page.getByLabel('Full name').fill('Ada Lovelace');
    await page.getByLabel('Street and number').fill('12 Analytical Street');
    await page.getByLabel('Town or city').fill('London');
    await page.getByLabel('Postcode').fill('N1 1AA');
    await page.getByLabel('Country').fill('United Kingdom');
    await Promise.all([page.waitForURL(/\/shop\/orders\/\d+$/), page.getByRole('button', { name: 'Place order' }).click()]);
    orderUrl = page.url();
    const text = await page.textContent('main');
    assert.ok(text.includes('Waiting for payment') && text.includes('€12.95'), text);
    assert.ok(await page.getByRole('button', { name: 'Pay €12.95' }).isVisible());
    await checkA11y(page);
  });

  it('is declined on the test payment page and may try again', async () => {
    await Promise.all([page.waitForURL(/\/payments\/test\/pay\/cs_test_/), page.getByRole('button', { name: 'Pay €12.95' }).click()]);
    assert.ok((await page.textContent('main')).includes('This is a test payment page'));
    await checkA11y(page);
    await shot(page, 'payments-test-page');
    await Promise.all([page.waitForURL(/payment=declined/), page.getByRole('button', { name: 'Decline' }).click()]);
    assert.ok((await page.textContent('main')).includes('did not go through'));
    assert.ok((await page.textContent('main')).includes('Waiting for payment'));
    await checkA11y(page);
  });

  it('cancels on the payment page and comes back with a message', async () => {
    await Promise.all([page.waitForURL(/\/payments\/test\/pay\/cs_test_/), page.getByRole('button', { name: 'Pay €12.95' }).click()]);
    await Promise.all([page.waitForURL(/payment=cancelled/), page.getByRole('link', { name: 'Cancel and return to the shop' }).click()]);
    assert.ok((await page.textContent('main')).includes('Payment cancelled: nothing was charged'));
    await checkA11y(page);
  });

  it('pays and sees the order paid', async () => {
    await Promise.all([page.waitForURL(/\/payments\/test\/pay\/cs_test_/), page.getByRole('button', { name: 'Pay €12.95' }).click()]);
    await Promise.all([page.waitForURL(/payment=returned/), page.getByRole('button', { name: 'Pay €12.95' }).click()]);
    const text = await page.textContent('main');
    assert.ok(text.includes('Paid'), text);
    assert.ok(text.includes('your payment is confirmed'), text);
    await checkA11y(page);
    await shot(page, 'payments-paid');
    await page.goto(orderUrl);
    assert.ok(!(await page.getByRole('button', { name: 'Pay €12.95' }).count()));
    assert.ok((await page.textContent('main')).includes('Paid'));
  });

  it('saw no console errors or CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
