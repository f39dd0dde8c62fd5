// The Lake page in headless Debian chromium (playwright-core): the lake's
// versions (what `txnflow lake log --json` gives) and the bronze files
// holding card numbers with the day each is removed, as EXPECT says
// (values the calling shell test computed itself). Fails on any console
// error, failed request or dialog.
//   node lake.js BASE_URL EXPECT.json OUT_DIR
// EXPECT: {versions: [{version, rows, batches, changed}] newest first,
//          card_files: [{path, removes_on}], retention_says: "text"}
// Prints "ok - ..." lines and ends with "browser: N passed, N failed".
'use strict';
const fs = require('fs');
const path = require('path');
const { launch, check, finish, crashed, num } = require('./chromium.js');

const [base, expectPath, outDir] = process.argv.slice(2);
const expect = JSON.parse(fs.readFileSync(expectPath, 'utf8'));

(async () => {
  fs.mkdirSync(outDir, { recursive: true });
  const browser = await launch(() => base);
  const { page, problems } = browser;
  const resp = await page.goto(base + '/lake', { waitUntil: 'load' });
  check('lake: page answers 200', resp && resp.status() === 200, resp && resp.status());
  await page.waitForFunction(() => document.body.hasAttribute('data-ready') && !document.body.hasAttribute('data-busy'), null, { timeout: 60000 });
  check('lake: rendered without error', (await page.getAttribute('body', 'data-ready')) !== 'error', await page.textContent('main'));

  // the versions, newest first, one row each
  const rows = await page.$$eval('#lake-versions tr[data-version]', (trs) => trs.map((tr) =>
    [tr.getAttribute('data-version'), ...[...tr.querySelectorAll('td')].map((td) => td.textContent)]));
  check('lake: one row per version', rows.length === expect.versions.length, JSON.stringify(rows));
  expect.versions.forEach((v, i) => {
    const r = rows[i] || [];
    // cells: version, committed, operation, run, batches, changed, rows
    check(`lake: version ${v.version} in row ${i + 1}`, r[0] === String(v.version) && num(r[1]) === String(v.version), JSON.stringify(r));
    check(`lake: version ${v.version}: ${v.batches} batches, ${v.rows} rows, changed ${v.changed}`,
      num(r[5]) === String(v.batches) && num(r[7]) === String(v.rows) && r[6] === v.changed && r[3] === 'clean', JSON.stringify(r));
  });

  // the card files and when each goes
  const cards = await page.$$eval('tr[data-card-file]', (trs) => trs.map((tr) =>
    ({ path: tr.getAttribute('data-card-file'), removes_on: tr.getAttribute('data-removes-on'), shown: tr.lastElementChild.textContent })));
  check('lake: one row per card file', cards.length === expect.card_files.length, JSON.stringify(cards));
  for (const f of expect.card_files) {
    const c = cards.find((x) => x.path === f.path);
    check(`lake: ${f.path} removed on ${f.removes_on}`, c && c.removes_on === f.removes_on && c.shown === f.removes_on, JSON.stringify(c));
  }
  const said = (await page.textContent('#lake-card-retention')) || '';
  check('lake: the retention rule is said', said.includes(expect.retention_says), said);
  await page.screenshot({ path: path.join(outDir, 'lake-versions-cards.png'), fullPage: true });
  check('lake: no console errors, failed requests or dialogs', problems.length === 0, problems.join(' | '));

  await browser.close();
  finish();
})().catch(crashed);
