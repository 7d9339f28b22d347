import { Inject, Injectable, Logger } from '@nestjs/common';
import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG } from '@app/config';
import {
  InstanceSecrets,
  InstancesRepository,
  RESERVED_ODOO_ENV_VARS,
  type InstanceEntity,
} from '@app/instance-data';
import type { Config } from '../config/env';
import {
  ContainerSpecMismatchError,
  DockerNotFoundError,
  DockerRuntime,
  HttpWaitTimeoutError,
  INSTANCE_ID_LABEL,
  type ContainerSpec,
  type VolumeMount,
} from '../docker/docker-runtime';
import { tarFiles, type TarFile } from '../docker/tar-entries';
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
import { TENANT_LABEL, TenantNetworks } from './tenant-networks';

export const ODOO_DATA_PATH = '/var/lib/odoo';
export const CUSTOMER_LABEL = 'saasodoo.customer.id';
/** One-shot containers carry this instead of the instance label, so the monitor never mistakes them. */
export const ONESHOT_LABEL = 'saasodoo.oneshot.instance';
/** The init one-shots of spare databases carry this (see spare-pool.ts). */
const SPARE_LABEL = 'saasodoo.spare.id';
/** Memory of a spare's init run (no instance limits exist yet; Odoo's `-i base` needs well under 1 GiB). */
const SPARE_INIT_MEMORY = '1G';

function spareInitName(spareId: string): string {
  return `odoo_init_spare_${spareId.replace(/-/g, '')}`;
}

export type ObservedContainer =
  | { state: 'running'; id: string; info: Docker.ContainerInspectInfo }
  | { state: 'stopped'; id: string; info: Docker.ContainerInspectInfo }
  | { state: 'missing' };

export class OdooUnhealthyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OdooUnhealthyError';
  }
}

