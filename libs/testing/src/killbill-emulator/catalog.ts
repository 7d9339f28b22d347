/**
 * Catalog and overdue configuration models for the Kill Bill emulator (test double).
 * Parses the subset of the 0.24 catalog.xml / overdue.xml schema the platform uses (contract §5) and renders
 * the JSON shapes of GET /1.0/kb/catalog and GET /1.0/kb/overdue.
 */
import { type Duration, type TimeUnit } from './dates';
import { child, childText, children, parseXml, XmlParseError, type XmlElement } from './xml';

export type PhaseType = 'TRIAL' | 'DISCOUNT' | 'FIXEDTERM' | 'EVERGREEN';
export type ProductCategory = 'BASE' | 'ADD_ON' | 'STANDALONE';
export type BillingMode = 'IN_ADVANCE' | 'IN_ARREAR';

export interface Price {
  currency: string;
  value: number;
}

export interface CatalogPhase {
  type: PhaseType;
  duration: Duration;
  /** null when the phase has no <fixed> element; an empty <fixedPrice/> means 0 in every currency. */
  fixedPrices: Price[] | null;
  recurring: { billingPeriod: string; prices: Price[] } | null;
}

export interface CatalogPlan {
  name: string;
  prettyName: string;
  product: string;
  recurringBillingMode: BillingMode;
  phases: CatalogPhase[];
}

export interface CatalogProduct {
  name: string;
  prettyName: string;
  category: ProductCategory;
  included: string[];
  available: string[];
}

export interface RuleCase {
  predicates: Record<string, string>;
  result: string;
}

export interface CatalogVersion {
  name: string;
  effectiveDate: number;
  currencies: string[];
  products: CatalogProduct[];
  plans: CatalogPlan[];
  priceLists: { name: string; isDefault: boolean; plans: string[] }[];
  changePolicy: RuleCase[];
  cancelPolicy: RuleCase[];
  billingAlignment: RuleCase[];
  changeAlignment: RuleCase[];
  /** The empty catalog Kill Bill creates for a new tenant when useGlobalDefault=false. */
  isTemplate: boolean;
  xml: string;
}

export class CatalogValidationError extends Error {
  constructor(readonly errors: string[]) {
    super(errors.join('; '));
  }
}

const PHASE_TYPES: PhaseType[] = ['TRIAL', 'DISCOUNT', 'FIXEDTERM', 'EVERGREEN'];
const TIME_UNITS: TimeUnit[] = ['DAYS', 'WEEKS', 'MONTHS', 'YEARS', 'UNLIMITED'];
export const BILLING_PERIOD_MONTHS: Record<string, number> = {
  MONTHLY: 1,
  BIMESTRIAL: 2,
  QUARTERLY: 3,
  TRIANNUAL: 4,
  BIANNUAL: 6,
  ANNUAL: 12,
  SESQUIENNIAL: 18,
  BIENNIAL: 24,
  TRIENNIAL: 36,
};
export const BILLING_PERIOD_DAYS: Record<string, number> = {
  DAILY: 1,
  WEEKLY: 7,
  BIWEEKLY: 14,
  THIRTY_DAYS: 30,
  THIRTY_ONE_DAYS: 31,
  SIXTY_DAYS: 60,
  NINETY_DAYS: 90,
};

function parseDuration(element: XmlElement | undefined, where: string, errors: string[]): Duration {
  const unit = (childText(element, 'unit') ?? '') as TimeUnit;
  if (!TIME_UNITS.includes(unit)) {
    errors.push(`${where}: invalid or missing duration unit '${unit}'`);
    return { unit: 'UNLIMITED', number: -1 };
  }
  const numberText = childText(element, 'number');
  const number = numberText === undefined ? -1 : Number(numberText);
  if (unit !== 'UNLIMITED' && (!Number.isInteger(number) || number < 0)) {
    errors.push(`${where}: invalid duration number '${numberText ?? ''}'`);
  }
  return { unit, number: unit === 'UNLIMITED' ? -1 : number };
}

function parsePrices(element: XmlElement | undefined, where: string, errors: string[]): Price[] {
  return children(element, 'price').map((price) => {
    const currency = childText(price, 'currency') ?? '';
    const value = Number(childText(price, 'value') ?? 'NaN');
    if (!currency || Number.isNaN(value)) errors.push(`${where}: invalid price`);
    return { currency, value };
  });
}

