import { randomBytes, randomUUID } from 'node:crypto';
import type { ServiceHarness } from './service-harness';
import { SmtpSink, tokenFromMail } from './smtp-sink';
import { requireEnv, serviceTestEnv } from './test-env';

/** A port nothing listens on: the other services' internal APIs are "down" unless a test says otherwise. */
export const UNREACHABLE_SERVICE_URL = 'http://127.0.0.1:1';

/**
 * The environment user-service gets in tests: its own *_test database, mail to `smtp`, generous rate limits
 * (each factory call also comes from its own IP), and the other services unreachable. Override anything.
 */
export function userServiceTestEnv(
  smtp: SmtpSink,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return serviceTestEnv('user-service', {
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtp.port),
    SMTP_FROM: 'no-reply@saasodoo.test',
    PORTAL_URL: 'http://app.saasodoo.test',
    INTERNAL_API_TOKEN: requireEnv('INTERNAL_API_TOKEN'),
    TENANT_SERVICE_URL: UNREACHABLE_SERVICE_URL,
    INSTANCE_SERVICE_URL: UNREACHABLE_SERVICE_URL,
    BILLING_SERVICE_URL: UNREACHABLE_SERVICE_URL,
    SUPABASE_URL: '',
    SUPABASE_ANON_KEY: '',
    RATE_LIMIT_LOGIN_PER_IP: '1000',
    RATE_LIMIT_LOGIN_PER_EMAIL: '1000',
    RATE_LIMIT_REGISTER_PER_IP: '1000',
    RATE_LIMIT_REGISTER_PER_EMAIL: '1000',
    RATE_LIMIT_EMAIL_PER_IP: '1000',
    RATE_LIMIT_EMAIL_PER_EMAIL: '1000',
    LOGIN_LOCKOUT_THRESHOLD: '1000',
    ...overrides,
  });
}

/** A unique, valid email address (fresh user per test). */
export function uniqueEmail(prefix = 'customer'): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}@example.test`;
}

/** A password that satisfies the policy, different every time. */
export function strongPassword(): string {
  return `Pw-${randomBytes(9).toString('base64url')}-9aZ!`;
}

/** A random private address, so the per-IP rate limits of one test never touch another. */
export function randomIp(): string {
  const [a, b] = randomBytes(2);
  return `10.${a}.${b}.${1 + Math.floor(Math.random() * 254)}`;
}

export interface CustomerOverrides {
  email?: string;
  password?: string;
  first_name?: string;
  last_name?: string;
  /** Client address the requests come from (default: a random one). */
  ip?: string;
}

export interface TestCustomer {
  id: string;
  email: string;
  password: string;
  first_name: string;
  last_name: string;
  access_token: string;
  refresh_token: string;
  session_id: string;
}

interface LoginBody {
  customer: { id: string };
  tokens: { access_token: string; refresh_token: string };
}

function expectStatus(step: string, res: { statusCode: number; body: string }, expected: number): void {
  if (res.statusCode !== expected) {
    throw new Error(`${step}: expected HTTP ${expected}, got ${res.statusCode}: ${res.body}`);
  }
}

function sessionIdOf(accessToken: string): string {
  const payload = JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    sid?: string;
  };
  if (!payload.sid) throw new Error('access token without sid');
  return payload.sid;
}

/** POST /auth/login through the real API. */
export async function loginCustomer(
  userService: ServiceHarness,
  email: string,
  password: string,
  ip = randomIp(),
): Promise<Pick<TestCustomer, 'id' | 'access_token' | 'refresh_token' | 'session_id'>> {
  const res = await userService.request({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password },
    remoteAddress: ip,
  });
  expectStatus(`login ${email}`, res, 200);
  const body = res.json<LoginBody>();
  return {
    id: body.customer.id,
    access_token: body.tokens.access_token,
    refresh_token: body.tokens.refresh_token,
    session_id: sessionIdOf(body.tokens.access_token),
  };
}

/**
 * A customer made the way a real one is: register → the verification email arrives in `smtp` → the link's
 * token is posted to /auth/verify-email → login. Returns the credentials and a live session.
 */
export async function createVerifiedCustomer(
  userService: ServiceHarness,
  smtp: SmtpSink,
  overrides: CustomerOverrides = {},
): Promise<TestCustomer> {
  const ip = overrides.ip ?? randomIp();
  const email = overrides.email ?? uniqueEmail();
  const password = overrides.password ?? strongPassword();
  const first_name = overrides.first_name ?? 'Test';
  const last_name = overrides.last_name ?? `Customer ${randomUUID().slice(0, 8)}`;
  const registered = await userService.request({
    method: 'POST',
    url: '/auth/register',
    payload: { email, password, first_name, last_name, accept_terms: true },
    remoteAddress: ip,
  });
  expectStatus(`register ${email}`, registered, 201);
  const mail = await smtp.waitFor({ to: email, subject: /confirm your email/i });
  const verified = await userService.request({
    method: 'POST',
    url: '/auth/verify-email',
    payload: { token: tokenFromMail(mail, '/verify-email') },
    remoteAddress: ip,
  });
  expectStatus(`verify ${email}`, verified, 200);
  const session = await loginCustomer(userService, email, password, ip);
  return { ...session, email, password, first_name, last_name };
}

/** Makes `email` an admin with `password`: user-service's create-admin command (the CLI's own function). */
export type AdminBootstrap = (email: string, password: string) => Promise<unknown>;

/**
 * An admin made by the operator command, then logged in through the API. Pass user-service's command, e.g.
 * `(email, password) => userService.app.get(AdminAccountsService).createAdmin(email, { password })`.
 */
export async function createAdmin(
  userService: ServiceHarness,
  bootstrap: AdminBootstrap,
  overrides: Omit<CustomerOverrides, 'first_name' | 'last_name'> = {},
): Promise<TestCustomer> {
  const email = overrides.email ?? uniqueEmail('admin');
  const password = overrides.password ?? strongPassword();
  await bootstrap(email, password);
  const session = await loginCustomer(userService, email, password, overrides.ip);
  return { ...session, email, password, first_name: 'Platform', last_name: 'Admin' };
}