/** The wait was abandoned because the instance no longer wants it (e.g. terminated while provisioning). */
export class WaitAbandonedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WaitAbandonedError';
  }
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
    private readonly docker: DockerRuntime,
    private readonly provisioner: OdooDatabaseProvisioner,
    private readonly networks: TenantNetworks,
    private readonly dbEndpoint: ContainerDbEndpoint,
    private readonly secrets: InstanceSecrets,
    private readonly instances: InstancesRepository,
    private readonly metrics: LifecycleMetrics,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  names(instance: InstanceEntity): InstanceResourceNames {
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
      this.metrics.step('volume', () =>
        this.docker.ensureVolume(names.volume, {
          [INSTANCE_ID_LABEL]: instance.id,
          [TENANT_LABEL]: instance.tenantId,
          'saasodoo.managed': 'true',
        }),
      ),
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
    const result = await this.docker.runOneShot({
      name: this.oneShotName(instance, purpose),
      image,
      cmd: ['odoo', ...args, `--database=${names.database}`, '--stop-after-init', '--no-http'],
      env: this.containerEnv(instance, password),
      labels: { [ONESHOT_LABEL]: instance.id, [TENANT_LABEL]: instance.tenantId },
      volumeMounts: this.volumeMounts(names),
      networks: [names.network],
      memoryBytes: memoryBytes(instance.memoryLimit),
      nanoCpus: nanoCpus(instance.cpuLimit),
      pidsLimit: this.config.ODOO_PIDS_LIMIT,
      timeoutMs: this.config.ODOO_ONESHOT_TIMEOUT_MS,
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
    let files: TarFile[] = [];
    const result = await this.docker.runOneShot({
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
      memoryBytes: memoryBytes(SPARE_INIT_MEMORY),
      nanoCpus: nanoCpus(1),
      pidsLimit: this.config.ODOO_PIDS_LIMIT,
      timeoutMs: this.config.ODOO_ONESHOT_TIMEOUT_MS,
      onSuccess: async (containerId) => {
        const filestore = `${ODOO_DATA_PATH}/filestore/${spare.database}`;
        const archive = await this.docker.copyFromContainerToBuffer(containerId, filestore).catch((error) => {
          if (error instanceof DockerNotFoundError) return null;
          throw error;
        });
        files = archive ? tarFiles(archive) : [];
      },
    });
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
    const stale = await this.docker.findContainer(spareInitName(spareId));
    if (stale) await this.docker.removeContainer(stale.Id, { force: true });
  }

  oneShotName(instance: InstanceEntity, purpose: string): string {
    return `odoo_${purpose}_${shortId(instance.id)}`;
  }

  /** A one-shot left behind by a worker that died while it ran (runOneShot removes its own otherwise). */
  async removeStaleOneShots(instance: InstanceEntity): Promise<void> {
    for (const purpose of ['init', 'upgrade']) {
      const stale = await this.docker.findContainer(this.oneShotName(instance, purpose));
      if (stale) await this.docker.removeContainer(stale.Id, { force: true });
    }
  }

  containerSpec(instance: InstanceEntity, password: string, image: string): ContainerSpec {
    const names = this.names(instance);
    const router = names.router;
    return {
      name: names.container,
      image,
      env: this.containerEnv(instance, password),
      labels: {
        [INSTANCE_ID_LABEL]: instance.id,
        [TENANT_LABEL]: instance.tenantId,
        [CUSTOMER_LABEL]: instance.customerId,
        'traefik.enable': 'true',
        'traefik.docker.network': names.network,
        [`traefik.http.routers.${router}.rule`]: `Host(\`${publicHost(instance, this.config.BASE_DOMAIN)}\`)`,
        [`traefik.http.routers.${router}.service`]: router,
        [`traefik.http.services.${router}.loadbalancer.server.port`]: '8069',
      },
      cmd: [
        'odoo',
        `--database=${names.database}`,
        `--db-filter=^${names.database}$`,
        '--no-database-list',
        '--proxy-mode',
      ],
      memoryBytes: memoryBytes(instance.memoryLimit),
      nanoCpus: nanoCpus(instance.cpuLimit),
      pidsLimit: this.config.ODOO_PIDS_LIMIT,
      networks: [names.network],
      volumeMounts: this.volumeMounts(names),
      restartPolicy: 'unless-stopped',
      ...(this.config.PUBLISH_INSTANCE_PORTS
        ? { publishPort: { containerPort: 8069, hostIp: '127.0.0.1' } }
        : {}),
    };
  }

  /**
   * The container with the current spec (an existing one with another spec — new image, limits, env — is
   * replaced; the data lives in the volume). Not started.
   */
  async ensureContainer(instance: InstanceEntity, password: string, image: string): Promise<string> {
    const spec = this.containerSpec(instance, password, image);
    let id: string;
    try {
      id = (
        await this.metrics.step('container', () =>
          this.docker.createContainer(spec).catch(async (error: unknown) => {
            if (!(error instanceof DockerNotFoundError)) throw error;
            // Its network went away since it was last ensured: ensure it again, once.
            this.networks.forget(instance.tenantId);
            await this.networks.ensure(instance.tenantId);
            return this.docker.createContainer(spec);
          }),
        )
      ).id;
    } catch (error) {
      if (!(error instanceof ContainerSpecMismatchError)) throw error;
      this.logger.log(`instance ${instance.id}: replacing container (${error.differences.join(', ')})`);
      await this.docker.removeContainer(error.containerId, { force: true });
      id = (await this.docker.createContainer(spec)).id;
    }
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
    await this.metrics.step('start', () => this.docker.startContainer(containerId));
    const hostPort = await this.metrics.step('health', () =>
      this.waitHealthy(containerId, this.config.PROVISION_HEALTH_TIMEOUT_MS, abandon),
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
    await this.docker.restartContainer(containerId, this.config.ODOO_STOP_TIMEOUT_SECONDS);
    return this.startAndWait(instance, containerId);
  }

  /**
   * Until Odoo answers 200 on /web/health: through the port published on 127.0.0.1 in host mode (read again
   * each round: it changes when Docker restarts the container), else by probing from inside the container.
   */
  async waitHealthy(
    containerId: string,
    timeoutMs: number,
    abandon?: () => Promise<string | null>,
  ): Promise<number | null> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    let nextCheck = Date.now() + 2_000;
    while (Date.now() < deadline) {
      if (abandon && Date.now() >= nextCheck) {
        nextCheck = Date.now() + 2_000;
        const reason = await abandon();
        if (reason) throw new WaitAbandonedError(reason);
      }
      if (this.config.PUBLISH_INSTANCE_PORTS) {
        const port = await this.docker.publishedPort(containerId);
        if (port !== null) {
          try {
            await this.docker.waitForHttp(`http://127.0.0.1:${port}`, {
              timeoutMs: Math.max(500, Math.min(2_000, deadline - Date.now())),
              intervalMs: 200,
              requestTimeoutMs: 2_000,
            });
            return port;
          } catch (error) {
            if (!(error instanceof HttpWaitTimeoutError)) throw error;
            last = error.message;
            continue;
          }
        }
        last = 'container not running (no published port)';
      } else {
        const probe = await this.docker
          .execInContainer(containerId, [
            'sh',
            '-c',
            'u=http://127.0.0.1:8069/web/health; wget -q -T 2 -O /dev/null "$u" 2>/dev/null || ' +
              'curl -fsS -m 2 -o /dev/null "$u" 2>/dev/null || ' +
              `python3 -c "import urllib.request as r; r.urlopen('$u', timeout=2)" 2>/dev/null`,
          ])
          .catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: String(error) }));
        if (probe.exitCode === 0) return null;
        last = `probe exit ${probe.exitCode} ${probe.stderr.slice(0, 200)}`;
      }
      await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
    }
    throw new OdooUnhealthyError(`Odoo did not become healthy within ${timeoutMs} ms (${last})`);
  }

  async stop(containerId: string): Promise<void> {
    await this.docker.stopContainer(containerId, this.config.ODOO_STOP_TIMEOUT_SECONDS);
  }

  /** The instance's container as Docker sees it, found by recorded id or, failing that, by name. */
  async observe(instance: InstanceEntity): Promise<ObservedContainer> {
    let info: Docker.ContainerInspectInfo | null = null;
    if (instance.containerId) {
      try {
        info = await this.docker.inspectContainer(instance.containerId);
      } catch (error) {
        if (!(error instanceof DockerNotFoundError)) throw error;
      }
    }
    info ??= await this.docker.findContainer(this.names(instance).container);
    if (!info || info.Config.Labels?.[INSTANCE_ID_LABEL] !== instance.id) return { state: 'missing' };
    return info.State.Running && !info.State.Restarting
      ? { state: 'running', id: info.Id, info }
      : { state: 'stopped', id: info.Id, info };
  }

  async removeContainer(instance: InstanceEntity): Promise<void> {
    const observed = await this.observe(instance);
    if (observed.state !== 'missing') await this.docker.removeContainer(observed.id, { force: true });
  }

  async removeVolume(instance: InstanceEntity): Promise<void> {
    await this.docker.removeVolume(this.names(instance).volume);
  }

  async ensureVolume(instance: InstanceEntity): Promise<void> {
    await this.docker.ensureVolume(this.names(instance).volume, {
      [INSTANCE_ID_LABEL]: instance.id,
      [TENANT_LABEL]: instance.tenantId,
      'saasodoo.managed': 'true',
    });
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
    await this.docker.updateResources(containerId, {
      memoryBytes: memoryBytes(instance.memoryLimit),
      nanoCpus: nanoCpus(instance.cpuLimit),
      pidsLimit: this.config.ODOO_PIDS_LIMIT,
    });
  }

  async logs(containerId: string, lines: number): Promise<string> {
    return this.docker.logs(containerId, lines);
  }

  async copyDataOut(containerId: string): Promise<NodeJS.ReadableStream> {
    return this.docker.copyFromContainer(containerId, ODOO_DATA_PATH);
  }

  /** Extracts a tar of `odoo/…` (as produced by `copyDataOut`) over the data directory. */
  async copyDataIn(containerId: string, tar: NodeJS.ReadableStream): Promise<void> {
    await this.docker.copyToContainer(containerId, ODOO_DATA_PATH.replace(/\/odoo$/, ''), tar);
  }

  private volumeMounts(names: InstanceResourceNames): VolumeMount[] {
    return [{ volume: names.volume, path: ODOO_DATA_PATH }];
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
