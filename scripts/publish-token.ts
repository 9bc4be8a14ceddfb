// Prints a publish token for one stream, signed with PUBLISH_SECRET: `npm run --silent publish-token -- --stream NAME --ttl SECONDS`.
import { parseArgs } from 'node:util';
import { mintPublishToken, PublishKeysError } from '../server/access/index.ts';

const USAGE = 'usage: PUBLISH_SECRET=… npm run --silent publish-token -- --stream NAME --ttl SECONDS';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { stream: { type: 'string' }, ttl: { type: 'string' } } });
  const secret = process.env.PUBLISH_SECRET;
  if (!secret || values.stream === undefined || values.ttl === undefined || !/^\d+$/.test(values.ttl)) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  const ttlS = Number(values.ttl);
  try {
    const token = await mintPublishToken(secret, values.stream, ttlS);
    const expiresAt = new Date(Date.now() + ttlS * 1000).toISOString();
    process.stdout.write(`${JSON.stringify({ token, stream: values.stream, expiresAt })}\n`);
  } catch (err) {
    if (!(err instanceof PublishKeysError)) throw err;
    process.stderr.write(`publish-token: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
}

await main();
