import { Inject, Injectable } from '@nestjs/common';
import { InternalCallError, InternalHttpClient } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import {
  customerInstancesSchema,
  terminatedCustomerInstancesSchema,
  type CustomerInstance,
  type TerminateCustomerInstancesRequest,
} from '@app/contracts';
import { DependencyUnavailableError } from '@app/http';
import type { Config } from '../config/env';

/** instance-service's internal API about a customer's instances (shapes: @app/contracts customer-instances). */
@Injectable()
export class CustomerInstancesClient {
  constructor(
    private readonly http: InternalHttpClient,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  /** The customer's live instances; 503 when instance-service cannot say (nothing is deleted blind). */
  async live(customerId: string, requestId: string): Promise<CustomerInstance[]> {
    const answer = await this.call(() =>
      this.http.get(
        this.config.INSTANCE_SERVICE_URL,
        `/internal/customers/${encodeURIComponent(customerId)}/instances`,
        customerInstancesSchema,
        { requestId },
      ),
    );
    return answer.instances;
  }

  /** Every live instance of the customer is terminated (idempotent); the ones that were. */
  async terminateAll(customerId: string, reason: string, requestId: string): Promise<CustomerInstance[]> {
    const body: TerminateCustomerInstancesRequest = { reason, actor: customerId };
    const answer = await this.call(() =>
      this.http.post(
        this.config.INSTANCE_SERVICE_URL,
        `/internal/customers/${encodeURIComponent(customerId)}/instances/terminate`,
        body,
        terminatedCustomerInstancesSchema,
        { requestId },
      ),
    );
    return answer.instances;
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof InternalCallError) {
        throw new DependencyUnavailableError(
          'instance-service',
          `instance-service did not answer: ${error.message}`,
        );
      }
      throw error;
    }
  }
}
