/**
 * In-memory billing engine of the Kill Bill emulator (TEST DOUBLE: the product never depends on it).
 * It models what the platform uses of Kill Bill 0.24 (see /work/shared/reference/killbill-contract.md):
 * tenants and their KV config, catalog versions, accounts, bundles, subscriptions with phases, invoices,
 * external payments, control tags, the overdue state machine, and the external bus events (§3.3 / §3.5)
 * those produce. Time is the emulator clock; work that becomes due when the clock moves is processed in
 * chronological order by processDue().
 */
import { randomUUID } from 'node:crypto';
import {
  BILLING_PERIOD_DAYS,
  BILLING_PERIOD_MONTHS,
  CLEAR_STATE,
  matchRule,
  phaseName,
  planBillingPeriod,
  priceIn,
  usableInterval,
  type CatalogPhase,
  type CatalogPlan,
  type CatalogProduct,
  type CatalogVersion,
  type OverdueConfig,
  type OverdueState,
  type PhaseType,
} from './catalog';
import {
  addDaysToLocalDate,
  addDuration,
  addDurationToLocalDate,
  addMonthsToLocalDate,
  bcdDateInMonthOf,
  dayOfMonth,
  daysBetween,
  toIso,
  toLocalDate,
} from './dates';
import { type KillBillPushPayload } from './push-dispatcher';

// ------------------------------------------------------------------------------------------------ errors

export const EXCEPTION_CLASS = {
  account: 'org.killbill.billing.account.api.AccountApiException',
  tenant: 'org.killbill.billing.tenant.api.TenantApiException',
  subscription: 'org.killbill.billing.entitlement.api.SubscriptionApiException',
  entitlement: 'org.killbill.billing.entitlement.api.EntitlementApiException',
  blocking: 'org.killbill.billing.entitlement.api.BlockingApiException',
  catalog: 'org.killbill.billing.catalog.api.CatalogApiException',
  invoice: 'org.killbill.billing.invoice.api.InvoiceApiException',
  payment: 'org.killbill.billing.payment.api.PaymentApiException',
  tag: 'org.killbill.billing.util.api.TagApiException',
  tagDefinition: 'org.killbill.billing.util.api.TagDefinitionApiException',
  illegalArgument: 'java.lang.IllegalArgumentException',
  illegalState: 'java.lang.IllegalStateException',
} as const;

/** An error rendered as Kill Bill's BillingExceptionJson (contract §1.3). */
export class KbApiError extends Error {
  constructor(
    readonly status: number,
    readonly className: string,
    readonly code: number | null,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string): KbApiError =>
  new KbApiError(400, EXCEPTION_CLASS.illegalArgument, null, message);

// ------------------------------------------------------------------------------------------------ model

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface TenantKv {
  recordId: string;
  values: string[];
}

export interface Tenant {
  id: string;
  apiKey: string;
  apiSecret: string;
  externalKey: string | null;
  kv: Map<string, TenantKv>;
  catalogs: CatalogVersion[];
  overdue: OverdueConfig | null;
}

export interface Account {
  id: string;
  tenantId: string;
  externalKey: string;
  currency: string | null;
  billCycleDayLocal: number;
  referenceTime: number;
  /** The optional AccountJson fields, stored as given. */
  details: JsonObject;
  paymentMethodId: string | null;
  credit: number;
  overdueState: OverdueState;
  nextOverdueCheck: number | null;
}

export interface PaymentMethod {
  id: string;
  tenantId: string;
  accountId: string;
  externalKey: string;
  pluginName: string;
  pluginInfo: JsonValue;
}

export interface Bundle {
  id: string;
  tenantId: string;
  accountId: string;
  externalKey: string;
  paused: boolean;
}

export interface TimelineEvent {
  id: string;
  at: number;
  eventType: string;
  serviceName: string;
  serviceStateName: string;
  plan: string | null;
  phase: string | null;
  product: string | null;
  priceList: string | null;
  billingPeriod: string | null;
  blockedBilling: boolean;
  blockedEntitlement: boolean;
}

export interface Subscription {
  id: string;
  tenantId: string;
  accountId: string;
  bundleId: string;
  externalKey: string;
  version: CatalogVersion;
  plan: CatalogPlan;
  product: CatalogProduct;
  priceList: string;
  startDate: number;
  phaseIndex: number;
  phaseStart: number;
  ownBcd: number;
  chargedThroughDate: string | null;
  fixedBilledForPhaseStart: number | null;
  pendingChange: {
    plan: CatalogPlan;
    product: CatalogProduct;
    priceList: string;
    effectiveDate: number;
  } | null;
  entitlementEndDate: number | null;
  billingEndDate: number | null;
  entitlementCancelled: boolean;
  billingCancelled: boolean;
  history: TimelineEvent[];
}

export type InvoiceItemType = 'FIXED' | 'RECURRING' | 'REPAIR_ADJ' | 'CBA_ADJ';

export interface InvoiceItem {
  id: string;
  invoiceId: string;
  accountId: string;
  bundleId: string | null;
  subscriptionId: string | null;
  plan: CatalogPlan | null;
  productName: string | null;
  phaseName: string | null;
  itemType: InvoiceItemType;
  description: string;
  startDate: string;
  endDate: string | null;
  amount: number;
  rate: number | null;
  currency: string;
  linkedInvoiceItemId: string | null;
}

export interface Invoice {
  id: string;
  tenantId: string;
  accountId: string;
  invoiceNumber: number;
  invoiceDate: string;
  targetDate: string;
  currency: string;
  items: InvoiceItem[];
  writtenOff: boolean;
}

export interface Payment {
  id: string;
  tenantId: string;
  accountId: string;
  invoiceId: string;
  paymentNumber: number;
  externalKey: string;
  transactionId: string;
  transactionExternalKey: string;
  paymentMethodId: string;
  amount: number;
  currency: string;
  effectiveDate: number;
}

export interface Tag {
  id: string;
  tenantId: string;
  objectType: 'ACCOUNT' | 'INVOICE';
  objectId: string;
  tagDefinitionId: string;
}

export interface EmittedEvent {
  seq: number;
  tenantId: string;
  /** Emulator-clock time the event was produced at. */
  at: string;
  payload: KillBillPushPayload;
}

export const CONTROL_TAGS: { id: string; name: string; description: string; objectTypes: string[] }[] = [
  ['AUTO_PAY_OFF', 'Suspends payments until removed.', ['ACCOUNT']],
  ['AUTO_INVOICING_OFF', 'Suspends invoicing until removed.', ['ACCOUNT']],
  ['OVERDUE_ENFORCEMENT_OFF', 'Suspends overdue enforcement behaviour until removed.', ['ACCOUNT']],
  ['WRITTEN_OFF', 'Indicates that an invoice is written off. No billing or payment effect.', ['INVOICE']],
  [
    'MANUAL_PAY',
    "Indicates that Killbill doesn't process payments for that account (external payments only)",
    ['ACCOUNT'],
  ],
  ['TEST', 'Indicates that this is a test account', ['ACCOUNT']],
  ['PARTNER', 'Indicates that this is a partner account', ['ACCOUNT']],
  ['AUTO_INVOICING_DRAFT', 'Generate account invoices in DRAFT mode.', ['ACCOUNT']],
  ['AUTO_INVOICING_REUSE_DRAFT', 'Use existing draft invoice if exists.', ['ACCOUNT']],
].map(([name, description, objectTypes], index) => ({
  id: `00000000-0000-0000-0000-${String(index + 1).padStart(12, '0')}`,
  name: name as string,
  description: description as string,
  objectTypes: objectTypes as string[],
}));

const tagId = (name: string): string => CONTROL_TAGS.find((t) => t.name === name)?.id ?? '';
export const EXTERNAL_PAYMENT_PLUGIN = '__EXTERNAL_PAYMENT__';
const OVERDUE_SERVICE = 'overdue-service';
const round2 = (value: number): number => Math.round((value + Number.EPSILON) * 100) / 100;

// ------------------------------------------------------------------------------------------------ engine

export class KillBillEngine {
  readonly tenants = new Map<string, Tenant>();
  readonly accounts = new Map<string, Account>();
  readonly paymentMethods = new Map<string, PaymentMethod>();
  readonly bundles = new Map<string, Bundle>();
  readonly subscriptions = new Map<string, Subscription>();
  readonly invoices = new Map<string, Invoice>();
  readonly payments = new Map<string, Payment>();
  readonly tags = new Map<string, Tag>();
  readonly events: EmittedEvent[] = [];
  private invoiceCounter = 0;
  private paymentCounter = 0;
  private eventSeq = 0;
  /** Clock time the current piece of work happens at (an API call's "now" or a due event's time). */
  private at = 0;

