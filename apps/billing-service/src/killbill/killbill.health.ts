import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { HealthCheck } from '@app/health';
import type { Config } from '../config/env';
import { KillBillBootstrapService } from './killbill-bootstrap.service';
import { KillBillClient } from './killbill.client';

/** Readiness of the billing provider: Kill Bill answers its healthcheck and the bootstrap has completed. */
@Injectable()
export class KillBillHealthCheck implements HealthCheck {
  readonly name = 'killbill';

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly bootstrap: KillBillBootstrapService,
    private readonly killbill: KillBillClient,
  ) {}

  async check(): Promise<Record<string, unknown>> {
    if (this.config.BILLING_PROVIDER === 'none') return { provider: 'none' };
    const state = this.bootstrap.status();
    if (state.status !== 'ready') {
      throw new Error(`bootstrap ${state.status}${state.last_error ? `: ${state.last_error}` : ''}`);
    }
    if (!(await this.killbill.healthcheck())) throw new Error('Kill Bill reports itself unhealthy');
    return { provider: 'killbill', bootstrapped_at: state.completed_at };
  }
}
