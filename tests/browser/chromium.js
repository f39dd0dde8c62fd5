// Headless Debian chromium (playwright-core from npm) for the browser
// tests: one page that records every problem a test fails on (a console
// error or warning, a page error, a failed request, an HTTP error, a
// dialog: an injected alert() would open one) and may ask only the server
// under test for anything.
//   const b = await launch(() => base); ... b.problems ... await b.close();
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const root = path.resolve(__dirname, '../..');
const { chromium } = require(path.join(root, 'node_modules/playwright-core'));

// BASE() is the server's URL now (a test may visit several servers).
async function launch(base) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'txnflow-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 900 },
  });
  const problems = [];
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(60000); // a loaded 2-core machine and a sanitizer build
  page.setDefaultNavigationTimeout(60000);
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('requestfailed', (r) => problems.push('request failed: ' + r.url() + ' ' + (r.failure() || {}).errorText));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`); });
  page.on('dialog', (d) => { problems.push('dialog opened: ' + d.message()); d.dismiss(); });
  // Only the server under test may be asked for anything.
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(base())) return route.continue();
    problems.push('request outside the server: ' + u);
    return route.abort();
  });
  const close = async () => {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { page, problems, close };
}

// "ok - NAME" and "not ok - NAME: DETAIL" lines, then "browser: N
// passed, N failed" from finish(), which exits 1 on a failure.
const tally = { passed: 0, failed: 0 };
function check(name, ok, detail) {
  if (ok) { tally.passed++; console.log(`ok - ${name}`); }
  else { tally.failed++; console.log(`not ok - ${name}${detail !== undefined ? ': ' + detail : ''}`); }
}
function finish() {
  console.log(`browser: ${tally.passed} passed, ${tally.failed} failed`);
  process.exit(tally.failed ? 1 : 0);
}
function crashed(e) {
  check('browser test crashed', false, (e && e.stack) || e);
  finish();
}
// A number as shown ("1,234") as digits.
const num = (s) => (s === null || s === undefined ? null : String(s).replace(/,/g, '').trim());

module.exports = { launch, check, finish, crashed, num };