  constructor(private readonly onEvent: (event: EmittedEvent, tenant: Tenant) => void) {}

  // -------------------------------------------------------------------------------------------- events

  private emit(
    tenantId: string,
    eventType: string,
    objectType: string,
    objectId: string | null,
    accountId: string | null,
    metaData: JsonObject | null,
  ): void {
    const tenant = this.tenants.get(tenantId);
    if (!tenant) return;
    const event: EmittedEvent = {
      seq: ++this.eventSeq,
      tenantId,
      at: toIso(this.at),
      payload: {
        eventType,
        accountId,
        objectType,
        objectId,
        metaData: metaData === null ? null : JSON.stringify(metaData),
      },
    };
    this.events.push(event);
    this.onEvent(event, tenant);
  }

  private emitSubscription(
    s: Subscription,
    eventType: string,
    actionType: 'REQUESTED' | 'EFFECTIVE',
    undo = false,
  ): void {
    const bundle = this.bundles.get(s.bundleId);
    this.emit(s.tenantId, eventType, 'SUBSCRIPTION', s.id, s.accountId, {
      actionType,
      bundleExternalKey: bundle?.externalKey ?? null,
      subscriptionChangeUndo: undo,
    });
  }

  emitTenantConfigChange(tenant: Tenant, key: string, recordId: string | null, deletion = false): void {
    this.emit(
      tenant.id,
      deletion ? 'TENANT_CONFIG_DELETION' : 'TENANT_CONFIG_CHANGE',
      'TENANT_KVS',
      recordId,
      null,
      {
        key,
      },
    );
  }

  // -------------------------------------------------------------------------------------------- tenants

  createTenant(
    apiKey: string,
    apiSecret: string,
    externalKey: string | null,
    template: CatalogVersion | null,
  ): Tenant {
    if ([...this.tenants.values()].some((t) => t.apiKey === apiKey)) {
      throw new KbApiError(409, EXCEPTION_CLASS.tenant, 20000, `Tenant already exists for key ${apiKey}`);
    }
    const tenant: Tenant = {
      id: randomUUID(),
      apiKey,
      apiSecret,
      externalKey,
      kv: new Map(),
      catalogs: template ? [template] : [],
      overdue: null,
    };
    this.tenants.set(tenant.id, tenant);
    return tenant;
  }

  setTenantKv(tenant: Tenant, key: string, value: string, multiValued = false): TenantKv {
    const existing = tenant.kv.get(key);
    const entry: TenantKv = {
      recordId: randomUUID(),
      values: multiValued && existing ? [...existing.values, value] : [value],
    };
    tenant.kv.set(key, entry);
    this.emitTenantConfigChange(tenant, key, entry.recordId);
    return entry;
  }

  deleteTenantKv(tenant: Tenant, key: string): void {
    if (tenant.kv.delete(key)) this.emitTenantConfigChange(tenant, key, null, true);
  }

  // -------------------------------------------------------------------------------------------- catalog

  activeCatalogs(tenant: Tenant): CatalogVersion[] {
    const real = tenant.catalogs.filter((c) => !c.isTemplate);
    return real.length > 0 ? real : tenant.catalogs;
  }

  /** The version in effect at `at`, else the oldest one (Kill Bill serves the first version before its date). */
  catalogAt(tenant: Tenant, at: number): CatalogVersion | null {
    const versions = this.activeCatalogs(tenant);
    const effective = versions.filter((v) => v.effectiveDate <= at);
    return effective[effective.length - 1] ?? versions[0] ?? null;
  }

  private findPlan(
    tenant: Tenant,
    spec: { planName?: string; productName?: string; billingPeriod?: string; priceList?: string },
  ): { version: CatalogVersion; plan: CatalogPlan; product: CatalogProduct; priceList: string } {
    const current = this.catalogAt(tenant, this.at);
    const versions = current
      ? [
          current,
          ...this.activeCatalogs(tenant)
            .reverse()
            .filter((v) => v !== current),
        ]
      : [];
    for (const version of versions) {
      let plan: CatalogPlan | undefined;
      let priceList: string | undefined;
      if (spec.planName) {
        plan = version.plans.find((p) => p.name === spec.planName);
        priceList = version.priceLists.find((pl) => plan && pl.plans.includes(plan.name))?.name ?? 'DEFAULT';
      } else {
        const listName = spec.priceList ?? 'DEFAULT';
        const list = version.priceLists.find((pl) => pl.name === listName);
        plan = version.plans.find(
          (p) =>
            list?.plans.includes(p.name) &&
            p.product === spec.productName &&
            planBillingPeriod(p) === (spec.billingPeriod ?? planBillingPeriod(p)),
        );
        priceList = listName;
      }
      const product = plan ? version.products.find((p) => p.name === plan.product) : undefined;
      if (plan && product && priceList) return { version, plan, product, priceList };
    }
    if (spec.planName) {
      throw new KbApiError(
        400,
        EXCEPTION_CLASS.catalog,
        2021,
        `Could not find any plans named '${spec.planName}'`,
      );
    }
    throw new KbApiError(
      400,
      EXCEPTION_CLASS.catalog,
      2020,
      `Could not find a plan matching spec: (plan: 'null', product: '${spec.productName ?? 'null'}', billing period: '${
        spec.billingPeriod ?? 'null'
      }', pricelist '${spec.priceList ?? 'DEFAULT'}')`,
    );
  }

  // -------------------------------------------------------------------------------------------- accounts

  createAccount(
    tenant: Tenant,
    externalKey: string | null,
    currency: string | null,
    bcd: number,
    details: JsonObject,
    now: number,
  ): Account {
    this.at = now;
    const id = randomUUID();
    const key = externalKey ?? id;
    if (this.accountsOf(tenant).some((a) => a.externalKey === key)) {
      throw new KbApiError(409, EXCEPTION_CLASS.account, 3000, `Account already exists for key ${key}`);
    }
    const referenceTime = typeof details.referenceTime === 'string' ? Date.parse(details.referenceTime) : now;
    const account: Account = {
      id,
      tenantId: tenant.id,
      externalKey: key,
      currency,
      billCycleDayLocal: bcd,
      referenceTime: Number.isNaN(referenceTime) ? now : referenceTime,
      details,
      paymentMethodId: null,
      credit: 0,
      overdueState: CLEAR_STATE,
      nextOverdueCheck: null,
    };
    this.accounts.set(id, account);
    this.emit(tenant.id, 'ACCOUNT_CREATION', 'ACCOUNT', id, id, null);
    return account;
  }

  updateAccount(
    account: Account,
    currency: string | null,
    bcd: number | null,
    details: JsonObject,
    now: number,
  ): void {
    this.at = now;
    if (currency && !account.currency) account.currency = currency;
    if (bcd && account.billCycleDayLocal === 0) account.billCycleDayLocal = bcd;
    account.details = { ...account.details, ...details };
    this.emit(account.tenantId, 'ACCOUNT_CHANGE', 'ACCOUNT', account.id, account.id, null);
  }

  accountsOf(tenant: Tenant): Account[] {
    return [...this.accounts.values()].filter((a) => a.tenantId === tenant.id);
  }

  getAccount(tenant: Tenant, id: string): Account {
    const account = this.accounts.get(id);
    if (!account || account.tenantId !== tenant.id) {
      throw new KbApiError(404, EXCEPTION_CLASS.account, 3002, `Account does not exist for id ${id}`);
    }
    return account;
  }

