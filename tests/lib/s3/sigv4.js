// Signature Version 4 checks for the loopback test servers (server.js for
// S3, aws-creds.js for STS): the signature is recomputed with the AWS
// SDK's own signer (@smithy/signature-v4) from the secret of the access key
// the request names, looked up in a registry of keys:
//
//   keys: Map accessKeyId -> { secret, token, expires }
//     token:   the session token the key must come with (null: any or none,
//              for the long-term test key)
//     expires: ms since the epoch after which the key is refused as
//              expired (null: never)
'use strict';

const crypto = require('crypto');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@aws-crypto/sha256-js');

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

// Check REQ's signature over BODY for SERVICE with the keys in KEYS; null
// when good, else [status, code, message]. The key's session token and
// expiry are checked as S3 and STS check them (403 InvalidToken, 400
// ExpiredToken). Every x-amz-* header sent must be signed. OPTS.s3 signs
// the path as sent (S3 does not double-encode it).
async function checkSignature(req, url, body, service, keys, opts = {}) {
  const auth = parseAuthorization(req.headers.authorization);
  if (!auth) return [403, 'AccessDenied', 'Request is not signed with AWS4-HMAC-SHA256'];
  const key = keys.get(auth.accessKey);
  if (!key) return [403, 'InvalidAccessKeyId', 'The AWS access key id you provided does not exist'];
  if (auth.service !== service) return [403, 'SignatureDoesNotMatch', `Credential should be scoped to service '${service}'`];
  const date = amzDateToDate(req.headers['x-amz-date']);
  if (!date) return [403, 'AccessDenied', 'Missing or malformed x-amz-date'];
  if (Math.abs(Date.now() - date.getTime()) > 15 * 60 * 1000)
    return [403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large'];
  for (const h of ['host', 'x-amz-date', ...(opts.requireSigned || [])])
    if (!auth.signedHeaders.includes(h)) return [403, 'AccessDenied', `Header ${h} must be signed`];
  for (const h of Object.keys(req.headers))
    if (h.startsWith('x-amz-') && !auth.signedHeaders.includes(h))
      return [403, 'AccessDenied', `There were headers present in the request which were not signed: ${h}`];
  const token = req.headers['x-amz-security-token'];
  if (key.token !== null && token !== key.token)
    return [403, 'InvalidToken', 'The provided token is malformed or otherwise invalid.'];
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
    credentials: { accessKeyId: auth.accessKey, secretAccessKey: key.secret, sessionToken: token },
    region: auth.region,
    service,
    sha256: Sha256,
    uriEscapePath: !opts.s3,
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
  const a = Buffer.from(m ? m[1] : '');
  const b = Buffer.from(auth.signature);
  if (a.length !== b.length || !crypto.timingSafeEqual(a, b))
    return [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided'];
  // Expiry last, as AWS does: a good signature with a stale key.
  if (key.expires !== null && Date.now() >= key.expires) return [400, 'ExpiredToken', 'The provided token has expired.'];
  return null;
}

module.exports = { parseAuthorization, checkSignature };
