import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { APP_CONFIG } from '@app/config';
import {
  InstanceSecrets,
  InstancesRepository,
  RESERVED_ODOO_ENV_VARS,
  type InstanceEntity,
} from '@app/instance-data';
import type { Config } from '../config/env';
import {
  CUSTOMER_LABEL,
  INSTANCE_ID_LABEL,
  ONESHOT_LABEL,
  TENANT_LABEL,
  httpHealthCommand,
  type InstanceSpec,
  type InstanceStorage,
} from '../placement/instance-spec';
import {
  PLACEMENT_BACKEND,
  PlacementNotFoundError,
  type ObservedInstance,
  type PlacementBackend,
} from '../placement/placement-backend';
import { tarFiles, type TarFile } from '../placement/tar-entries';
import { ContainerDbEndpoint } from './container-db-endpoint';
import {
  imageFor,
  memoryBytes,
  nanoCpus,
  publicHost,
  resourceNames,
  shortId,
  type InstanceResourceNames,
} from './instance-naming';
import { LifecycleMetrics } from './lifecycle.metrics';
import {
  isOdooDatabaseInitialised,
  moveAttachmentsIntoDatabase,
  renewOdooDatabaseIdentity,
  setOdooAdminCredentials,
} from './odoo-admin-credentials';
import { OdooDatabaseProvisioner } from './odoo-database.provisioner';
import { settleAll } from './settle-all';
import { TenantNetworks } from './tenant-networks';

export { CUSTOMER_LABEL, ONESHOT_LABEL };
export { OdooUnhealthyError, WaitAbandonedError } from '../placement/placement-backend';

export const ODOO_DATA_PATH = '/var/lib/odoo';
/** The init one-shots of spare databases carry this (see spare-pool.ts). */
const SPARE_LABEL = 'saasodoo.spare.id';
/** Memory of a spare's init run (no instance limits exist yet; Odoo's `-i base` needs well under 1 GiB). */
const SPARE_INIT_MEMORY = '1G';

function spareInitName(spareId: string): string {
  return `odoo_init_spare_${spareId.replace(/-/g, '')}`;
}

export type ObservedContainer = ObservedInstance;

/**
 * What the scheduler sets aside for an instance: a quarter of its memory limit and a tenth of its CPU limit
 * (Odoo idles far below both; the limits cap a burst). Swarm places by these, so a node is not filled past
 * what it can hold at rest.
 */
function reservedMemory(limit: number): number {
  return Math.floor(limit / 4);
}

export class OneShotFailedError extends Error {
  constructor(
    readonly what: string,
    readonly exitCode: number,
    readonly output: string,
  ) {
    super(
      `${what} exited with ${exitCode}: ${output.trim().split('\n').slice(-5).join(' | ').slice(0, 800)}`,
    );
    this.name = 'OneShotFailedError';
  }
}

/**
 * The resources of one instance — Postgres role and database, volume, tenant network, container — and the
 * idempotent steps on them. Nothing here changes the instance's status; the lifecycle service does.
 */
@Injectable()
export class InstanceRuntime {
  private readonly logger = new Logger(InstanceRuntime.name);

