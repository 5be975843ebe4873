// Tasks in a real browser: a member creates a project, adds a task with a
// due date and a label, moves it across the board with the "Move to" form
// (no JavaScript involved), then by drag and drop (static/js/tasks-board.js
// submitting that same form), and completes it. axe-core finds nothing on
// the board, the list and the task page, and no page logs a console error
// or a CSP violation. Takes the `tasks-board` screenshot.
//
//   GROUNDWORK_BIN=$CARGO_TARGET_DIR/release/groundwork node --test tests/browser/tasks.test.mjs

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  checkA11y, flash, launchBrowser, shot, signUp, startSite, watchedContext,
} from './harness.mjs';

const username = `tess_${randomBytes(3).toString('hex')}`;
const email = `${username}@example.org`;
const password = 'a garden of forking paths';

let site;
let base;
let browser;
let page;
let board; // the board's address
const problems = [];

/** The name of the column the card titled `title` is in. */
async function columnOf(title) {
  const card = page.locator('.task-card', { hasText: title });
  return (await card.locator('xpath=ancestor::section[1]/h2').textContent()).replace(/\s*\(.*$/s, '').trim();
}

before(async () => {
  site = await startSite();
  base = site.base;
  browser = await launchBrowser();
  const ctx = await watchedContext(browser, 'tess', problems);
  page = await ctx.newPage();
  await signUp(page, base, { username, email, password });
});

after(async () => {
  await browser?.close();
  await site?.stop();
});

describe('a project on the board', () => {
  it('creates a project', async () => {
    await page.goto(`${base}/tasks`);
    await page.getByLabel('Name', { exact: true }).fill('Village fete');
    await Promise.all([
      page.waitForURL(/\/tasks\/\d+$/),
      page.getByRole('button', { name: /create/i }).click(),
    ]);
    board = page.url();
    assert.equal(await flash(page), 'Project created.');
  });

  it('adds a label and a task with a due date', async () => {
    await page.goto(`${board}/labels`);
    await page.getByLabel('Name', { exact: true }).fill('Urgent');
    await page.getByLabel('Colour', { exact: true }).selectOption('red');
    await page.getByRole('button', { name: 'Create the label' }).click();
    assert.match(await flash(page), /Label “Urgent” created/);
    await checkA11y(page);

    await page.goto(board);
    await page.getByRole('link', { name: 'New task' }).click();
    await page.getByLabel('Title').fill('Book the brass band');
    await page.getByLabel('Due date').fill('2026-12-24');
    await Promise.all([
      page.waitForURL(/\/items\/\d+$/),
      page.getByRole('button', { name: /create|save/i }).click(),
    ]);
    await page.getByLabel('Urgent').check();
    await page.getByRole('button', { name: 'Save labels' }).click();
    assert.equal(await flash(page), 'Labels saved.');
    await page.getByLabel('Add an item').fill('Ask for a quote');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    assert.equal(await flash(page), 'Item added.');
    await checkA11y(page);
  });

  it('moves the task with the form, without JavaScript', async () => {
    // A second context with JavaScript off: only the plain form can move it.
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    const noJs = await ctx.newPage();
    await noJs.goto(`${base}/login`);
    await noJs.getByLabel('Email').fill(email);
    await noJs.getByLabel('Password').fill(password);
    await Promise.all([noJs.waitForURL(`${base}/`), noJs.getByRole('button', { name: 'Sign in', exact: true }).click()]);
    await noJs.goto(board);
    const card = noJs.locator('.task-card', { hasText: 'Book the brass band' });
    assert.equal(await card.getAttribute('draggable'), null, 'no script ran');
    await card.getByLabel(/Move “Book the brass band” to/).first().selectOption({ label: 'Doing' });
    await card.getByRole('button', { name: 'Move', exact: true }).click();
    assert.match(await flash(noJs), /moved to Doing/);
    await ctx.close();
    await page.goto(board);
    assert.equal(await columnOf('Book the brass band'), 'Doing');
  });

  it('moves the task by drag and drop, and the board passes axe', async () => {
    await page.goto(board);
    const card = page.locator('.task-card', { hasText: 'Book the brass band' });
    assert.equal(await card.getAttribute('draggable'), 'true');
    // The card shows its label, its due date and its checklist's progress.
    assert.match(await card.textContent(), /Urgent/);
    assert.match(await card.textContent(), /2026-12-24/);
    assert.match(await card.textContent(), /0\/1/);
    await checkA11y(page);
    await shot(page, 'tasks-board');
    const todo = page.locator('section.board-column', { has: page.locator('h2', { hasText: /^To do/ }) });
    await Promise.all([
      page.waitForNavigation(),
      card.dragTo(todo),
    ]);
    assert.match(await flash(page), /moved to To do/);
    assert.equal(await columnOf('Book the brass band'), 'To do');
  });

  it('completes the task, and the list passes axe', async () => {
    await page.locator('.task-card', { hasText: 'Book the brass band' }).getByRole('link').click();
    await page.getByRole('button', { name: 'Complete' }).click();
    assert.equal(await flash(page), 'Task completed.');
    await page.goto(board);
    assert.equal(await columnOf('Book the brass band'), 'Done');
    await page.goto(`${board}/list?sort=due&dir=desc`);
    assert.match(await page.locator('tbody').textContent(), /Book the brass band/);
    await checkA11y(page);
  });

  it('logged no console error and no CSP violation', () => {
    assert.deepEqual(problems, []);
  });
});
