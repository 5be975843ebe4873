// The shop in a real browser (issue 17): a visitor browses, adds to the
// cart, is asked to sign up at checkout and keeps the cart, checks out and
// sees the order. axe-core checks every shop page on the way.
//
//   GROUNDWORK_BIN=$CARGO_TARGET_DIR/release/groundwork node --test shop.test.mjs

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { checkA11y, flash, launchBrowser, shot, startSite, watchedContext } from './harness.mjs';

const username = `shopper_${randomBytes(3).toString('hex')}`;
const email = `${username}@example.org`;
const password = 'a basket of forking paths';

let site;
let browser;
let page;
const problems = [];

/** Two products straight into the site's SQLite database. */
function seed(dbPath) {
  const sql = `
    INSERT INTO shop_categories (slug, name) VALUES ('mugs', 'Mugs');
    INSERT INTO shop_products (slug, title, description, compare_at, active, category_id, created_at, updated_at)
      VALUES ('blue-mug', 'Blue mug', 'A **sturdy** mug for tea.', 1500, 1, 1, 0, 0),
             ('poster', 'Poster', 'A poster.', NULL, 1, NULL, 0, 0);
    INSERT INTO shop_variants (product_id, sku, name, price, stock, position)
      VALUES (1, 'MUG-S', 'Small', 1250, 5, 0), (1, 'MUG-L', 'Large', 1450, 2, 1), (2, 'POSTER', '', 900, 10, 0);`;
  execFileSync('python3', ['-c', 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()', dbPath, sql]);
}

before(async () => {
  site = await startSite();
  seed(join(site.work, 'site.db'));
  browser = await launchBrowser();
  const context = await watchedContext(browser, 'shopper', problems);
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  await site?.stop();
});

describe('a shopper', () => {
  it('browses the catalogue and a product page', async () => {
    await page.goto(`${site.base}/shop`);
    assert.ok(await page.getByRole('link', { name: 'Blue mug' }).isVisible());
    assert.ok((await page.textContent('main')).includes('€12.50'));
    await checkA11y(page);
    await page.getByRole('link', { name: 'Blue mug' }).click();
    await page.waitForURL(`${site.base}/shop/p/blue-mug`);
    assert.ok(await page.locator('strong', { hasText: 'sturdy' }).isVisible());
    await checkA11y(page);
  });

  it('adds to the cart as a visitor', async () => {
    await page.getByLabel('Option').selectOption({ label: 'Large, €14.50 (2 in stock)' });
    await page.getByLabel('Quantity').fill('2');
    await Promise.all([page.waitForURL(`${site.base}/shop/cart`), page.getByRole('button', { name: 'Add to cart' }).click()]);
    assert.equal(await flash(page), 'Added to your cart.');
    assert.ok((await page.textContent('main')).includes('€29.00'));
    await checkA11y(page);
  });

  it('is asked to sign in at checkout, signs up, and keeps the cart', async () => {
    await page.getByRole('link', { name: 'Check out' }).click();
    await page.waitForURL(/\/login/);
    assert.match(await flash(page), /sign in or sign up to check out/i);
    await page.goto(`${site.base}/signup`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await Promise.all([page.waitForURL(/\/(profile|shop)/), page.getByRole('button', { name: 'Create account' }).click()]);
    await page.goto(`${site.base}/shop/cart`);
    assert.ok((await page.textContent('main')).includes('Blue mug'));
  });

  it('checks out and sees the order', async () => {
    await page.goto(`${site.base}/shop/checkout`);
    await checkA11y(page);
    await page.getByLabel('Full name').fill('Ada Lovelace');
    await page.getByLabel('Street and number').fill('12 Analytical Street');
    await page.getByLabel('Town or city').fill('London');
    await page.getByLabel('Postcode').fill('N1 1AA');
    await page.getByLabel('Country').fill('United Kingdom');
    await Promise.all([page.waitForURL(/\/shop\/orders\/\d+$/), page.getByRole('button', { name: 'Place order' }).click()]);
    assert.match(await flash(page), /order is placed/);
    const text = await page.textContent('main');
    assert.ok(text.includes('Waiting for payment') && text.includes('€33.95'), text);
    await checkA11y(page);
    await shot(page, 'shop');
    await page.goto(`${site.base}/shop/orders`);
    await checkA11y(page);
  });

  it('saw no console errors or CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
