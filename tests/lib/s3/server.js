#!/usr/bin/env node
// A test S3 server for txnflow's publish tests, on loopback only:
//
//   client ──► this proxy (checks SigV4, injects faults) ──► s3rver (storage)
//
// s3rver (npm) stores objects and answers the S3 API but does not verify
// Signature Version 4. This proxy recomputes every request's signature with
// the AWS SDK's own signer (@smithy/signature-v4, through sigv4.js) from
// the secret of the key the request names and answers 403
// SignatureDoesNotMatch for a wrong secret or an unsigned request (or one
// with an unsigned x-amz-* header), 400 BadDigest /
// XAmzContentSHA256Mismatch when the body does not match its declared
// checksums (x-amz-checksum-sha256 is checked first, then
// x-amz-content-sha256, then Content-MD5), and 400 when DeleteObjects comes
// without Content-MD5 (as S3 does). It also injects faults on demand.
//
// Keys: the long-term test key (--access-key/--secret, any session token
// accepted), and the temporary keys the credential endpoints issue (with
// --creds-port-file: aws-creds.js on a second port — STS, the container
// endpoint, IMDSv2), each accepted with its own session token until it
// expires (then 400 ExpiredToken).
//
// Encryption and checksums, as S3 treats them: x-amz-server-side-encryption
// (AES256, aws:kms) and -aws-kms-key-id are accepted on PutObject and
// CreateMultipartUpload and echoed in the answer, refused on UploadPart;
// x-amz-checksum-algorithm: SHA256 on CreateMultipartUpload makes every
// part need x-amz-checksum-sha256 and CompleteMultipartUpload each part's
// <ChecksumSHA256> (checked against what the part came with). Each object
// remembers its encryption and checksum (multipart: base64 of the SHA-256
// of the parts' checksums, "-N"), sent back on HEAD/GET
// (x-amz-checksum-mode: ENABLED for the checksum).
//
// Usage:
//   node server.js --dir DIR --port-file FILE [--port N] [--bucket NAME]...
//                  [--access-key ID] [--secret KEY] [--creds-port-file FILE]
//   (defaults: --port 0 = any free port, key txnflow-test/txnflow-secret)
// The listening port is written to FILE once the server accepts requests.
//
// Control endpoints (unsigned, loopback test use only):
//   POST /__faults   body: JSON array of rules, appended to the queue:
//     {"method":"PUT", "query":"partNumber", "key":"substring",
//      "action":"status"|"reset"|"slow"|"corrupt", "status":503,
//      "code":"SlowDown", "delay_ms":2000, "count":2}
//     Each request takes the first rule that matches (method, a substring
//     of the query string, a substring of the path, as sent or decoded);
//     its count goes down by
//     one and the rule is dropped at zero. "reset" destroys the connection
//     after the request body has arrived; "slow" waits delay_ms before
//     answering (or forwarding); "corrupt" flips a byte of the body as if
//     the network had damaged it, before the checks.
//   DELETE /__faults  clear the queue
//   POST /__policy   {"require_sse":"aws:kms", "kms_key_id":"ID or ARN",
//                     "require_checksum":true}: what a bucket policy would
//                     demand of PutObject/CreateMultipartUpload (403
//                     AccessDenied otherwise) and of every part;
//                     {"ignore_sse":true}: behave as an S3-compatible
//                     server without encryption (headers accepted, nothing
//                     encrypted, nothing echoed); DELETE /__policy drops it
//   GET /__objects   {"bucket/key": {"sse", "kms_key_id", "checksum"}}
//   GET /__stats     {"requests": N, "by_op": {...}, "bytes_in": N,
//                     "rejected": N, "rejected_by_code": {...}, "faults": N,
//                     "sse": {"aws:kms": N, ...}, "checksums": N}
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
const { parseAuthorization, checkSignature } = require('./sigv4');
const { createCredsServer } = require('./aws-creds');

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
    else if (a === '--creds-port-file') o.credsPortFile = v();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.dir || !o.portFile) throw new Error('--dir and --port-file are required');
  return o;
}

