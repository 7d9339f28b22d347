import { Logger } from '@nestjs/common';
import type { AuthenticatedUser } from '@app/auth';
import type { TenantAccessPolicy } from '../tenants/tenant-access';
import type { StreamEvent } from './event-stream.hub';

/** A tenant the caller is not (yet) known to belong to triggers at most one re-read this often. */
const MISS_RECHECK_MS = 2000;

/**
 * Which events one stream's caller may see: those of the tenants they belong to (platform admins: all).
 * Memberships come from tenant-service and are cached for `ttlMs`; a tenant event of one of them re-reads
 * them at once, and an event of an unknown tenant re-reads them (at most every 2 s), so a tenant created
 * after the stream opened shows up. When tenant-service cannot answer, the last known list stays.
 */
export class EventAudience {
  private readonly logger = new Logger(EventAudience.name);
  private tenantIds = new Set<string>();
  private loadedAt = 0;
  private attemptedAt = 0;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly user: AuthenticatedUser,
    private readonly access: TenantAccessPolicy,
    private readonly ttlMs: number,
  ) {}

  load(): Promise<void> {
    this.loading ??= this.access
      .tenantIdsOf(this.user)
      .then(
        (ids) => {
          this.tenantIds = new Set(ids);
          this.loadedAt = Date.now();
        },
        (error: unknown) => {
          this.logger.warn(
            `memberships of ${this.user.id} not re-read: ${error instanceof Error ? error.message : String(error)}`,
          );
        },
      )
      .finally(() => {
        this.attemptedAt = Date.now();
        this.loading = null;
      });
    return this.loading;
  }

  async allows(event: StreamEvent): Promise<boolean> {
    if (this.user.role === 'admin') return true;
    const tenantId = event.data.tenant_id;
    const now = Date.now();
    const isTenantEvent = event.name.startsWith('tenant.');
    if (now - this.loadedAt > this.ttlMs || (isTenantEvent && this.tenantIds.has(tenantId))) {
      await this.load();
    } else if (!this.tenantIds.has(tenantId) && now - this.attemptedAt > MISS_RECHECK_MS) {
      await this.load();
    }
    return this.tenantIds.has(tenantId);
  }
}
