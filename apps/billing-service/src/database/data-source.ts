import { ServiceDataSourceSpec } from '@app/database';
import { BillingAccountEntity } from '../accounts/billing-account.entity';
import { PlanEntitlementEntity } from '../plans/plan-entitlement.entity';
import { SubscriptionEntity } from '../subscriptions/subscription.entity';
import { CreateBilling1765000000000 } from './migrations/1765000000000-CreateBilling';
import { CreatePayments1766000000000 } from './migrations/1766000000000-CreatePayments';

export const dataSourceSpec: ServiceDataSourceSpec = {
  service: 'billing-service',
  entities: [PlanEntitlementEntity, BillingAccountEntity, SubscriptionEntity],
  migrations: [CreateBilling1765000000000, CreatePayments1766000000000],
};