const opts = parseArgs(process.argv);
const faults = [];
// accessKeyId -> { secret, token (null: any), expires (ms or null) }. s3rver
// looks each key up in its own registry too (it trusts V4 signatures; we
// checked them), so every key is registered there as well.
class Keys extends Map {
  set(id, v) {
    require('s3rver/lib/models/account').DUMMY_ACCOUNT.createKeyPair(id, v.secret);
    return super.set(id, v);
  }
}
const keys = new Keys([[opts.accessKey, { secret: opts.secret, token: null, expires: null }]]);
let policy = {};
const objects = new Map(); // "bucket/key" -> { sse, kms_key_id, checksum }
const uploads = new Map(); // uploadId -> { sse, kms_key_id, algorithm, parts }
let stats;
function resetStats() {
  stats = {
    requests: 0, by_op: {}, bytes_in: 0, rejected: 0, rejected_by_code: {}, faults: 0, sse: {}, checksums: 0,
  };
}
resetStats();
const ACCOUNT = '123456789012';
// S3 answers with the key's ARN whatever form it was given in.
function kmsArn(id) {
  if (!id) return `arn:aws:kms:us-east-1:${ACCOUNT}:key/aws-s3-default`;
  if (id.startsWith('arn:')) return id;
  return `arn:aws:kms:us-east-1:${ACCOUNT}:key/${id}`;
}

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

