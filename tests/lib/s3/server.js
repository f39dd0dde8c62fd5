#!/usr/bin/env node
// A test S3 server for txnflow's publish tests, on loopback only:
//
//   client ──► this proxy (checks SigV4, injects faults) ──► s3rver (storage)
//
// s3rver (npm) stores objects and answers the S3 API but does not verify
// Signature Version 4. This proxy recomputes every request's signature with
// the AWS SDK's own signer (@smithy/signature-v4) from the secret it was
// given and answers 403 SignatureDoesNotMatch for a wrong secret or an
// unsigned request, 400 XAmzContentSHA256Mismatch / BadDigest when the body
// does not match its declared checksums, and 400 when DeleteObjects comes
// without Content-MD5 (as S3 does). It also injects faults on demand.
//
// Usage:
//   node server.js --dir DIR --port-file FILE [--port N] [--bucket NAME]...
//                  [--access-key ID] [--secret KEY]
//   (defaults: --port 0 = any free port, key txnflow-test/txnflow-secret)
// The listening port is written to FILE once the server accepts requests.
//
// Control endpoints (unsigned, loopback test use only):
//   POST /__faults   body: JSON array of rules, appended to the queue:
//     {"method":"PUT", "query":"partNumber", "key":"substring",
//      "action":"status"|"reset"|"slow", "status":503, "code":"SlowDown",
//      "delay_ms":2000, "count":2}
//     Each request takes the first rule that matches (method, a substring
//     of the query string, a substring of the path); its count goes down by
//     one and the rule is dropped at zero. "reset" destroys the connection
//     after the request body has arrived; "slow" waits delay_ms before
//     answering (or forwarding).
//   DELETE /__faults  clear the queue
//   GET /__stats     {"requests": N, "by_op": {...}, "bytes_in": N,
//                     "rejected": N, "faults": N}
//   DELETE /__stats  reset the counters
'use strict';

const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

// s3rver makes ListObjectsV2 continuation tokens with DES, which the
// OpenSSL 3 in Node 20 no longer offers (every truncated listing answered
// 500). The token is opaque to clients, so we let s3rver encrypt it with
// AES-128-CBC instead (key and IV stretched from its 8 bytes).
{
  const stretch = (b) => Buffer.concat([Buffer.from(b), Buffer.from(b)]).subarray(0, 16);
  const { createCipheriv, createDecipheriv } = crypto;
  crypto.createCipheriv = (alg, key, iv, o) =>
    alg === 'des' ? createCipheriv('aes-128-cbc', stretch(key), stretch(iv), o) : createCipheriv(alg, key, iv, o);
  crypto.createDecipheriv = (alg, key, iv, o) =>
    alg === 'des' ? createDecipheriv('aes-128-cbc', stretch(key), stretch(iv), o) : createDecipheriv(alg, key, iv, o);
}

const S3rver = require('s3rver');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@aws-crypto/sha256-js');

function parseArgs(argv) {
  const o = { port: 0, buckets: [], accessKey: 'txnflow-test', secret: 'txnflow-secret' };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--dir') o.dir = v();
    else if (a === '--port-file') o.portFile = v();
    else if (a === '--port') o.port = Number(v());
    else if (a === '--bucket') o.buckets.push(v());
    else if (a === '--access-key') o.accessKey = v();
    else if (a === '--secret') o.secret = v();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.dir || !o.portFile) throw new Error('--dir and --port-file are required');
  return o;
}

const opts = parseArgs(process.argv);
const faults = [];
let stats;
function resetStats() {
  stats = { requests: 0, by_op: {}, bytes_in: 0, rejected: 0, faults: 0 };
}
resetStats();

