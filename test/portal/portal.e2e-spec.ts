import { execFileSync } from 'node:child_process';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import {
  adminQuery,
  adminSql,
  HostPlatform,
  linkInMail,
  MailInbox,
  removeInstanceResources,
  strongPassword,
  uniqueEmail,
  waitFor,
} from '@app/testing';
import { launchChromium, screenshot, waitForFreePorts } from './browser';
import {
  backUpAndRestore,
  expectAccessible,
  headingStatus,
  logIn,
  openTab,
  signUpAndVerify,
  stopAndStart,
} from './steps';

/**
 * Issue #13: the customer portal in a real browser (Debian's Chromium through playwright-core) against the real
 * platform in host mode (npm run start:local with the stand-in Odoo image): start:local serves the built portal
 * on PORTAL_PORT with /user, /tenant, /instance and /billing proxied to the services.
 */
const OFFSET = 23000; // every port below 32768, out of the range the OS hands out to client sockets
const PORTAL = `http://127.0.0.1:${3000 + OFFSET}`;
const SUFFIX = `${process.env.TEST_DB_SUFFIX ?? '_test'}_portal`;
const DATABASES = ['auth', 'tenant', 'instance', 'billing'].map((d) => `${d}${SUFFIX}`);
const platform = new HostPlatform({
  portOffset: OFFSET,
  env: { DB_NAME_SUFFIX: SUFFIX },
  readyTimeoutMs: 300_000,
});
const DESKTOP = { width: 1280, height: 900 };
const MOBILE = { width: 390, height: 844 };

let browser: Browser;
let context: BrowserContext;
let page: Page;
let inbox: MailInbox;
const owner = { email: uniqueEmail('portal-owner'), password: strongPassword() };
const subdomain = `pu${Date.now().toString(36)}`;
let instanceId = '';

