import type { Browser, Page } from 'playwright-core';
import {
  adminQuery,
  adminSql,
  HostPlatform,
  MailInbox,
  removeInstanceResources,
  strongPassword,
  uniqueEmail,
} from '@app/testing';
import { KillBillEmulator } from '../../libs/testing/src/killbill-emulator';
import { PaynowEmulator } from '../../libs/testing/src/paynow-emulator';
import { launchChromium, screenshot, waitForFreePorts } from './browser';
import { expectAccessible, headingStatus, logIn, signUpAndVerify } from './steps';

/**
 * Issue #13: a customer whose trial ended unpaid (Kill Bill blocks the account, the instance is suspended) pays
 * the overdue invoice by EcoCash in the portal and watches it resume. The real platform in host mode, billing on
 * the Kill Bill emulator (frozen clock, moved by hand) and PayNow on its emulator (test mode, clock by hand).
 */
const OFFSET = 19000; // every port below 32768, out of the range the OS hands out to client sockets
const PORTAL = `http://127.0.0.1:${3000 + OFFSET}`;
const BILLING = `http://127.0.0.1:${8004 + OFFSET}`;
const SUFFIX = `${process.env.TEST_DB_SUFFIX ?? '_test'}_portalpay`;
const DATABASES = ['auth', 'tenant', 'instance', 'billing'].map((d) => `${d}${SUFFIX}`);
const kb = new KillBillEmulator({ clockMode: 'frozen', initialTime: '2025-03-01T10:00:00Z' });
const paynow = new PaynowEmulator({ timeScale: 0 });
let platform: HostPlatform;
let browser: Browser;
let page: Page;
const owner = { email: uniqueEmail('portal-payer'), password: strongPassword() };
const subdomain = `pp${Date.now().toString(36)}`;