// Verify REQ's body checksums and SigV4 signature; null when good, else
// [status, code, message].
async function verify(req, url, body) {
  if (!parseAuthorization(req.headers.authorization))
    return [403, 'AccessDenied', 'Request is not signed with AWS4-HMAC-SHA256'];
  const ck = req.headers['x-amz-checksum-sha256'];
  if (ck !== undefined && crypto.createHash('sha256').update(body).digest('base64') !== ck)
    return [400, 'BadDigest', 'The x-amz-checksum-sha256 you specified did not match the calculated checksum'];
  const declared = req.headers['x-amz-content-sha256'];
  if (!declared) return [400, 'InvalidRequest', 'Missing required header x-amz-content-sha256'];
  if (declared !== 'UNSIGNED-PAYLOAD') {
    const actual = crypto.createHash('sha256').update(body).digest('hex');
    if (actual !== declared)
      return [400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed'];
  }
  const bad = await checkSignature(req, url, body, 's3', keys, { s3: true, requireSigned: ['x-amz-content-sha256'] });
  if (bad) return bad;
  const md5 = req.headers['content-md5'];
  if (md5 !== undefined && crypto.createHash('md5').update(body).digest('base64') !== md5)
    return [400, 'BadDigest', 'The Content-MD5 you specified did not match what we received'];
  if (req.method === 'POST' && url.searchParams.has('delete') && md5 === undefined && ck === undefined)
    return [400, 'InvalidRequest', 'Missing required header for this request: Content-MD5'];
  return null;
}

// "bucket/key" of a request, path style or BUCKET.s3.localhost.
function bucketKey(req, url) {
  const host = (req.headers.host || '').replace(/:\d+$/, '');
  const vhost = /^(.+)\.s3\.localhost$/.exec(host);
  const p = decodeURIComponent(url.pathname);
  return vhost ? `${vhost[1]}${p}` : p.replace(/^\//, '');
}

// What S3 checks of encryption and checksum headers, and a bucket policy
// of POLICY demands; null when good, else [status, code, message].
function checkSseAndChecksums(req, url, op, body) {
  const sse = req.headers['x-amz-server-side-encryption'];
  const kms = req.headers['x-amz-server-side-encryption-aws-kms-key-id'];
  const ck = req.headers['x-amz-checksum-sha256'];
  const isPut = op === 'PUT';
  const isCreate = op === 'CREATE-multipart';
  if (sse !== undefined && !['AES256', 'aws:kms', 'aws:kms:dsse'].includes(sse))
    return [400, 'InvalidArgument', `The encryption method specified is not supported: ${sse}`];
  if (kms !== undefined && !(sse || '').startsWith('aws:kms'))
    return [400, 'InvalidArgument', 'x-amz-server-side-encryption-aws-kms-key-id requires x-amz-server-side-encryption: aws:kms'];
  if (op === 'PUT-part' && (sse !== undefined || kms !== undefined))
    return [400, 'InvalidArgument', 'x-amz-server-side-encryption header is not supported for this operation.'];
  if ((isPut || isCreate) && policy.require_sse && sse !== policy.require_sse)
    return [403, 'AccessDenied', `Access Denied (the bucket policy requires ${policy.require_sse})`];
  if ((isPut || isCreate) && policy.kms_key_id && kmsArn(kms) !== kmsArn(policy.kms_key_id))
    return [403, 'AccessDenied', 'Access Denied (the bucket policy requires another KMS key)'];
  const alg = req.headers['x-amz-checksum-algorithm'];
  if (alg !== undefined && alg !== 'SHA256' && alg !== 'CRC32' && alg !== 'CRC32C' && alg !== 'SHA1')
    return [400, 'InvalidRequest', `Value for x-amz-checksum-algorithm header is invalid: ${alg}`];
  if (isCreate && policy.require_checksum && alg !== 'SHA256')
    return [400, 'InvalidRequest', 'The bucket requires x-amz-checksum-algorithm: SHA256'];
  if (isPut && policy.require_checksum && ck === undefined)
    return [400, 'InvalidRequest', 'The bucket requires x-amz-checksum-sha256'];
  if (op === 'PUT-part') {
    const up = uploads.get(url.searchParams.get('uploadId'));
    if (up && up.algorithm === 'SHA256' && ck === undefined)
      return [400, 'InvalidRequest', 'The upload was created using a sha256 checksum. The part upload must include a sha256 checksum.'];
  }
  if (op === 'COMPLETE-multipart') {
    const up = uploads.get(url.searchParams.get('uploadId'));
    if (up && up.algorithm === 'SHA256') {
      const text = body.toString();
      const parts = [...text.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
        n: Number((/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1]) || [])[1]),
        ck: (/<ChecksumSHA256>([^<]*)<\/ChecksumSHA256>/.exec(m[1]) || [])[1],
      }));
      for (const p of parts)
        if (p.ck === undefined || up.parts.get(p.n) !== p.ck)
          return [400, 'InvalidPart', `Part ${p.n}: its ChecksumSHA256 is missing or is not the one it was uploaded with`];
      const raw = Buffer.concat(parts.map((p) => Buffer.from(p.ck, 'base64')));
      up.composite = `${crypto.createHash('sha256').update(raw).digest('base64')}-${parts.length}`;
    }
  }
  return null;
}

