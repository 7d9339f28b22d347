import { Injectable } from '@nestjs/common';
import { randomInt, randomUUID } from 'node:crypto';

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnpqrstuvwxyz';
const DIGITS = '23456789';
const SPECIAL = '!@#$*-_+=';
const ALL = UPPER + LOWER + DIGITS + SPECIAL;

/** Randomness, behind one injectable. Every secret comes from the OS CSPRNG. */
@Injectable()
export class RandomSource {
  uuid(): string {
    return randomUUID();
  }

  /**
   * An Odoo admin password: the original's alphabet (no look-alike characters) with at least one character of
   * each class, 20 characters long (≈ 124 bits).
   */
  adminPassword(length = 20): string {
    const pick = (alphabet: string) => alphabet[randomInt(alphabet.length)] ?? '';
    const chars = [pick(UPPER), pick(LOWER), pick(DIGITS), pick(SPECIAL)];
    while (chars.length < length) chars.push(pick(ALL));
    for (let i = chars.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [chars[i], chars[j]] = [chars[j] ?? '', chars[i] ?? ''];
    }
    return chars.join('');
  }

  /** A short lower-case hex suffix (for a derived subdomain that is already taken). */
  suffix(length = 4): string {
    let out = '';
    while (out.length < length) out += randomInt(16).toString(16);
    return out;
  }
}