async function dropDatabases(): Promise<void> {
  for (const name of DATABASES) await adminSql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

describe('customer portal in Chromium (issue #13)', () => {
  beforeAll(async () => {
    await dropDatabases();
    await waitForFreePorts(OFFSET);
    await platform.start();
    inbox = new MailInbox(platform.printed('Mail inbox'));
    browser = await launchChromium();
    context = await browser.newContext({ viewport: DESKTOP });
    page = await context.newPage();
  }, 360_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await platform.stop('SIGINT');
    const instances = await adminQuery<{ id: string; database_name: string; tenant_id: string }>(
      `SELECT id, database_name, tenant_id FROM instances`,
      `instance${SUFFIX}`,
    ).catch(() => []);
    await removeInstanceResources(instances, [...new Set(instances.map((i) => i.tenant_id))]);
    await dropDatabases();
    await platform.dispose();
  }, 180_000);

  it('start:local prints the portal URL and serves the app with the API prefixes on the same origin', async () => {
    expect(platform.output()).toContain(PORTAL);
    const html = await fetch(`${PORTAL}/dashboard-deep-link`);
    expect(html.status).toBe(200);
    expect(await html.text()).toContain('<div id="root">');
    expect((await fetch(`${PORTAL}/billing/api/billing/plans`)).status).toBe(200);
  });

  it('a visitor signs up (errors shown at the field), verifies by the emailed link and logs in', async () => {
    await page.goto(`${PORTAL}/signup`);
    await expectAccessible(page, 'sign up');
    await page.getByLabel('First name').fill('Tariro');
    await page.getByLabel('Last name').fill('Moyo');
    await page.getByLabel('Email').fill(owner.email);
    await page.getByLabel('Password').fill('weak');
    await page.getByLabel('I accept the terms of service').check();
    await page.getByRole('button', { name: 'Sign up' }).click();
    // The envelope's VALIDATION_FAILED detail for `password` is shown under the password field.
    const passwordError = page.locator('label:has-text("Password") .field-error');
    await passwordError.waitFor();
    expect(await passwordError.textContent()).toMatch(/upper-case/);
    await screenshot(page, 'signup');

    const link = await signUpAndVerify(page, PORTAL, inbox, owner, 'Tariro');
    // The emailed link opens the portal.
    expect(link.startsWith(`${PORTAL}/verify-email?token=`)).toBe(true);
    await page.goto(`${PORTAL}/login`);
    await expectAccessible(page, 'log in');
    await page.getByLabel('Email').fill(owner.email);
    await page.getByLabel('Password').fill('Wrong-password-1!');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('label:has-text("Password") .field-error').waitFor();
    await screenshot(page, 'login');
    await logIn(page, PORTAL, owner);
    // The access token is in memory only; the refresh token is an HttpOnly cookie.
    expect(
      await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })),
    ).toBe('{}{}');
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'saasodoo_refresh')).toMatchObject({
      httpOnly: true,
      path: '/user/auth',
    });
  }, 120_000);

  it('creates a workspace from the empty dashboard', async () => {
    await expectAccessible(page, 'dashboard (empty)');
    await page.getByLabel('Workspace name').fill('Moyo Traders');
    await page.getByLabel('Workspace subdomain').fill(subdomain);
    await page.getByText('Available').waitFor();
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await page.getByRole('heading', { name: 'Moyo Traders' }).waitFor();
    expect(await page.getByText('Your role: owner').count()).toBe(1);
    expect(await page.getByText('Instances: 0 of').count()).toBe(1);
  }, 60_000);

  it('launches an instance with the wizard and sees it become running without a reload or polling (SSE)', async () => {
    await page.getByRole('button', { name: 'Launch an Odoo instance' }).click();
    await page.getByText('Step 1 of 3').waitFor();
    await expectAccessible(page, 'wizard: plan');
    await screenshot(page, 'wizard-plan');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Instance name').fill('Moyo ERP');
    await page.getByLabel('Subdomain').fill(`${subdomain}-erp`);
    await page.getByText(`${subdomain}-erp is available`).waitFor();
    await expectAccessible(page, 'wizard: details');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Launch' }).click();
    const password = page.getByTestId('admin-password');
    await password.waitFor();
    expect((await password.textContent())?.length).toBeGreaterThanOrEqual(12);
    await screenshot(page, 'wizard-done');

    // From here on: no navigation, and every re-read of the instance must follow a pushed event.
    const reads: Request[] = [];
    page.on('request', (r) => {
      if (/\/instance\/api\/v1\/instances(\/[0-9a-f-]{36})?(\?|$)/.test(r.url())) reads.push(r);
    });
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
    await page.getByRole('button', { name: /^Open Moyo ERP/ }).click();
    await page.waitForURL(/\/odoo\/[0-9a-f-]{36}$/);
    instanceId = /odoo\/([0-9a-f-]{36})/.exec(page.url())?.[1] ?? '';
    await headingStatus(page, 'running').waitFor({ timeout: 180_000 });
    const seenAt = Date.now();
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);

    // Within 2 s of the worker recording it (the status history's own time).
    const events = await adminQuery<{ to_status: string; created_at: Date }>(
      `SELECT to_status, created_at FROM instance_events WHERE instance_id = '${instanceId}' ORDER BY created_at`,
      `instance${SUFFIX}`,
    ).catch(() => [] as { to_status: string; created_at: Date }[]);
    const running = events.filter((e) => e.to_status === 'running').at(-1);
    if (running) {
      const lagMs = seenAt - new Date(running.created_at).getTime();
      process.stdout.write(`portal: status 'running' shown ${lagMs} ms after the worker recorded it\n`);
      expect(lagMs).toBeLessThanOrEqual(2000);
    }
    // No polling loop: the instance was read at most once per recorded status change (plus the first reads).
    expect(reads.length).toBeLessThanOrEqual(events.length + 4);
    await expectAccessible(page, 'instance overview');
    await screenshot(page, 'instance-overview');
  }, 240_000);

  it('stops and starts it, backs it up and restores it, every change shown live', async () => {
    await stopAndStart(page, PORTAL, instanceId);
    await backUpAndRestore(page, PORTAL, instanceId);
  }, 600_000);

  it('every main screen passes axe (no serious or critical violations) and is photographed', async () => {
    await openTab(page, PORTAL, instanceId, 'Logs');
    await page.getByLabel('Search the log').waitFor();
    await page.locator('pre.logs').or(page.getByText('The log is empty.')).first().waitFor();
    await expectAccessible(page, 'instance logs');
    await screenshot(page, 'instance-logs');
    await openTab(page, PORTAL, instanceId, 'Settings');
    await page.getByLabel('Name').fill('Moyo ERP live');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('heading', { name: /Moyo ERP live/ }).waitFor();
    await expectAccessible(page, 'instance settings');
    await screenshot(page, 'instance-settings');

    for (const [name, path, ready] of [
      ['dashboard', '/', page.locator(`[data-instance="${instanceId}"] [data-status="running"]`)],
      ['billing', '/payments', page.getByRole('heading', { name: 'Payment history' })],
      ['team', '/team', page.getByRole('button', { name: 'Invite' })],
      ['account', '/account', page.getByRole('button', { name: 'Save profile' })],
    ] as const) {
      await page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', {
          name: name === 'dashboard' ? 'Dashboard' : name[0].toUpperCase() + name.slice(1),
        })
        .click();
      await page.waitForURL(`${PORTAL}${path}`);
      await ready.waitFor();
      await page
        .locator('[aria-busy="true"]')
        .first()
        .waitFor({ state: 'detached' })
        .catch(() => undefined);
      await expectAccessible(page, name);
      await screenshot(page, name);
    }
  }, 120_000);

  it('works at 390 px: the dashboard and the instance page fit without sideways scrolling', async () => {
    const phone = await context.newPage();
    await phone.setViewportSize(MOBILE);
    for (const [name, path, ready] of [
      ['dashboard-mobile', '/', phone.locator(`[data-instance="${instanceId}"] [data-status="running"]`)],
      ['instance-mobile', `/odoo/${instanceId}`, headingStatus(phone, 'running')],
      ['billing-mobile', '/payments', phone.getByRole('heading', { name: 'Payment history' })],
    ] as const) {
      await phone.goto(`${PORTAL}${path}`);
      await ready.waitFor();
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        MOBILE.width,
      );
      await expectAccessible(phone, name);
      await screenshot(phone, name);
    }
    await phone.close();
  }, 120_000);

  it('the dashboard is interactive within 1.5 s of opening the portal (printed)', async () => {
    const figures: number[] = [];
    for (let i = 0; i < 3; i++) {
      const fresh = await context.newPage();
      await fresh.goto(`${PORTAL}/`);
      await fresh.locator('body[data-dashboard-ready="true"]').waitFor();
      figures.push(
        await fresh.evaluate(
          () => performance.getEntriesByName('dashboard-interactive')[0]?.startTime ?? Infinity,
        ),
      );
      await fresh.close();
    }
    const best = Math.min(...figures);
    process.stdout.write(
      `portal: dashboard time-to-interactive ${figures.map((f) => f.toFixed(0)).join(' / ')} ms (best ${best.toFixed(0)} ms, target <= 1500 ms)\n`,
    );
    expect(best).toBeLessThanOrEqual(1500);
  }, 60_000);

  it('a platform admin finds the tenant, sees its instances and the suspend control', async () => {
    const adminEmail = platform.printed('Admin');
    const adminPassword = /Admin\s+\S+\s+password: (\S+)/.exec(platform.output())?.[1];
    expect(adminPassword).toBeDefined();
    const adminContext = await browser.newContext({ viewport: DESKTOP });
    const adminPage = await adminContext.newPage();
    await logIn(adminPage, PORTAL, { email: adminEmail, password: adminPassword ?? '' });
    await adminPage.getByRole('link', { name: 'Admin' }).click();
    await adminPage.getByLabel('Search tenants').fill(subdomain);
    await adminPage.locator('summary', { hasText: 'Moyo Traders' }).click();
    await adminPage.getByRole('link', { name: 'Moyo ERP live' }).waitFor();
    await adminPage.getByLabel(/Reason to suspend Moyo Traders/).waitFor();
    await expectAccessible(adminPage, 'admin');
    await screenshot(adminPage, 'admin');
    await adminContext.close();
  }, 60_000);

  it("a second user opening the first user's instance URL sees not found; invited as a viewer, no write controls", async () => {
    const other = { email: uniqueEmail('portal-other'), password: strongPassword() };
    const otherContext = await browser.newContext({ viewport: DESKTOP });
    const otherPage = await otherContext.newPage();
    await signUpAndVerify(otherPage, PORTAL, inbox, other, 'Rudo');
    await logIn(otherPage, PORTAL, other);
    await otherPage.goto(`${PORTAL}/odoo/${instanceId}`);
    await otherPage.getByRole('heading', { name: 'Not found' }).waitFor();
    expect(await otherPage.getByText('Moyo ERP').count()).toBe(0);
    await screenshot(otherPage, 'instance-not-found');

    // Invited as a viewer, they see the instance but no write control.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Team' }).click();
    await page.getByLabel('Email').fill(other.email);
    await page.getByLabel('Role', { exact: true }).selectOption('viewer');
    await page.getByRole('button', { name: 'Invite' }).click();
    await page.getByRole('cell', { name: other.email, exact: true }).waitFor();
    await otherPage.reload();
    await headingStatus(otherPage, 'running').waitFor();
    await otherPage.getByRole('link', { name: 'Actions' }).click();
    await otherPage.getByText('Viewers cannot change instances').first().waitFor();
    for (const button of await otherPage.locator('.actions button').all())
      expect(await button.isDisabled()).toBe(true);
    await otherPage.getByRole('link', { name: 'Settings' }).click();
    await otherPage.getByText('Viewers cannot change settings.').waitFor();
    expect(await otherPage.getByRole('button', { name: 'Save settings' }).count()).toBe(0);
    await otherPage
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Dashboard' })
      .click();
    await otherPage.getByText('Your role: viewer').waitFor();
    expect(await otherPage.getByRole('button', { name: 'Launch an Odoo instance' }).count()).toBe(0);
    await otherContext.close();
  }, 120_000);

  it('an admin suspends the tenant and the owner sees the instance suspended live; activated, it runs again', async () => {
    const adminEmail = platform.printed('Admin');
    const adminPassword = /Admin\s+\S+\s+password: (\S+)/.exec(platform.output())?.[1] ?? '';
    const adminContext = await browser.newContext({ viewport: DESKTOP });
    const adminPage = await adminContext.newPage();
    await logIn(adminPage, PORTAL, { email: adminEmail, password: adminPassword });
    await page.goto(`${PORTAL}/odoo/${instanceId}`);
    await headingStatus(page, 'running').waitFor();

    await adminPage.getByRole('link', { name: 'Admin' }).click();
    await adminPage.getByLabel('Search tenants').fill(subdomain);
    await adminPage.locator('summary', { hasText: 'Moyo Traders' }).click();
    await adminPage.getByLabel('Reason to suspend Moyo Traders').fill('Chargeback on the last invoice');
    await adminPage.getByRole('button', { name: 'Suspend tenant' }).click();
    // The owner's page follows without a reload (the event stream).
    await headingStatus(page, 'suspended').waitFor({ timeout: 60_000 });
    const [row] = await adminQuery<{ status: string; desired_state: string }>(
      `SELECT status, desired_state FROM instances WHERE id = '${instanceId}'`,
      `instance${SUFFIX}`,
    );
    expect(row).toEqual({ status: 'suspended', desired_state: 'suspended' });

    await adminPage.getByLabel('Reason to activate Moyo Traders').fill('Settled by bank transfer');
    await adminPage.getByRole('button', { name: 'Activate tenant' }).click();
    await headingStatus(page, 'running').waitFor({ timeout: 60_000 });
    await adminContext.close();
  }, 150_000);

  it('changes the password on the account page: the other session is logged out, the new password works', async () => {
    const otherContext = await browser.newContext({ viewport: DESKTOP });
    const otherPage = await otherContext.newPage();
    await logIn(otherPage, PORTAL, owner);

    await page.goto(`${PORTAL}/account`);
    await page.getByLabel('Current password').fill('not-the-password-1A!');
    await page.getByLabel('New password').fill(strongPassword());
    await page.getByRole('button', { name: 'Change password' }).click();
    // A wrong current password is refused and changes nothing.
    await page.locator('[role="alert"], .field-error').first().waitFor();
    expect(await page.getByText('Password changed').count()).toBe(0);

    const changed = strongPassword();
    await page.getByLabel('Current password').fill(owner.password);
    await page.getByLabel('New password').fill(changed);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed; your other sessions are logged out.').waitFor();
    owner.password = changed;

    // The other browser's session is gone: its next page asks to log in.
    await otherPage.goto(`${PORTAL}/payments`);
    await otherPage.getByRole('heading', { name: 'Log in' }).waitFor();
    await otherContext.close();
    // This one still works, and the new password logs in elsewhere.
    await page.goto(`${PORTAL}/`);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    const fresh = await browser.newContext({ viewport: DESKTOP });
    await logIn(await fresh.newPage(), PORTAL, owner);
    await fresh.close();
  }, 90_000);

  it('logs out: the session cookie is gone and a reload asks to log in again', async () => {
    await page.goto(`${PORTAL}/`);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    expect((await context.cookies()).find((c) => c.name === 'saasodoo_refresh')).toBeUndefined();
    await page.goto(`${PORTAL}/payments`);
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    expect(page.url()).toContain('/login?next=');
  }, 60_000);

  it('forgot password: the emailed link opens the portal, the new password logs in', async () => {
    await page.goto(`${PORTAL}/login`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    // The screen is loaded on demand: until it shows, 'Email' is still the login form's field.
    await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
    await page.getByLabel('Email').fill(owner.email);
    await page.getByRole('button', { name: 'Email me a reset link' }).click();
    await page.getByText('a reset link is on its way').waitFor();
    const link = linkInMail(await inbox.waitFor(owner.email, /reset your .* password/i), '/reset-password');
    expect(link.url.startsWith(`${PORTAL}/reset-password?token=`)).toBe(true);
    await page.goto(link.url);
    await page.getByLabel('New password').fill('short');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.locator('label:has-text("New password") .field-error').waitFor();
    await expectAccessible(page, 'reset password');
    await screenshot(page, 'reset-password');
    owner.password = strongPassword();
    await page.getByLabel('New password').fill(owner.password);
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('Your password is changed.').waitFor();
    await logIn(page, PORTAL, owner);
  }, 60_000);

  it('resizes the instance within its plan: over the ceiling is refused at the field, within it reaches the container', async () => {
    await page.goto(`${PORTAL}/odoo/${instanceId}/settings`);
    const cpus = page.getByLabel('CPUs');
    await cpus.waitFor();
    const limits = () =>
      JSON.parse(
        execFileSync('docker', [
          'inspect',
          '--format',
          '{{json .HostConfig}}',
          execFileSync('docker', ['ps', '-q', '--filter', `label=saasodoo.instance.id=${instanceId}`])
            .toString()
            .trim(),
        ]).toString(),
      ) as { NanoCpus: number; Memory: number };
    const before = limits();

    // The browser keeps CPUs within the plan (the field's max) and does not send the form.
    await cpus.fill('64');
    await page.getByRole('button', { name: 'Save settings' }).click();
    expect(await cpus.evaluate((el: HTMLInputElement) => el.validity.rangeOverflow)).toBe(true);
    // Memory has no such bound in the page: the API refuses it, shown at the field, and nothing changes.
    await cpus.fill(String(before.NanoCpus / 1e9));
    await page.getByLabel('Memory (e.g. 2G)').fill('512G');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.locator('label:has-text("Memory") .field-error').waitFor();
    expect(await page.getByText('Saved.').count()).toBe(0);
    expect(limits()).toMatchObject({ NanoCpus: before.NanoCpus, Memory: before.Memory });

    await cpus.fill('0.5');
    await page.getByLabel('Memory (e.g. 2G)').fill('1G');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Saved.').waitFor();
    await waitFor(
      'the new limits on the container',
      async () => {
        const now = limits();
        return now.NanoCpus === 500_000_000 && now.Memory === 1024 ** 3;
      },
      60_000,
    );
    await page
      .getByRole('navigation', { name: 'Instance sections' })
      .getByRole('link', { name: 'Overview' })
      .click();
    await page.getByText('0.5 CPU · 1G memory').waitFor();
  }, 90_000);

  it('logs out everywhere: the sessions in every browser end', async () => {
    const otherContext = await browser.newContext({ viewport: MOBILE });
    const otherPage = await otherContext.newPage();
    await logIn(otherPage, PORTAL, owner);
    await page.goto(`${PORTAL}/account`);
    await page.getByRole('button', { name: 'Log out everywhere' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    expect((await context.cookies()).find((c) => c.name === 'saasodoo_refresh')).toBeUndefined();
    // The phone's session is gone too: its next page asks to log in.
    await otherPage.goto(`${PORTAL}/payments`);
    await otherPage.getByRole('heading', { name: 'Log in' }).waitFor();
    await otherContext.close();
  }, 60_000);

  it('deletes the account: a wrong password changes nothing; confirmed, the instances are terminated and the login is refused', async () => {
    await logIn(page, PORTAL, owner);
    await page.goto(`${PORTAL}/account`);
    const danger = page.getByRole('region', { name: 'Delete account' });
    await danger.getByLabel('Your password').fill('not-the-password-1A!');
    await danger.getByRole('button', { name: 'Delete my account' }).click();
    const dialog = page.getByRole('dialog');
    // The confirm button waits for the word to be typed.
    expect(await dialog.getByRole('button', { name: 'Delete account' }).isDisabled()).toBe(true);
    await dialog.getByLabel('Type DELETE to confirm').fill('DELETE');
    await dialog.getByRole('button', { name: 'Delete account' }).click();
    await danger.locator('[role="alert"], .field-error').first().waitFor();
    const statusNow = async () =>
      (
        await adminQuery<{ status: string }>(
          `SELECT status FROM instances WHERE id = '${instanceId}'`,
          `instance${SUFFIX}`,
        )
      )[0]?.status;
    expect(await statusNow()).toBe('running');

    await danger.getByLabel('Your password').fill(owner.password);
    await danger.getByRole('button', { name: 'Delete my account' }).click();
    await expectAccessible(page, 'delete account');
    await dialog.getByLabel('Type DELETE to confirm').fill('DELETE');
    await dialog.getByRole('button', { name: 'Delete account' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await waitFor(
      "the deleted owner's instance to be terminated",
      async () => (await statusNow()) === 'terminated',
      120_000,
    );
    await page.getByLabel('Email').fill(owner.email);
    await page.getByLabel('Password').fill(owner.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('[role="alert"], .field-error').first().waitFor();
    expect(page.url()).toContain('/login');
  }, 180_000);
});
