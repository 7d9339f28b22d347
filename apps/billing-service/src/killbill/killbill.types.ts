/**
 * Shapes of the Kill Bill 0.24 JSON the platform reads (contract §4; field names of the Java *Json classes).
 * Responses are validated with these schemas: unknown fields are kept, and fields Kill Bill may omit or null
 * are nullish, so a newer server does not break the client while a wrong shape fails loudly.
 */
import { z } from 'zod';

const str = z.string().nullish();
const num = z.number().nullish();
const bool = z.boolean().nullish();

export const ENTITLEMENT_STATES = ['PENDING', 'ACTIVE', 'BLOCKED', 'CANCELLED', 'EXPIRED'] as const;
export type KbEntitlementState = (typeof ENTITLEMENT_STATES)[number];

export const kbTenantSchema = z.looseObject({
  tenantId: z.string(),
  externalKey: str,
  apiKey: str,
});
export type KbTenant = z.infer<typeof kbTenantSchema>;

export const kbAccountSchema = z.looseObject({
  accountId: z.string(),
  externalKey: str,
  name: str,
  email: str,
  currency: str,
  billCycleDayLocal: num,
  paymentMethodId: str,
  referenceTime: str,
  timeZone: str,
  accountBalance: num,
  accountCBA: num,
});
export type KbAccount = z.infer<typeof kbAccountSchema>;

export const kbSubscriptionEventSchema = z.looseObject({
  eventId: str,
  billingPeriod: str,
  effectiveDate: str,
  plan: str,
  product: str,
  priceList: str,
  eventType: str,
  isBlockedBilling: bool,
  isBlockedEntitlement: bool,
  serviceName: str,
  serviceStateName: str,
  phase: str,
});
export type KbSubscriptionEvent = z.infer<typeof kbSubscriptionEventSchema>;

export const kbSubscriptionSchema = z.looseObject({
  accountId: z.string(),
  bundleId: z.string(),
  bundleExternalKey: str,
  subscriptionId: z.string(),
  externalKey: str,
  startDate: str,
  productName: str,
  productCategory: str,
  billingPeriod: str,
  phaseType: str,
  priceList: str,
  planName: z.string(),
  state: z.enum(ENTITLEMENT_STATES),
  sourceType: str,
  cancelledDate: str,
  chargedThroughDate: str,
  billingStartDate: str,
  billingEndDate: str,
  billCycleDayLocal: num,
  events: z.array(kbSubscriptionEventSchema).nullish(),
});
export type KbSubscription = z.infer<typeof kbSubscriptionSchema>;

export const kbBundleSchema = z.looseObject({
  accountId: z.string(),
  bundleId: z.string(),
  externalKey: str,
  subscriptions: z.array(kbSubscriptionSchema).nullish(),
});
export type KbBundle = z.infer<typeof kbBundleSchema>;

export const kbInvoiceItemSchema = z.looseObject({
  invoiceItemId: z.string(),
  invoiceId: str,
  accountId: str,
  bundleId: str,
  subscriptionId: str,
  productName: str,
  planName: str,
  phaseName: str,
  itemType: str,
  description: str,
  startDate: str,
  endDate: str,
  amount: num,
  currency: str,
});
export type KbInvoiceItem = z.infer<typeof kbInvoiceItemSchema>;

export const kbInvoiceSchema = z.looseObject({
  invoiceId: z.string(),
  accountId: z.string(),
  amount: num,
  currency: str,
  status: str,
  creditAdj: num,
  refundAdj: num,
  invoiceDate: str,
  targetDate: str,
  invoiceNumber: z.union([z.string(), z.number()]).nullish(),
  balance: num,
  bundleKeys: str,
  items: z.array(kbInvoiceItemSchema).nullish(),
});
export type KbInvoice = z.infer<typeof kbInvoiceSchema>;

export const kbInvoicePaymentSchema = z.looseObject({
  targetInvoiceId: str,
  accountId: str,
  paymentId: z.string(),
  paymentNumber: z.union([z.string(), z.number()]).nullish(),
  paymentExternalKey: str,
  purchasedAmount: num,
  currency: str,
});
export type KbInvoicePayment = z.infer<typeof kbInvoicePaymentSchema>;

