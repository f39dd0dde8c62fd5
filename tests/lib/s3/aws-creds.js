// Loopback stand-ins for the places the AWS credential chain fetches
// temporary keys from, for txnflow's credential tests (t5040). server.js
// starts this on a port of its own, sharing its registry of keys, so keys
// issued here are the ones the S3 proxy accepts — until they expire.
//
//   POST /                              STS: Action=AssumeRole (signed
//                                       SigV4 for service sts with a known
//                                       key) or AssumeRoleWithWebIdentity
//                                       (unsigned; WebIdentityToken must be
//                                       the configured one); XML answers
//   GET  /ecs/...                       the ECS/EKS container endpoint:
//                                       Authorization must be the configured
//                                       token; JSON answer
//   PUT  /latest/api/token              IMDSv2 session token (the TTL header
//                                       is required)
//   GET  /latest/meta-data/iam/security-credentials/[ROLE]
//                                       the role name, then its keys (JSON);
//                                       without a session token: 401
//
// Control (unsigned):
//   POST /__config   JSON merged into the settings: duration_s (lifetime of
//                    issued keys, default 3600), web_identity_token,
//                    container_token, imds_role, account
//   GET  /__issued   every key issued so far, secrets included (the tests
//                    grep txnflow's output and files for them)
//   GET  /__stats    requests by action; DELETE /__stats resets
'use strict';

const http = require('http');
const crypto = require('crypto');
const { checkSignature } = require('./sigv4');

