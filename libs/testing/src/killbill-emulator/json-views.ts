/**
 * Response bodies of the Kill Bill emulator (test double): AccountJson, SubscriptionJson, BundleJson,
 * InvoiceJson, InvoicePaymentJson, TagJson... with the field names of Kill Bill 0.24 (contract §4).
 */
import { phaseName, planBillingPeriod, priceIn } from './catalog';
import { toIso } from './dates';
import {
  CONTROL_TAGS,
  type Account,
  type Bundle,
  type Invoice,
  type JsonObject,
  type JsonValue,
  type KillBillEngine,
  type Payment,
  type PaymentMethod,
  type Subscription,
  type Tag,
  type Tenant,
  type TimelineEvent,
} from './engine';

const ACCOUNT_DETAIL_DEFAULTS: JsonObject = {
  name: null,
  firstNameLength: null,
  email: null,
  parentAccountId: null,
  isPaymentDelegatedToParent: false,
  timeZone: 'UTC',
  address1: null,
  address2: null,
  postalCode: null,
  company: null,
  city: null,
  state: null,
  country: null,
  locale: null,
  phone: null,
  notes: null,
  isMigrated: false,
};

export const ACCOUNT_DETAIL_FIELDS = Object.keys(ACCOUNT_DETAIL_DEFAULTS);

export function tenantJson(tenant: Tenant): JsonObject {
  return {
    tenantId: tenant.id,
    externalKey: tenant.externalKey,
    apiKey: tenant.apiKey,
    apiSecret: null,
    auditLogs: [],
  };
}

export function accountJson(
  engine: KillBillEngine,
  account: Account,
  withBalance: boolean,
  withCba: boolean,
): JsonObject {
  const details: JsonObject = {};
  for (const field of ACCOUNT_DETAIL_FIELDS)
    details[field] = account.details[field] ?? ACCOUNT_DETAIL_DEFAULTS[field];
  return {
    accountId: account.id,
    name: details.name,
    firstNameLength: details.firstNameLength,
    externalKey: account.externalKey,
    email: details.email,
    billCycleDayLocal: account.billCycleDayLocal,
    currency: account.currency,
    parentAccountId: details.parentAccountId,
    isPaymentDelegatedToParent: details.isPaymentDelegatedToParent,
    paymentMethodId: account.paymentMethodId,
    referenceTime: toIso(account.referenceTime),
    timeZone: details.timeZone,
    address1: details.address1,
    address2: details.address2,
    postalCode: details.postalCode,
    company: details.company,
    city: details.city,
    state: details.state,
    country: details.country,
    locale: details.locale,
    phone: details.phone,
    notes: details.notes,
    isMigrated: details.isMigrated,
    accountBalance: withBalance || withCba ? engine.accountBalance(account) : null,
    accountCBA: withCba ? account.credit : null,
    auditLogs: [],
  };
}

function eventJson(event: TimelineEvent): JsonObject {
  return {
    eventId: event.id,
    billingPeriod: event.billingPeriod,
    effectiveDate: toIso(event.at),
    catalogEffectiveDate: null,
    plan: event.plan,
    product: event.product,
    priceList: event.priceList,
    eventType: event.eventType,
    isBlockedBilling: event.blockedBilling,
    isBlockedEntitlement: event.blockedEntitlement,
    serviceName: event.serviceName,
    serviceStateName: event.serviceStateName,
    phase: event.phase,
    auditLogs: [],
  };
}

export function subscriptionJson(engine: KillBillEngine, s: Subscription): JsonObject {
  const account = engine.accounts.get(s.accountId);
  const bundle = engine.bundles.get(s.bundleId);
  const currency = account?.currency ?? 'USD';
  const phase = engine.currentPhase(s);
  const bcd = engine.subscriptionBcd(s) || null;
  return {
    accountId: s.accountId,
    bundleId: s.bundleId,
    bundleExternalKey: bundle?.externalKey ?? null,
    subscriptionId: s.id,
    externalKey: s.externalKey,
    startDate: toIso(s.startDate),
    productName: s.product.name,
    productCategory: s.product.category,
    billingPeriod: planBillingPeriod(s.plan),
    phaseType: phase.type,
    priceList: s.priceList,
    planName: s.plan.name,
    state: engine.subscriptionState(s),
    sourceType: 'NATIVE',
    cancelledDate: s.entitlementEndDate === null ? null : toIso(s.entitlementEndDate),
    chargedThroughDate: s.chargedThroughDate,
    billingStartDate: toIso(s.startDate),
    billingEndDate: s.billingEndDate === null ? null : toIso(s.billingEndDate),
    billCycleDayLocal: bcd,
    quantity: 1,
    events: [...s.history, ...engine.futureTimeline(s)].map(eventJson),
    priceOverrides: null,
    prices: s.plan.phases.map((p) => ({
      planName: s.plan.name,
      phaseName: phaseName(s.plan, p),
      phaseType: p.type,
      fixedPrice: p.fixedPrices === null ? null : priceIn(p.fixedPrices, currency),
      recurringPrice: p.recurring ? priceIn(p.recurring.prices, currency) : null,
      usagePrices: [],
    })),
    auditLogs: [],
  };
}

