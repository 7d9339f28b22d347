/**
 * The billing HTTP API with real access tokens (the real user-service issues them and serves the contact
 * cards billing mails to), Kill Bill = emulator (test double), tenant- and instance-service = the recorded
 * STAND-IN (support/internal-api-stand-in.ts).
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
import { KillBillEmulator } from '../../../libs/testing/src/killbill-emulator';
import { AdminAccountsService } from '../../user-service/src/admin/admin-accounts.service';
import { AppModule as UserServiceModule } from '../../user-service/src/app.module';
import {
  billingEnv,
  BillingUnderTest,
  freePort,
  internalHeaders,
  resetBillingDatabase,
  startBilling,
  waitFor,
} from './support/billing-harness';
import { settle } from './support/flow-helpers';
import { InternalApiStandIn } from './support/internal-api-stand-in';

interface SubscriptionBody {
  id: string;
  instance_id: string;
  tenant_id: string;
  plan_name: string;
  pending_plan_name: string | null;
  phase: string | null;
  state: string;
  entitlement: string;
  entitled: boolean;
  trial_ends_at: string | null;
  cancel_requested: boolean;
  cancels_at: string | null;
}

describe('billing API', () => {
  const smtp = new SmtpSink();
  const kb = new KillBillEmulator({ clockMode: 'frozen', initialTime: '2025-03-01T10:00:00Z' });
  const services = new InternalApiStandIn(process.env.INTERNAL_API_TOKEN ?? '');
  let users: ServiceHarness;
  let billing: BillingUnderTest;
  let alice: TestCustomer;
  let bob: TestCustomer;
  let viewer: TestCustomer;
  let admin: TestCustomer;
  const aliceTenant = randomUUID();
  const bobTenant = randomUUID();

  const as = (customer: TestCustomer | null, options: InjectOptions) =>
    billing.harness.request({
      ...options,
      headers: {
        ...(options.headers ?? {}),
        ...(customer ? { authorization: `Bearer ${customer.access_token}` } : {}),
      },
    });
  const internal = (options: InjectOptions) =>
    billing.harness.request({ ...options, headers: { ...(options.headers ?? {}), ...internalHeaders() } });
  const subscribeInternal = (tenantId: string, customerId: string, planName: string, extra: object = {}) => {
    const instance = services.addInstance(tenantId);
    return internal({
      method: 'POST',
      url: '/internal/subscriptions',
      payload: {
        tenant_id: tenantId,
        instance_id: instance.id,
        customer_id: customerId,
        plan_name: planName,
        ...extra,
      },
    }).then((res) => ({ res, instance }));
  };

  beforeAll(async () => {
    await resetBillingDatabase();
    await smtp.start();
    users = await startService(UserServiceModule, 'user-service', userServiceTestEnv(smtp));
    await users.app.listen(0, '127.0.0.1');
    const address = users.app.getHttpServer().address();
    const usersUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    await kb.start();
    await services.start();
    const callbackPort = await freePort();
    billing = await startBilling(
      billingEnv({
        killbillUrl: kb.url,
        servicesUrl: services.url,
        userServiceUrl: usersUrl,
        smtpPort: smtp.port,
        callbackPort,
      }),
      callbackPort,
    );
    [alice, bob, viewer] = await Promise.all([
      createVerifiedCustomer(users, smtp),
      createVerifiedCustomer(users, smtp),
      createVerifiedCustomer(users, smtp),
    ]);
    admin = await createAdmin(users, (email, password) =>
      users.app.get(AdminAccountsService).createAdmin(email, { password }),
    );
    services.addMember(alice.id, aliceTenant, 'owner');
    services.addMember(viewer.id, aliceTenant, 'viewer');
    services.addMember(bob.id, bobTenant, 'owner');
    await waitFor(
      async () => (await billing.harness.request({ method: 'GET', url: '/health/ready' })).statusCode === 200,
      'billing ready',
    );
  });
  afterAll(async () => {
    await billing?.close();
    await users?.close();
    await services.stop();
    await kb.stop();
    await smtp.stop();
  });

  describe('plans', () => {
    it('lists the catalog with trial, price and entitlements, without authentication', async () => {
      const res = await billing.harness.request({ method: 'GET', url: '/api/billing/plans' });
      expect(res.statusCode).toBe(200);
      const { plans, total } = res.json<{ plans: { name: string }[]; total: number }>();
      expect(total).toBe(5);
      expect(plans.map((p) => p.name)).toEqual([
        'basic-monthly',
        'basic-test-trial',
        'standard-monthly',
        'premium-monthly',
        'basic-immediate',
      ]);
      expect(plans[0]).toEqual({
        name: 'basic-monthly',
        product: 'Basic',
        billing_period: 'MONTHLY',
        price: 5,
        currency: 'USD',
        trial_length: 14,
        trial_time_unit: 'DAYS',
        entitlements: { cpu_limit: 1, memory_limit: '2G', storage_limit: '10G' },
      });
      expect(plans[1]).toMatchObject({ name: 'basic-test-trial', trial_length: 1 });
      expect(plans[4]).toMatchObject({ name: 'basic-immediate', trial_length: 0, price: 5 });
    });

    it('serves plan entitlements to other services only', async () => {
      const res = await internal({ method: 'GET', url: '/internal/plans/premium-monthly/entitlements' });
      expect(res.json()).toEqual({ cpu_limit: 4, memory_limit: '8G', storage_limit: '50G' });
      expect(
        (await internal({ method: 'GET', url: '/internal/plans/gold/entitlements' })).json(),
      ).toMatchObject({
        statusCode: 404,
        code: 'UNKNOWN_PLAN',
      });
      const asCustomer = await as(alice, {
        method: 'GET',
        url: '/internal/plans/premium-monthly/entitlements',
      });
      expect(asCustomer.statusCode).toBe(401);
    });
  });

  describe('POST /internal/subscriptions', () => {
    it('accepts only the service credential and validates the body', async () => {
      const body = {
        tenant_id: aliceTenant,
        instance_id: randomUUID(),
        customer_id: alice.id,
        plan_name: 'basic-monthly',
      };
      expect(
        (await billing.harness.request({ method: 'POST', url: '/internal/subscriptions', payload: body }))
          .statusCode,
      ).toBe(401);
      expect(
        (await as(alice, { method: 'POST', url: '/internal/subscriptions', payload: body })).statusCode,
      ).toBe(401);
      const unknownField = await internal({
        method: 'POST',
        url: '/internal/subscriptions',
        payload: { ...body, price: 0 },
      });
      expect(unknownField.json()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
      const badPlan = await internal({
        method: 'POST',
        url: '/internal/subscriptions',
        payload: { ...body, plan_name: 'gold' },
      });
      expect(badPlan.json()).toMatchObject({ statusCode: 400, code: 'UNKNOWN_PLAN' });
    });

    it("creates the tenant's account and the instance's subscription once (idempotent on instance_id)", async () => {
      const { res, instance } = await subscribeInternal(aliceTenant, alice.id, 'basic-monthly');
      expect(res.statusCode).toBe(201);
      const created = res.json<{ subscription_id: string }>();
      expect(created).toMatchObject({
        instance_id: instance.id,
        plan_name: 'basic-monthly',
        phase: 'TRIAL',
        state: 'ACTIVE',
      });
      const again = await internal({
        method: 'POST',
        url: '/internal/subscriptions',
        payload: {
          tenant_id: aliceTenant,
          instance_id: instance.id,
          customer_id: alice.id,
          plan_name: 'basic-monthly',
        },
      });
      expect(again.statusCode).toBe(200);
      expect(again.json()).toMatchObject({ subscription_id: created.subscription_id });

      const account = [...kb.engine.accounts.values()].find((a) => a.externalKey === aliceTenant);
      expect(account).toBeDefined();
      const bundles = [...kb.engine.bundles.values()].filter((b) => b.externalKey === instance.id);
      expect(bundles).toHaveLength(1);
      await settle(kb, billing);
      expect(services.instances.get(instance.id)?.status).toBe('running');
    });

    it('gives a tenant one trial for life: a second trial is refused, paying at once is not', async () => {
      const second = await subscribeInternal(aliceTenant, alice.id, 'standard-monthly');
      expect(second.res.statusCode).toBe(409);
      expect(second.res.json()).toMatchObject({ code: 'TRIAL_ALREADY_USED' });
      const paid = await subscribeInternal(aliceTenant, alice.id, 'standard-monthly', { skip_trial: true });
      expect(paid.res.statusCode).toBe(201);
      expect(paid.res.json()).toMatchObject({ phase: 'EVERGREEN', plan_name: 'standard-monthly' });
    });

    it('gives a customer one trial for life: a new tenant of the same customer is no new trial', async () => {
      const otherTenant = randomUUID();
      const again = await subscribeInternal(otherTenant, alice.id, 'basic-monthly');
      expect(again.res.statusCode).toBe(409);
      expect(again.res.json()).toMatchObject({ code: 'TRIAL_ALREADY_USED' });
      expect(kb.engine.bundles.size).toBeGreaterThan(0);
      expect([...kb.engine.bundles.values()].some((b) => b.externalKey === again.instance.id)).toBe(false);
      // Another customer's first tenant still gets one.
      const [newTenant, newCustomer] = [randomUUID(), randomUUID()];
      services.addMember(newCustomer, newTenant);
      services.addUser({ id: newCustomer });
      const newcomer = await subscribeInternal(newTenant, newCustomer, 'basic-monthly');
      expect(newcomer.res.statusCode).toBe(201);
      expect(newcomer.res.json()).toMatchObject({ phase: 'TRIAL' });
    });

    it('enforces the one trial atomically under concurrent requests, across tenants', async () => {
      const customer = randomUUID();
      const results = await Promise.all(
        [1, 2, 3].map(() => subscribeInternal(randomUUID(), customer, 'basic-test-trial')),
      );
      expect(results.map((r) => r.res.statusCode).sort()).toEqual([201, 409, 409]);
      const trials = (await billing.dataSource.query(`SELECT * FROM customer_trials WHERE customer_id = $1`, [
        customer,
      ])) as unknown[];
      expect(trials).toHaveLength(1);
    });
  });

  describe('my subscriptions', () => {
    let trialSub: SubscriptionBody;

    beforeAll(async () => {
      const res = await as(alice, { method: 'GET', url: '/api/billing/subscriptions' });
      trialSub = res
        .json<{ subscriptions: SubscriptionBody[] }>()
        .subscriptions.find((s) => s.phase === 'TRIAL')!;
    });

    it('needs a token, and lists only the subscriptions of my tenants', async () => {
      expect((await as(null, { method: 'GET', url: '/api/billing/subscriptions' })).statusCode).toBe(401);
      const mine = await as(alice, { method: 'GET', url: '/api/billing/subscriptions' });
      expect(mine.statusCode).toBe(200);
      const list = mine.json<{ subscriptions: SubscriptionBody[]; total: number }>();
      expect(list.total).toBe(2);
      expect(list.subscriptions.every((s) => s.tenant_id === aliceTenant)).toBe(true);
      expect(trialSub).toMatchObject({
        entitlement: 'running',
        entitled: true,
        trial_ends_at: '2025-03-15T10:00:00.000Z',
      });

      const bobs = await as(bob, { method: 'GET', url: '/api/billing/subscriptions' });
      expect(bobs.json()).toEqual({ subscriptions: [], total: 0 });
      expect(
        (await as(bob, { method: 'GET', url: `/api/billing/subscriptions/${trialSub.id}` })).statusCode,
      ).toBe(404);
      expect(
        (await as(bob, { method: 'DELETE', url: `/api/billing/subscriptions/${trialSub.id}` })).statusCode,
      ).toBe(404);
      expect(
        (await as(alice, { method: 'GET', url: `/api/billing/subscriptions?tenant_id=${bobTenant}` }))
          .statusCode,
      ).toBe(404);
    });

    it('lets a viewer of the tenant read but not cancel', async () => {
      expect(
        (await as(viewer, { method: 'GET', url: `/api/billing/subscriptions/${trialSub.id}` })).statusCode,
      ).toBe(200);
      const cancel = await as(viewer, { method: 'DELETE', url: `/api/billing/subscriptions/${trialSub.id}` });
      expect(cancel.statusCode).toBe(403);
      expect(cancel.json()).toMatchObject({ code: 'TENANT_ROLE_REQUIRED' });
    });

    it('changes plan during the trial at once, and the instance limits follow the new plan', async () => {
      const res = await as(alice, {
        method: 'PUT',
        url: `/api/billing/subscriptions/${trialSub.id}/plan`,
        payload: { plan_name: 'premium-monthly' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        plan_name: 'premium-monthly',
        pending_plan_name: null,
        phase: 'TRIAL',
      });
      expect(services.instances.get(trialSub.instance_id)?.limits).toEqual({
        cpu_limit: 4,
        memory_limit: '8G',
        storage_limit: '50G',
      });
      const same = await as(alice, {
        method: 'PUT',
        url: `/api/billing/subscriptions/${trialSub.id}/plan`,
        payload: { plan_name: 'premium-monthly' },
      });
      expect(same.json()).toMatchObject({ statusCode: 409, code: 'SAME_PLAN' });
    });

    it('cancels a paid subscription at the end of the term, and withdraws the cancellation', async () => {
      const paid = (await as(alice, { method: 'GET', url: '/api/billing/subscriptions' }))
        .json<{ subscriptions: SubscriptionBody[] }>()
        .subscriptions.find((s) => s.phase === 'EVERGREEN')!;
      const cancelled = await as(alice, { method: 'DELETE', url: `/api/billing/subscriptions/${paid.id}` });
      expect(cancelled.statusCode).toBe(200);
      expect(cancelled.json()).toMatchObject({
        cancel_requested: true,
        cancels_at: '2025-04-01T00:00:00.000Z',
        state: 'ACTIVE',
        entitlement: 'running',
      });
      expect(services.instances.get(paid.instance_id)?.status).toBe('running');

      const withdrawn = await as(alice, {
        method: 'POST',
        url: `/api/billing/subscriptions/${paid.id}/uncancel`,
      });
      expect(withdrawn.statusCode).toBe(200);
      expect(withdrawn.json()).toMatchObject({ cancel_requested: false, cancels_at: null });
      const again = await as(alice, {
        method: 'POST',
        url: `/api/billing/subscriptions/${paid.id}/uncancel`,
      });
      expect(again.json()).toMatchObject({ statusCode: 409, code: 'NO_PENDING_CANCELLATION' });
    });

    it("mails the tenant's billing contact (from user-service) the invoice of the paid plan", async () => {
      await settle(kb, billing);
      const mail = await smtp.waitFor({ to: alice.email, subject: /^Your SaaS Odoo invoice/ });
      expect(mail.text).toContain(`Hello ${alice.first_name},`);
      expect(mail.text).toContain('8.00 USD');
    });

    it('subscribes an existing instance of my tenant (POST /api/billing/subscriptions)', async () => {
      const instance = services.addInstance(aliceTenant, { status: 'stopped', desired_state: 'stopped' });
      const body = { instance_id: instance.id, plan_name: 'basic-immediate' };
      expect(
        (await as(bob, { method: 'POST', url: '/api/billing/subscriptions', payload: body })).statusCode,
      ).toBe(404);
      const created = await as(alice, { method: 'POST', url: '/api/billing/subscriptions', payload: body });
      expect(created.statusCode).toBe(201);
      expect(created.json()).toMatchObject({
        instance_id: instance.id,
        plan_name: 'basic-immediate',
        entitlement: 'pending',
        billing_status: 'payment_required', // pay first: no trial on basic-immediate
      });
      // Not entitled before its first invoice is paid, and the customer had stopped it: nothing is started.
      expect(services.instances.get(instance.id)).toMatchObject({
        status: 'stopped',
        desired_state: 'stopped',
      });
      const twice = await as(alice, { method: 'POST', url: '/api/billing/subscriptions', payload: body });
      expect(twice.json()).toMatchObject({ statusCode: 409, code: 'SUBSCRIPTION_EXISTS' });
    });
  });

  describe('invoices and account', () => {
    it("lists my tenants' invoices with items and amounts", async () => {
      const res = await as(alice, { method: 'GET', url: '/api/billing/invoices' });
      expect(res.statusCode).toBe(200);
      const { invoices } = res.json<{
        invoices: {
          amount: number;
          balance: number;
          tenant_id: string;
          items: { plan_name: string | null }[];
        }[];
      }>();
      expect(invoices.length).toBeGreaterThanOrEqual(3);
      expect(invoices.every((i) => i.tenant_id === aliceTenant)).toBe(true);
      const paid = invoices.find((i) => i.amount === 8);
      expect(paid?.items.map((i) => i.plan_name)).toContain('standard-monthly');
      expect((await as(bob, { method: 'GET', url: '/api/billing/invoices' })).json()).toEqual({
        invoices: [],
        total: 0,
      });
    });

    it('shows balance, overdue state and trial end', async () => {
      const res = await as(alice, { method: 'GET', url: '/api/billing/accounts/me' });
      expect(res.statusCode).toBe(200);
      const body = res.json<{ accounts: { tenant_id: string; balance: number }[]; total_balance: number }>();
      expect(body.accounts).toHaveLength(1);
      expect(body.accounts[0]).toMatchObject({
        tenant_id: aliceTenant,
        currency: 'USD',
        overdue_state: null,
        overdue_blocked: false,
        trial_ends_at: '2025-03-15T10:00:00.000Z',
        source: 'killbill',
      });
      expect(body.accounts[0].balance).toBe(13); // $8 standard + $5 basic-immediate, unpaid
      expect(body.total_balance).toBe(13);
    });

    it('summarises a customer for the other services', async () => {
      const res = await internal({
        method: 'GET',
        url: `/internal/customers/${alice.id}/subscription-summary`,
      });
      expect(res.statusCode).toBe(200);
      const summary = res.json<{ subscriptions: object[]; balance: number; overdue_state: null }>();
      expect(summary.subscriptions).toHaveLength(3);
      expect(summary).toMatchObject({ overdue_state: null, balance: 13 });
      expect(summary.subscriptions[0]).toEqual(
        expect.objectContaining({ subscription_id: expect.any(String), entitled: true, phase: 'TRIAL' }),
      );
    });
  });

  describe('admin', () => {
    it('is for admins only', async () => {
      expect((await as(alice, { method: 'POST', url: '/admin/billing/reconcile' })).statusCode).toBe(403);
    });

    it('re-runs the bootstrap (nothing to change), reconciles, shows the inbox, records an external payment', async () => {
      const bootstrap = await as(admin, { method: 'POST', url: '/admin/billing/killbill/bootstrap' });
      expect(bootstrap.json()).toMatchObject({
        tenant: 'existing',
        catalog: 'unchanged',
        overdue: 'unchanged',
        callback: 'unchanged',
        state: { status: 'ready' },
      });
      const reconcile = await as(admin, { method: 'POST', url: '/admin/billing/reconcile' });
      expect(reconcile.json()).toMatchObject({ accounts: 3, errors: [] });
      const inbox = await as(admin, { method: 'GET', url: '/admin/billing/inbox' });
      expect(inbox.json<{ total: number }>().total).toBeGreaterThan(5);

      const invoices = (await as(alice, { method: 'GET', url: '/api/billing/invoices' })).json<{
        invoices: { id: string; balance: number }[];
      }>().invoices;
      const unpaid = invoices.find((i) => i.balance > 0)!;
      const paid = await as(admin, {
        method: 'POST',
        url: `/admin/billing/invoices/${unpaid.id}/external-payments`,
        payload: { reference: `gateway-${randomUUID()}` },
      });
      expect(paid.statusCode).toBe(201);
      expect(paid.json()).toMatchObject({ invoice_id: unpaid.id, paid: true });
      const missing = await as(admin, {
        method: 'POST',
        url: `/admin/billing/invoices/${randomUUID()}/external-payments`,
        payload: { reference: 'x' },
      });
      expect(missing.statusCode).toBe(404);
    });
  });
});