export const CLEAR_OVERDUE_STATE = '__KILLBILL__CLEAR__OVERDUE_STATE__';

export const kbOverdueStateSchema = z.looseObject({
  name: z.string(),
  externalMessage: str,
  isDisableEntitlementAndChangesBlocked: bool,
  isBlockChanges: bool,
  isClearState: bool,
  reevaluationIntervalDays: num,
});
export type KbOverdueState = z.infer<typeof kbOverdueStateSchema>;

export const kbOverdueConfigSchema = z.looseObject({
  initialReevaluationInterval: num,
  overdueStates: z.array(z.looseObject({ name: z.string() })).nullish(),
});
export type KbOverdueConfig = z.infer<typeof kbOverdueConfigSchema>;

const kbPriceSchema = z.looseObject({ currency: z.string(), value: z.number().nullish() });

export const kbCatalogPhaseSchema = z.looseObject({
  type: z.string(),
  prices: z.array(kbPriceSchema).nullish(),
  fixedPrices: z.array(kbPriceSchema).nullish(),
  duration: z.looseObject({ unit: z.string(), number: z.number().nullish() }).nullish(),
});
export type KbCatalogPhase = z.infer<typeof kbCatalogPhaseSchema>;

export const kbCatalogPlanSchema = z.looseObject({
  name: z.string(),
  prettyName: str,
  billingPeriod: str,
  phases: z.array(kbCatalogPhaseSchema),
});
export type KbCatalogPlan = z.infer<typeof kbCatalogPlanSchema>;

export const kbCatalogSchema = z.looseObject({
  name: z.string(),
  effectiveDate: z.string(),
  currencies: z.array(z.string()).nullish(),
  products: z.array(
    z.looseObject({
      type: str,
      name: z.string(),
      prettyName: str,
      plans: z.array(kbCatalogPlanSchema),
    }),
  ),
  priceLists: z.array(z.looseObject({ name: z.string(), plans: z.array(z.string()) })).nullish(),
});
export type KbCatalog = z.infer<typeof kbCatalogSchema>;

export const kbTenantKeyValueSchema = z.looseObject({ key: z.string(), values: z.array(z.string()) });
export type KbTenantKeyValue = z.infer<typeof kbTenantKeyValueSchema>;

export const kbTagSchema = z.looseObject({
  tagId: z.string(),
  objectType: str,
  objectId: str,
  tagDefinitionId: z.string(),
  tagDefinitionName: str,
});
export type KbTag = z.infer<typeof kbTagSchema>;

export const kbClockSchema = z.looseObject({
  currentUtcTime: z.string(),
  timeZone: str,
  localDate: str,
});
export type KbClock = z.infer<typeof kbClockSchema>;

/** Control tag definitions (KB-API ControlTagType). */
export const KB_CONTROL_TAGS = {
  AUTO_PAY_OFF: '00000000-0000-0000-0000-000000000001',
  AUTO_INVOICING_OFF: '00000000-0000-0000-0000-000000000002',
  OVERDUE_ENFORCEMENT_OFF: '00000000-0000-0000-0000-000000000003',
  WRITTEN_OFF: '00000000-0000-0000-0000-000000000004',
  MANUAL_PAY: '00000000-0000-0000-0000-000000000005',
  TEST: '00000000-0000-0000-0000-000000000006',
} as const;

export type KbPhaseType = 'TRIAL' | 'DISCOUNT' | 'FIXEDTERM' | 'EVERGREEN';
export type KbEntitlementPolicy = 'IMMEDIATE' | 'END_OF_TERM';
export type KbBillingPolicy = 'START_OF_TERM' | 'END_OF_TERM' | 'IMMEDIATE';

export interface CreateAccountInput {
  externalKey: string;
  name: string;
  currency: string;
  email?: string;
  notes?: string;
}

export interface CreateSubscriptionInput {
  accountId: string;
  planName: string;
  phaseType?: KbPhaseType;
  bundleExternalKey?: string;
  externalKey?: string;
}

export interface ExternalPaymentInput {
  accountId: string;
  amount?: number;
  paymentExternalKey?: string;
}