export function bundleJson(engine: KillBillEngine, bundle: Bundle): JsonObject {
  const subscriptions = engine.subscriptionsOfBundle(bundle);
  const events: JsonValue[] = subscriptions
    .flatMap((s) => s.history.map((e) => ({ e, s })))
    .sort((a, b) => a.e.at - b.e.at)
    .map(({ e, s }) => ({ ...eventJson(e), subscriptionId: s.id }));
  return {
    accountId: bundle.accountId,
    bundleId: bundle.id,
    externalKey: bundle.externalKey,
    subscriptions: subscriptions.map((s) => subscriptionJson(engine, s)),
    timeline: { accountId: bundle.accountId, bundleId: bundle.id, externalKey: bundle.externalKey, events },
    auditLogs: [],
  };
}

export function invoiceJson(engine: KillBillEngine, invoice: Invoice, withComponents: boolean): JsonObject {
  const bundleKeys = [
    ...new Set(
      invoice.items.map((i) => (i.bundleId ? engine.bundles.get(i.bundleId)?.externalKey : undefined)),
    ),
  ].filter((k): k is string => typeof k === 'string');
  const creditAdj = invoice.items
    .filter((i) => i.itemType === 'CBA_ADJ')
    .reduce((sum, i) => sum + i.amount, 0);
  return {
    amount: withComponents ? engine.invoiceAmount(invoice) : 0,
    currency: invoice.currency,
    status: 'COMMITTED',
    creditAdj: withComponents ? Math.round(creditAdj * 100) / 100 : 0,
    refundAdj: 0,
    invoiceId: invoice.id,
    invoiceDate: invoice.invoiceDate,
    targetDate: invoice.targetDate,
    invoiceNumber: String(invoice.invoiceNumber),
    balance: withComponents ? engine.invoiceBalance(invoice) : 0,
    accountId: invoice.accountId,
    bundleKeys: bundleKeys.join(','),
    credits: [],
    items: withComponents
      ? invoice.items.map((item) => ({
          invoiceItemId: item.id,
          invoiceId: invoice.id,
          linkedInvoiceItemId: item.linkedInvoiceItemId,
          accountId: item.accountId,
          childAccountId: null,
          bundleId: item.bundleId,
          subscriptionId: item.subscriptionId,
          productName: item.productName,
          planName: item.plan?.name ?? null,
          phaseName: item.phaseName,
          usageName: null,
          prettyProductName: item.productName,
          prettyPlanName: item.plan?.prettyName ?? null,
          prettyPhaseName: item.phaseName,
          prettyUsageName: null,
          itemType: item.itemType,
          description: item.description,
          startDate: item.startDate,
          endDate: item.endDate,
          amount: item.amount,
          rate: item.rate,
          currency: item.currency,
          quantity: null,
          itemDetails: null,
          catalogEffectiveDate: null,
          childItems: null,
          auditLogs: [],
        }))
      : [],
    trackingIds: [],
    isParentInvoice: false,
    parentInvoiceId: null,
    parentAccountId: null,
    auditLogs: [],
  };
}

export function invoicePaymentJson(payment: Payment): JsonObject {
  return {
    targetInvoiceId: payment.invoiceId,
    accountId: payment.accountId,
    paymentId: payment.id,
    paymentNumber: String(payment.paymentNumber),
    paymentExternalKey: payment.externalKey,
    authAmount: 0,
    capturedAmount: 0,
    purchasedAmount: payment.amount,
    refundedAmount: 0,
    creditedAmount: 0,
    currency: payment.currency,
    paymentMethodId: payment.paymentMethodId,
    transactions: [
      {
        transactionId: payment.transactionId,
        transactionExternalKey: payment.transactionExternalKey,
        paymentId: payment.id,
        paymentExternalKey: payment.externalKey,
        transactionType: 'PURCHASE',
        amount: payment.amount,
        currency: payment.currency,
        effectiveDate: toIso(payment.effectiveDate),
        processedAmount: payment.amount,
        processedCurrency: payment.currency,
        status: 'SUCCESS',
        gatewayErrorCode: null,
        gatewayErrorMsg: null,
        firstPaymentReferenceId: null,
        secondPaymentReferenceId: null,
        properties: null,
        auditLogs: [],
      },
    ],
    paymentAttempts: null,
    auditLogs: [],
  };
}

export function paymentMethodJson(pm: PaymentMethod, account: Account): JsonObject {
  return {
    paymentMethodId: pm.id,
    externalKey: pm.externalKey,
    accountId: pm.accountId,
    isDefault: account.paymentMethodId === pm.id,
    pluginName: pm.pluginName,
    pluginInfo: pm.pluginInfo,
    auditLogs: [],
  };
}

export function tagJson(tag: Tag): JsonObject {
  const definition = CONTROL_TAGS.find((t) => t.id === tag.tagDefinitionId);
  return {
    tagId: tag.id,
    objectType: tag.objectType,
    objectId: tag.objectId,
    tagDefinitionId: tag.tagDefinitionId,
    tagDefinitionName: definition?.name ?? null,
    auditLogs: [],
  };
}

export function tagDefinitionsJson(): JsonValue[] {
  return CONTROL_TAGS.map((t) => ({
    id: t.id,
    isControlTag: true,
    name: t.name,
    description: t.description,
    applicableObjectTypes: t.objectTypes,
    auditLogs: [],
  }));
}
