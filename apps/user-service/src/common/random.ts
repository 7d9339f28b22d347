import { Injectable } from '@nestjs/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** Randomness, behind one injectable. Every secret comes from the OS CSPRNG. */
@Injectable()
export class RandomSource {
  uuid(): string {
    return randomUUID();
  }

  /** An opaque URL-safe secret of `bytes` random bytes (32 bytes: 43 characters). */
  token(bytes = 32): string {
    return randomBytes(bytes).toString('base64url');
  }
}

/** Tokens are stored as their SHA-256: a database dump gives nobody a usable link or refresh token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