  getAccountByKey(tenant: Tenant, externalKey: string): Account {
    const account = this.accountsOf(tenant).find((a) => a.externalKey === externalKey);
    if (!account)
      throw new KbApiError(
        404,
        EXCEPTION_CLASS.account,
        3003,
        `Account does not exist for key ${externalKey}`,
      );
    return account;
  }

  hasTag(objectId: string, name: string): boolean {
    const id = tagId(name);
    return [...this.tags.values()].some((t) => t.objectId === objectId && t.tagDefinitionId === id);
  }

  // -------------------------------------------------------------------------------------------- payment methods

  addPaymentMethod(
    account: Account,
    pluginName: string,
    externalKey: string | null,
    pluginInfo: JsonValue,
    isDefault: boolean,
    now: number,
  ): PaymentMethod {
    this.at = now;
    if (
      pluginName === EXTERNAL_PAYMENT_PLUGIN &&
      [...this.paymentMethods.values()].some(
        (pm) => pm.accountId === account.id && pm.pluginName === EXTERNAL_PAYMENT_PLUGIN,
      )
    ) {
      throw new KbApiError(
        400,
        EXCEPTION_CLASS.payment,
        7023,
        `External payment method already exists for account ${account.id}`,
      );
    }
    const pm: PaymentMethod = {
      id: randomUUID(),
      tenantId: account.tenantId,
      accountId: account.id,
      externalKey: externalKey ?? randomUUID(),
      pluginName,
      pluginInfo,
    };
    this.paymentMethods.set(pm.id, pm);
    if (isDefault) account.paymentMethodId = pm.id;
    return pm;
  }

  private externalPaymentMethod(account: Account): PaymentMethod {
    const existing = [...this.paymentMethods.values()].find(
      (pm) => pm.accountId === account.id && pm.pluginName === EXTERNAL_PAYMENT_PLUGIN,
    );
    return existing ?? this.addPaymentMethod(account, EXTERNAL_PAYMENT_PLUGIN, null, null, false, this.at);
  }

  // -------------------------------------------------------------------------------------------- tags

  addTags(
    tenant: Tenant,
    objectType: 'ACCOUNT' | 'INVOICE',
    objectId: string,
    definitionIds: string[],
    now: number,
  ): void {
    this.at = now;
    for (const definitionId of definitionIds) {
      const definition = CONTROL_TAGS.find((t) => t.id === definitionId);
      if (!definition) {
        throw new KbApiError(
          404,
          EXCEPTION_CLASS.tagDefinition,
          3902,
          `The tag definition ${definitionId} does not exist`,
        );
      }
    }
    for (const definitionId of definitionIds) this.addTag(tenant.id, objectType, objectId, definitionId);
  }

  private addTag(
    tenantId: string,
    objectType: 'ACCOUNT' | 'INVOICE',
    objectId: string,
    definitionId: string,
  ): void {
    if ([...this.tags.values()].some((t) => t.objectId === objectId && t.tagDefinitionId === definitionId))
      return;
    const definition = CONTROL_TAGS.find((t) => t.id === definitionId);
    const tag: Tag = { id: randomUUID(), tenantId, objectType, objectId, tagDefinitionId: definitionId };
    this.tags.set(tag.id, tag);
    const accountId = objectType === 'ACCOUNT' ? objectId : (this.invoices.get(objectId)?.accountId ?? null);
    this.emit(tenantId, 'TAG_CREATION', 'TAG', tag.id, accountId, {
      tagDefinitionName: definition?.name ?? null,
    });
    this.afterTagChange(objectType, objectId, definition?.name ?? '', true);
  }

  removeTags(tenant: Tenant, objectId: string, definitionIds: string[], now: number): void {
    this.at = now;
    for (const definitionId of definitionIds) this.removeTag(tenant.id, objectId, definitionId);
  }

  private removeTag(tenantId: string, objectId: string, definitionId: string): void {
    const tag = [...this.tags.values()].find(
      (t) => t.objectId === objectId && t.tagDefinitionId === definitionId,
    );
    if (!tag) return;
    this.tags.delete(tag.id);
    const definition = CONTROL_TAGS.find((t) => t.id === definitionId);
    const accountId =
      tag.objectType === 'ACCOUNT' ? objectId : (this.invoices.get(objectId)?.accountId ?? null);
    this.emit(tenantId, 'TAG_DELETION', 'TAG', tag.id, accountId, {
      tagDefinitionName: definition?.name ?? null,
    });
    this.afterTagChange(tag.objectType, objectId, definition?.name ?? '', false);
  }

  private afterTagChange(objectType: string, objectId: string, name: string, added: boolean): void {
    if (objectType === 'INVOICE' && name === 'WRITTEN_OFF') {
      const invoice = this.invoices.get(objectId);
      if (invoice) {
        invoice.writtenOff = added;
        const account = this.accounts.get(invoice.accountId);
        if (account) this.refreshOverdue(account);
      }
    }
    if (objectType === 'ACCOUNT' && name === 'OVERDUE_ENFORCEMENT_OFF') {
      const account = this.accounts.get(objectId);
      if (!account) return;
      if (added) this.clearOverdue(account);
      else this.refreshOverdue(account);
    }
    if (objectType === 'ACCOUNT' && name === 'AUTO_INVOICING_OFF' && !added) {
      const account = this.accounts.get(objectId);
      if (account && !this.isBillingBlocked(account)) this.invoiceAccount(account);
    }
  }

  // -------------------------------------------------------------------------------------------- bundles & subscriptions

  bundlesOf(account: Account): Bundle[] {
    return [...this.bundles.values()].filter((b) => b.accountId === account.id);
  }

  subscriptionsOfBundle(bundle: Bundle): Subscription[] {
    return [...this.subscriptions.values()].filter((s) => s.bundleId === bundle.id);
  }

  subscriptionsOfAccount(account: Account): Subscription[] {
    return [...this.subscriptions.values()].filter((s) => s.accountId === account.id);
  }

  isBundleActive(bundle: Bundle): boolean {
    return this.subscriptionsOfBundle(bundle).some((s) => !s.entitlementCancelled);
  }

  getBundle(tenant: Tenant, id: string): Bundle {
    const bundle = this.bundles.get(id);
    if (!bundle || bundle.tenantId !== tenant.id) {
      throw new KbApiError(
        404,
        EXCEPTION_CLASS.subscription,
        1081,
        `Could not find a bundle matching id ${id}`,
      );
    }
    return bundle;
  }

  getSubscription(tenant: Tenant, id: string): Subscription {
    const s = this.subscriptions.get(id);
    if (!s || s.tenantId !== tenant.id) {
      throw new KbApiError(404, EXCEPTION_CLASS.subscription, 1082, `Unknown subscription matching id ${id}`);
    }
    return s;
  }

  getSubscriptionByKey(tenant: Tenant, externalKey: string): Subscription {
    const s = [...this.subscriptions.values()].find(
      (c) => c.tenantId === tenant.id && c.externalKey === externalKey,
    );
    if (!s) {
      throw new KbApiError(
        404,
        EXCEPTION_CLASS.subscription,
        1083,
        `Unknown subscription matching key ${externalKey}`,
      );
    }
    return s;
  }

  private phase(s: Subscription): CatalogPhase {
    return s.plan.phases[s.phaseIndex];
  }

  private nextPhaseAt(s: Subscription): number | null {
    if (s.phaseIndex >= s.plan.phases.length - 1) return null;
    return addDuration(s.phaseStart, this.phase(s).duration);
  }

  private billingAlignment(s: Subscription): string {
    return matchRule(
      s.version.billingAlignment,
      {
        productCategory: s.product.category,
        billingPeriod: planBillingPeriod(s.plan),
        priceList: s.priceList,
      },
      'ACCOUNT',
    );
  }

  /** The bill-cycle day a subscription is billed on (0 = not set yet). */
  subscriptionBcd(s: Subscription): number {
    const account = this.accounts.get(s.accountId);
    return account ? this.bcdFor(s, account) : s.ownBcd;
  }

  private bcdFor(s: Subscription, account: Account): number {
    return this.billingAlignment(s) === 'ACCOUNT' ? account.billCycleDayLocal : s.ownBcd;
  }