function createCredsServer(keys) {
  const config = {
    duration_s: 3600,
    web_identity_token: null,
    container_token: null,
    imds_role: 'txnflow-instance-role',
    account: '123456789012',
  };
  const issued = [];
  const imdsTokens = new Map(); // token -> expiry (ms)
  let stats;
  const resetStats = () => {
    stats = { requests: 0, by_action: {}, rejected: 0 };
  };
  resetStats();
  const count = (a) => {
    stats.by_action[a] = (stats.by_action[a] || 0) + 1;
  };

  function issue(source) {
    const rnd = (n) => crypto.randomBytes(n).toString('hex');
    const k = {
      source,
      accessKeyId: 'ASIA' + rnd(8).toUpperCase(),
      secretAccessKey: 'tmp-secret-' + rnd(16),
      sessionToken: 'tmp-token-' + rnd(32),
      expiration: new Date(Date.now() + config.duration_s * 1000),
    };
    k.expiration.setMilliseconds(0);
    keys.set(k.accessKeyId, { secret: k.secretAccessKey, token: k.sessionToken, expires: k.expiration.getTime() });
    issued.push(k);
    return k;
  }

  const xmlEsc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

  function send(res, status, type, body) {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  function stsError(res, status, code, message) {
    stats.rejected++;
    send(
      res,
      status,
      'text/xml',
      `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code>` +
        `<Message>${xmlEsc(message)}</Message></Error><RequestId>test</RequestId></ErrorResponse>`,
    );
  }

  async function sts(req, res, url, body) {
    const p = new URLSearchParams(body.toString());
    const action = p.get('Action');
    count(action || 'sts-unknown');
    if (p.get('Version') !== '2011-06-15') return stsError(res, 400, 'InvalidParameterValue', 'Version must be 2011-06-15');
    const role = p.get('RoleArn') || '';
    const session = p.get('RoleSessionName') || '';
    if (!/^arn:aws:iam::\d{12}:role\/[\w+=,.@\/-]+$/.test(role))
      return stsError(res, 400, 'ValidationError', `RoleArn '${role}' is not a role ARN`);
    if (!/^[\w+=,.@-]{2,64}$/.test(session))
      return stsError(res, 400, 'ValidationError', 'RoleSessionName must be 2 to 64 of [\\w+=,.@-]');
    const dur = p.get('DurationSeconds');
    if (dur !== null && !(+dur >= 900 && +dur <= 43200))
      return stsError(res, 400, 'ValidationError', 'DurationSeconds must be 900..43200');
    let extra = '';
    if (action === 'AssumeRole') {
      const bad = await checkSignature(req, url, body, 'sts', keys);
      if (bad) return stsError(res, bad[0], bad[1], bad[2]);
    } else if (action === 'AssumeRoleWithWebIdentity') {
      if (req.headers.authorization) return stsError(res, 400, 'InvalidParameterValue', 'AssumeRoleWithWebIdentity is not signed');
      const tok = p.get('WebIdentityToken') || '';
      if (!tok || (config.web_identity_token !== null && tok !== config.web_identity_token))
        return stsError(res, 400, 'InvalidIdentityToken', 'The web identity token is not valid');
      extra = '<SubjectFromWebIdentityToken>system:serviceaccount:etl:txnflow</SubjectFromWebIdentityToken>' +
        '<Audience>sts.amazonaws.com</Audience><Provider>oidc.test</Provider>';
    } else {
      return stsError(res, 400, 'InvalidAction', `Could not find operation ${action}`);
    }
    const k = issue(action);
    const roleName = role.replace(/^.*:role\//, '');
    send(
      res,
      200,
      'text/xml',
      `<${action}Response xmlns="${NS}"><${action}Result>${extra}` +
        `<AssumedRoleUser><AssumedRoleId>AROATEST:${xmlEsc(session)}</AssumedRoleId>` +
        `<Arn>arn:aws:sts::${config.account}:assumed-role/${xmlEsc(roleName)}/${xmlEsc(session)}</Arn></AssumedRoleUser>` +
        `<Credentials><AccessKeyId>${k.accessKeyId}</AccessKeyId><SecretAccessKey>${k.secretAccessKey}</SecretAccessKey>` +
        `<SessionToken>${k.sessionToken}</SessionToken><Expiration>${k.expiration.toISOString()}</Expiration></Credentials>` +
        `</${action}Result><ResponseMetadata><RequestId>test</RequestId></ResponseMetadata></${action}Response>`,
    );
  }

  function keysJson(k, more) {
    return JSON.stringify({
      ...more,
      AccessKeyId: k.accessKeyId,
      SecretAccessKey: k.secretAccessKey,
      Token: k.sessionToken,
      Expiration: k.expiration.toISOString().replace(/\.\d+Z$/, 'Z'),
    });
  }

  function container(req, res) {
    count('container');
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'method not allowed');
    if (config.container_token !== null && req.headers.authorization !== config.container_token) {
      stats.rejected++;
      return send(res, 401, 'application/json', '{"message":"unauthorized"}');
    }
    const k = issue('container');
    send(res, 200, 'application/json', keysJson(k, { RoleArn: `arn:aws:iam::${config.account}:role/txnflow-task` }));
  }

  function imds(req, res, url) {
    if (url.pathname === '/latest/api/token') {
      count('imds-token');
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (req.method !== 'PUT' || !(ttl >= 1 && ttl <= 21600)) {
        stats.rejected++;
        return send(res, 400, 'text/plain', 'bad token request');
      }
      const t = 'imds-' + crypto.randomBytes(24).toString('base64url');
      imdsTokens.set(t, Date.now() + ttl * 1000);
      return send(res, 200, 'text/plain', t);
    }
    const t = req.headers['x-aws-ec2-metadata-token'];
    if (!t || !(imdsTokens.get(t) > Date.now())) {
      count('imds-unauthorized');
      stats.rejected++;
      return send(res, 401, 'text/plain', 'Unauthorized');
    }
    const base = '/latest/meta-data/iam/security-credentials/';
    if (url.pathname === base) {
      count('imds-role');
      return send(res, 200, 'text/plain', config.imds_role);
    }
    if (url.pathname === base + config.imds_role) {
      count('imds-credentials');
      const k = issue('imds');
      return send(
        res,
        200,
        'text/plain',
        keysJson(k, { Code: 'Success', LastUpdated: new Date().toISOString(), Type: 'AWS-HMAC' }),
      );
    }
    return send(res, 404, 'text/plain', 'Not Found');
  }

  function control(req, res, url, body) {
    const json = (o) => send(res, 200, 'application/json', JSON.stringify(o) + '\n');
    if (url.pathname === '/__config') {
      if (req.method === 'POST') Object.assign(config, JSON.parse(body.toString() || '{}'));
      return json(config);
    }
    if (url.pathname === '/__issued') return json(issued);
    if (url.pathname === '/__stats') {
      if (req.method === 'DELETE') resetStats();
      return json(stats);
    }
    return send(res, 404, 'text/plain', 'no such control');
  }

  return http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url, 'http://placeholder');
      try {
        if (url.pathname.startsWith('/__')) return control(req, res, url, body);
        stats.requests++;
        if (req.method === 'POST' && url.pathname === '/') return await sts(req, res, url, body);
        if (url.pathname.startsWith('/ecs/')) return container(req, res);
        if (url.pathname.startsWith('/latest/')) return imds(req, res, url);
        send(res, 404, 'text/plain', 'Not Found');
      } catch (e) {
        send(res, 500, 'text/plain', String(e));
      }
    });
  });
}

module.exports = { createCredsServer };
