// Publish authorization decides every case by its status: no key, wrong key, another stream's key, expired or forged
// tokens, the failed-attempt limit; and reads the keys file strictly.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PUBLISH_AUTH_DEFAULTS, PublishAuthorizer, PublishKeysError, mintPublishToken, readPublishKeysFile, type PublishAuthConfig } from '../index.ts';
import { MAX_FAILED_PUBLISH_ATTEMPTS, FAILED_PUBLISH_WINDOW_MS, PublishAuthError, publishAuthReply } from '../publish-auth.ts';

const SECRET = 'a-publish-secret-of-32-characters!!';
const KEY = 'one-key-for-every-stream';
const STREAM_KEYS = { alpha: 'alpha-only-key-123', beta: 'beta-only-key-4567' };

function authorizer(config: Partial<PublishAuthConfig>, clock = { now: 1_800_000_000_000 }): PublishAuthorizer {
  return new PublishAuthorizer({ ...PUBLISH_AUTH_DEFAULTS, ...config }, { nowMs: () => clock.now });
}

/** The refusal `authorize` rejects with, or null when it resolves. */
async function refusal(auth: PublishAuthorizer, stream: string, key: string | undefined, address = '192.0.2.1'): Promise<PublishAuthError | null> {
  try {
    await auth.authorize(stream, key, address);
    return null;
  } catch (err) {
    if (err instanceof PublishAuthError) return err;
    throw err;
  }
}

describe('publish authorization', () => {
  it('is open without keys, and when PUBLISH_AUTH=off', async () => {
    expect(authorizer({}).open).toBe(true);
    expect(await refusal(authorizer({}), 'alpha', undefined)).toBeNull();
    expect(authorizer({ key: KEY }).open).toBe(false);
    expect(authorizer({ mode: 'off' }).open).toBe(true);
  });

  it('answers 401 without a key or with a wrong one, and takes PUBLISH_KEY for any stream', async () => {
    const auth = authorizer({ key: KEY });
    const missing = await refusal(auth, 'alpha', undefined);
    expect([missing?.status, missing?.reason]).toEqual([401, 'missing-key']);
    expect(publishAuthReply(missing!).headers['www-authenticate']).toBe('Bearer realm="swarmcast"');
    const wrong = await refusal(auth, 'alpha', 'not-the-key-at-all');
    expect([wrong?.status, wrong?.reason]).toEqual([401, 'wrong-key']);
    expect(publishAuthReply(wrong!).headers['www-authenticate']).toMatch(/^Bearer realm="swarmcast", error="invalid_token"/);
    expect(await refusal(auth, 'alpha', KEY)).toBeNull();
    expect(await refusal(auth, 'gamma', KEY)).toBeNull();
    // A prefix of the key, or the key with more after it, is another key.
    expect((await refusal(auth, 'alpha', KEY.slice(0, -1)))?.status).toBe(401);
    expect((await refusal(auth, 'alpha', `${KEY}x`))?.status).toBe(401);
  });

  it('answers 403 to a per-stream key presented for another stream', async () => {
    const auth = authorizer({ streamKeys: STREAM_KEYS });
    expect(await refusal(auth, 'alpha', STREAM_KEYS.alpha)).toBeNull();
    const other = await refusal(auth, 'alpha', STREAM_KEYS.beta);
    expect([other?.status, other?.reason]).toEqual([403, 'other-stream']);
    expect(publishAuthReply(other!).headers['www-authenticate']).toContain('insufficient_scope');
    // A stream the file does not list has no key of its own.
    expect((await refusal(auth, 'gamma', STREAM_KEYS.alpha))?.status).toBe(403);
    expect((await refusal(auth, 'gamma', 'anything-else-here'))?.status).toBe(401);
  });

  it('takes a publish token for its stream until it expires; other stream 403, expired or forged 401', async () => {
    const clock = { now: 1_800_000_000_000 };
    const auth = authorizer({ secret: SECRET }, clock);
    const token = await mintPublishToken(SECRET, 'alpha', 60, clock.now / 1000);
    expect(await refusal(auth, 'alpha', token)).toBeNull();
    expect((await refusal(auth, 'beta', token))?.status).toBe(403);
    const forged = await mintPublishToken('another-secret-of-32-characters!!!', 'alpha', 60, clock.now / 1000);
    expect((await refusal(auth, 'alpha', forged))?.reason).toBe('wrong-key');
    const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
    expect((await refusal(auth, 'alpha', tampered))?.status).toBe(401);
    clock.now += 61_000;
    const expired = await refusal(auth, 'alpha', token);
    expect([expired?.status, expired?.reason]).toEqual([401, 'expired-token']);
    expect(publishAuthReply(expired!).headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('refuses every attempt from an address past the failed-attempt limit with 429 and Retry-After, then lets it try again', async () => {
    const clock = { now: 1_800_000_000_000 };
    const auth = authorizer({ key: KEY }, clock);
    for (let i = 0; i < MAX_FAILED_PUBLISH_ATTEMPTS; i++) expect((await refusal(auth, 'alpha', `wrong-key-number-${i}`))?.status).toBe(401);
    const limited = await refusal(auth, 'alpha', KEY);
    expect(limited?.status).toBe(429);
    expect(Number(publishAuthReply(limited!).headers['retry-after'])).toBe(FAILED_PUBLISH_WINDOW_MS / 1000);
    // Another address is not affected.
    expect(await refusal(auth, 'alpha', KEY, '192.0.2.2')).toBeNull();
    clock.now += FAILED_PUBLISH_WINDOW_MS + 1;
    expect(await refusal(auth, 'alpha', KEY)).toBeNull();
  });

  it('mints tokens only for valid names and lifetimes', async () => {
    await expect(mintPublishToken(SECRET, 'Bad Name', 60)).rejects.toThrow(PublishKeysError);
    await expect(mintPublishToken(SECRET, 'alpha', 0)).rejects.toThrow(PublishKeysError);
  });

  it('reads the keys file strictly, naming the problem but never a key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmcast-keys-'));
    const file = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    expect(readPublishKeysFile(file('ok.json', JSON.stringify(STREAM_KEYS)))).toEqual(STREAM_KEYS);
    expect(() => readPublishKeysFile(file('bad.json', '{'))).toThrow(/JSON/);
    expect(() => readPublishKeysFile(file('array.json', '[]'))).toThrow(/object/);
    expect(() => readPublishKeysFile(file('name.json', '{"Bad Name": "long-enough-key-123"}'))).toThrow(/valid stream name/);
    let shortKeyError: Error | undefined;
    try {
      readPublishKeysFile(file('short.json', '{"alpha": "short-secret"}'));
    } catch (err) {
      shortKeyError = err as Error;
    }
    expect(shortKeyError?.message).toMatch(/at least 16 characters/);
    expect(shortKeyError?.message).not.toContain('short-secret');
    expect(() => readPublishKeysFile(join(dir, 'missing.json'))).toThrow(PublishKeysError);
  });
});