  isEntitlementBlocked(s: Subscription): boolean {
    const account = this.accounts.get(s.accountId);
    return Boolean(
      this.bundles.get(s.bundleId)?.paused || account?.overdueState.disableEntitlementAndChangesBlocked,
    );
  }

  private isBillingBlocked(account: Account, s?: Subscription): boolean {
    if (account.overdueState.disableEntitlementAndChangesBlocked) return true;
    return Boolean(s && this.bundles.get(s.bundleId)?.paused);
  }

  subscriptionState(s: Subscription): 'ACTIVE' | 'BLOCKED' | 'CANCELLED' {
    if (s.entitlementCancelled) return 'CANCELLED';
    return this.isEntitlementBlocked(s) ? 'BLOCKED' : 'ACTIVE';
  }

  private record(
    s: Subscription,
    eventType: string,
    serviceName: string,
    serviceStateName: string,
    at = this.at,
  ): void {
    const phase = this.phase(s);
    s.history.push({
      id: randomUUID(),
      at,
      eventType,
      serviceName,
      serviceStateName,
      plan: s.plan.name,
      phase: phaseName(s.plan, phase),
      product: s.product.name,
      priceList: s.priceList,
      billingPeriod: phase.recurring?.billingPeriod ?? 'NO_BILLING_PERIOD',
      blockedBilling: false,
      blockedEntitlement: false,
    });
  }

  /** Future events (phase, pending change, pending cancellation) for SubscriptionJson.events[]. */
  futureTimeline(s: Subscription): TimelineEvent[] {
    const result: TimelineEvent[] = [];
    const base = (
      eventType: string,
      serviceName: string,
      state: string,
      at: number,
      plan = s.plan,
      phase?: CatalogPhase,
    ) => {
      const p = phase ?? plan.phases[Math.min(s.phaseIndex, plan.phases.length - 1)];
      result.push({
        id: `${s.id}-${eventType}-${at}`,
        at,
        eventType,
        serviceName,
        serviceStateName: state,
        plan: plan.name,
        phase: phaseName(plan, p),
        product: plan.product,
        priceList: s.priceList,
        billingPeriod: p.recurring?.billingPeriod ?? 'NO_BILLING_PERIOD',
        blockedBilling: false,
        blockedEntitlement: false,
      });
    };
    const next = this.nextPhaseAt(s);
    if (next !== null && !s.entitlementCancelled) {
      base('PHASE', 'entitlement+billing-service', 'PHASE', next, s.plan, s.plan.phases[s.phaseIndex + 1]);
    }
    if (s.pendingChange)
      base(
        'CHANGE',
        'entitlement+billing-service',
        'CHANGE',
        s.pendingChange.effectiveDate,
        s.pendingChange.plan,
      );
    if (s.entitlementEndDate !== null && !s.entitlementCancelled) {
      base('STOP_ENTITLEMENT', 'entitlement-service', 'ENT_CANCELLED', s.entitlementEndDate);
    }
    if (s.billingEndDate !== null && !s.billingCancelled)
      base('STOP_BILLING', 'billing-service', 'STOP_BILLING', s.billingEndDate);
    return result.sort((a, b) => a.at - b.at);
  }

  createSubscription(
    tenant: Tenant,
    account: Account,
    spec: {
      planName?: string;
      productName?: string;
      billingPeriod?: string;
      priceList?: string;
      phaseType?: string;
      externalKey?: string;
      bundleExternalKey?: string;
      bundleId?: string;
    },
    now: number,
  ): Subscription {
    this.at = now;
    if (this.isChangeBlocked(account)) {
      throw new KbApiError(
        400,
        EXCEPTION_CLASS.blocking,
        6000,
        `The action Change is block on this Account with id=${account.id}`,
      );
    }
    const { version, plan, product, priceList } = this.findPlan(tenant, spec);
    let phaseIndex = 0;
    if (spec.phaseType) {
      phaseIndex = plan.phases.findIndex((p) => p.type === spec.phaseType);
      if (phaseIndex < 0) {
        throw new KbApiError(
          400,
          EXCEPTION_CLASS.catalog,
          2040,
          `Could not find any phases named '${plan.name}-${spec.phaseType.toLowerCase()}'`,
        );
      }
    }
    let bundle: Bundle | undefined;
    if (spec.bundleId) {
      bundle = this.bundles.get(spec.bundleId);
      if (!bundle || bundle.accountId !== account.id) {
        throw new KbApiError(
          400,
          EXCEPTION_CLASS.subscription,
          1012,
          `Bundle ${spec.bundleId} does not exist`,
        );
      }
    } else {
      const key = spec.bundleExternalKey ?? randomUUID();
      const clash = [...this.bundles.values()].find(
        (b) => b.tenantId === tenant.id && b.externalKey === key && this.isBundleActive(b),
      );
      if (clash) {
        throw new KbApiError(
          400,
          EXCEPTION_CLASS.subscription,
          1014,
          `Active bundle with external key ${key} already exists`,
        );
      }
      bundle = {
        id: randomUUID(),
        tenantId: tenant.id,
        accountId: account.id,
        externalKey: key,
        paused: false,
      };
      this.bundles.set(bundle.id, bundle);
    }
    const s: Subscription = {
      id: randomUUID(),
      tenantId: tenant.id,
      accountId: account.id,
      bundleId: bundle.id,
      externalKey: spec.externalKey ?? randomUUID(),
      version,
      plan,
      product,
      priceList,
      startDate: now,
      phaseIndex,
      phaseStart: now,
      ownBcd: 0,
      chargedThroughDate: null,
      fixedBilledForPhaseStart: null,
      pendingChange: null,
      entitlementEndDate: null,
      billingEndDate: null,
      entitlementCancelled: false,
      billingCancelled: false,
      history: [],
    };
    this.subscriptions.set(s.id, s);
    this.record(s, 'START_ENTITLEMENT', 'entitlement-service', 'ENT_STARTED');
    this.record(s, 'START_BILLING', 'billing-service', 'START_BILLING');

    // BCD = day of the first recurring non-zero charge (BillCycleDayCalculator); setting it on the account emits ACCOUNT_CHANGE.
    let phaseStart = now;
    for (let i = phaseIndex; i < plan.phases.length; i++) {
      const phase = plan.phases[i];
      if ((priceIn(phase.recurring?.prices, account.currency ?? '') ?? 0) > 0) {
        const day = dayOfMonth(toLocalDate(phaseStart));
        if (this.billingAlignment(s) === 'ACCOUNT') {
          if (account.billCycleDayLocal === 0) {
            account.billCycleDayLocal = day;
            this.emit(tenant.id, 'ACCOUNT_CHANGE', 'ACCOUNT', account.id, account.id, null);
          }
        } else {
          s.ownBcd = day;
        }
        break;
      }
      const end = addDuration(phaseStart, phase.duration);
      if (end === null) break;
      phaseStart = end;
    }

    this.emit(tenant.id, 'ENTITLEMENT_CREATION', 'SUBSCRIPTION', s.id, account.id, null);
    this.emitSubscription(s, 'SUBSCRIPTION_CREATION', 'REQUESTED');
    this.emitSubscription(s, 'SUBSCRIPTION_CREATION', 'EFFECTIVE');
    this.invoiceAccount(account);
    return s;
  }

  private isChangeBlocked(account: Account): boolean {
    return account.overdueState.blockChanges || account.overdueState.disableEntitlementAndChangesBlocked;
  }

  /** End of the current term: the charged-through date (00:00 UTC) when it is in the future, else now. */
  private endOfTerm(s: Subscription): number {
    if (s.chargedThroughDate === null) return this.at;
    const ctd = Date.parse(`${s.chargedThroughDate}T00:00:00.000Z`);
    return ctd > this.at ? ctd : this.at;
  }