function parsePhase(element: XmlElement, where: string, errors: string[]): CatalogPhase {
  const type = (element.attributes.type ?? '') as PhaseType;
  if (!PHASE_TYPES.includes(type)) errors.push(`${where}: invalid phase type '${type}'`);
  const fixed = child(element, 'fixed');
  const recurring = child(element, 'recurring');
  const billingPeriod = childText(recurring, 'billingPeriod') ?? '';
  if (recurring && !(billingPeriod in BILLING_PERIOD_MONTHS || billingPeriod in BILLING_PERIOD_DAYS)) {
    errors.push(`${where}: unsupported billingPeriod '${billingPeriod}'`);
  }
  return {
    type,
    duration: parseDuration(child(element, 'duration'), where, errors),
    fixedPrices: fixed ? parsePrices(child(fixed, 'fixedPrice'), `${where} fixedPrice`, errors) : null,
    recurring: recurring
      ? {
          billingPeriod,
          prices: parsePrices(child(recurring, 'recurringPrice'), `${where} recurringPrice`, errors),
        }
      : null,
  };
}

function parseCases(
  rules: XmlElement | undefined,
  list: string,
  item: string,
  resultTag: string,
): RuleCase[] {
  return children(child(rules, list), item).map((c) => {
    const predicates: Record<string, string> = {};
    let result = '';
    for (const field of c.children) {
      if (field.name === resultTag) result = field.text.trim();
      else predicates[field.name] = field.text.trim();
    }
    return { predicates, result };
  });
}

