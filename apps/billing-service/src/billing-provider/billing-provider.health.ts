import { Injectable } from '@nestjs/common';
import { HealthCheck } from '@app/health';
import { BillingProvider } from './billing-provider';

/** Readiness of the billing provider (Kill Bill: it answers and the bootstrap has completed). */
@Injectable()
export class BillingProviderHealthCheck implements HealthCheck {
  /** The check's name in /health/ready stays `killbill`, as before the port. */
  readonly name = 'killbill';

  constructor(private readonly provider: BillingProvider) {}

  check(): Promise<Record<string, unknown>> {
    return this.provider.health();
  }
}
