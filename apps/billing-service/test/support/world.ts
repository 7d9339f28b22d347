/**
 * A whole test world for billing: the Kill Bill emulator (test double), billing-service listening behind its
 * callback proxy, the STAND-IN for the other services' internal APIs, and an SMTP sink.
 */
import { randomUUID } from 'node:crypto';
import { SmtpSink } from '@app/testing';
import {
  KillBillEmulator,
  type KillBillEmulatorOptions,
} from '../../../../libs/testing/src/killbill-emulator';
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

export const RETRIES = [20, 40, 80, 160, 320];

export interface World {
  kb: KillBillEmulator;
  kbClient: KillBillClient;
  billing: BillingUnderTest;
  services: InternalApiStandIn;
  smtp: SmtpSink;
}

export async function startWorld(
  options: KillBillEmulatorOptions,
  billingOverrides: Record<string, string> = {},
): Promise<World> {
  await resetBillingDatabase();
  const kb = new KillBillEmulator({
    clockMode: 'frozen',
    initialTime: '2025-03-01T10:00:00Z',
    retrySchedule: RETRIES,
    ...options,
  });
  await kb.start();
  const services = new InternalApiStandIn(process.env.INTERNAL_API_TOKEN ?? '');
  await services.start();
  const smtp = new SmtpSink();
  await smtp.start();
  const callbackPort = await freePort();
  const billing = await startBilling(
    billingEnv({
      killbillUrl: kb.url,
      servicesUrl: services.url,
      smtpPort: smtp.port,
      callbackPort,
      overrides: billingOverrides,
    }),
    callbackPort,
  );
  await waitFor(
    async () => (await billing.harness.request({ method: 'GET', url: '/health/ready' })).statusCode === 200,
    'billing ready',
  );
  return { kb, kbClient: tenantClient(kb), billing, services, smtp };
}

export async function stopWorld(world: World | undefined): Promise<void> {
  if (!world) return;
  world.kbClient.close();
  await world.billing.close();
  await world.kb.stop();
  await world.services.stop();
  await world.smtp.stop();
}

export interface Customer {
  tenantId: string;
  customerId: string;
  email: string;
}

export function newCustomer(world: World): Customer {
  const tenantId = randomUUID();
  const customerId = randomUUID();
  world.services.addMember(customerId, tenantId);
  const user = world.services.addUser({ id: customerId });
  return { tenantId, customerId, email: user.email };
}

export async function subscribe(world: World, customer: Customer, planName: string) {
  const instance = world.services.addInstance(customer.tenantId);
  const res = await world.billing.harness.request({
    method: 'POST',
    url: '/internal/subscriptions',
    headers: internalHeaders(),
    payload: {
      tenant_id: customer.tenantId,
      instance_id: instance.id,
      customer_id: customer.customerId,
      plan_name: planName,
    },
  });
  if (res.statusCode !== 201) throw new Error(`subscription not created: ${res.statusCode} ${res.body}`);
  return { instance, subscriptionId: res.json<{ subscription_id: string }>().subscription_id };
}

export async function payAll(world: World, customer: Customer): Promise<void> {
  const account = await world.kbClient.findAccountByExternalKey(customer.tenantId);
  if (!account) throw new Error('no account');
  for (const invoice of await world.kbClient.getAccountInvoices(account.accountId)) {
    if ((invoice.balance ?? 0) > 0) {
      await world.kbClient.createExternalPayment(invoice.invoiceId, {
        accountId: account.accountId,
        amount: invoice.balance ?? undefined,
        paymentExternalKey: `pay-${invoice.invoiceId}`,
      });
    }
  }
}