// The encryption headers S3 sends back for an object (or an upload).
function sseHeaders(rec) {
  const h = {};
  if (rec && rec.sse) h['x-amz-server-side-encryption'] = rec.sse;
  if (rec && rec.kms_key_id) h['x-amz-server-side-encryption-aws-kms-key-id'] = rec.kms_key_id;
  return h;
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
    if (f.key && !url.pathname.includes(f.key) && !decodeURIComponent(url.pathname).includes(f.key)) continue;
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
  if (url.pathname === '/__policy') {
    if (req.method === 'POST') policy = JSON.parse(body.toString() || '{}');
    if (req.method === 'DELETE') policy = {};
    return json(policy);
  }
  if (url.pathname === '/__objects') return json(Object.fromEntries(objects));
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
      if (fault.action === 'corrupt' && body.length) body[body.length >> 1] ^= 0x5a;
    }
    let bad;
    try {
      bad = await verify(req, url, body);
      if (!bad) bad = checkSseAndChecksums(req, url, op, body);
    } catch (e) {
      bad = [403, 'AccessDenied', `cannot verify the signature: ${e.message}`];
    }
    if (bad) {
      stats.rejected++;
      stats.rejected_by_code[bad[1]] = (stats.rejected_by_code[bad[1]] || 0) + 1;
      return s3Error(res, bad[0], bad[1], bad[2]);
    }
    stats.bytes_in += body.length;
    if (req.method === 'DELETE' && url.searchParams.has('uploadId'))
      return abortUpload(req, res, url);
    const bk = bucketKey(req, url);
    const sse = policy.ignore_sse ? undefined : req.headers['x-amz-server-side-encryption'];
    const wanted = sse
      ? { sse, kms_key_id: sse.startsWith('aws:kms') ? kmsArn(req.headers['x-amz-server-side-encryption-aws-kms-key-id']) : undefined }
      : null;
    const ck = req.headers['x-amz-checksum-sha256'];
    const headers = { ...req.headers };
    delete headers['transfer-encoding'];
    headers['content-length'] = String(body.length);
    const up = http.request(
      { host: '127.0.0.1', port: backendPort, method: req.method, path: req.url, headers, agent },
      (upRes) => {
        const chunks = [];
        upRes.on('data', (c) => chunks.push(c));
        upRes.on('end', () => {
          const out = Buffer.concat(chunks);
          const ok = upRes.statusCode >= 200 && upRes.statusCode < 300 && !/<Error>/.test(out.toString());
          const extra = {};
          if (ok && op === 'PUT') {
            objects.set(bk, { ...wanted, checksum: ck });
            Object.assign(extra, sseHeaders(wanted));
            if (ck) extra['x-amz-checksum-sha256'] = ck;
            stats.sse[sse || 'none'] = (stats.sse[sse || 'none'] || 0) + 1;
            if (ck) stats.checksums++;
          } else if (ok && op === 'CREATE-multipart') {
            const id = (/<UploadId>([^<]+)<\/UploadId>/.exec(out.toString()) || [])[1];
            if (id)
              uploads.set(id, { ...wanted, algorithm: req.headers['x-amz-checksum-algorithm'], parts: new Map() });
            Object.assign(extra, sseHeaders(wanted));
            stats.sse[sse || 'none'] = (stats.sse[sse || 'none'] || 0) + 1;
          } else if (ok && op === 'PUT-part') {
            const u = uploads.get(url.searchParams.get('uploadId'));
            if (u && ck) u.parts.set(Number(url.searchParams.get('partNumber')), ck);
            if (ck) stats.checksums++;
          } else if (ok && op === 'COMPLETE-multipart') {
            const id = url.searchParams.get('uploadId');
            const u = uploads.get(id);
            if (u) objects.set(bk, { sse: u.sse, kms_key_id: u.kms_key_id, checksum: u.composite });
            uploads.delete(id);
          } else if (ok && (req.method === 'HEAD' || req.method === 'GET') && objects.has(bk)) {
            const rec = objects.get(bk);
            Object.assign(extra, sseHeaders(rec));
            if (rec.checksum && req.headers['x-amz-checksum-mode'] === 'ENABLED')
              extra['x-amz-checksum-sha256'] = rec.checksum;
          }
          const h = { ...upRes.headers, ...extra };
          if (req.method !== 'HEAD') h['content-length'] = String(out.length);
          res.writeHead(upRes.statusCode, h);
          res.end(out);
        });
      },
    );
    up.on('error', (e) => {
      if (!res.headersSent) s3Error(res, 502, 'BadGateway', e.message);
      else res.destroy();
    });
    up.end(body);
  });
  server.keepAliveTimeout = 5000;
  const announce = (srv, file) => {
    const tmp = file + '.tmp';
    fs.writeFileSync(tmp, String(srv.address().port) + '\n');
    fs.renameSync(tmp, file);
  };
  // The credential endpoints first: the S3 port file is what the tests
  // wait for.
  let creds;
  if (opts.credsPortFile) {
    creds = createCredsServer(keys);
    await new Promise((r) => creds.listen(0, '127.0.0.1', r));
    announce(creds, opts.credsPortFile);
  }
  server.listen(opts.port, '127.0.0.1', () => announce(server, opts.portFile));
  const stop = () => {
    server.close();
    if (creds) creds.close();
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
