// A minimal OpenLineage collector for tests: accepts POST /api/v1/lineage
// on loopback, appends each body as one line to FILE, answers 201 (or
// STATUS when given). Prints its URL, then runs until killed or 60 s pass.
//   node receiver.js FILE [STATUS]
'use strict';
const fs = require('fs');
const http = require('http');
const [file, status] = process.argv.slice(2);
const srv = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/api/v1/lineage' ||
        !String(req.headers['content-type']).startsWith('application/json')) {
      res.writeHead(400); res.end(); return;
    }
    fs.appendFileSync(file, body.replace(/\n/g, ' ') + '\n');
    res.writeHead(Number(status) || 201); res.end('{}');
  });
});
srv.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${srv.address().port}/api/v1/lineage`));
setTimeout(() => process.exit(0), 60000).unref();
