// `npm run --silent token -- --stream NAME --ttl SECONDS [--ip CIDR] [--country CC]`: mints a playback token under
// PLAYBACK_SECRET (from the environment) and prints {"token", "playbackPath"}.
import { parseArgs } from 'node:util';
import { multivariantPath, withPlaybackToken } from '../../shared/playback-path.ts';
import { PlaybackAccessError } from './playback-errors.ts';
import { mintPlaybackToken, playbackKey } from './playback-token.ts';

const USAGE = 'usage: PLAYBACK_SECRET=… npm run --silent token -- --stream NAME --ttl SECONDS [--ip ADDRESS|CIDR] [--country CC]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { stream: { type: 'string' }, ttl: { type: 'string' }, ip: { type: 'string' }, country: { type: 'string' } },
    strict: true,
  });
  const secret = process.env.PLAYBACK_SECRET;
  if (!secret) throw new PlaybackAccessError('bad-config', values.stream ?? '*', 'PLAYBACK_SECRET is not set');
  if (values.stream === undefined || values.ttl === undefined || !/^\d+$/.test(values.ttl)) {
    throw new PlaybackAccessError('bad-request', values.stream ?? '*', '--stream and --ttl (whole seconds) are required');
  }
  const token = await mintPlaybackToken(playbackKey(secret), {
    stream: values.stream,
    ttlS: Number(values.ttl),
    ...(values.ip === undefined ? {} : { ip: values.ip }),
    ...(values.country === undefined ? {} : { country: values.country }),
  });
  process.stdout.write(`${JSON.stringify({ token, playbackPath: withPlaybackToken(multivariantPath(values.stream), token) })}\n`);
}

main().catch((err: unknown) => {
  const reason = err instanceof PlaybackAccessError ? err.reason : err instanceof Error ? err.message : String(err);
  process.stderr.write(`token: ${reason}\n${USAGE}\n`);
  process.exit(2);
});