  cancelSubscription(
    s: Subscription,
    options: {
      requestedDate: number | null;
      entitlementPolicy: string | null;
      billingPolicy: string | null;
      useRequestedDateForBilling: boolean;
    },
    now: number,
  ): void {
    this.at = now;
    if (s.entitlementCancelled) {
      throw new KbApiError(
        500,
        EXCEPTION_CLASS.entitlement,
        1031,
        `Subscription ${s.id} is in state CANCELLED: Failed to cancel`,
      );
    }
    const policyDate = (policy: string): number => {
      if (policy === 'END_OF_TERM') return this.endOfTerm(s);
      if (policy === 'IMMEDIATE' || policy === 'START_OF_TERM') return now;
      throw badRequest(`Invalid policy ${policy}`);
    };
    const catalogPolicy = (): string =>
      matchRule(
        s.version.cancelPolicy,
        {
          product: s.product.name,
          productCategory: s.product.category,
          billingPeriod: planBillingPeriod(s.plan),
          priceList: s.priceList,
          phaseType: this.phase(s).type,
        },
        'END_OF_TERM',
      );
    const requested = options.requestedDate === null ? now : Math.max(options.requestedDate, now);
    const entitlementDate = options.entitlementPolicy ? policyDate(options.entitlementPolicy) : requested;
    let billingDate: number;
    if (options.billingPolicy) billingDate = policyDate(options.billingPolicy);
    else if (!options.entitlementPolicy && options.useRequestedDateForBilling) billingDate = requested;
    else billingDate = policyDate(catalogPolicy());

    s.entitlementEndDate = entitlementDate;
    s.billingEndDate = billingDate;
    this.emitSubscription(s, 'SUBSCRIPTION_CANCEL', 'REQUESTED');
    this.processSubscriptionTransitions(s, now);
  }

  uncancelSubscription(s: Subscription, now: number): void {
    this.at = now;
    if (
      s.entitlementCancelled ||
      s.billingCancelled ||
      (s.entitlementEndDate === null && s.billingEndDate === null)
    ) {
      throw new KbApiError(
        500,
        EXCEPTION_CLASS.subscription,
        1070,
        `Subscription (billing) ${s.id} is not in pending cancelled state: Failed to uncancel plan`,
      );
    }
    s.entitlementEndDate = null;
    s.billingEndDate = null;
    this.emitSubscription(s, 'SUBSCRIPTION_UNCANCEL', 'REQUESTED');
    this.emitSubscription(s, 'SUBSCRIPTION_UNCANCEL', 'EFFECTIVE');
  }

  changePlan(
    tenant: Tenant,
    s: Subscription,
    spec: { planName?: string; productName?: string; billingPeriod?: string; priceList?: string },
    options: { requestedDate: number | null; billingPolicy: string | null },
    now: number,
  ): void {
    this.at = now;
    const account = this.accounts.get(s.accountId);
    if (!account)
      throw new KbApiError(
        404,
        EXCEPTION_CLASS.account,
        3002,
        `Account does not exist for id ${s.accountId}`,
      );
    if (s.entitlementCancelled) {
      throw new KbApiError(
        500,
        EXCEPTION_CLASS.entitlement,
        1021,
        `Subscription ${s.id} is in state CANCELLED: Failed to change plan`,
      );
    }
    if (s.entitlementEndDate !== null || s.billingEndDate !== null) {
      throw new KbApiError(
        400,
        EXCEPTION_CLASS.entitlement,
        1022,
        `Subscription ${s.id} is future cancelled: Failed to change plan`,
      );
    }
    if (this.isChangeBlocked(account) || this.bundles.get(s.bundleId)?.paused) {
      throw new KbApiError(
        400,
        EXCEPTION_CLASS.blocking,
        6000,
        `The action Change is block on this Subscription with id=${s.id}`,
      );
    }
    const target = this.findPlan(tenant, {
      ...spec,
      priceList: spec.priceList ?? (spec.planName ? undefined : s.priceList),
    });
    let effective: number;
    if (options.requestedDate !== null) {
      effective = Math.max(options.requestedDate, now);
    } else {
      const policy =
        options.billingPolicy ??
        matchRule(
          s.version.changePolicy,
          {
            phaseType: this.phase(s).type,
            fromProduct: s.product.name,
            fromProductCategory: s.product.category,
            fromBillingPeriod: planBillingPeriod(s.plan),
            fromPriceList: s.priceList,
            toProduct: target.product.name,
            toProductCategory: target.product.category,
            toBillingPeriod: planBillingPeriod(target.plan),
            toPriceList: target.priceList,
          },
          'END_OF_TERM',
        );
      if (policy === 'IMMEDIATE') effective = now;
      else if (policy === 'END_OF_TERM') effective = this.endOfTerm(s);
      else throw new KbApiError(400, EXCEPTION_CLASS.catalog, 2001, `Invalid change policy ${policy}`);
    }
    s.pendingChange = {
      plan: target.plan,
      product: target.product,
      priceList: target.priceList,
      effectiveDate: effective,
    };
    this.emitSubscription(s, 'SUBSCRIPTION_CHANGE', 'REQUESTED');
    this.processSubscriptionTransitions(s, now);
    this.invoiceAccount(account);
  }

  undoChangePlan(s: Subscription, now: number): void {
    this.at = now;
    if (!s.pendingChange) {
      throw new KbApiError(
        500,
        EXCEPTION_CLASS.subscription,
        1071,
        `Subscription (billing) ${s.id} does not have a pending change plan: Failed to undo change plan`,
      );
    }
    s.pendingChange = null;
    this.emitSubscription(s, 'SUBSCRIPTION_CHANGE', 'REQUESTED', true);
    this.emitSubscription(s, 'SUBSCRIPTION_CHANGE', 'EFFECTIVE', true);
  }

  pauseBundle(bundle: Bundle, now: number): void {
    this.at = now;
    if (bundle.paused) return;
    bundle.paused = true;
    this.emit(bundle.tenantId, 'BUNDLE_PAUSE', 'BUNDLE', bundle.id, bundle.accountId, null);
  }

  resumeBundle(bundle: Bundle, now: number): void {
    this.at = now;
    if (!bundle.paused) return;
    bundle.paused = false;
    this.emit(bundle.tenantId, 'BUNDLE_RESUME', 'BUNDLE', bundle.id, bundle.accountId, null);
    const account = this.accounts.get(bundle.accountId);
    if (!account) return;
    for (const s of this.subscriptionsOfBundle(bundle)) this.skipBlockedPeriod(s);
    this.invoiceAccount(account);
  }

  /** After billing was blocked, billing resumes from today: the blocked part of the term is not billed. */
  private skipBlockedPeriod(s: Subscription): void {
    const today = toLocalDate(this.at);
    if (s.chargedThroughDate !== null && s.chargedThroughDate < today && this.phase(s).recurring) {
      s.chargedThroughDate = today;
    }
  }

  // -------------------------------------------------------------------------------------------- time processing

  /** Applies subscription transitions (phase, change, cancellation) due at or before `upTo`. */
  private processSubscriptionTransitions(s: Subscription, upTo: number): void {
    for (let guard = 0; guard < 1000; guard++) {
      const next = this.nextSubscriptionTransition(s);
      if (!next || next.at > upTo) return;
      const saved = this.at;
      this.at = Math.max(next.at, this.at);
      next.run();
      this.at = Math.max(saved, this.at);
    }
  }

  private nextSubscriptionTransition(s: Subscription): { at: number; run: () => void } | null {
    const candidates: { at: number; rank: number; run: () => void }[] = [];
    if (!s.billingCancelled && s.billingEndDate !== null) {
      candidates.push({ at: s.billingEndDate, rank: 0, run: () => this.applyBillingCancel(s) });
    }
    if (!s.entitlementCancelled && s.entitlementEndDate !== null) {
      candidates.push({ at: s.entitlementEndDate, rank: 1, run: () => this.applyEntitlementCancel(s) });
    }
    if (!s.entitlementCancelled && s.pendingChange) {
      const change = s.pendingChange;
      candidates.push({ at: change.effectiveDate, rank: 2, run: () => this.applyChange(s, change) });
    }
    const phaseAt = this.nextPhaseAt(s);
    if (!s.entitlementCancelled && !s.billingCancelled && phaseAt !== null) {
      candidates.push({ at: phaseAt, rank: 3, run: () => this.applyPhase(s, phaseAt) });
    }
    candidates.sort((a, b) => a.at - b.at || a.rank - b.rank);
    return candidates[0] ?? null;
  }

