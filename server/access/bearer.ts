// Bearer credentials (RFC 6750): reading them from an Authorization header and comparing them in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';

/** The realm every Swarmcast WWW-Authenticate names. */
export const BEARER_CHALLENGE = 'Bearer realm="swarmcast"';

/** The credentials of `Authorization: Bearer CREDENTIALS`, or undefined for no header or another scheme. */
export function bearerCredentials(authorization: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
  return match?.[1];
}

/** SHA-256 of a secret: digests of equal length let timingSafeEqual compare secrets without revealing their length. */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Whether `presented` is the secret whose digest is `expected`, in time that does not depend on where they differ. */
export function matchesSecret(presented: string | undefined, expected: Buffer): boolean {
  return presented !== undefined && timingSafeEqual(secretDigest(presented), expected);
}
