/**
 * `npm run start:local -- --demo`: a demo customer with a tenant and a running instance, made through the public
 * API as a person would (register, the verification link from the mail catcher, log in, create). Idempotent:
 * the credentials are kept in DEMO_STATE_FILE; a second run logs in and reuses what exists, and a lost state
 * file is recovered through the password-reset mail. Prints the logins.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const USER = env('USER_URL');
const TENANT = env('TENANT_URL');
const INSTANCE = env('INSTANCE_URL');
const INBOX = process.env.INBOX_URL ?? '';
const STATE_FILE = env('DEMO_STATE_FILE');
const EMAIL = 'demo@saasodoo.localhost';
const SUBDOMAIN = 'demo-company';

interface DemoState {
  email: string;
  password: string;
  instance_admin_password?: string;
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<Reply> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

function expectOk(step: string, reply: Reply, ...statuses: number[]): Reply {
  if (!statuses.includes(reply.status)) {
    throw new Error(`${step}: HTTP ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return reply;
}

interface InboxMail {
  subject: string;
  time: string;
  text?: string;
  to: { address: string }[];
}

/** The token of the newest mail to EMAIL with `subject` received after `since`, from MailDev's API. */
async function tokenFromInbox(subject: RegExp, path: string, since: number): Promise<string> {
  if (!INBOX) throw new Error('no mail catcher runs (SMTP_HOST is a relay): the demo needs the inbox');
  for (let tries = 0; tries < 60; tries++) {
    const mails = (await (await fetch(`${INBOX}/api/email`)).json()) as InboxMail[];
    const mail = mails
      .filter((m) => m.to.some((t) => t.address === EMAIL) && subject.test(m.subject))
      .filter((m) => Date.parse(m.time) >= since - 1000)
      .at(-1);
    const token = mail?.text?.match(new RegExp(`${path}\\?token=([A-Za-z0-9_-]+)`))?.[1];
    if (token) return token;
    await sleep(500);
  }
  throw new Error(`no "${String(subject)}" mail to ${EMAIL} arrived in the inbox`);
}

async function login(state: DemoState): Promise<string | null> {
  const reply = await call(USER, 'POST', '/auth/login', { email: state.email, password: state.password });
  if (reply.status !== 200) return null;
  return (reply.body.tokens as { access_token: string }).access_token;
}

async function account(state: DemoState): Promise<string> {
  const existing = await login(state);
  if (existing) return existing;
  const since = Date.now();
  const registered = await call(USER, 'POST', '/auth/register', {
    email: state.email,
    password: state.password,
    first_name: 'Demo',
    last_name: 'Customer',
    accept_terms: true,
  });
  if (registered.status === 201) {
    const token = await tokenFromInbox(/confirm your email/i, '/verify-email', since);
    expectOk('verify', await call(USER, 'POST', '/auth/verify-email', { token }), 200);
  } else if (registered.body.code === 'EMAIL_TAKEN') {
    // The account is there but this state file is not: take it back through the reset mail.
    expectOk(
      'password reset',
      await call(USER, 'POST', '/auth/password-reset', { email: state.email }),
      200,
      202,
    );
    const token = await tokenFromInbox(/reset/i, '/reset-password', since);
    expectOk(
      'password reset complete',
      await call(USER, 'POST', '/auth/password-reset-complete', { token, new_password: state.password }),
      200,
    );
    if (!(await login(state))) {
      const resent = Date.now();
      expectOk(
        'resend',
        await call(USER, 'POST', '/auth/resend-verification', { email: state.email }),
        200,
        202,
      );
      const token2 = await tokenFromInbox(/confirm your email/i, '/verify-email', resent);
      expectOk('verify', await call(USER, 'POST', '/auth/verify-email', { token: token2 }), 200);
    }
  } else {
    expectOk('register', registered, 201);
  }
  const token = await login(state);
  if (!token) throw new Error(`cannot log in as ${state.email}`);
  return token;
}

async function tenant(token: string): Promise<string> {
  const mine = expectOk('list tenants', await call(TENANT, 'GET', '/api/v1/tenants', undefined, token), 200);
  const list = (Array.isArray(mine.body) ? mine.body : (mine.body.tenants ?? mine.body.items ?? [])) as {
    id: string;
    subdomain: string;
  }[];
  const found = list.find((t) => t.subdomain === SUBDOMAIN);
  if (found) return found.id;
  const made = expectOk(
    'create tenant',
    await call(TENANT, 'POST', '/api/v1/tenants', { name: 'Demo Company', subdomain: SUBDOMAIN }, token),
    201,
  );
  return made.body.id as string;
}

interface InstanceView {
  id: string;
  status: string;
  external_url: string | null;
  internal_url: string | null;
  image: string | null;
  admin_password?: string;
}

async function instance(token: string, tenantId: string, state: DemoState): Promise<InstanceView> {
  const listed = expectOk(
    'list instances',
    await call(INSTANCE, 'GET', `/api/v1/instances/?tenant_id=${tenantId}`, undefined, token),
    200,
  );
  const items = (listed.body.instances ?? listed.body.items ?? []) as InstanceView[];
  let current = items.find((i) => !['terminating', 'terminated'].includes(i.status));
  if (!current) {
    const made = expectOk(
      'create instance',
      await call(
        INSTANCE,
        'POST',
        '/api/v1/instances/',
        {
          tenant_id: tenantId,
          name: 'Demo ERP',
          odoo_version: '17.0',
          admin_email: EMAIL,
          database_name: `demo_${randomBytes(3).toString('hex')}`,
          subdomain: `${SUBDOMAIN}-${randomBytes(2).toString('hex')}`,
          demo_data: true,
        },
        token,
      ),
      201,
    );
    current = made.body as unknown as InstanceView;
    state.instance_admin_password = current.admin_password;
    writeFileSync(STATE_FILE, JSON.stringify(state, null, 2), { mode: 0o600 });
  }
  for (let waited = 0; waited < 600; waited++) {
    const now = expectOk(
      'instance',
      await call(INSTANCE, 'GET', `/api/v1/instances/${current.id}`, undefined, token),
      200,
    ).body as unknown as InstanceView;
    if (now.status === 'running') return now;
    if (now.status === 'error') throw new Error(`the demo instance failed: ${JSON.stringify(now)}`);
    await sleep(1000);
  }
  throw new Error('the demo instance did not reach running in 10 minutes');
}

async function main(): Promise<void> {
  const state: DemoState = existsSync(STATE_FILE)
    ? (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as DemoState)
    : { email: EMAIL, password: `Demo-${randomBytes(9).toString('base64url')}-7a!` };
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2), { mode: 0o600 });
  const token = await account(state);
  const tenantId = await tenant(token);
  const running = await instance(token, tenantId, state);
  console.log(`Demo         customer ${state.email}  password: ${state.password}`);
  console.log(`             tenant ${SUBDOMAIN}; instance ${running.id} running ${running.image ?? ''}`);
  console.log(
    `             Odoo at ${running.internal_url ?? running.external_url ?? '?'}  admin ${EMAIL}  password: ${
      state.instance_admin_password ?? '(shown when it was created)'
    }`,
  );
  console.log(`             (kept in ${STATE_FILE})`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
