// Browser test of the dashboard: headless Debian chromium driven by
// playwright-core opens every page of a running `txnflow serve`, fails on
// any console error, page error, failed request or dialog (an injected
// alert() would open one), checks the numbers shown against EXPECT (values
// the calling shell test read from the warehouse and the metadata database)
// and saves a screenshot of each page under OUT.
//   node dashboard.js BASE_URL EXPECT.json OUT_DIR [BASE_URL EXPECT.json OUT_DIR]...
// (several servers share one browser: its start is the slow part). Prints
// "ok - ..." lines and ends with "browser: N passed, N failed".
'use strict';
const fs = require('fs');
const path = require('path');
const { launch, check, finish, crashed, num } = require('./chromium.js');

const sites = [];
for (let i = 2; i + 2 < process.argv.length; i += 3)
  sites.push({ base: process.argv[i], expect: JSON.parse(fs.readFileSync(process.argv[i + 1], 'utf8')), outDir: process.argv[i + 2] });

(async () => {
  let base = null;
  const browser = await launch(() => base);
  const { page, problems } = browser;

  // Every request the page made has been answered and the page rendered
  // (app.js keeps body[data-busy] while a request is in flight), so
  // nothing is cut off by what the test does next.
  const settle = () => page.waitForFunction(() => document.body.hasAttribute('data-ready') && !document.body.hasAttribute('data-busy'),
    null, { timeout: 60000 });
  let opened = false, expect = null, outDir = null;
  async function open(name, urlPath) {
    if (opened) await settle();
    opened = true;
    problems.length = 0;
    const resp = await page.goto(base + urlPath, { waitUntil: 'load' });
    check(`${name}: page answers 200`, resp && resp.status() === 200, resp && resp.status());
    const csp = resp && resp.headers()['content-security-policy'];
    check(`${name}: strict CSP header`, csp && csp.includes("default-src 'self'") && csp.includes("frame-ancestors 'none'"), csp);
    await settle();
    const ready = await page.getAttribute('body', 'data-ready');
    check(`${name}: rendered without error`, ready !== 'error', await page.textContent('main'));
    await page.waitForTimeout(150); // let charts draw
    await page.screenshot({ path: path.join(outDir, `${name}.png`), fullPage: true });
  }
  function noProblems(name) { check(`${name}: no console errors, failed requests or dialogs`, problems.length === 0, problems.join(' | ')); }
  const text = async (sel) => { const el = await page.$(sel); return el ? (await el.textContent()) : null; };

  for (const site of sites) {
    ({ base, expect, outDir } = site);
    fs.mkdirSync(outDir, { recursive: true });
    console.log(`# ${base} (${path.basename(outDir)})`);
    // Runs
    await open('runs', '/runs');
    check('runs: grid shows every date', (await page.$$('tr[data-run-date]')).length === expect.n_dates, (await page.$$('tr[data-run-date]')).length);
    for (const d of expect.sla_missed_dates)
      check(`runs: SLA miss marked on ${d}`, !!(await page.$(`[data-sla-miss="${d}"]`)));
    if (expect.n_dates) {
      check('runs: SLA miss count', num(await text('#kpi-sla')) === String(expect.sla_missed_dates.length), await text('#kpi-sla'));
      check('runs: duration chart drawn', !!(await page.$('#duration-chart canvas')));
    } else {
      check('runs: says there are no runs', /No runs|No metadata/.test(await page.textContent('main')));
    }
    if (expect.log_date) {
      // The attempts and the log are fetched on click.
      await page.click(`button[data-date="${expect.log_date}"][data-task="${expect.log_task}"]`);
      await settle();
      check('runs: attempts of a task shown', !!(await page.$('#attempts section button[data-attempt]')));
      await page.click('#attempts button[data-attempt]');
      await settle();
      const log = await text('#log-text');
      check('runs: attempt log viewable', log !== null && log.includes(expect.log_contains), log);
    }
    // A run that failed says why in the grid: its first error line.
    if (expect.run_error) {
      const e = await text(`[data-run-error="${expect.run_error.date}"]`);
      check(`runs: the error of ${expect.run_error.date} names the cause`, e !== null && e.includes(expect.run_error.contains), e);
    }
    // Filter by state: only failed (or SLA-missed) dates remain.
    await page.selectOption('#f-state', 'sla_missed');
    await page.click('#f-apply');
    await settle(); // the click re-renders the page from a new request
    check('runs: state filter', (await page.$$('tr[data-run-date]')).length === expect.sla_missed_dates.length);
    noProblems('runs');

    // Data quality
    await open('quality', '/quality');
    check('quality: failing tests count', num(await text('#tests-failing')) === String(expect.failed_tests), await text('#tests-failing'));
    if (expect.passing_tests !== undefined)
      check('quality: passing tests count', num(await text('#tests-passing')) === String(expect.passing_tests), await text('#tests-passing'));
    if (expect.n_dates) check('quality: results chart drawn', !!(await page.$('#quality-chart canvas')));
    const bad = await page.$$('tr[data-holds="false"]');
    check('quality: reconciliation rows that do not hold are red', bad.length === expect.recon_not_holding &&
      (bad.length === 0 || (await bad[0].getAttribute('class')).includes('eq-bad')), bad.length);
    const good = await page.$$('tr[data-holds="true"]');
    check('quality: reconciliation rows that hold', good.length === expect.recon_holding, good.length);
    if (expect.sample_test) {
      const btn = await page.$(`button[data-sample="${expect.sample_test}"]`);
      check('quality: failing-row sample button', !!btn);
      if (btn) {
        await btn.click();
        await settle();
        check('quality: failing-row sample shown', !!(await page.$('#sample table')));
        // what the button opened is brought into view (it is below the
        // table of every test)
        const box = await page.$eval('#sample', (el) => { const r = el.getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight]; });
        check('quality: the failing rows are scrolled into view', box[0] >= -1 && box[0] < box[2], box.join(','));
      }
    }
    // Hostile values in the data (here the failing rows) are shown as text,
    // never run.
    if (expect.hostile_text) {
      await page.waitForTimeout(150); // an injected handler would fire by now
      const scripts = await page.$$eval('script', (s) => s.map((x) => x.getAttribute('src')));
      check('hostile: only our two scripts in the page', scripts.length === 2 && scripts.every((s) => s && s.startsWith('/static/')), scripts.join(','));
      check('hostile: markup from data shown as text', (await page.textContent('#sample')).includes(expect.hostile_text));
      check('hostile: no element made from data', (await page.$$('main img, main script, #sample b, #sample i')).length === 0);
      await page.screenshot({ path: path.join(outDir, 'quality-sample.png'), fullPage: true });
    }
    noProblems('quality');

    // Lineage
    await open('lineage', '/lineage');
    for (const n of expect.lineage_nodes) check(`lineage: node ${n}`, !!(await page.$(`g[data-node="${n}"]`)));
    for (const [from, to] of expect.lineage_edges || [])
      check(`lineage: edge ${from} -> ${to}`, !!(await page.$(`path.edge[data-from="${from}"][data-to="${to}"]`)));
    if (expect.lineage_rows) {
      await page.click(`g[data-node="${expect.lineage_rows.node}"]`);
      check(`lineage: ${expect.lineage_rows.node} row count`, num(await text('#node-rows')) === String(expect.lineage_rows.rows), await text('#node-rows'));
    }
    noProblems('lineage');

    // Lake
    await open('lake', '/lake');
    check('lake: partition count', num(await text('#lake-partitions')) === String(expect.partitions), await text('#lake-partitions'));
    check('lake: silver rows', num(await text('#lake-rows')) === String(expect.silver_rows), await text('#lake-rows'));
    noProblems('lake');

    // Business
    await open('business', '/business');
    if (expect.net_sales) {
      for (const [d, v] of Object.entries(expect.net_sales))
        check(`business: net sales of ${d} (${v})`, Number(num(await text(`[data-net-sales="${d}"]`))) === Number(v), await text(`[data-net-sales="${d}"]`));
      check('business: sales charts drawn', !!(await page.$('#sales-category-chart canvas')) && !!(await page.$('#sales-channel-chart canvas')));
      // The category chart at a glance: the top categories and "other",
      // each with its total in the legend before any hover.
      const legend = await page.$$eval('#sales-category-chart .u-legend .u-series', (rows) => rows.map((r) =>
        [(r.querySelector('.u-label') || {}).textContent, (r.querySelector('.u-value') || {}).textContent]));
      const lines = legend.slice(1);
      check('business: at most 7 category lines', lines.length >= 2 && lines.length <= 7, JSON.stringify(legend));
      if (expect.categories > 7)
        check('business: the rest of the categories as "other"', lines.some(([l]) => /^other \(\d+\)$/.test(l)), JSON.stringify(legend));
      check('business: legend values shown without hover', lines.every(([, v]) => v && v !== '--' && /\d/.test(v)), JSON.stringify(legend));
      if (expect.category_total)
        check(`business: legend total of ${expect.category_total.category}`, lines.some(([l, v]) => l === expect.category_total.category &&
          Number(num(v)) === Number(num(expect.category_total.total))), JSON.stringify(legend));
    } else {
      check('business: "not built yet" shown', ((await text('#sales-missing')) || '').includes('Not built yet'), await text('main'));
    }
    noProblems('business');
  }

  await browser.close();
  finish();
})().catch(crashed);
