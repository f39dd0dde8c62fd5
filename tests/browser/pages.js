// Every page of a running `txnflow serve` in headless Debian chromium
// (playwright-core): each page is opened and rendered, and what the
// browser was shown is saved under OUT: each page's HTML as rendered
// (page-NAME.html) and the body of every response it received
// (resp-N.txt, the API's JSON included), for a scan (t4090 looks for card
// numbers in them). Fails on a console error, a failed request or an
// error page.
//   node pages.js BASE_URL OUT_DIR
// Prints "ok - ..." lines and ends with "browser: N passed, N failed".
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const root = path.resolve(__dirname, '../..');
const {chromium} = require(path.join(root, 'node_modules/playwright-core'));

const [base, outDir] = process.argv.slice(2);
let passed = 0, failed = 0, n = 0;
function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name}${detail !== undefined ? ': ' + detail : ''}`);
  }
}

(async () => {
  fs.mkdirSync(outDir, {recursive : true});
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'txnflow-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath : process.env.CHROMIUM || '/usr/bin/chromium',
    headless : true,
    args : [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'
    ],
    viewport : {width : 1400, height : 900},
  });
  const problems = [];
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(60000);
  page.setDefaultNavigationTimeout(60000);
  page.on('console', (m) => {
    if (m.type() === 'error')
      problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('requestfailed', (r) => problems.push('request failed: ' + r.url()));
  page.on('response', async (r) => {
    if (r.status() >= 400)
      problems.push(`HTTP ${r.status()} for ${r.url()}`);
    try {
      const body = await r.body();
      fs.writeFileSync(path.join(outDir, `resp-${++n}.txt`),
                       `${r.url()}\n${body}`);
    } catch (e) { /* a redirect has no body */
    }
  });
  const settle = () =>
      page.waitForFunction(() => document.body.hasAttribute('data-ready') &&
                                 !document.body.hasAttribute('data-busy'),
                           null, {timeout : 60000});
  for (const name of ['runs', 'quality', 'lineage', 'lake', 'business']) {
    problems.length = 0;
    const resp = await page.goto(`${base}/${name}`, {waitUntil : 'load'});
    check(`${name}: page answers 200`, resp && resp.status() === 200,
          resp && resp.status());
    await settle();
    check(`${name}: rendered without error`,
          (await page.getAttribute('body', 'data-ready')) !== 'error',
          await page.textContent('main'));
    await page.waitForTimeout(150);
    fs.writeFileSync(path.join(outDir, `page-${name}.html`),
                     await page.content());
    check(`${name}: no console errors or failed requests`,
          problems.length === 0, problems.join(' | '));
  }
  await ctx.close();
  fs.rmSync(profile, {recursive : true, force : true});
  console.log(`browser: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log('not ok - browser: ' + e.message);
  console.log(`browser: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
