import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { InternalCallError, InternalHttpClient } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { subscriptionSummarySchema } from '@app/contracts';
import type { CreateSubscriptionRequest, SubscriptionSummary } from '@app/contracts';
import { ConflictError, DependencyUnavailableError, DomainError } from '@app/http';
import type { Config } from '../config/env';

/** Subscriptions take Kill Bill a moment; a little more than the default internal timeout. */
const SUBSCRIBE_TIMEOUT_MS = 10_000;

/**
 * billing-service's internal API. It may be absent (not deployed, down): that is a clean 503 for the caller,
 * who must then leave nothing behind.
 */
@Injectable()
export class BillingServiceClient {
  private readonly logger = new Logger(BillingServiceClient.name);
  private readonly baseUrl: string;

  constructor(
    private readonly http: InternalHttpClient,
    @Inject(APP_CONFIG) config: Config,
  ) {
    this.baseUrl = config.BILLING_SERVICE_URL;
  }

  /** POST /internal/subscriptions (idempotent on instance_id). */
  async createSubscription(
    request: CreateSubscriptionRequest,
    requestId?: string,
  ): Promise<SubscriptionSummary> {
    try {
      return await this.http.post(
        this.baseUrl,
        '/internal/subscriptions',
        request,
        subscriptionSummarySchema,
        {
          timeoutMs: SUBSCRIBE_TIMEOUT_MS,
          requestId,
        },
      );
    } catch (error) {
      if (error instanceof InternalCallError && error.status === 400) {
        throw new DomainError(HttpStatus.BAD_REQUEST, 'UNKNOWN_PLAN', `Unknown plan "${request.plan_name}"`, [
          { field: 'plan_name', problems: ['plan_name is not a plan of the catalog'] },
        ]);
      }
      // TRIAL_ALREADY_USED, ACCOUNT_OVERDUE, BILLING_DISABLED …: billing's own words reach the customer.
      if (error instanceof InternalCallError && error.status === 409) {
        throw new ConflictError(
          error.answer?.code ?? 'SUBSCRIPTION_REFUSED',
          error.answer?.message ?? 'billing-service refused the subscription',
        );
      }
      this.logger.warn({ msg: 'billing-service call failed', error: String(error) });
      throw new DependencyUnavailableError(
        'billing-service',
        'billing-service is unavailable, try again shortly',
      );
    }
  }
}
