// Writes js-v2-snappy.parquet and js-v2-plain.parquet beside this file:
// small files with data page v2 (page type 3) from an independent writer,
// parquetjs 0.11.2 (useDataPageV2), for tests/unit/parquet/test_interop.c
// (pq_interop_we_read_an_independent_v2_writer) and the fuzz seeds. The
// package is NOT a project dependency; to regenerate:
//
//   mkdir -p /tmp/pqjs && (cd /tmp/pqjs && npm install --ignore-scripts parquetjs@0.11.2)
//   NODE_PATH=/tmp/pqjs/node_modules node tests/data/parquet/gen-v2.js
//   cp tests/data/parquet/js-v2-*.parquet tests/fuzz/corpus/parquet/
'use strict';
const path = require('path');
const fs = require('fs');
const parquet = require('parquetjs');

async function write(file, compression) {
  const c = { compression };
  const schema = new parquet.ParquetSchema({
    id: { type: 'UTF8', ...c },
    s: { type: 'UTF8', optional: true, ...c },
    n: { type: 'INT64', optional: true, ...c },
    i: { type: 'INT32', ...c },
    ts: { type: 'TIMESTAMP_MICROS', optional: true, ...c },
    d: { type: 'DATE', optional: true, ...c },
    b: { type: 'BOOLEAN', optional: true, ...c },
    f: { type: 'DOUBLE', optional: true, ...c },
  });
  const out = path.join(__dirname, file);
  if (fs.existsSync(out)) fs.unlinkSync(out);
  const w = await parquet.ParquetWriter.openFile(schema, out, {
    useDataPageV2: true,
    rowGroupSize: 90,
  });
  for (let k = 0; k < 200; k++) {
    const r = { id: 'txn-' + k, i: k * 7 - 700 };
    if (k % 3) r.s = k % 5 === 0 ? '' : k % 7 === 0 ? '한국 ₩' + k : 'm' + (k % 7);
    if (k % 4) r.n = k === 1 ? -9007199254740991 : k * 1000003 - 5000000;
    if (k % 5) r.ts = new Date(1700000000000 + k * 1001);
    if (k % 6) r.d = new Date(Date.UTC(2024, 0, 1 + (k % 400)));
    if (k % 7) r.b = k % 2 === 0;
    if (k % 8) r.f = k === 3 ? -0.5e-300 : k / 3;
    await w.appendRow(r);
  }
  await w.close();
}

(async () => {
  await write('js-v2-snappy.parquet', 'SNAPPY');
  await write('js-v2-plain.parquet', 'UNCOMPRESSED');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
