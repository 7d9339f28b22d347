import { ServiceDataSourceSpec } from '@app/database';
import { BillingAccountEntity } from '../records/billing-account.entity';
import { SubscriptionEntity } from '../records/subscription.entity';
import { CreateBilling1765000000000 } from './migrations/1765000000000-CreateBilling';
import { CreatePayments1766000000000 } from './migrations/1766000000000-CreatePayments';
import { PlanCeilingsAndCustomerTrials1768000000000 } from './migrations/1768000000000-PlanCeilingsAndCustomerTrials';

export const dataSourceSpec: ServiceDataSourceSpec = {
  service: 'billing-service',
  entities: [BillingAccountEntity, SubscriptionEntity],
  migrations: [
    CreateBilling1765000000000,
    CreatePayments1766000000000,
    PlanCeilingsAndCustomerTrials1768000000000,
  ],
};