function s3Error(res, status, code, message) {
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

// The operation name, for statistics: PUT, PUT-part, GET, HEAD, LIST, ...
function opName(method, query) {
  if (method === 'PUT' && query.has('partNumber')) return 'PUT-part';
  if (method === 'POST' && query.has('uploads')) return 'CREATE-multipart';
  if (method === 'POST' && query.has('uploadId')) return 'COMPLETE-multipart';
  if (method === 'DELETE' && query.has('uploadId')) return 'ABORT-multipart';
  if (method === 'POST' && query.has('delete')) return 'DELETE-objects';
  if (method === 'GET' && query.has('list-type')) return 'LIST';
  return method;
}

// Split "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/s3/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=abc" into its parts.
function parseAuthorization(h) {
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/.exec(h || '');
  if (!m) return null;
  const parts = {};
  for (const kv of m[1].split(',')) {
    const i = kv.indexOf('=');
    if (i < 0) return null;
    parts[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
  }
  if (!parts.Credential || !parts.SignedHeaders || !parts.Signature) return null;
  const cred = parts.Credential.split('/');
  if (cred.length !== 5 || cred[4] !== 'aws4_request') return null;
  return {
    accessKey: cred[0],
    date: cred[1],
    region: cred[2],
    service: cred[3],
    signedHeaders: parts.SignedHeaders.split(';'),
    signature: parts.Signature,
  };
}

function amzDateToDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
  if (!m) return null;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

// Verify REQ's SigV4 signature over BODY; null when good, else [status,
// code, message].
async function verify(req, url, body) {
  const auth = parseAuthorization(req.headers.authorization);
  if (!auth) return [403, 'AccessDenied', 'Request is not signed with AWS4-HMAC-SHA256'];
  if (auth.accessKey !== opts.accessKey)
    return [403, 'InvalidAccessKeyId', 'The AWS access key id you provided does not exist'];
  const date = amzDateToDate(req.headers['x-amz-date']);
  if (!date) return [403, 'AccessDenied', 'Missing or malformed x-amz-date'];
  if (Math.abs(Date.now() - date.getTime()) > 15 * 60 * 1000)
    return [403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large'];
  const declared = req.headers['x-amz-content-sha256'];
  if (!declared) return [400, 'InvalidRequest', 'Missing required header x-amz-content-sha256'];
  if (declared !== 'UNSIGNED-PAYLOAD') {
    const actual = crypto.createHash('sha256').update(body).digest('hex');
    if (actual !== declared)
      return [400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed'];
  }
  for (const h of ['host', 'x-amz-date', 'x-amz-content-sha256'])
    if (!auth.signedHeaders.includes(h)) return [403, 'AccessDenied', `Header ${h} must be signed`];
  const headers = {};
  for (const h of auth.signedHeaders) {
    if (h === 'x-amz-date' || h === 'x-amz-security-token') continue;
    const v = req.headers[h];
    if (v === undefined) return [403, 'AccessDenied', `Signed header ${h} is missing`];
    headers[h] = Array.isArray(v) ? v.join(',') : v;
  }
  const query = {};
  for (const [k, v] of url.searchParams) {
    if (k in query) query[k] = [].concat(query[k], v);
    else query[k] = v;
  }
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: opts.accessKey,
      secretAccessKey: opts.secret,
      sessionToken: req.headers['x-amz-security-token'],
    },
    region: auth.region,
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false, // S3 signs the path as sent, not double-encoded
    applyChecksum: false,
  });
  const host = req.headers.host || '';
  const signed = await signer.sign(
    {
      method: req.method,
      protocol: 'http:',
      hostname: host.replace(/:\d+$/, ''),
      path: url.pathname,
      query,
      headers,
      body,
    },
    { signingDate: date, signableHeaders: new Set(auth.signedHeaders) },
  );
  const m = /Signature=([0-9a-f]+)/.exec(signed.headers.authorization);
  const expect = m ? m[1] : '';
  const a = Buffer.from(expect);
  const b = Buffer.from(auth.signature);
  if (a.length !== b.length || !crypto.timingSafeEqual(a, b))
    return [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided'];
  const md5 = req.headers['content-md5'];
  if (md5 !== undefined && crypto.createHash('md5').update(body).digest('base64') !== md5)
    return [400, 'BadDigest', 'The Content-MD5 you specified did not match what we received'];
  const ck = req.headers['x-amz-checksum-sha256'];
  if (ck !== undefined && crypto.createHash('sha256').update(body).digest('base64') !== ck)
    return [400, 'BadDigest', 'The x-amz-checksum-sha256 you specified did not match what we received'];
  if (req.method === 'POST' && url.searchParams.has('delete') && md5 === undefined && ck === undefined)
    return [400, 'InvalidRequest', 'Missing required header for this request: Content-MD5'];
  return null;
}

// s3rver has no AbortMultipartUpload: drop the upload's parts from its
// store ourselves (<dir>/<bucket>/._S3rver_uploads/<uploadId>).
function abortUpload(req, res, url) {
  const host = (req.headers.host || '').replace(/:\d+$/, '');
  const vhost = /^(.+)\.s3\.localhost$/.exec(host);
  let bucket;
  if (vhost) bucket = vhost[1];
  else bucket = decodeURIComponent(url.pathname.split('/')[1] || '');
  const id = url.searchParams.get('uploadId');
  const dir = path.join(path.resolve(opts.dir), bucket, '._S3rver_uploads', id);
  if (!/^[\w-]+$/.test(id) || !/^[a-z0-9.-]+$/.test(bucket) || !fs.existsSync(dir))
    return s3Error(res, 404, 'NoSuchUpload', 'The specified upload does not exist');
  fs.rmSync(dir, { recursive: true, force: true });
  res.writeHead(204);
  res.end();
}

function takeFault(req, url) {
  for (let i = 0; i < faults.length; i++) {
    const f = faults[i];
    if (f.method && f.method !== req.method) continue;
    if (f.query && !url.search.includes(f.query)) continue;
    if (f.key && !url.pathname.includes(f.key)) continue;
    f.count = (f.count || 1) - 1;
    if (f.count <= 0) faults.splice(i, 1);
    return f;
  }
  return null;
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function control(req, res, url, body) {
  const json = (obj) => {
    const s = JSON.stringify(obj);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(s + '\n');
  };
  if (url.pathname === '/__faults') {
    if (req.method === 'POST') {
      const rules = JSON.parse(body.toString() || '[]');
      for (const r of [].concat(rules)) faults.push(r);
      return json({ queued: faults.length });
    }
    if (req.method === 'DELETE') {
      faults.length = 0;
      return json({ queued: 0 });
    }
    return json(faults);
  }
  if (url.pathname === '/__stats') {
    if (req.method === 'DELETE') resetStats();
    return json(stats);
  }
  res.writeHead(404);
  res.end();
}

async function main() {
  fs.mkdirSync(opts.dir, { recursive: true });
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: path.resolve(opts.dir),
    serviceEndpoint: 'localhost',
    configureBuckets: opts.buckets.map((name) => ({ name })),
  });
  // s3rver looks the access key up in its own registry (it trusts V4
  // signatures; we checked them).
  require('s3rver/lib/models/account').DUMMY_ACCOUNT.createKeyPair(opts.accessKey, opts.secret);
  const { port: backendPort } = await s3.run();
  // No keep-alive towards s3rver: a reused socket that s3rver just closed
  // would turn into a spurious 502 under parallel uploads.
  const agent = new http.Agent({ keepAlive: false });

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://placeholder');
    let body;
    try {
      body = await readBody(req);
    } catch (e) {
      return;
    }
    if (url.pathname.startsWith('/__')) return control(req, res, url, body);
    stats.requests++;
    const op = opName(req.method, url.searchParams);
    stats.by_op[op] = (stats.by_op[op] || 0) + 1;
    const fault = takeFault(req, url);
    if (fault) {
      stats.faults++;
      if (fault.action === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault.action === 'status') {
        const st = fault.status || 500;
        return s3Error(res, st, fault.code || (st === 503 ? 'SlowDown' : 'InternalError'), 'injected fault');
      }
      if (fault.action === 'slow') {
        await sleep(fault.delay_ms || 1000);
        // A client that gave up meanwhile gets nothing done: a late copy of
        // a request must not overwrite what its retry wrote.
        if (req.socket.destroyed) return;
      }
    }
    let bad;
    try {
      bad = await verify(req, url, body);
    } catch (e) {
      bad = [403, 'AccessDenied', `cannot verify the signature: ${e.message}`];
    }
    if (bad) {
      stats.rejected++;
      return s3Error(res, bad[0], bad[1], bad[2]);
    }
    stats.bytes_in += body.length;
    if (req.method === 'DELETE' && url.searchParams.has('uploadId'))
      return abortUpload(req, res, url);
    const headers = { ...req.headers };
    delete headers['transfer-encoding'];
    headers['content-length'] = String(body.length);
    const up = http.request(
      { host: '127.0.0.1', port: backendPort, method: req.method, path: req.url, headers, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', (e) => {
      if (!res.headersSent) s3Error(res, 502, 'BadGateway', e.message);
      else res.destroy();
    });
    up.end(body);
  });
  server.keepAliveTimeout = 5000;
  server.listen(opts.port, '127.0.0.1', () => {
    const tmp = opts.portFile + '.tmp';
    fs.writeFileSync(tmp, String(server.address().port) + '\n');
    fs.renameSync(tmp, opts.portFile);
  });
  const stop = () => {
    server.close();
    s3.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  console.error(`s3 test server: ${e.stack || e}`);
  process.exit(1);
});