async function dropDatabases(): Promise<void> {
  for (const name of DATABASES) await adminSql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

describe('portal: pay an overdue invoice by EcoCash and see the instance resume (issue #13)', () => {
  beforeAll(async () => {
    await dropDatabases();
    await waitForFreePorts(OFFSET);
    await kb.start();
    await paynow.start();
    platform = new HostPlatform({
      portOffset: OFFSET,
      readyTimeoutMs: 300_000,
      env: {
        DB_NAME_SUFFIX: SUFFIX,
        BILLING_PROVIDER: 'killbill',
        KILLBILL_URL: kb.url,
        KILLBILL_BOOTSTRAP_RETRY_MIN_MS: '100',
        KILLBILL_BOOTSTRAP_RETRY_MAX_MS: '400',
        BILLING_INBOX_POLL_MS: '100',
        BILLING_RECHECK_INTERVAL_SECONDS: '1',
        PAYMENT_GATEWAY: 'paynow',
        PAYNOW_URL: paynow.url,
        PAYNOW_INTEGRATION_ID: paynow.integrationId,
        PAYNOW_INTEGRATION_KEY: paynow.integrationKey,
        PAYNOW_MERCHANT_EMAIL: paynow.merchantEmail,
        PAYNOW_TEST_MODE: 'true',
        PAYNOW_RESULT_URL: `${BILLING}/api/billing/webhooks/paynow`,
        PAYMENT_POLL_MIN_MS: '300',
        PAYMENT_POLL_MAX_MS: '1000',
        PAYMENT_WORK_POLL_MS: '100',
      },
    });
    await platform.start();
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  }, 360_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await platform?.stop('SIGINT');
    const instances = await adminQuery<{ id: string; database_name: string; tenant_id: string }>(
      `SELECT id, database_name, tenant_id FROM instances`,
      `instance${SUFFIX}`,
    ).catch(() => []);
    await removeInstanceResources(instances, [...new Set(instances.map((i) => i.tenant_id))]);
    await platform?.dispose();
    await paynow.stop();
    await kb.stop();
    await dropDatabases();
  }, 180_000);

  it('on a phone: trial instance, trial ends unpaid, suspended; pays by EcoCash; live back to running', async () => {
    const inbox = new MailInbox(platform.printed('Mail inbox'));
    await signUpAndVerify(page, PORTAL, inbox, owner, 'Chipo');
    await logIn(page, PORTAL, owner);
    await page.getByLabel('Workspace name').fill('Chipo Foods');
    await page.getByLabel('Workspace subdomain').fill(subdomain);
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await page.getByRole('button', { name: 'Launch an Odoo instance' }).click();
    await page.getByLabel(/basic-monthly/).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Instance name').fill('Chipo ERP');
    await page.getByLabel('Subdomain').fill(`${subdomain}-erp`);
    await page.getByText(`${subdomain}-erp is available`).waitFor();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel(/Start the free trial/).check();
    await page.getByRole('button', { name: 'Launch' }).click();
    await page.getByRole('button', { name: /^Open Chipo ERP/ }).click();
    await headingStatus(page, 'running').waitFor({ timeout: 180_000 });

    // 28 days later: the trial ended, the invoice is unpaid, Kill Bill blocks the account.
    kb.advance(28);
    await headingStatus(page, 'suspended').waitFor({ timeout: 120_000 });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    const banner = page.getByRole('region', { name: 'Billing notices' });
    await banner
      .getByText(/overdue|non-payment|due/)
      .first()
      .waitFor({ timeout: 30_000 });
    await screenshot(page, 'dashboard-overdue-mobile');
    await banner.getByRole('link', { name: 'Go to billing' }).first().click();
    await page.getByRole('heading', { name: 'Invoices' }).waitFor();
    await page
      .locator('[aria-busy="true"]')
      .first()
      .waitFor({ state: 'detached' })
      .catch(() => undefined);
    await expectAccessible(page, 'billing (overdue)');
    await screenshot(page, 'billing-overdue-mobile');
    await page
      .getByRole('button', { name: /^Pay invoice/ })
      .first()
      .click();
    await page.getByLabel('EcoCash').check();
    await page.getByLabel('Mobile number').fill('0771111111');
    await expectAccessible(page, 'pay');
    await screenshot(page, 'pay-mobile');
    await page.getByRole('button', { name: 'Send the payment request' }).click();
    const errors = page.locator('.error-note, .field-error');
    await page.getByText('this page updates by itself').or(errors).first().waitFor();
    expect(await errors.allTextContents()).toEqual([]);
    await page.locator('[data-status="pending"]').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expectAccessible(page, 'payment pending');
    await screenshot(page, 'payment-pending-mobile');

    // The customer approves on the phone: PayNow reports paid; the page follows without a reload.
    const marker = await page.evaluate(() => ((window as unknown as { marker: number }).marker = Date.now()));
    paynow.advance(5_000);
    await page.locator('h1 [data-status="paid"]').waitFor({ timeout: 60_000 });
    await screenshot(page, 'payment-paid-mobile');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(marker);
    await page.getByRole('link', { name: 'Back to the dashboard' }).click();
    await page.locator('[data-instance] [data-status="running"]').waitFor({ timeout: 120_000 });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing' }).click();
    await page.getByRole('heading', { name: 'Payment history' }).waitFor();
    await page.locator('table [data-status="paid"]').first().waitFor();
    await expectAccessible(page, 'billing after payment');
    await screenshot(page, 'billing-paid-mobile');
  }, 600_000);

  it("pays the next month's invoice by card on PayNow's page and lands back in the portal, paid", async () => {
    kb.advanceBy({ months: 1 });
    // The new invoice appears in the list (re-read on reload; nothing pushes invoices to the page).
    const payNext = page.getByRole('button', { name: /^Pay invoice/ }).first();
    for (let tries = 0; !(await payNext.isVisible()); tries++) {
      if (tries > 60) throw new Error('no new unpaid invoice after a month');
      await page.waitForTimeout(500);
      await page.reload();
      await page.getByRole('heading', { name: 'Invoices' }).waitFor();
    }
    await payNext.click();
    await page.getByLabel(/^Card/).check();
    expect(await page.getByLabel('Mobile number').count()).toBe(0);
    await page.getByRole('button', { name: 'Continue to card payment' }).click();
    // PayNow's own page (the emulator's), where the card is entered; the customer pays.
    await page.waitForURL((url) => url.href.startsWith(`${paynow.url}/Payment/ConfirmPayment/`));
    await page.getByRole('button', { name: 'Pay', exact: true }).click();
    // PayNow sends the browser back to the portal (PAYNOW_RETURN_URL): the page of this payment, still logged in,
    // which follows it until paid.
    await page.waitForURL(/\/payments\/[0-9a-f-]{36}$/);
    expect(page.url().startsWith(`${PORTAL}/payments/`)).toBe(true);
    await page.locator('h1 [data-status="paid"]').waitFor({ timeout: 60_000 });
    expect(await page.getByText(/by card/).count()).toBe(1);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing' }).click();
    await page.getByRole('heading', { name: 'Payment history' }).waitFor();
    await page
      .getByRole('row', { name: /card/ })
      .locator('[data-status="paid"]')
      .waitFor({ timeout: 60_000 });
    await page.getByRole('heading', { name: 'Invoices' }).waitFor();
    await page.locator('[data-invoice]').first().waitFor();
    expect(await page.getByRole('button', { name: /^Pay invoice/ }).count()).toBe(0);
    // Kill Bill recorded it once, as an external payment keyed by our payment id.
    const recorded = kb
      .requestLog()
      .filter((r) => r.method === 'POST' && /\/1\.0\/kb\/invoices\/[^/]+\/payments$/.test(r.path));
    expect(recorded).toHaveLength(2); // the EcoCash one before, and this one
  }, 300_000);

  it('cancels the subscription at the end of the term, then keeps it (both reach Kill Bill and survive a reload)', async () => {
    const subscriptions = page.getByRole('region', { name: 'Subscriptions' });
    await subscriptions.getByRole('button', { name: 'Cancel at end of term' }).click();
    await expectAccessible(page, 'cancel subscription');
    await page.getByRole('button', { name: 'Cancel subscription' }).click();
    await subscriptions.getByRole('button', { name: 'Keep it' }).waitFor();
    expect(await subscriptions.getByText(/^Ends /).count()).toBe(1);
    await page.reload();
    await subscriptions.getByRole('button', { name: 'Keep it' }).waitFor();
    const kbCalls = () =>
      kb
        .requestLog()
        .filter((r) => /\/1\.0\/kb\/subscriptions\/[^/]+(\/uncancel)?$/.test(r.path) && r.method !== 'GET')
        .map((r) => `${r.method} ${r.path.endsWith('/uncancel') ? 'uncancel' : 'subscription'} ${r.status}`);
    expect(kbCalls()).toEqual(['DELETE subscription 204']);

    await subscriptions.getByRole('button', { name: 'Keep it' }).click();
    await subscriptions.getByRole('button', { name: 'Cancel at end of term' }).waitFor();
    await page.reload();
    await subscriptions.getByRole('button', { name: 'Cancel at end of term' }).waitFor();
    expect(kbCalls()).toEqual(['DELETE subscription 204', 'PUT uncancel 204']);
    await screenshot(page, 'billing-subscription-kept-mobile');
  }, 180_000);
});