  private applyBillingCancel(s: Subscription): void {
    s.billingCancelled = true;
    this.record(s, 'STOP_BILLING', 'billing-service', 'STOP_BILLING');
    this.emitSubscription(s, 'SUBSCRIPTION_CANCEL', 'EFFECTIVE');
  }

  private applyEntitlementCancel(s: Subscription): void {
    s.entitlementCancelled = true;
    s.pendingChange = null;
    this.record(s, 'STOP_ENTITLEMENT', 'entitlement-service', 'ENT_CANCELLED');
    this.emit(s.tenantId, 'ENTITLEMENT_CANCEL', 'SUBSCRIPTION', s.id, s.accountId, null);
  }

  private applyPhase(s: Subscription, at: number): void {
    s.phaseIndex++;
    s.phaseStart = at;
    this.record(s, 'PHASE', 'entitlement+billing-service', 'PHASE');
    if (s.phaseIndex < s.plan.phases.length - 1) this.emitSubscription(s, 'SUBSCRIPTION_PHASE', 'REQUESTED');
    this.emitSubscription(s, 'SUBSCRIPTION_PHASE', 'EFFECTIVE');
  }

  private applyChange(s: Subscription, change: NonNullable<Subscription['pendingChange']>): void {
    const account = this.accounts.get(s.accountId);
    const oldPhase = this.phase(s);
    const today = toLocalDate(this.at);
    // Credit the unused part of the current in-advance term (REPAIR_ADJ), then bill the new plan from today.
    const repairs: InvoiceItem[] = [];
    if (account && oldPhase.recurring && s.chargedThroughDate !== null && s.chargedThroughDate > today) {
      const last = [...this.invoices.values()]
        .flatMap((i) => i.items)
        .filter((i) => i.subscriptionId === s.id && i.itemType === 'RECURRING')
        .pop();
      if (last && last.endDate) {
        const total = daysBetween(last.startDate, last.endDate);
        const unused = daysBetween(today, last.endDate);
        const credit = total > 0 ? round2((last.amount * unused) / total) : 0;
        if (credit > 0) {
          repairs.push({
            ...this.itemBase(s, account, 'REPAIR_ADJ'),
            description: 'Adjustment (subscription change)',
            startDate: today,
            endDate: last.endDate,
            amount: -credit,
            linkedInvoiceItemId: last.id,
          });
        }
      }
      s.chargedThroughDate = today;
    }
    const sameType = change.plan.phases.findIndex((p) => p.type === oldPhase.type);
    s.plan = change.plan;
    s.product = change.product;
    s.priceList = change.priceList;
    if (sameType >= 0) {
      s.phaseIndex = sameType;
    } else {
      s.phaseIndex = change.plan.phases.length - 1;
      s.phaseStart = this.at;
    }
    s.fixedBilledForPhaseStart = null;
    s.pendingChange = null;
    this.record(s, 'CHANGE', 'entitlement+billing-service', 'CHANGE');
    this.emitSubscription(s, 'SUBSCRIPTION_CHANGE', 'EFFECTIVE');
    if (account) this.invoiceAccount(account, repairs);
  }

  /** Next moment something happens anywhere (subscription transition, invoice, overdue check). */
  nextDueTime(): number | null {
    let min: number | null = null;
    const consider = (t: number | null | undefined): void => {
      if (t !== null && t !== undefined && (min === null || t < min)) min = t;
    };
    for (const s of this.subscriptions.values()) {
      consider(this.nextSubscriptionTransition(s)?.at);
      const account = this.accounts.get(s.accountId);
      if (account && this.canInvoice(account, s)) consider(this.nextBillingDue(s, account)?.due);
    }
    for (const account of this.accounts.values()) consider(account.nextOverdueCheck);
    return min;
  }

  /** Processes, in chronological order, everything due at or before `upTo`. */
  processDue(upTo: number): void {
    for (let guard = 0; guard < 100_000; guard++) {
      const t = this.nextDueTime();
      if (t === null || t > upTo) break;
      this.at = t;
      for (const s of [...this.subscriptions.values()]) this.processSubscriptionTransitions(s, t);
      for (const account of [...this.accounts.values()]) {
        if (
          this.subscriptionsOfAccount(account).some(
            (s) => this.canInvoice(account, s) && (this.nextBillingDue(s, account)?.due ?? Infinity) <= t,
          )
        ) {
          this.invoiceAccount(account);
        }
      }
      for (const account of [...this.accounts.values()]) {
        if (account.nextOverdueCheck !== null && account.nextOverdueCheck <= t) {
          account.nextOverdueCheck = null;
          this.refreshOverdue(account);
        }
      }
    }
    this.at = upTo;
  }

  setNow(now: number): void {
    this.at = now;
  }

  // -------------------------------------------------------------------------------------------- invoicing

  private canInvoice(account: Account, s: Subscription): boolean {
    return (
      !s.billingCancelled &&
      !this.hasTag(account.id, 'AUTO_INVOICING_OFF') &&
      !this.isBillingBlocked(account, s)
    );
  }

  /** When the next invoice item of `s` is due, and the period it covers. */
  private nextBillingDue(
    s: Subscription,
    account: Account,
  ):
    | { due: number; kind: 'FIXED' }
    | { due: number; kind: 'RECURRING'; from: string; end: string; fraction: number }
    | null {
    const phase = this.phase(s);
    if (phase.fixedPrices !== null && s.fixedBilledForPhaseStart !== s.phaseStart)
      return { due: s.phaseStart, kind: 'FIXED' };
    if (!phase.recurring) return null;
    const phaseStartDate = toLocalDate(s.phaseStart);
    const from =
      s.chargedThroughDate !== null && s.chargedThroughDate > phaseStartDate
        ? s.chargedThroughDate
        : phaseStartDate;
    const limits: string[] = [];
    if (s.billingEndDate !== null) limits.push(toLocalDate(s.billingEndDate));
    const nextPhase = this.nextPhaseAt(s);
    if (nextPhase !== null) limits.push(toLocalDate(nextPhase));
    if (limits.some((limit) => limit <= from)) return null;

    const bp = phase.recurring.billingPeriod;
    const months = BILLING_PERIOD_MONTHS[bp];
    let end: string;
    let fullStart: string;
    if (months !== undefined) {
      const bcd = this.bcdFor(s, account) || dayOfMonth(phaseStartDate);
      const candidate = bcdDateInMonthOf(from, bcd);
      end = candidate > from ? candidate : bcdDateInMonthOf(addMonthsToLocalDate(from, months), bcd);
      fullStart = bcdDateInMonthOf(addMonthsToLocalDate(end, -months), bcd);
    } else {
      end = addDaysToLocalDate(from, BILLING_PERIOD_DAYS[bp] ?? 30);
      fullStart = from;
    }
    const fullDays = daysBetween(fullStart, end);
    let capped = end;
    for (const limit of limits) if (limit < capped) capped = limit;
    const fraction = from === fullStart && capped === end ? 1 : daysBetween(from, capped) / fullDays;
    const atDate = (date: string): number =>
      date === phaseStartDate ? s.phaseStart : Math.max(s.phaseStart, Date.parse(`${date}T00:00:00.000Z`));
    const due = s.plan.recurringBillingMode === 'IN_ARREAR' ? atDate(capped) : atDate(from);
    return { due, kind: 'RECURRING', from, end: capped, fraction };
  }

  private itemBase(s: Subscription, account: Account, itemType: InvoiceItemType): InvoiceItem {
    const phase = this.phase(s);
    return {
      id: randomUUID(),
      invoiceId: '',
      accountId: account.id,
      bundleId: s.bundleId,
      subscriptionId: s.id,
      plan: s.plan,
      productName: s.product.name,
      phaseName: phaseName(s.plan, phase),
      itemType,
      description: phaseName(s.plan, phase),
      startDate: toLocalDate(this.at),
      endDate: null,
      amount: 0,
      rate: null,
      currency: account.currency ?? 'USD',
      linkedInvoiceItemId: null,
    };
  }