export function parseCatalogXml(xml: string): CatalogVersion {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (error) {
    throw new CatalogValidationError([
      `Invalid XML: ${error instanceof XmlParseError ? error.message : String(error)}`,
    ]);
  }
  const errors: string[] = [];
  if (root.name !== 'catalog') errors.push(`Root element must be <catalog>, got <${root.name}>`);
  const effectiveDateText = childText(root, 'effectiveDate');
  const effectiveDate = effectiveDateText ? Date.parse(effectiveDateText) : NaN;
  if (Number.isNaN(effectiveDate)) errors.push('Missing or invalid <effectiveDate>');
  const name = childText(root, 'catalogName') ?? '';
  if (!name) errors.push('Missing <catalogName>');
  const currencies = children(child(root, 'currencies'), 'currency').map((c) => c.text.trim());
  if (currencies.length === 0) errors.push('<currencies> must list at least one currency');
  if (!child(root, 'rules')) errors.push('Missing <rules>');
  const defaultMode = (childText(root, 'recurringBillingMode') ?? 'IN_ADVANCE') as BillingMode;

  const products: CatalogProduct[] = children(child(root, 'products'), 'product').map((p) => {
    const category = (childText(p, 'category') ?? 'BASE') as ProductCategory;
    if (!['BASE', 'ADD_ON', 'STANDALONE'].includes(category)) {
      errors.push(`Product ${p.attributes.name ?? '?'}: invalid category '${category}'`);
    }
    return {
      name: p.attributes.name ?? '',
      prettyName: p.attributes.prettyName ?? p.attributes.name ?? '',
      category,
      included: children(child(p, 'included'), 'addonProduct').map((a) => a.text.trim()),
      available: children(child(p, 'available'), 'addonProduct').map((a) => a.text.trim()),
    };
  });

  const plans: CatalogPlan[] = children(child(root, 'plans'), 'plan').map((p) => {
    const planName = p.attributes.name ?? '';
    if (!planName) errors.push('A <plan> has no name attribute');
    const product = childText(p, 'product') ?? '';
    if (!products.some((candidate) => candidate.name === product)) {
      errors.push(`Plan ${planName}: unknown product '${product}'`);
    }
    const initial = children(child(p, 'initialPhases'), 'phase').map((phase) =>
      parsePhase(phase, `Plan ${planName} phase`, errors),
    );
    const finalElement = child(p, 'finalPhase');
    if (!finalElement) errors.push(`Plan ${planName}: missing <finalPhase>`);
    const phases = finalElement
      ? [...initial, parsePhase(finalElement, `Plan ${planName} finalPhase`, errors)]
      : initial;
    initial.forEach((phase) => {
      if (phase.duration.unit === 'UNLIMITED')
        errors.push(`Plan ${planName}: initial phase with UNLIMITED duration`);
    });
    for (const phase of phases) {
      for (const prices of [phase.fixedPrices, phase.recurring?.prices]) {
        if (!prices || (phase.fixedPrices === prices && prices.length === 0)) continue;
        for (const currency of currencies) {
          if (!prices.some((price) => price.currency === currency)) {
            errors.push(`Plan ${planName} phase ${phase.type}: no price for currency ${currency}`);
          }
        }
      }
    }
    return {
      name: planName,
      prettyName: p.attributes.prettyName ?? planName,
      product,
      recurringBillingMode: (childText(p, 'recurringBillingMode') ?? defaultMode) as BillingMode,
      phases,
    };
  });
  const seen = new Set<string>();
  for (const plan of plans) {
    if (seen.has(plan.name)) errors.push(`Duplicate plan name ${plan.name}`);
    seen.add(plan.name);
  }

  const priceListsElement = child(root, 'priceLists');
  if (!priceListsElement) errors.push('Missing <priceLists>');
  const priceLists = [
    ...children(priceListsElement, 'defaultPriceList').map((pl) => ({ pl, isDefault: true })),
    ...children(priceListsElement, 'childPriceList').map((pl) => ({ pl, isDefault: false })),
  ].map(({ pl, isDefault }) => {
    const planNames = children(child(pl, 'plans'), 'plan').map((p) => p.text.trim());
    for (const planName of planNames) {
      if (!seen.has(planName))
        errors.push(`Price list ${pl.attributes.name ?? ''}: unknown plan ${planName}`);
    }
    return { name: pl.attributes.name ?? (isDefault ? 'DEFAULT' : ''), isDefault, plans: planNames };
  });

  if (errors.length > 0) throw new CatalogValidationError(errors);
  const rules = child(root, 'rules');
  return {
    name,
    effectiveDate,
    currencies,
    products,
    plans,
    priceLists,
    changePolicy: parseCases(rules, 'changePolicy', 'changePolicyCase', 'policy'),
    cancelPolicy: parseCases(rules, 'cancelPolicy', 'cancelPolicyCase', 'policy'),
    billingAlignment: parseCases(rules, 'billingAlignment', 'billingAlignmentCase', 'alignment'),
    changeAlignment: parseCases(rules, 'changeAlignment', 'changeAlignmentCase', 'alignment'),
    isTemplate: false,
    xml,
  };
}

export function templateCatalog(effectiveDate: number): CatalogVersion {
  const date = new Date(effectiveDate).toISOString();
  return {
    name: 'DEFAULT',
    effectiveDate,
    currencies: [],
    products: [],
    plans: [],
    priceLists: [{ name: 'DEFAULT', isDefault: true, plans: [] }],
    changePolicy: [],
    cancelPolicy: [],
    billingAlignment: [],
    changeAlignment: [],
    isTemplate: true,
    xml:
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
      `<catalog><effectiveDate>${date}</effectiveDate><catalogName>DEFAULT</catalogName>` +
      '<recurringBillingMode>IN_ADVANCE</recurringBillingMode><currencies/><units/><products/><rules/><plans/>' +
      '<priceLists><defaultPriceList name="DEFAULT"><plans/></defaultPriceList></priceLists></catalog>\n',
  };
}

/** First matching case wins; a case without predicates is a catch-all (contract §5.1). */
export function matchRule(
  cases: RuleCase[],
  facts: Record<string, string | undefined>,
  fallback: string,
): string {
  for (const c of cases) {
    if (Object.entries(c.predicates).every(([key, value]) => facts[key] === value))
      return c.result || fallback;
  }
  return fallback;
}

export function priceIn(prices: Price[] | null | undefined, currency: string): number | null {
  if (!prices) return null;
  if (prices.length === 0) return 0;
  const found = prices.find((p) => p.currency === currency);
  return found ? found.value : null;
}

