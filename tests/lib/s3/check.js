#!/usr/bin/env node
// An independent S3 client for the tests: the AWS SDK for JavaScript v3
// (@aws-sdk/client-s3), pointed at the loopback test server. It checks what
// txnflow's own client wrote, and writes objects for txnflow to read.
//
//   node check.js ENDPOINT BUCKET list [PREFIX]   "key<TAB>size<TAB>sha256" per object
//   node check.js ENDPOINT BUCKET get KEY         the object's bytes to stdout
//   node check.js ENDPOINT BUCKET put KEY FILE    upload FILE
//   node check.js ENDPOINT BUCKET head KEY        JSON: size, etag, metadata,
//                                                 sse, kms_key_id, checksum_sha256
//   node check.js ENDPOINT BUCKET mkbucket
//   node check.js - - whoami                      the access key id the SDK's
//                                                 own default credential chain
//                                                 resolves (no request to S3)
// Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const {
  S3Client,
  ListObjectsV2Command,
  GetObjectCommand,
  PutObjectCommand,
  HeadObjectCommand,
  CreateBucketCommand,
} = require('@aws-sdk/client-s3');

async function bodyBytes(body) {
  const chunks = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

async function main() {
  const [endpoint, bucket, cmd, ...args] = process.argv.slice(2);
  if (!endpoint || !bucket || !cmd) throw new Error('usage: check.js ENDPOINT BUCKET CMD ...');
  if (cmd === 'whoami') {
    const { defaultProvider } = require('@aws-sdk/credential-provider-node');
    const c = await defaultProvider()();
    console.log(c.accessKeyId);
    return;
  }
  const client = new S3Client({
    endpoint,
    region: process.env.AWS_REGION || 'us-east-1',
    forcePathStyle: true,
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID,
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
    },
    // s3rver does not know the newer default CRC32 integrity headers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  if (cmd === 'list') {
    let token;
    const rows = [];
    do {
      const r = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: args[0] || '', ContinuationToken: token }),
      );
      for (const o of r.Contents || []) {
        const g = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
        const data = await bodyBytes(g.Body);
        rows.push(`${o.Key}\t${data.length}\t${crypto.createHash('sha256').update(data).digest('hex')}`);
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    rows.sort();
    if (rows.length) process.stdout.write(rows.join('\n') + '\n');
  } else if (cmd === 'get') {
    const g = await client.send(new GetObjectCommand({ Bucket: bucket, Key: args[0] }));
    process.stdout.write(await bodyBytes(g.Body));
  } else if (cmd === 'put') {
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: args[0], Body: fs.readFileSync(args[1]) }),
    );
  } else if (cmd === 'head') {
    const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: args[0], ChecksumMode: 'ENABLED' }));
    console.log(
      JSON.stringify({
        size: h.ContentLength,
        etag: h.ETag,
        metadata: h.Metadata || {},
        sse: h.ServerSideEncryption || null,
        kms_key_id: h.SSEKMSKeyId || null,
        checksum_sha256: h.ChecksumSHA256 || null,
      }),
    );
  } else if (cmd === 'mkbucket') {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
}

main().catch((e) => {
  console.error(`check.js: ${e.name || 'Error'}: ${e.message}`);
  process.exit(1);
});