  constructor(
    @Inject(PLACEMENT_BACKEND) private readonly placement: PlacementBackend,
    private readonly provisioner: OdooDatabaseProvisioner,
    private readonly networks: TenantNetworks,
    private readonly dbEndpoint: ContainerDbEndpoint,
    private readonly secrets: InstanceSecrets,
    private readonly instances: InstancesRepository,
    private readonly metrics: LifecycleMetrics,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  names(instance: Pick<InstanceEntity, 'id' | 'tenantId' | 'databaseName'>): InstanceResourceNames {
    return resourceNames(instance);
  }

  imageFor(version: string): string {
    return imageFor(this.config.ODOO_IMAGE_TEMPLATE, version);
  }

  /** The image the instance runs (recorded), or the one for its version. */
  currentImage(instance: InstanceEntity): string {
    return instance.image ?? this.imageFor(instance.odooVersion);
  }

  /**
   * The instance's database password: generated once and stored encrypted *before* the role is created, so
   * a crash between the two leaves a password the next run reuses.
   */
  async dbPassword(instance: InstanceEntity): Promise<string> {
    if (instance.dbPasswordEnc)
      return this.secrets.decrypt(instance.id, 'db_password', instance.dbPasswordEnc);
    const password = randomBytes(32).toString('base64url');
    const names = this.names(instance);
    const patch = {
      dbPasswordEnc: this.secrets.encrypt(instance.id, 'db_password', password),
      dbRole: names.dbRole,
      containerName: names.container,
      volumeName: names.volume,
      networkName: names.network,
    };
    await this.instances.patch(instance.id, patch);
    Object.assign(instance, patch);
    return password;
  }

  /** Role, database, volume and tenant network (independent, so made at once): all but the container. */
  async ensureBaseResources(
    instance: InstanceEntity,
    password: string,
    options: { database?: boolean } = {},
  ): Promise<void> {
    const names = this.names(instance);
    await settleAll([
      options.database === false
        ? Promise.resolve()
        : this.metrics.step('database', () =>
            this.provisioner.ensure(names.database, names.dbRole, password),
          ),
      this.metrics.step('volume', () => this.ensureVolume(instance)),
      this.metrics.step('network', () => this.networks.ensure(instance.tenantId)),
    ]);
  }

  /**
   * `odoo -i base` on a database that has no Odoo schema yet (plus the customer's addons), then the admin
   * login and password while they are still known. A stand-in image that does not touch the database is
   * initialised on every call, which is harmless.
   */
  async initialiseOdoo(
    instance: InstanceEntity,
    password: string,
    image: string,
    fromSpare: { odooSchema: boolean } | null = null,
  ): Promise<void> {
    const names = this.names(instance);
    if (fromSpare && !fromSpare.odooSchema) {
      // The image left no Odoo schema in the spare (it does not use its database): nothing to set.
      this.logger.debug(`instance ${instance.id}: spare without Odoo schema, nothing to renew or set`);
      return;
    }
    if (!fromSpare) {
      const initialised = await this.metrics.step('init_check', () =>
        this.provisioner.withInstanceConnection(names.database, names.dbRole, password, (c) =>
          isOdooDatabaseInitialised(c),
        ),
      );
      if (!initialised) {
        const modules = ['base', ...instance.customAddons].join(',');
        await this.metrics.step('init', () =>
          this.runOdooOneShot(instance, password, image, 'init', [
            `--init=${modules}`,
            ...(instance.demoData ? [] : ['--without-demo=all']),
          ]),
        );
      }
    }
    const adminPassword = instance.adminPasswordEnc
      ? this.secrets.decrypt(instance.id, 'admin_password', instance.adminPasswordEnc)
      : null;
    if (!fromSpare && adminPassword === null) return;
    // One connection for both: a spare's database was initialised in advance, and what it must not share
    // with other databases (uuid, signing secret) is renewed; then the administrator's login and password.
    const set = await this.metrics.step('odoo_settings', () =>
      this.provisioner.withInstanceConnection(names.database, names.dbRole, password, async (c) => {
        if (fromSpare) await renewOdooDatabaseIdentity(c);
        return adminPassword === null ? true : setOdooAdminCredentials(c, instance.adminEmail, adminPassword);
      }),
    );
    if (!set) this.logger.debug(`instance ${instance.id}: no Odoo schema, admin credentials not set`);
  }

  /** `odoo <args> --database=<db> --stop-after-init` in a throwaway container with the instance's data. */
  async runOdooOneShot(
    instance: InstanceEntity,
    password: string,
    image: string,
    purpose: string,
    args: string[],
  ): Promise<void> {
    const names = this.names(instance);
    const result = await this.placement.runJob({
      name: this.oneShotName(instance, purpose),
      image,
      cmd: ['odoo', ...args, `--database=${names.database}`, '--stop-after-init', '--no-http'],
      env: this.containerEnv(instance, password),
      labels: { [ONESHOT_LABEL]: instance.id, [TENANT_LABEL]: instance.tenantId },
      storage: this.storage(instance),
      networks: [names.network],
      resources: this.resources(instance),
      timeoutMs: this.config.ODOO_ONESHOT_TIMEOUT_MS,
      placement: this.placementOf(instance),
    });
    if (result.exitCode !== 0) {
      throw new OneShotFailedError(`odoo ${purpose} (${image})`, result.exitCode, result.output);
    }
  }

  /**
   * `odoo -i base` (no demo data) on a spare's database, on the spares network, with no volume of its own:
   * what a first provisioning would run, done before any instance needs it. The attachments it wrote to
   * its filestore are then moved into the database (`ir_attachment.db_datas`, which Odoo reads like a
   * file), so the spare is the database alone and whichever instance adopts it needs nothing copied.
   */
  async initialiseSpare(
    spare: { id: string; image: string; database: string; role: string },
    password: string,
  ): Promise<boolean> {
    const network = await this.networks.ensureSpares();
    const db = this.dbEndpoint.get();
    const result = await this.placement.runJob({
      name: spareInitName(spare.id),
      image: spare.image,
      cmd: [
        'odoo',
        '--init=base',
        '--without-demo=all',
        `--database=${spare.database}`,
        '--stop-after-init',
        '--no-http',
      ],
      env: { HOST: db.host, PORT: String(db.port), USER: spare.role, PASSWORD: password },
      labels: { [SPARE_LABEL]: spare.id },
      networks: [network],
      resources: {
        limits: {
          memoryBytes: memoryBytes(SPARE_INIT_MEMORY),
          nanoCpus: nanoCpus(1),
          pids: this.config.ODOO_PIDS_LIMIT,
        },
        reservations: { memoryBytes: reservedMemory(memoryBytes(SPARE_INIT_MEMORY)), nanoCpus: 0 },
      },
      timeoutMs: this.config.ODOO_ONESHOT_TIMEOUT_MS,
      collectPath: `${ODOO_DATA_PATH}/filestore/${spare.database}`,
    });
    const files: TarFile[] = result.collected ? tarFiles(result.collected) : [];
    if (result.exitCode !== 0) {
      throw new OneShotFailedError(
        `odoo init of spare ${spare.id} (${spare.image})`,
        result.exitCode,
        result.output,
      );
    }
    // The archive holds `<database>/<ab>/<sha1>`; Odoo's store_fname is the part after the database.
    const attachments = files.map((f) => ({
      storeFname: f.path.split('/').slice(1).join('/'),
      content: f.content,
    }));
    // Whether it left an Odoo schema: an adopting instance has its identity and admin to set only then.
    return this.provisioner.withInstanceConnection(spare.database, spare.role, password, async (c) => {
      if (!(await isOdooDatabaseInitialised(c))) return false;
      await moveAttachmentsIntoDatabase(c, attachments);
      return true;
    });
  }

  /** The init one-shot of a spare whose maker died while it ran. */
  async removeSpareInit(spareId: string): Promise<void> {
    await this.placement.removeJob(spareInitName(spareId));
  }

  oneShotName(instance: InstanceEntity, purpose: string): string {
    return `odoo_${purpose}_${shortId(instance.id)}`;
  }

  /** A one-shot left behind by a worker that died while it ran (runOneShot removes its own otherwise). */
  async removeStaleOneShots(instance: InstanceEntity): Promise<void> {
    for (const purpose of ['init', 'upgrade']) {
      await this.placement.removeJob(this.oneShotName(instance, purpose));
    }
  }

  instanceSpec(instance: InstanceEntity, password: string, image: string): InstanceSpec {
    const names = this.names(instance);
    return {
      instanceId: instance.id,
      name: names.container,
      image,
      env: this.containerEnv(instance, password),
      labels: {
        [INSTANCE_ID_LABEL]: instance.id,
        [TENANT_LABEL]: instance.tenantId,
        [CUSTOMER_LABEL]: instance.customerId,
      },
      cmd: [
        'odoo',
        `--database=${names.database}`,
        `--db-filter=^${names.database}$`,
        '--no-database-list',
        '--proxy-mode',
      ],
      resources: this.resources(instance),
      storage: this.storage(instance),
      network: names.network,
      route: {
        router: names.router,
        host: publicHost(instance, this.config.BASE_DOMAIN),
        port: 8069,
        network: names.network,
      },
      health: {
        cmd: httpHealthCommand(8069, '/web/health'),
        startPeriodMs: this.config.PROVISION_HEALTH_TIMEOUT_MS,
        intervalMs: 2_000,
        timeoutMs: 3_000,
        retries: 3,
      },
      placement: this.placementOf(instance),
      publishOnLoopback: this.config.PUBLISH_INSTANCE_PORTS,
      stopTimeoutSeconds: this.config.ODOO_STOP_TIMEOUT_SECONDS,
    };
  }

  /**
   * The instance deployed with the current spec (an existing one with another spec — new image, limits, env
   * — is replaced; the data lives in its storage). Not started. Returns the placement handle.
   */
  async ensureContainer(instance: InstanceEntity, password: string, image: string): Promise<string> {
    const spec = this.instanceSpec(instance, password, image);
    const id = await this.metrics.step('container', () =>
      this.placement.deploy(spec).catch(async (error: unknown) => {
        if (!(error instanceof PlacementNotFoundError)) throw error;
        // Its network went away since it was last ensured: ensure it again, once.
        this.networks.forget(instance.tenantId);
        await this.networks.ensure(instance.tenantId);
        return this.placement.deploy(spec);
      }),
    );
    if (instance.containerId !== id || instance.image !== image || instance.containerName !== spec.name) {
      const patch = { containerId: id, containerName: spec.name, image };
      await this.instances.patch(instance.id, patch);
      Object.assign(instance, patch);
    }
    return id;
  }

  /** Starts the container and waits for Odoo's /web/health; returns the URLs to record. */
  async startAndWait(
    instance: InstanceEntity,
    containerId: string,
    abandon?: () => Promise<string | null>,
  ): Promise<{ hostPort: number | null; internalUrl: string; externalUrl: string }> {
    await this.metrics.step('start', () =>
      this.placement.scale(containerId, 1, this.config.ODOO_STOP_TIMEOUT_SECONDS),
    );
    const { hostPort } = await this.metrics.step('health', () =>
      this.placement.waitReady(containerId, {
        timeoutMs: this.config.PROVISION_HEALTH_TIMEOUT_MS,
        ...(abandon ? { abandon } : {}),
      }),
    );
    const names = this.names(instance);
    return {
      hostPort,
      internalUrl: hostPort !== null ? `http://127.0.0.1:${hostPort}` : `http://${names.container}:8069`,
      externalUrl: `${this.config.INSTANCE_URL_SCHEME}://${publicHost(instance, this.config.BASE_DOMAIN)}`,
    };
  }

  async restartAndWait(
    instance: InstanceEntity,
    containerId: string,
  ): Promise<{ hostPort: number | null; internalUrl: string; externalUrl: string }> {
    await this.placement.restart(containerId, this.config.ODOO_STOP_TIMEOUT_SECONDS);
    return this.startAndWait(instance, containerId);
  }

  async stop(containerId: string): Promise<void> {
    await this.placement.scale(containerId, 0, this.config.ODOO_STOP_TIMEOUT_SECONDS);
  }

  /** The instance as the engine sees it, found by recorded handle or, failing that, by name. */
  async observe(instance: InstanceEntity): Promise<ObservedInstance> {
    return this.placement.observe({
      instanceId: instance.id,
      name: this.names(instance).container,
      handle: instance.containerId,
    });
  }

  async removeContainer(instance: InstanceEntity): Promise<void> {
    const observed = await this.observe(instance);
    if (observed.state !== 'missing') await this.placement.remove(observed.handle);
  }

  async removeVolume(instance: InstanceEntity): Promise<void> {
    await this.placement.removeStorage(this.storage(instance));
  }

  /** The instance's storage; on a swarm, the node chosen to hold a local volume is recorded on the row. */
  async ensureVolume(instance: InstanceEntity): Promise<void> {
    const { node } = await this.placement.ensureStorage(this.storage(instance), {
      [INSTANCE_ID_LABEL]: instance.id,
      [TENANT_LABEL]: instance.tenantId,
      'saasodoo.managed': 'true',
    });
    if (node !== instance.placementNode) {
      await this.instances.patch(instance.id, { placementNode: node });
      instance.placementNode = node;
    }
  }

  /** Container, volume, database and role, and the tenant network if nothing else uses it. */
  async removeEverything(instance: InstanceEntity): Promise<void> {
    const names = this.names(instance);
    await this.removeStaleOneShots(instance);
    await this.removeContainer(instance);
    await this.removeVolume(instance);
    await this.provisioner.drop(names.database, names.dbRole);
    await this.networks.releaseIfUnused(instance.tenantId, instance.id);
  }

  /** After a purge is recorded: the last of a tenant's concurrent purges sees no other and frees the network. */
  async releaseTenantNetwork(tenantId: string): Promise<void> {
    await this.networks.releaseIfUnused(tenantId);
  }

  async updateLimits(containerId: string, instance: InstanceEntity): Promise<void> {
    await this.placement.updateResources(containerId, this.resources(instance).limits);
  }

  /** Whether the applied limits differ from the row's. */
  limitsDiffer(observed: ObservedInstance, instance: InstanceEntity): boolean {
    if (observed.state === 'missing') return false;
    const wanted = this.resources(instance).limits;
    return observed.limits.memoryBytes !== wanted.memoryBytes || observed.limits.nanoCpus !== wanted.nanoCpus;
  }

  async logs(containerId: string, lines: number): Promise<string> {
    return this.placement.logs(containerId, lines);
  }

  async copyDataOut(instance: InstanceEntity, containerId: string): Promise<NodeJS.ReadableStream> {
    return this.placement.copyOut(this.dataRef(instance, containerId), ODOO_DATA_PATH);
  }

  /** Extracts a tar of `odoo/…` (as produced by `copyDataOut`) over the data directory. */
  async copyDataIn(instance: InstanceEntity, containerId: string, tar: NodeJS.ReadableStream): Promise<void> {
    await this.placement.copyIn(
      this.dataRef(instance, containerId),
      ODOO_DATA_PATH.replace(/\/odoo$/, ''),
      tar,
    );
  }

  /** A named volume per instance, or its directory under SHARED_STORAGE_PATH. */
  storage(
    instance: Pick<InstanceEntity, 'id' | 'tenantId' | 'databaseName' | 'placementNode'>,
  ): InstanceStorage {
    const shared = this.config.SHARED_STORAGE_PATH;
    return shared
      ? { kind: 'shared-path', hostPath: join(shared, 'instances', instance.id), mountPath: ODOO_DATA_PATH }
      : {
          kind: 'local-volume',
          volume: this.names(instance).volume,
          mountPath: ODOO_DATA_PATH,
          node: instance.placementNode,
        };
  }

  private dataRef(instance: InstanceEntity, handle: string) {
    return { handle, storage: this.storage(instance), image: this.currentImage(instance) };
  }

  private resources(instance: InstanceEntity): InstanceSpec['resources'] {
    const memory = memoryBytes(instance.memoryLimit);
    const cpus = nanoCpus(instance.cpuLimit);
    return {
      limits: { memoryBytes: memory, nanoCpus: cpus, pids: this.config.ODOO_PIDS_LIMIT },
      reservations: { memoryBytes: reservedMemory(memory), nanoCpus: Math.floor(cpus / 10) },
    };
  }

  private placementOf(_instance: InstanceEntity): InstanceSpec['placement'] {
    return { nodeLabels: {} };
  }

  /** The customer's variables, minus the reserved ones, then the official image's DB variables. */
  private containerEnv(instance: InstanceEntity, password: string): Record<string, string> {
    const db = this.dbEndpoint.get();
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(instance.environmentVars)) {
      if (!RESERVED_ODOO_ENV_VARS.includes(key.toUpperCase())) env[key] = String(value);
    }
    return {
      ...env,
      HOST: db.host,
      PORT: String(db.port),
      USER: this.names(instance).dbRole,
      PASSWORD: password,
    };
  }
}
