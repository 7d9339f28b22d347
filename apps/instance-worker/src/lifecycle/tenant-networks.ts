import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { InstancesRepository } from '@app/instance-data';
import type { Config } from '../config/env';
import { TENANT_LABEL } from '../placement/instance-spec';
import { PLACEMENT_BACKEND, type PlacementBackend } from '../placement/placement-backend';
import { InstanceLocks } from './instance-locks';
import { tenantNetworkName } from './instance-naming';

export { TENANT_LABEL };
const LOCK_NAMESPACE = 'saasodoo.tenant-network';
export const SPARES_NETWORK = 'saasodoo_spares';
/** How long an ensured network (and its peers) is taken as given. */
const RECENT_MS = 5_000;
export const SPARES_LABEL = 'saasodoo.spares';
/**
 * Which platform made a tenant network: its ODOO_NETWORK, the network its Traefik and Postgres sit on. Two
 * platforms on one engine (staging beside production, test runs side by side) then never sweep each other's.
 */
export const PLATFORM_LABEL = 'saasodoo.platform';

/**
 * One bridge network per tenant: an instance joins only its tenant's network, so instances of different
 * tenants cannot reach each other (Docker isolates user-defined bridges from each other). The shared
 * services the instances need — Traefik (routing) and Postgres (their database) — are the configured peers
 * found on ODOO_NETWORK; they are connected to each tenant network, under their service name as alias.
 * Peers do not forward packets between their networks, so tenants stay apart.
 */
@Injectable()
export class TenantNetworks {
  private readonly logger = new Logger(TenantNetworks.name);
  private readonly recent = new Map<string, number>();

  constructor(
    @Inject(PLACEMENT_BACKEND) private readonly placement: PlacementBackend,
    private readonly locks: InstanceLocks,
    private readonly instances: InstancesRepository,
    @Inject(APP_CONFIG) private readonly config: Pick<Config, 'ODOO_NETWORK'>,
  ) {}

  async ensure(tenantId: string): Promise<string> {
    return this.ensureWithPeers(
      tenantNetworkName(tenantId),
      { [TENANT_LABEL]: tenantId, [PLATFORM_LABEL]: this.config.ODOO_NETWORK, 'saasodoo.managed': 'true' },
      tenantId,
    );
  }

  /** Forgets that the tenant's network was ensured (e.g. a container could not be created on it). */
  forget(tenantId: string): void {
    this.recent.delete(tenantNetworkName(tenantId));
  }

  /** The network spare databases are initialised on: Postgres only, no instance ever joins it. */
  async ensureSpares(): Promise<string> {
    return this.ensureWithPeers(
      SPARES_NETWORK,
      { [SPARES_LABEL]: 'true', 'saasodoo.managed': 'true' },
      'spares',
    );
  }

  private async ensureWithPeers(
    name: string,
    labels: Record<string, string>,
    lockKey: string,
  ): Promise<string> {
    // A burst of provisioning for one tenant needs the same network and peers each time: what was ensured
    // moments ago is not asked of the engine again (a network removed meanwhile fails the container's
    // creation, and the job's retry ensures it afresh).
    if ((this.recent.get(name) ?? 0) > Date.now()) return name;
    // Usually it exists (every instance of the tenant but the first): no lock needed to see that.
    if (!(await this.placement.networkExists(name))) {
      await this.locks.withLock(LOCK_NAMESPACE, lockKey, () => this.placement.ensureNetwork(name, labels));
    }
    await this.placement.attachPeers(name);
    this.recent.set(name, Date.now() + RECENT_MS);
    return name;
  }

  /**
   * Removes the tenant network once no instance of the tenant but `exceptId` (the one being cleaned up) is
   * left unpurged and no instance container is attached (peers are disconnected first). Checked under the
   * tenant's lock, so a network is never removed between another instance's row and its container.
   * True when this call removed it.
   */
  async releaseIfUnused(tenantId: string, exceptId?: string): Promise<boolean> {
    return this.locks.withLock(LOCK_NAMESPACE, tenantId, async () => {
      if ((await this.instances.countUnpurgedInTenant(tenantId, exceptId)) > 0) return false;
      return this.release(tenantId);
    });
  }

  /**
   * The periodic sweep's share: tenant networks whose tenant has no unpurged instance left (`liveTenants`
   * lists those that have) are released. Concurrent purges each see the others unfinished, and a crash can
   * fall between a purge and its release; this is what removes those networks. Networks younger than
   * `minAgeMs` are left alone: one may belong to an instance created after `liveTenants` was read. Another
   * platform's networks (PLATFORM_LABEL) are never this one's to judge; those made before the label existed
   * count as this platform's, as they always did.
   */
  async releaseOrphans(liveTenants: ReadonlySet<string>, minAgeMs: number): Promise<number> {
    let released = 0;
    for (const network of await this.placement.listNetworks(['saasodoo.managed=true', TENANT_LABEL])) {
      const tenantId = network.labels[TENANT_LABEL];
      if (!tenantId || liveTenants.has(tenantId) || network.name !== tenantNetworkName(tenantId)) continue;
      const platform = network.labels[PLATFORM_LABEL];
      if (platform !== undefined && platform !== this.config.ODOO_NETWORK) continue;
      if (Date.now() - network.created.getTime() < minAgeMs) continue;
      if (await this.releaseIfUnused(tenantId)) released++;
    }
    return released;
  }

  /** True when this call removed the network. */
  private async release(tenantId: string): Promise<boolean> {
    const name = tenantNetworkName(tenantId);
    this.recent.delete(name);
    const result = await this.placement.releaseNetwork(name);
    if (result === 'in_use') this.logger.debug(`tenant network ${name} still in use; kept`);
    return result === 'removed';
  }
}
