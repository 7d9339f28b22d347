import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { QuotaReservation } from '@app/contracts';
import { DependencyUnavailableError } from '@app/http';
import { TenantServiceClient } from './tenant-service.client';

const RELEASE_ATTEMPTS = 3;
const RELEASE_BACKOFF_MS = 200;

/** The tenant's instance slots (tenant-service holds the count; reservations are idempotent per instance). */
@Injectable()
export class QuotaSlots {
  private readonly logger = new Logger(QuotaSlots.name);

  constructor(private readonly tenants: TenantServiceClient) {}

  /**
   * 409 QUOTA_EXCEEDED when the tenant's last slot is taken; 503 when tenant-service cannot be reached. A
   * reservation whose answer was lost (timeout) may still have been taken, so it is given back (once) before
   * the 503 goes out.
   */
  async reserve(tenantId: string, instanceId: string): Promise<QuotaReservation> {
    try {
      return await this.tenants.reserve(tenantId, instanceId);
    } catch (error) {
      if (error instanceof DependencyUnavailableError) await this.release(tenantId, instanceId, 1);
      throw error;
    }
  }

  /**
   * Gives the slot back, retrying briefly. Never throws: it runs after a failed create (whose own error is
   * what the caller must see) or after a terminate that is already recorded. False when it gave up.
   */
  async release(tenantId: string, instanceId: string, attempts = RELEASE_ATTEMPTS): Promise<boolean> {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await this.tenants.release(tenantId, instanceId);
        return true;
      } catch (error) {
        if (attempt === attempts) {
          this.logger.error({
            msg: 'could not release the quota reservation; the slot stays taken until released',
            tenant_id: tenantId,
            instance_id: instanceId,
            error: error instanceof Error ? error.message : String(error),
          });
          return false;
        }
        await sleep(RELEASE_BACKOFF_MS * attempt);
      }
    }
    return false;
  }
}