export function phaseName(plan: CatalogPlan, phase: CatalogPhase): string {
  return `${plan.name}-${phase.type.toLowerCase()}`;
}

export function planBillingPeriod(plan: CatalogPlan): string {
  return plan.phases[plan.phases.length - 1]?.recurring?.billingPeriod ?? 'NO_BILLING_PERIOD';
}

function durationJson(duration: Duration): { unit: TimeUnit; number: number } {
  return { unit: duration.unit, number: duration.unit === 'UNLIMITED' ? -1 : duration.number };
}

export function catalogToJson(version: CatalogVersion): Record<string, unknown> {
  return {
    name: version.name,
    effectiveDate: new Date(version.effectiveDate).toISOString(),
    currencies: version.currencies,
    units: [],
    products: version.products.map((product) => ({
      type: product.category,
      name: product.name,
      prettyName: product.prettyName,
      plans: version.plans
        .filter((plan) => plan.product === product.name)
        .map((plan) => ({
          name: plan.name,
          prettyName: plan.prettyName,
          recurringBillingMode: plan.recurringBillingMode,
          billingPeriod: planBillingPeriod(plan),
          phases: plan.phases.map((phase) => ({
            type: phase.type,
            prices: phase.recurring?.prices ?? [],
            fixedPrices: phase.fixedPrices ?? [],
            duration: durationJson(phase.duration),
            usages: [],
          })),
        })),
      included: product.included,
      available: product.available,
    })),
    priceLists: version.priceLists.map((pl) => ({ name: pl.name, plans: pl.plans })),
  };
}

// ---------------------------------------------------------------------------------------------- overdue

export type OverdueCancellationPolicy = 'NONE' | 'IMMEDIATE' | 'END_OF_TERM';

export interface OverdueCondition {
  numberOfUnpaidInvoicesEqualsOrExceeds: number | null;
  totalUnpaidInvoiceBalanceEqualsOrExceeds: number | null;
  timeSinceEarliestUnpaidInvoiceEqualsOrExceeds: Duration | null;
  controlTagInclusion: string | null;
  controlTagExclusion: string | null;
}

export interface OverdueState {
  name: string;
  externalMessage: string;
  blockChanges: boolean;
  disableEntitlementAndChangesBlocked: boolean;
  subscriptionCancellationPolicy: OverdueCancellationPolicy;
  isClearState: boolean;
  autoReevaluationInterval: Duration | null;
  condition: OverdueCondition | null;
}

export interface OverdueConfig {
  initialReevaluationInterval: Duration | null;
  /** Most severe first, as in the XML. */
  states: OverdueState[];
  xml: string;
}

export const CLEAR_STATE_NAME = '__KILLBILL__CLEAR__OVERDUE_STATE__';

export const CLEAR_STATE: OverdueState = {
  name: CLEAR_STATE_NAME,
  externalMessage: '',
  blockChanges: false,
  disableEntitlementAndChangesBlocked: false,
  subscriptionCancellationPolicy: 'NONE',
  isClearState: true,
  autoReevaluationInterval: null,
  condition: null,
};

const bool = (value: string | undefined): boolean => value === 'true';
const optionalNumber = (value: string | undefined): number | null =>
  value === undefined ? null : Number(value);