  /** Generates one invoice with every item due now for the account (plus `extra` items), then pays/evaluates it. */
  private invoiceAccount(account: Account, extra: InvoiceItem[] = []): void {
    const items: InvoiceItem[] = [...extra];
    const currency = account.currency ?? 'USD';
    if (!this.hasTag(account.id, 'AUTO_INVOICING_OFF')) {
      for (const s of this.subscriptionsOfAccount(account)) {
        if (!this.canInvoice(account, s)) continue;
        for (let guard = 0; guard < 1000; guard++) {
          const next = this.nextBillingDue(s, account);
          if (!next || next.due > this.at) break;
          const phase = this.phase(s);
          if (next.kind === 'FIXED') {
            const amount = priceIn(phase.fixedPrices, currency) ?? 0;
            items.push({
              ...this.itemBase(s, account, 'FIXED'),
              startDate: toLocalDate(s.phaseStart),
              amount,
            });
            s.fixedBilledForPhaseStart = s.phaseStart;
            const start = toLocalDate(s.phaseStart);
            if (s.chargedThroughDate === null || s.chargedThroughDate < start) s.chargedThroughDate = start;
          } else {
            const rate = priceIn(phase.recurring?.prices, currency) ?? 0;
            items.push({
              ...this.itemBase(s, account, 'RECURRING'),
              startDate: next.from,
              endDate: next.end,
              amount: round2(rate * next.fraction),
              rate,
            });
            s.chargedThroughDate = next.end;
          }
        }
      }
    }
    if (items.length === 0) return;
    const today = toLocalDate(this.at);
    const invoice: Invoice = {
      id: randomUUID(),
      tenantId: account.tenantId,
      accountId: account.id,
      invoiceNumber: ++this.invoiceCounter,
      invoiceDate: today,
      targetDate: today,
      currency,
      items: [],
      writtenOff: false,
    };
    const total = round2(items.reduce((sum, i) => sum + i.amount, 0));
    const cba = (amount: number): InvoiceItem => ({
      id: randomUUID(),
      invoiceId: invoice.id,
      accountId: account.id,
      bundleId: null,
      subscriptionId: null,
      plan: null,
      productName: null,
      phaseName: null,
      itemType: 'CBA_ADJ',
      description: amount > 0 ? 'Credit generated' : 'Credit used',
      startDate: today,
      endDate: today,
      amount,
      rate: null,
      currency,
      linkedInvoiceItemId: null,
    });
    if (total < 0) {
      items.push(cba(-total));
      account.credit = round2(account.credit - total);
    } else if (total > 0 && account.credit > 0) {
      const used = Math.min(total, account.credit);
      items.push(cba(-used));
      account.credit = round2(account.credit - used);
    }
    invoice.items = items.map((i) => ({ ...i, invoiceId: invoice.id }));
    this.invoices.set(invoice.id, invoice);
    this.emit(account.tenantId, 'INVOICE_CREATION', 'INVOICE', invoice.id, account.id, null);
    if (this.invoiceBalance(invoice) > 0) this.autoPay(account, invoice);
    this.refreshOverdue(account);
  }

  invoiceAmount(invoice: Invoice): number {
    return round2(invoice.items.reduce((sum, i) => sum + i.amount, 0));
  }

  invoicePaid(invoice: Invoice): number {
    return round2(
      [...this.payments.values()]
        .filter((p) => p.invoiceId === invoice.id)
        .reduce((sum, p) => sum + p.amount, 0),
    );
  }

  invoiceBalance(invoice: Invoice): number {
    if (invoice.writtenOff) return 0;
    return round2(this.invoiceAmount(invoice) - this.invoicePaid(invoice));
  }

  invoicesOf(account: Account): Invoice[] {
    return [...this.invoices.values()].filter((i) => i.accountId === account.id);
  }

  getInvoice(tenant: Tenant, id: string): Invoice {
    const invoice = this.invoices.get(id);
    if (!invoice || invoice.tenantId !== tenant.id) {
      throw new KbApiError(404, EXCEPTION_CLASS.invoice, 4006, `No invoice could be found for id ${id}.`);
    }
    return invoice;
  }

  accountBalance(account: Account): number {
    return round2(
      this.invoicesOf(account).reduce((sum, i) => sum + this.invoiceBalance(i), 0) - account.credit,
    );
  }

  // -------------------------------------------------------------------------------------------- payments

  /** Automatic payment after invoicing (contract §3.5 / §4.2). */
  private autoPay(account: Account, invoice: Invoice): void {
    if (this.hasTag(account.id, 'AUTO_PAY_OFF') || this.hasTag(account.id, 'MANUAL_PAY')) return;
    const pm = account.paymentMethodId ? this.paymentMethods.get(account.paymentMethodId) : undefined;
    if (pm && pm.pluginName === EXTERNAL_PAYMENT_PLUGIN) {
      this.recordPayment(account, invoice, this.invoiceBalance(invoice), null, pm.id);
      return;
    }
    this.emit(account.tenantId, 'INVOICE_PAYMENT_FAILED', 'INVOICE', invoice.id, account.id, {
      paymentId: null,
      paymentAttemptId: randomUUID(),
      invoicePaymentType: 'ATTEMPT',
      paymentDate: toIso(this.at),
      amount: null,
      currency: invoice.currency,
      linkedInvoicePaymentId: null,
      paymentCookieId: randomUUID(),
      processedCurrency: null,
    });
  }

  private recordPayment(
    account: Account,
    invoice: Invoice,
    amount: number,
    externalKey: string | null,
    paymentMethodId: string,
  ): Payment {
    const id = randomUUID();
    const transactionId = randomUUID();
    const payment: Payment = {
      id,
      tenantId: account.tenantId,
      accountId: account.id,
      invoiceId: invoice.id,
      paymentNumber: ++this.paymentCounter,
      externalKey: externalKey ?? id,
      transactionId,
      transactionExternalKey: transactionId,
      paymentMethodId,
      amount: round2(amount),
      currency: invoice.currency,
      effectiveDate: this.at,
    };
    this.payments.set(id, payment);
    this.emit(account.tenantId, 'INVOICE_PAYMENT_SUCCESS', 'INVOICE', invoice.id, account.id, {
      paymentId: id,
      paymentAttemptId: randomUUID(),
      invoicePaymentType: 'ATTEMPT',
      paymentDate: toIso(this.at),
      amount: payment.amount,
      currency: payment.currency,
      linkedInvoicePaymentId: null,
      paymentCookieId: null,
      processedCurrency: payment.currency,
    });
    this.emit(account.tenantId, 'PAYMENT_SUCCESS', 'PAYMENT', id, account.id, {
      paymentTransactionId: transactionId,
      amount: payment.amount,
      currency: payment.currency,
      status: 'SUCCESS',
      transactionType: 'PURCHASE',
      effectiveDate: toIso(this.at),
    });
    return payment;
  }

  /** POST /invoices/{id}/payments. Returns null when there is nothing to pay (204). */
  payInvoice(
    account: Account,
    invoice: Invoice,
    options: {
      amount: number | null;
      externalKey: string | null;
      externalPayment: boolean;
      paymentMethodId: string | null;
    },
    now: number,
  ): Payment | null {
    this.at = now;
    if (
      options.externalKey &&
      [...this.payments.values()].some(
        (p) => p.tenantId === account.tenantId && p.externalKey === options.externalKey,
      )
    ) {
      throw new KbApiError(
        400,
        EXCEPTION_CLASS.payment,
        7032,
        'Invalid payment transition PURCHASE from state PURCHASE_SUCCESS',
      );
    }
    let pm: PaymentMethod | undefined;
    if (options.externalPayment) {
      pm = this.externalPaymentMethod(account);
    } else {
      const pmId = options.paymentMethodId ?? account.paymentMethodId;
      if (!pmId) {
        throw new KbApiError(
          404,
          EXCEPTION_CLASS.payment,
          7021,
          `Account ${account.id} does not have a default payment method set`,
        );
      }
      pm = this.paymentMethods.get(pmId);
      if (!pm || pm.accountId !== account.id) {
        throw new KbApiError(404, EXCEPTION_CLASS.payment, 7000, `Payment method ${pmId} does not exist`);
      }
      if (pm.pluginName !== EXTERNAL_PAYMENT_PLUGIN) {
        throw new KbApiError(
          400,
          EXCEPTION_CLASS.payment,
          7028,
          `Payment plugin ${pm.pluginName} is not registered`,
        );
      }
    }
    const balance = this.invoiceBalance(invoice);
    if (balance <= 0) return null;
    if (options.amount !== null && options.amount > balance) {
      throw new KbApiError(
        400,
        EXCEPTION_CLASS.payment,
        7199,
        `Plugin exception Invalid amount '${options.amount}' for invoice '${invoice.id}': invoice balance is = '${balance}'`,
      );
    }
    const payment = this.recordPayment(
      account,
      invoice,
      options.amount ?? balance,
      options.externalKey,
      pm.id,
    );
    this.refreshOverdue(account);
    return payment;
  }

