// Latency client for bench/b60-serve.sh: N sequential GETs per path over
// one keep-alive connection (after 5 warm-up requests); prints median, p95
// and max per path, response size, the server's CPU time per request (user
// + sys of SERVER_PID from /proc, which the other load on the machine
// disturbs less than wall time), and whether the median meets GOAL_MS.
//   SERVER_PID=PID node b60-client.js BASE_URL N GOAL_MS PATH...
'use strict';
const fs = require('fs');
const http = require('http');
const [base, nArg, goalArg, ...paths] = process.argv.slice(2);
const N = Number(nArg), GOAL = Number(goalArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const pid = process.env.SERVER_PID;
// utime + stime of the server in ms (fields 14 and 15 of /proc/PID/stat,
// in clock ticks of 10 ms; summed over N requests that is precise enough).
function cpuMs() {
  if (!pid) return NaN;
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}
function get(path) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    http.get(base + path, { agent }, (res) => {
      let n = 0;
      res.on('data', (c) => { n += c.length; });
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode, bytes: n }));
    }).on('error', reject);
  });
}
(async () => {
  console.log('endpoint'.padEnd(40) + 'median ms'.padStart(10) + 'p95 ms'.padStart(9) + 'max ms'.padStart(9) + 'cpu ms'.padStart(8) +
    'bytes'.padStart(10) + '  goal');
  let worst = 0, allOk = true;
  for (const p of paths) {
    for (let i = 0; i < 5; i++) await get(p);
    const ms = [];
    let last;
    const c0 = cpuMs();
    for (let i = 0; i < N; i++) { last = await get(p); ms.push(last.ms); if (last.status !== 200) throw new Error(`${p}: HTTP ${last.status}`); }
    const cpu = (cpuMs() - c0) / N;
    ms.sort((a, b) => a - b);
    const med = ms[Math.floor(N / 2)], p95 = ms[Math.floor(N * 0.95)], max = ms[N - 1];
    const ok = !p.startsWith('/api/') || med < GOAL;
    if (p.startsWith('/api/')) { worst = Math.max(worst, med); allOk = allOk && ok; }
    console.log(p.slice(0, 39).padEnd(40) + med.toFixed(2).padStart(10) + p95.toFixed(2).padStart(9) + max.toFixed(2).padStart(9) +
      (Number.isNaN(cpu) ? '-' : cpu.toFixed(2)).padStart(8) + String(last.bytes).padStart(10) + (p.startsWith('/api/') ? (ok ? '  ok' : '  OVER') : ''));
  }
  console.log(`slowest API median: ${worst.toFixed(2)} ms (goal < ${GOAL} ms): ${allOk ? 'met' : 'NOT met'}; ratio ${(worst / GOAL).toFixed(2)} of the goal`);
  agent.destroy();
})().catch((e) => { console.error(e); process.exit(1); });
