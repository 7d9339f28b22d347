#!/usr/bin/env node
// The S3-compatible server of the tests (and of a host-mode run that wants off-host backup copies without a
// real store): s3rver (npm @20minutes/s3rver, the maintained fork), objects kept as files under a directory.
// Started by scripts/bootstrap-deps.sh; see README "Data safety" for why this one.
// Usage: node scripts/s3-test-server.cjs <port> <directory> <bucket>...
'use strict';
const S3rver = require('@20minutes/s3rver');

const [port, directory, ...buckets] = process.argv.slice(2);
if (!port || !directory || buckets.length === 0) {
  console.error('usage: s3-test-server.cjs <port> <directory> <bucket>...');
  process.exit(2);
}
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory,
  silent: true,
  configureBuckets: buckets.map((name) => ({ name })),
});
server.run().then(
  () => console.log(`s3rver listening on 127.0.0.1:${port} (data in ${directory}; buckets ${buckets.join(', ')})`),
  (error) => {
    console.error(`s3rver failed to start: ${error && error.message}`);
    process.exit(1);
  },
);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => server.close().finally(() => process.exit(0)));
}