  /** POST /accounts/{id}/invoicePayments: pays unpaid invoices oldest first. */
  payAllInvoices(account: Account, amount: number | null, externalPayment: boolean, now: number): Invoice[] {
    this.at = now;
    const pm = externalPayment
      ? this.externalPaymentMethod(account)
      : account.paymentMethodId
        ? this.paymentMethods.get(account.paymentMethodId)
        : undefined;
    if (!pm) {
      throw new KbApiError(
        404,
        EXCEPTION_CLASS.payment,
        7021,
        `Account ${account.id} does not have a default payment method set`,
      );
    }
    let remaining = amount ?? Infinity;
    const paid: Invoice[] = [];
    for (const invoice of this.unpaidInvoices(account)) {
      if (remaining <= 0) break;
      const pay = Math.min(this.invoiceBalance(invoice), remaining);
      this.recordPayment(account, invoice, pay, null, pm.id);
      remaining = round2(remaining - pay);
      paid.push(invoice);
    }
    if (externalPayment && amount !== null && remaining > 0 && remaining !== Infinity) {
      account.credit = round2(account.credit + remaining);
    }
    if (paid.length > 0) this.refreshOverdue(account);
    return paid;
  }

  paymentsOfInvoice(invoice: Invoice): Payment[] {
    return [...this.payments.values()].filter((p) => p.invoiceId === invoice.id);
  }

  // -------------------------------------------------------------------------------------------- overdue

  unpaidInvoices(account: Account): Invoice[] {
    const today = toLocalDate(this.at);
    return this.invoicesOf(account)
      .filter((i) => this.invoiceBalance(i) > 0 && i.invoiceDate <= today)
      .sort((a, b) => a.invoiceDate.localeCompare(b.invoiceDate) || a.invoiceNumber - b.invoiceNumber);
  }

  private conditionMatches(state: OverdueState, account: Account, unpaid: Invoice[]): boolean {
    const c = state.condition;
    if (!c) return false;
    const today = toLocalDate(this.at);
    const balance = unpaid.reduce((sum, i) => sum + this.invoiceBalance(i), 0);
    if (
      c.numberOfUnpaidInvoicesEqualsOrExceeds !== null &&
      unpaid.length < c.numberOfUnpaidInvoicesEqualsOrExceeds
    )
      return false;
    if (
      c.totalUnpaidInvoiceBalanceEqualsOrExceeds !== null &&
      balance < c.totalUnpaidInvoiceBalanceEqualsOrExceeds
    )
      return false;
    if (c.timeSinceEarliestUnpaidInvoiceEqualsOrExceeds !== null) {
      const earliest = unpaid[0];
      if (!earliest) return false;
      const trigger = addDurationToLocalDate(
        earliest.invoiceDate,
        c.timeSinceEarliestUnpaidInvoiceEqualsOrExceeds,
      );
      if (trigger === null || trigger > today) return false;
    }
    if (c.controlTagInclusion !== null && !this.hasTag(account.id, c.controlTagInclusion)) return false;
    if (c.controlTagExclusion !== null && this.hasTag(account.id, c.controlTagExclusion)) return false;
    return true;
  }

  /** OverdueWrapper.refresh + OverdueStateApplicator.apply, at the current engine time. */
  private refreshOverdue(account: Account): void {
    const tenant = this.tenants.get(account.tenantId);
    const config = tenant?.overdue;
    if (!config || config.states.length === 0) return;
    if (this.hasTag(account.id, 'OVERDUE_ENFORCEMENT_OFF')) return;
    const unpaid = this.unpaidInvoices(account);
    const next = config.states.find((state) => this.conditionMatches(state, account, unpaid)) ?? CLEAR_STATE;
    const scheduleNext = !next.isClearState || unpaid.length > 0;
    if (scheduleNext) {
      const interval = usableInterval(
        next.isClearState ? config.initialReevaluationInterval : next.autoReevaluationInterval,
      );
      if (interval) {
        const when = addDuration(this.at, interval);
        if (when !== null && (account.nextOverdueCheck === null || account.nextOverdueCheck > when)) {
          account.nextOverdueCheck = when;
        }
      }
    } else if (next.isClearState) {
      account.nextOverdueCheck = null;
    }
    if (account.overdueState.name === next.name) return;
    this.transitionOverdue(account, next);
  }

  private clearOverdue(account: Account): void {
    account.nextOverdueCheck = null;
    if (account.overdueState.name !== CLEAR_STATE.name) this.transitionOverdue(account, CLEAR_STATE);
  }

  private transitionOverdue(account: Account, next: OverdueState): void {
    const previous = account.overdueState;
    const blockBilling = (s: OverdueState): boolean => s.disableEntitlementAndChangesBlocked;
    const toBlocked = !blockBilling(previous) && blockBilling(next);
    const toUnblocked = blockBilling(previous) && !blockBilling(next);

    if (next.subscriptionCancellationPolicy !== 'NONE') {
      const policy = next.subscriptionCancellationPolicy;
      for (const s of this.subscriptionsOfAccount(account)) {
        if (s.entitlementCancelled || s.product.category === 'ADD_ON') continue;
        if (s.entitlementEndDate !== null) continue;
        this.cancelSubscription(
          s,
          {
            requestedDate: null,
            entitlementPolicy: policy,
            billingPolicy: policy,
            useRequestedDateForBilling: false,
          },
          this.at,
        );
      }
    }
    // OverdueStateApplicator toggles AUTO_INVOICING_OFF before storing the new blocking state.
    if (toBlocked) this.addTag(account.tenantId, 'ACCOUNT', account.id, tagId('AUTO_INVOICING_OFF'));
    if (toUnblocked) this.removeTag(account.tenantId, account.id, tagId('AUTO_INVOICING_OFF'));

    account.overdueState = next;
    for (const s of this.subscriptionsOfAccount(account)) {
      if (!s.entitlementCancelled) this.record(s, 'SERVICE_STATE_CHANGE', OVERDUE_SERVICE, next.name);
    }
    this.emit(account.tenantId, 'BLOCKING_STATE', 'ACCOUNT', account.id, account.id, {
      blockableId: account.id,
      service: OVERDUE_SERVICE,
      stateName: next.name,
      blockingType: 'ACCOUNT',
      effectiveDate: toIso(this.at),
      transitionedToBlockedBilling: toBlocked,
      transitionedToUnblockedBilling: toUnblocked,
      transitionedToBlockedEntitlement: toBlocked,
      transitionedToUnblockedEntitlement: toUnblocked,
    });
    this.emit(account.tenantId, 'OVERDUE_CHANGE', 'ACCOUNT', account.id, account.id, null);

    if (toUnblocked) {
      for (const s of this.subscriptionsOfAccount(account)) this.skipBlockedPeriod(s);
      this.invoiceAccount(account);
    }
  }

  // -------------------------------------------------------------------------------------------- overdue config

  setOverdueConfig(tenant: Tenant, config: OverdueConfig, now: number): void {
    this.at = now;
    tenant.overdue = config;
    this.setTenantKv(tenant, 'OVERDUE_CONFIG', config.xml);
  }

  phaseTypeOf(s: Subscription): PhaseType {
    return this.phase(s).type;
  }

  currentPhase(s: Subscription): CatalogPhase {
    return this.phase(s);
  }
}
