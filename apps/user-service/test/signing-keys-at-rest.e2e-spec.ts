/**
 * The token store is not a single point of trust: the private halves of the ES256 signing keys are stored
 * sealed (AES-256-GCM under SIGNING_KEYS_ENCRYPTION_KEY), so a copy of the database cannot sign tokens.
 */
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { createVerifiedCustomer, requireEnv, ServiceHarness, SmtpSink } from '@app/testing';
import { SigningKeyCipher } from '../src/signing-keys/signing-key.cipher';
import { bearer, db, startOtherService, startUserService } from './support';

interface KeyRow {
  kid: string;
  public_jwk: { x: string; y: string };
  private_jwk: unknown;
  private_jwk_enc: string | null;
  retired_at: Date | null;
}

describe('user-service: signing keys sealed at rest', () => {
  const smtp = new SmtpSink();
  const cipher = () => new SigningKeyCipher(requireEnv('SIGNING_KEYS_ENCRYPTION_KEY'));
  let users: ServiceHarness;
  let other: ServiceHarness;

  beforeAll(async () => {
    await smtp.start();
    users = await startUserService(smtp);
    other = await startOtherService();
  });
  afterAll(async () => {
    await other?.close();
    await users?.close();
    await smtp.stop();
  });

  const rows = async (harness: ServiceHarness): Promise<KeyRow[]> =>
    db(harness).query(`SELECT kid, public_jwk, private_jwk, private_jwk_enc, retired_at FROM signing_keys`);

  it('stores no private key in plaintext; the sealed one opens only with the key, and signs the tokens', async () => {
    const customer = await createVerifiedCustomer(users, smtp);
    const { kid } = decodeProtectedHeader(customer.access_token);
    const all = await rows(users);
    expect(all.length).toBeGreaterThan(0);
    for (const row of all) {
      expect({ kid: row.kid, plaintext: row.private_jwk }).toEqual({ kid: row.kid, plaintext: null });
      expect(row.private_jwk_enc).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    }
    const active = all.find((row) => row.retired_at === null) as KeyRow;
    expect(active.kid).toBe(kid);
    const opened = cipher().open(active.kid, active.private_jwk_enc ?? '');
    expect(opened).toMatchObject({ kty: 'EC', crv: 'P-256', x: active.public_jwk.x, y: active.public_jwk.y });
    expect(opened.d).toEqual(expect.any(String));
    expect(active.private_jwk_enc).not.toContain(opened.d);
    // Another key, or the same ciphertext under another kid, does not open it.
    expect(() =>
      new SigningKeyCipher(randomBytes(32).toString('base64')).open(active.kid, active.private_jwk_enc ?? ''),
    ).toThrow(/cannot decrypt/);
    expect(() => cipher().open(`${active.kid}x`, active.private_jwk_enc ?? '')).toThrow(/cannot decrypt/);
    const res = await other.request({
      method: 'GET',
      url: '/protected',
      headers: bearer(customer.access_token),
    });
    expect(res.statusCode).toBe(200);
  });

  it('seals a key stored in plaintext before (upgrade), at the next start', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const privateJwk = await exportJWK(privateKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    await db(users).query(
      `INSERT INTO signing_keys (kid, algorithm, public_jwk, private_jwk, created_at, retired_at)
       VALUES ($1, 'ES256', $2, $3, now() - interval '2 days', now() - interval '1 day')`,
      [kid, JSON.stringify(publicJwk), JSON.stringify(privateJwk)],
    );
    const restarted = await startUserService(smtp);
    try {
      const [row] = (await rows(restarted)).filter((r) => r.kid === kid);
      expect(row.private_jwk).toBeNull();
      expect(cipher().open(kid, row.private_jwk_enc ?? '')).toEqual(privateJwk);
    } finally {
      await restarted.close();
    }
  });

  it('retires and replaces an active key that does not open with this SIGNING_KEYS_ENCRYPTION_KEY', async () => {
    const before = (await rows(users)).find((row) => row.retired_at === null) as KeyRow;
    const otherKey = randomBytes(32).toString('base64');
    const rekeyed = await startUserService(smtp, { SIGNING_KEYS_ENCRYPTION_KEY: otherKey });
    try {
      const after = await rows(rekeyed);
      const active = after.find((row) => row.retired_at === null) as KeyRow;
      expect(active.kid).not.toBe(before.kid);
      expect(after.find((row) => row.kid === before.kid)?.retired_at).toBeInstanceOf(Date);
      expect(new SigningKeyCipher(otherKey).open(active.kid, active.private_jwk_enc ?? '')).toHaveProperty(
        'd',
      );
      const customer = await createVerifiedCustomer(rekeyed, smtp);
      expect(decodeProtectedHeader(customer.access_token).kid).toBe(active.kid);
      const res = await other.request({
        method: 'GET',
        url: '/protected',
        headers: bearer(customer.access_token),
      });
      expect(res.statusCode).toBe(200);
    } finally {
      await rekeyed.close();
    }
    // Back to the tests' key (the next suites sign with it again).
    const restored = await startUserService(smtp);
    await restored.close();
  });

  it('refuses to start without a valid SIGNING_KEYS_ENCRYPTION_KEY', async () => {
    await expect(startUserService(smtp, { SIGNING_KEYS_ENCRYPTION_KEY: 'c2hvcnQ=' })).rejects.toThrow(
      /SIGNING_KEYS_ENCRYPTION_KEY/,
    );
  });
});