export function parseOverdueXml(xml: string): OverdueConfig {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (error) {
    throw new CatalogValidationError([
      `Invalid XML: ${error instanceof XmlParseError ? error.message : String(error)}`,
    ]);
  }
  const errors: string[] = [];
  if (root.name !== 'overdueConfig') errors.push(`Root element must be <overdueConfig>, got <${root.name}>`);
  const set = child(root, 'accountOverdueStates');
  const initial = child(set, 'initialReevaluationInterval');
  const states = children(set, 'state').map((s): OverdueState => {
    const name = s.attributes.name ?? '';
    if (!name || name.length > 50) errors.push(`Invalid overdue state name '${name}' (1 to 50 characters)`);
    const conditionElement = child(s, 'condition');
    const timeSince = child(conditionElement, 'timeSinceEarliestUnpaidInvoiceEqualsOrExceeds');
    const auto = child(s, 'autoReevaluationInterval');
    const policy = (childText(s, 'subscriptionCancellationPolicy') ?? 'NONE') as OverdueCancellationPolicy;
    if (!['NONE', 'IMMEDIATE', 'END_OF_TERM'].includes(policy)) {
      errors.push(`State ${name}: invalid subscriptionCancellationPolicy '${policy}'`);
    }
    return {
      name,
      externalMessage: childText(s, 'externalMessage') ?? '',
      blockChanges: bool(childText(s, 'blockChanges')),
      disableEntitlementAndChangesBlocked: bool(childText(s, 'disableEntitlementAndChangesBlocked')),
      subscriptionCancellationPolicy: policy,
      isClearState: bool(childText(s, 'isClearState')),
      autoReevaluationInterval: auto
        ? parseDuration(auto, `State ${name} autoReevaluationInterval`, errors)
        : null,
      condition: conditionElement
        ? {
            numberOfUnpaidInvoicesEqualsOrExceeds: optionalNumber(
              childText(conditionElement, 'numberOfUnpaidInvoicesEqualsOrExceeds'),
            ),
            totalUnpaidInvoiceBalanceEqualsOrExceeds: optionalNumber(
              childText(conditionElement, 'totalUnpaidInvoiceBalanceEqualsOrExceeds'),
            ),
            timeSinceEarliestUnpaidInvoiceEqualsOrExceeds: timeSince
              ? parseDuration(timeSince, `State ${name} condition`, errors)
              : null,
            controlTagInclusion: childText(conditionElement, 'controlTagInclusion') ?? null,
            controlTagExclusion: childText(conditionElement, 'controlTagExclusion') ?? null,
          }
        : null,
    };
  });
  const initialReevaluationInterval = initial
    ? parseDuration(initial, 'initialReevaluationInterval', errors)
    : null;
  if (errors.length > 0) throw new CatalogValidationError(errors);
  return { initialReevaluationInterval, states, xml };
}

/** A reevaluation interval Kill Bill accepts: present, not UNLIMITED and not 0 (DefaultOverdueState). */
export function usableInterval(duration: Duration | null): Duration | null {
  if (!duration || duration.unit === 'UNLIMITED' || duration.number === 0) return null;
  return duration;
}

function intervalDays(duration: Duration | null): number | null {
  const usable = usableInterval(duration);
  if (!usable) return null;
  return usable.unit === 'DAYS' ? usable.number : 0;
}

export function overdueStateToJson(state: OverdueState): Record<string, unknown> {
  return {
    name: state.name,
    externalMessage: state.externalMessage,
    isDisableEntitlementAndChangesBlocked: state.disableEntitlementAndChangesBlocked,
    isBlockChanges: state.blockChanges,
    isClearState: state.isClearState,
    reevaluationIntervalDays: intervalDays(state.autoReevaluationInterval),
  };
}

export function overdueConfigToJson(config: OverdueConfig | null): Record<string, unknown> {
  return {
    initialReevaluationInterval: config ? intervalDays(config.initialReevaluationInterval) : null,
    overdueStates: (config?.states ?? []).map((state) => ({
      name: state.name,
      isClearState: state.isClearState,
      condition: state.condition
        ? {
            timeSinceEarliestUnpaidInvoiceEqualsOrExceeds: state.condition
              .timeSinceEarliestUnpaidInvoiceEqualsOrExceeds
              ? durationJson(state.condition.timeSinceEarliestUnpaidInvoiceEqualsOrExceeds)
              : null,
            controlTagInclusion: state.condition.controlTagInclusion,
            controlTagExclusion: state.condition.controlTagExclusion,
            numberOfUnpaidInvoicesEqualsOrExceeds: state.condition.numberOfUnpaidInvoicesEqualsOrExceeds,
            responseForLastFailedPayment: null,
            totalUnpaidInvoiceBalanceEqualsOrExceeds:
              state.condition.totalUnpaidInvoiceBalanceEqualsOrExceeds,
          }
        : null,
      externalMessage: state.externalMessage,
      isBlockChanges: state.blockChanges,
      isDisableEntitlement: state.disableEntitlementAndChangesBlocked,
      subscriptionCancellationPolicy: state.subscriptionCancellationPolicy,
      autoReevaluationIntervalDays: intervalDays(state.autoReevaluationInterval),
    })),
  };
}
