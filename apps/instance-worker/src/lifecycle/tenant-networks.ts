import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { InstancesRepository } from '@app/instance-data';
import type { Config } from '../config/env';
import { DockerRuntime } from '../docker/docker-runtime';
import { InstanceLocks } from './instance-locks';
import { tenantNetworkName } from './instance-naming';

export const TENANT_LABEL = 'saasodoo.tenant.id';
const COMPOSE_SERVICE_LABEL = 'com.docker.compose.service';
const LOCK_NAMESPACE = 'saasodoo.tenant-network';
export const SPARES_NETWORK = 'saasodoo_spares';
/** How long an ensured network (and its peers) is taken as given. */
const RECENT_MS = 5_000;
export const SPARES_LABEL = 'saasodoo.spares';

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
    private readonly docker: DockerRuntime,
    private readonly locks: InstanceLocks,
    private readonly instances: InstancesRepository,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  async ensure(tenantId: string): Promise<string> {
    return this.ensureWithPeers(
      tenantNetworkName(tenantId),
      { [TENANT_LABEL]: tenantId, 'saasodoo.managed': 'true' },
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
    if (!(await this.docker.findNetwork(name))) {
      await this.locks.withLock(LOCK_NAMESPACE, lockKey, () => this.docker.ensureNetwork(name, labels));
    }
    for (const peer of await this.peers()) {
      await this.docker.connectToNetwork(peer.id, name, [peer.service]);
    }
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
   * `minAgeMs` are left alone: one may belong to an instance created after `liveTenants` was read.
   */
  async releaseOrphans(liveTenants: ReadonlySet<string>, minAgeMs: number): Promise<number> {
    let released = 0;
    for (const network of await this.docker.listNetworks(['saasodoo.managed=true', TENANT_LABEL])) {
      const tenantId = network.Labels?.[TENANT_LABEL];
      if (!tenantId || liveTenants.has(tenantId) || network.Name !== tenantNetworkName(tenantId)) continue;
      if (Date.now() - Date.parse(network.Created) < minAgeMs) continue;
      if (await this.releaseIfUnused(tenantId)) released++;
    }
    return released;
  }

  /** True when this call removed the network. */
  private async release(tenantId: string): Promise<boolean> {
    const name = tenantNetworkName(tenantId);
    this.recent.delete(name);
    if (!(await this.docker.findNetwork(name))) return false;
    const attached = await this.docker.listNetworkContainers(name);
    const peerIds = new Set((await this.peers()).map((p) => p.id));
    if (attached.some((c) => !peerIds.has(c.Id))) return false;
    for (const container of attached) await this.docker.disconnectFromNetwork(container.Id, name);
    const result = await this.docker.removeNetworkIfUnused(name);
    if (result === 'in_use') this.logger.warn(`tenant network ${name} still in use; kept`);
    return result === 'removed';
  }

  private async peers(): Promise<{ id: string; service: string }[]> {
    if (this.config.TENANT_NETWORK_PEERS.length === 0) return [];
    if (!(await this.docker.findNetwork(this.config.ODOO_NETWORK))) return [];
    const containers = await this.docker.listNetworkContainers(this.config.ODOO_NETWORK, [
      COMPOSE_SERVICE_LABEL,
    ]);
    return containers.flatMap((c) => {
      const service = c.Labels?.[COMPOSE_SERVICE_LABEL];
      return service && this.config.TENANT_NETWORK_PEERS.includes(service) ? [{ id: c.Id, service }] : [];
    });
  }
}
