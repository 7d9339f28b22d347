import {
  createVerifiedCustomer,
  randomIp,
  ServiceHarness,
  SmtpSink,
  strongPassword,
  tokenFromMail,
  uniqueEmail,
} from '@app/testing';
import { Clock } from '../src/common/clock';
import { bearer, db, settle, startOtherService, startUserService } from './support';

describe('user-service: register → verify → login → me → refresh → logout', () => {
  const smtp = new SmtpSink();
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

  it('goes through the whole life of a session, and the logged-out token dies in every service', async () => {
    const ip = randomIp();
    const email = uniqueEmail();
    const password = strongPassword();

    const registered = await users.request({
      method: 'POST',
      url: '/auth/register',
      remoteAddress: ip,
      payload: {
        email: `  ${email.toUpperCase()} `,
        password,
        first_name: 'Ada',
        last_name: 'Lovelace',
        accept_terms: true,
      },
    });
    expect(registered.statusCode).toBe(201);
    expect(registered.json()).toMatchObject({
      customer: { email, first_name: 'Ada', last_name: 'Lovelace', is_verified: false, role: 'customer' },
      requires_verification: true,
    });

    const refused = await users.request({
      method: 'POST',
      url: '/auth/login',
      remoteAddress: ip,
      payload: { email, password },
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'EMAIL_NOT_VERIFIED' });

    const mail = await smtp.waitFor({ to: email, subject: /confirm your email/i });
    expect(mail.text).toContain('http://app.saasodoo.test/verify-email?token=');
    await smtp.waitFor({ to: email, subject: /welcome/i });
    const verified = await users.request({
      method: 'POST',
      url: '/auth/verify-email',
      payload: { token: tokenFromMail(mail, '/verify-email') },
    });
    expect(verified.statusCode).toBe(200);
    expect(verified.json()).toMatchObject({ customer: { email, is_verified: true } });

    const login = await users.request({
      method: 'POST',
      url: '/auth/login',
      remoteAddress: ip,
      payload: { email, password },
    });
    expect(login.statusCode).toBe(200);
    const { customer, tokens } = login.json();
    expect(customer).toEqual({
      id: expect.any(String),
      email,
      first_name: 'Ada',
      last_name: 'Lovelace',
      is_verified: true,
      role: 'customer',
    });
    expect(tokens).toMatchObject({
      token_type: 'Bearer',
      access_token: expect.any(String),
      refresh_token: expect.any(String),
    });
    const ttl = (Date.parse(tokens.expires_at) - Date.now()) / 1000;
    expect(ttl).toBeGreaterThan(880);
    expect(ttl).toBeLessThanOrEqual(900);

    const me = await users.request({ method: 'GET', url: '/auth/me', headers: bearer(tokens.access_token) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: customer.id, email, role: 'customer' });

    const seenByOther = await other.request({
      method: 'GET',
      url: '/protected',
      headers: bearer(tokens.access_token),
    });
    expect(seenByOther.statusCode).toBe(200);
    expect(seenByOther.json()).toEqual({
      id: customer.id,
      email,
      role: 'customer',
      session_id: expect.any(String),
    });

    const refreshed = await users.request({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refresh_token: tokens.refresh_token },
    });
    expect(refreshed.statusCode).toBe(200);
    const next = refreshed.json().tokens;
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(
      (await users.request({ method: 'GET', url: '/auth/me', headers: bearer(next.access_token) }))
        .statusCode,
    ).toBe(200);

    const logout = await users.request({
      method: 'POST',
      url: '/auth/logout',
      headers: bearer(next.access_token),
    });
    expect(logout.statusCode).toBe(200);

    for (const token of [tokens.access_token, next.access_token]) {
      const mine = await users.request({ method: 'GET', url: '/auth/me', headers: bearer(token) });
      expect(mine.statusCode).toBe(401);
      expect(mine.json()).toMatchObject({ code: 'SESSION_REVOKED', request_id: expect.any(String) });
      const theirs = await other.request({ method: 'GET', url: '/protected', headers: bearer(token) });
      expect(theirs.statusCode).toBe(401);
      expect(theirs.json()).toMatchObject({
        statusCode: 401,
        error: 'Unauthorized',
        code: 'SESSION_REVOKED',
      });
    }
    const afterLogout = await users.request({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refresh_token: next.refresh_token },
    });
    expect(afterLogout.statusCode).toBe(401);
    expect(afterLogout.json()).toMatchObject({ code: 'SESSION_ENDED' });
  });

  it('revokes the whole session when a rotated refresh token is presented again', async () => {
    const customer = await createVerifiedCustomer(users, smtp);
    const first = await users.request({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refresh_token: customer.refresh_token },
    });
    expect(first.statusCode).toBe(200);
    const current = first.json().tokens;

    const replay = await users.request({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refresh_token: customer.refresh_token },
    });
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });

    // The thief's replay killed the legitimate holder's session too: both tokens are dead.
    const legit = await users.request({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refresh_token: current.refresh_token },
    });
    expect(legit.statusCode).toBe(401);
    expect(
      (await other.request({ method: 'GET', url: '/protected', headers: bearer(current.access_token) }))
        .statusCode,
    ).toBe(401);
    const [row] = await db(users).query(`SELECT revoked_reason FROM sessions WHERE id = $1`, [
      customer.session_id,
    ]);
    expect(row.revoked_reason).toBe('refresh_token_reuse');
  });

  it('password reset: same answer for unknown emails, single-use link, every session revoked', async () => {
    const customer = await createVerifiedCustomer(users, smtp);
    const second = await createVerifiedCustomer(users, smtp, { email: uniqueEmail() });
    const otherSession = await users.request({
      method: 'POST',
      url: '/auth/login',
      remoteAddress: randomIp(),
      payload: { email: customer.email, password: customer.password },
    });
    const otherTokens = otherSession.json().tokens;

    const before = smtp.count;
    const known = await users.request({
      method: 'POST',
      url: '/auth/password-reset',
      remoteAddress: randomIp(),
      payload: { email: customer.email },
    });
    const unknown = await users.request({
      method: 'POST',
      url: '/auth/password-reset',
      remoteAddress: randomIp(),
      payload: { email: uniqueEmail('nobody') },
    });
    expect(known.statusCode).toBe(200);
    expect(unknown.statusCode).toBe(200);
    expect(unknown.json()).toEqual(known.json());
    await settle(users);
    expect(smtp.messages({ after: before }).map((m) => m.to)).toEqual([[customer.email]]);

    const mail = await smtp.waitFor({ to: customer.email, subject: /reset/i, after: before });
    expect(mail.text).toContain('http://app.saasodoo.test/reset-password?token=');
    const token = tokenFromMail(mail, '/reset-password');
    const newPassword = strongPassword();

    const weak = await users.request({
      method: 'POST',
      url: '/auth/password-reset-complete',
      payload: { token, new_password: 'short' },
    });
    expect(weak.statusCode).toBe(400);
    expect(weak.json()).toMatchObject({ code: 'VALIDATION_FAILED' });

    const done = await users.request({
      method: 'POST',
      url: '/auth/password-reset-complete',
      payload: { token, new_password: newPassword },
    });
    expect(done.statusCode).toBe(200);
    const again = await users.request({
      method: 'POST',
      url: '/auth/password-reset-complete',
      payload: { token, new_password: strongPassword() },
    });
    expect(again.statusCode).toBe(400);
    expect(again.json()).toMatchObject({ code: 'INVALID_OR_EXPIRED_TOKEN' });

    for (const access of [customer.access_token, otherTokens.access_token]) {
      expect(
        (await users.request({ method: 'GET', url: '/auth/me', headers: bearer(access) })).statusCode,
      ).toBe(401);
      expect(
        (await other.request({ method: 'GET', url: '/protected', headers: bearer(access) })).statusCode,
      ).toBe(401);
    }
    expect(
      (
        await users.request({
          method: 'POST',
          url: '/auth/refresh',
          payload: { refresh_token: customer.refresh_token },
        })
      ).statusCode,
    ).toBe(401);
    const oldPassword = await users.request({
      method: 'POST',
      url: '/auth/login',
      remoteAddress: randomIp(),
      payload: { email: customer.email, password: customer.password },
    });
    expect(oldPassword.statusCode).toBe(401);
    const newLogin = await users.request({
      method: 'POST',
      url: '/auth/login',
      remoteAddress: randomIp(),
      payload: { email: customer.email, password: newPassword },
    });
    expect(newLogin.statusCode).toBe(200);
    // Someone else's session is untouched.
    expect(
      (await users.request({ method: 'GET', url: '/auth/me', headers: bearer(second.access_token) }))
        .statusCode,
    ).toBe(200);
  });

  it('password change checks the current password and the policy, and ends the other sessions only', async () => {
    const customer = await createVerifiedCustomer(users, smtp);
    const elsewhere = (
      await users.request({
        method: 'POST',
        url: '/auth/login',
        remoteAddress: randomIp(),
        payload: { email: customer.email, password: customer.password },
      })
    ).json().tokens;

    const wrong = await users.request({
      method: 'POST',
      url: '/auth/password-change',
      headers: bearer(customer.access_token),
      payload: { current_password: 'Wrong-Passw0rd!', new_password: strongPassword() },
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ code: 'CURRENT_PASSWORD_INCORRECT' });
    const weak = await users.request({
      method: 'POST',
      url: '/auth/password-change',
      headers: bearer(customer.access_token),
      payload: { current_password: customer.password, new_password: 'alllowercase1!' },
    });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().message).toContain('upper-case');

    const same = await users.request({
      method: 'POST',
      url: '/auth/password-change',
      headers: bearer(customer.access_token),
      payload: { current_password: customer.password, new_password: customer.password },
    });
    expect(same.json()).toMatchObject({ statusCode: 400, code: 'PASSWORD_UNCHANGED' });

    const newPassword = strongPassword();
    const changed = await users.request({
      method: 'POST',
      url: '/auth/password-change',
      headers: bearer(customer.access_token),
      payload: { current_password: customer.password, new_password: newPassword },
    });
    expect(changed.statusCode).toBe(200);
    expect(
      (await users.request({ method: 'GET', url: '/auth/me', headers: bearer(customer.access_token) }))
        .statusCode,
    ).toBe(200);
    expect(
      (await users.request({ method: 'GET', url: '/auth/me', headers: bearer(elsewhere.access_token) }))
        .statusCode,
    ).toBe(401);
    const login = await users.request({
      method: 'POST',
      url: '/auth/login',
      remoteAddress: randomIp(),
      payload: { email: customer.email, password: newPassword },
    });
    expect(login.statusCode).toBe(200);
  });

  it('verification links work once, and resend-verification answers the same for every address', async () => {
    const email = uniqueEmail();
    const password = strongPassword();
    await users.request({
      method: 'POST',
      url: '/auth/register',
      remoteAddress: randomIp(),
      payload: { email, password, first_name: 'Grace', last_name: 'Hopper', accept_terms: true },
    });
    const firstMail = await smtp.waitFor({ to: email, subject: /confirm/i });
    const before = smtp.count;
    const resent = await users.request({
      method: 'POST',
      url: '/auth/resend-verification',
      remoteAddress: randomIp(),
      payload: { email },
    });
    const nobody = await users.request({
      method: 'POST',
      url: '/auth/resend-verification',
      remoteAddress: randomIp(),
      payload: { email: uniqueEmail('nobody') },
    });
    expect(resent.statusCode).toBe(200);
    expect(nobody.json()).toEqual(resent.json());
    const secondMail = await smtp.waitFor({ to: email, subject: /confirm/i, after: before });
    const secondToken = tokenFromMail(secondMail, '/verify-email');
    expect(secondToken).not.toBe(tokenFromMail(firstMail, '/verify-email'));

    expect(
      (await users.request({ method: 'POST', url: '/auth/verify-email', payload: { token: secondToken } }))
        .statusCode,
    ).toBe(200);
    const reused = await users.request({
      method: 'POST',
      url: '/auth/verify-email',
      payload: { token: secondToken },
    });
    expect(reused.statusCode).toBe(400);
    expect(reused.json()).toMatchObject({ code: 'INVALID_OR_EXPIRED_TOKEN' });
    const bogus = await users.request({
      method: 'POST',
      url: '/auth/verify-email',
      payload: { token: 'A'.repeat(43) },
    });
    expect(bogus.statusCode).toBe(400);
  });

  it('verification links expire after 24 hours and reset links after 1 hour', async () => {
    const clock = users.app.get(Clock);
    const realNow = clock.now.bind(clock);
    const later = (hours: number) => () => new Date(realNow().getTime() + hours * 3600 * 1000);
    try {
      const email = uniqueEmail();
      await users.request({
        method: 'POST',
        url: '/auth/register',
        remoteAddress: randomIp(),
        payload: {
          email,
          password: strongPassword(),
          first_name: 'Old',
          last_name: 'Link',
          accept_terms: true,
        },
      });
      const verifyToken = tokenFromMail(
        await smtp.waitFor({ to: email, subject: /confirm/i }),
        '/verify-email',
      );
      clock.now = later(24.1);
      const expired = await users.request({
        method: 'POST',
        url: '/auth/verify-email',
        payload: { token: verifyToken },
      });
      expect(expired.json()).toMatchObject({ statusCode: 400, code: 'INVALID_OR_EXPIRED_TOKEN' });
      clock.now = later(23.9);
      expect(
        (await users.request({ method: 'POST', url: '/auth/verify-email', payload: { token: verifyToken } }))
          .statusCode,
      ).toBe(200);
      clock.now = realNow;

      const before = smtp.count;
      await users.request({
        method: 'POST',
        url: '/auth/password-reset',
        remoteAddress: randomIp(),
        payload: { email },
      });
      const resetToken = tokenFromMail(
        await smtp.waitFor({ to: email, subject: /reset/i, after: before }),
        '/reset-password',
      );
      clock.now = later(1.05);
      const late = await users.request({
        method: 'POST',
        url: '/auth/password-reset-complete',
        payload: { token: resetToken, new_password: strongPassword() },
      });
      expect(late.json()).toMatchObject({ code: 'INVALID_OR_EXPIRED_TOKEN' });
    } finally {
      clock.now = realNow;
    }
  });

  it('refuses a duplicate email (after normalisation) with 409 and keeps one row', async () => {
    const customer = await createVerifiedCustomer(users, smtp);
    const dup = await users.request({
      method: 'POST',
      url: '/auth/register',
      remoteAddress: randomIp(),
      payload: {
        email: ` ${customer.email.toUpperCase()}`,
        password: strongPassword(),
        first_name: 'X',
        last_name: 'Y',
        accept_terms: true,
      },
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: 'EMAIL_TAKEN' });
    const [{ count }] = await db(users).query(`SELECT count(*)::int AS count FROM users WHERE email = $1`, [
      customer.email,
    ]);
    expect(count).toBe(1);
  });

  it('stores argon2id hashes, and only hashes of refresh and email tokens', async () => {
    const customer = await createVerifiedCustomer(users, smtp);
    const [user] = await db(users).query(`SELECT password_hash FROM users WHERE id = $1`, [customer.id]);
    expect(user.password_hash).toMatch(/^\$argon2id\$/);
    const stored = await db(users).query(`SELECT token_hash FROM refresh_tokens WHERE session_id = $1`, [
      customer.session_id,
    ]);
    expect(stored).toHaveLength(1);
    expect(stored[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored[0].token_hash).not.toBe(customer.refresh_token);
  });
});
