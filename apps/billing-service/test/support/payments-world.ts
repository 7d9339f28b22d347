/**
 * A test world for payments: the real user-service (real access tokens, contact cards for mail), billing-service
 * with PAYMENT_GATEWAY=paynow, the Kill Bill emulator and the PayNow emulator (test doubles), the STAND-IN for
 * tenant- and instance-service, and an SMTP sink. PayNow posts its results through billing's callback proxy.
 */
import { randomUUID } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import {
  createAdmin,
  createVerifiedCustomer,
  ServiceHarness,
  SmtpSink,
  startService,
  TestCustomer,
  userServiceTestEnv,
} from '@app/testing';
import { KillBillEmulator } from '../../../../libs/testing/src/killbill-emulator';
import { PaynowEmulator } from '../../../../libs/testing/src/paynow-emulator';
import { AdminAccountsService } from '../../../user-service/src/admin/admin-accounts.service';
import { AppModule as UserServiceModule } from '../../../user-service/src/app.module';
import { PAYNOW_RESULT_PATH } from '../../src/config/env';
import { KillBillClient } from '../../src/killbill/killbill.client';
import {
  billingEnv,
  BillingUnderTest,
  freePort,
  internalHeaders,
  resetBillingDatabase,
  startBilling,
  waitFor,
} from './billing-harness';
import { tenantClient } from './flow-helpers';
import { InternalApiStandIn } from './internal-api-stand-in';

export interface PaymentsWorld {
  kb: KillBillEmulator;
  kbClient: KillBillClient;
  paynow: PaynowEmulator;
  billing: BillingUnderTest;
  users: ServiceHarness;
  services: InternalApiStandIn;
  smtp: SmtpSink;
  admin: TestCustomer;
  env: Record<string, string>;
}

/** The env billing runs with in a payments world (also used to spawn it as a process). */
export function paymentsEnv(
  kbUrl: string,
  paynow: PaynowEmulator,
  servicesUrl: string,
  usersUrl: string,
  smtpPort: number,
  callbackPort: number,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return billingEnv({
    killbillUrl: kbUrl,
    servicesUrl,
    userServiceUrl: usersUrl,
    smtpPort,
    callbackPort,
    overrides: {
      PAYMENT_GATEWAY: 'paynow',
      PAYNOW_URL: paynow.url,
      PAYNOW_INTEGRATION_ID: paynow.integrationId,
      PAYNOW_INTEGRATION_KEY: paynow.integrationKey,
      PAYNOW_MERCHANT_EMAIL: paynow.merchantEmail,
      PAYNOW_TEST_MODE: 'true',
      PAYNOW_RESULT_URL: `http://127.0.0.1:${callbackPort}${PAYNOW_RESULT_PATH}`,
      PAYNOW_RETURN_URL: 'http://app.saasodoo.test/payments',
      PAYMENT_POLL_MIN_MS: '300',
      PAYMENT_POLL_MAX_MS: '1000',
      PAYMENT_WORK_POLL_MS: '100',
      BILLING_RECHECK_INTERVAL_SECONDS: '1',
      ...overrides,
    },
  });
}

export async function startPaymentsWorld(overrides: Record<string, string> = {}): Promise<PaymentsWorld> {
  await resetBillingDatabase();
  const smtp = new SmtpSink();
  await smtp.start();
  const users = await startService(UserServiceModule, 'user-service', userServiceTestEnv(smtp));
  await users.app.listen(0, '127.0.0.1');
  const address = users.app.getHttpServer().address();
  const usersUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const kb = new KillBillEmulator({
    clockMode: 'frozen',
    initialTime: '2025-03-01T10:00:00Z',
    retrySchedule: [20, 40, 80],
  });
  await kb.start();
  const paynow = new PaynowEmulator({ timeScale: 0, retrySchedule: [50, 100, 200, 400, 800, 1600] });
  await paynow.start();
  const services = new InternalApiStandIn(process.env.INTERNAL_API_TOKEN ?? '');
  await services.start();
  const callbackPort = await freePort();
  const env = paymentsEnv(kb.url, paynow, services.url, usersUrl, smtp.port, callbackPort, overrides);
  const billing = await startBilling(env, callbackPort);
  await waitFor(
    async () => (await billing.harness.request({ method: 'GET', url: '/health/ready' })).statusCode === 200,
    'billing ready',
  );
  const admin = await createAdmin(users, (email, password) =>
    users.app.get(AdminAccountsService).createAdmin(email, { password }),
  );
  return { kb, kbClient: tenantClient(kb), paynow, billing, users, services, smtp, admin, env };
}

export async function stopPaymentsWorld(world: PaymentsWorld | undefined): Promise<void> {
  if (!world) return;
  world.kbClient.close();
  await world.billing.close();
  await world.users.close();
  await world.paynow.stop();
  await world.kb.stop();
  await world.services.stop();
  await world.smtp.stop();
}

export async function newPayer(
  world: PaymentsWorld,
  role: 'owner' | 'viewer' = 'owner',
  tenantId = randomUUID(),
) {
  const customer = await createVerifiedCustomer(world.users, world.smtp);
  world.services.addMember(customer.id, tenantId, role);
  return { customer, tenantId };
}

export function as(world: PaymentsWorld, customer: TestCustomer | null, options: InjectOptions) {
  return world.billing.harness.request({
    ...options,
    headers: {
      ...(options.headers ?? {}),
      ...(customer ? { authorization: `Bearer ${customer.access_token}` } : {}),
    },
  });
}

/** An instance of the tenant subscribed to `planName` through the internal route (as instance-service does). */
export async function subscribeInstance(
  world: PaymentsWorld,
  tenantId: string,
  customerId: string,
  planName: string,
) {
  const instance = world.services.addInstance(tenantId);
  const res = await world.billing.harness.request({
    method: 'POST',
    url: '/internal/subscriptions',
    headers: internalHeaders(),
    payload: { tenant_id: tenantId, instance_id: instance.id, customer_id: customerId, plan_name: planName },
  });
  if (res.statusCode !== 201) throw new Error(`subscription not created: ${res.statusCode} ${res.body}`);
  return { instance, subscriptionId: res.json<{ subscription_id: string }>().subscription_id };
}

/** The tenant's unpaid invoice (the newest with a balance), read from Kill Bill. */
export async function unpaidInvoice(
  world: PaymentsWorld,
  tenantId: string,
): Promise<{ id: string; balance: number }> {
  const account = await world.kbClient.findAccountByExternalKey(tenantId);
  if (!account) throw new Error('no Kill Bill account');
  const unpaid = (await world.kbClient.getAccountInvoices(account.accountId)).filter(
    (i) => (i.balance ?? 0) > 0,
  );
  const invoice = unpaid[unpaid.length - 1];
  if (!invoice) throw new Error('no unpaid invoice');
  return { id: invoice.invoiceId, balance: invoice.balance ?? 0 };
}

export async function kbPaymentsOf(world: PaymentsWorld, invoiceId: string) {
  return world.kbClient.getInvoicePayments(invoiceId);
}

export interface PaymentBody {
  id: string;
  invoice_id: string;
  amount: number;
  currency: string;
  method: string;
  status: string;
  instructions?: string;
  redirect_url?: string;
  recorded: boolean;
  created_at: string;
}

export async function paymentOf(
  world: PaymentsWorld,
  customer: TestCustomer,
  id: string,
): Promise<PaymentBody> {
  return (
    await as(world, customer, { method: 'GET', url: `/api/billing/payments/${id}` })
  ).json<PaymentBody>();
}
