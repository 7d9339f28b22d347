import { existsSync } from 'node:fs';
import { z } from 'zod';
import { commonEnv, envBoolean, port, postgresEnv, redisEnv } from '@app/config';
import { backupDownloadEnv, instanceSecretsEnv, ODOO_VERSIONS } from '@app/instance-data';
import { mailEnv } from '@app/mail';
import { queueEnv } from '@app/queue';
import { offsiteBackupEnv } from '../backups/offsite/offsite-backup-env';

/** Inside a container the worker reaches Odoo containers differently (no published ports). */
const inContainer = existsSync('/.dockerenv');

const positiveInt = (fallback: number) => z.coerce.number().int().min(1).default(fallback);
const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
const dockerName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a Docker object name');

/** `17.0=4,18.0=1` → Map { '17.0' => 4, '18.0' => 1 }; empty → no spares. */
const sparePool = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const pool = new Map<string, number>();
    for (const part of value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const match = /^(\d+\.\d+)=(\d{1,3})$/.exec(part);
      if (!match || !(ODOO_VERSIONS as readonly string[]).includes(match[1]!) || pool.has(match[1]!)) {
        ctx.addIssue({
          code: 'custom',
          message: `"${part}": expected <version>=<count> with a version of ${ODOO_VERSIONS.join(', ')}, each once`,
        });
        return z.NEVER;
      }
      if (Number(match[2]) > 0) pool.set(match[1]!, Number(match[2]));
    }
    return pool;
  });

const envObject = z.object({
  ...commonEnv.shape,
  ...postgresEnv.shape,
  ...redisEnv.shape,
  ...mailEnv.shape,
  ...instanceSecretsEnv.shape,
  ...queueEnv.shape,
  /** BACKUP_DOWNLOAD_SECRET: verifies the signed backup download links instance-service hands out. */
  ...backupDownloadEnv.shape,
  /** Health, metrics and signed backup downloads (`/backups/{id}/download`, the link is the credential). */
  PORT: port(8005),
  POSTGRES_DB: z.string().min(1).default('instance'),
  DOCKER_HOST: z
    .string()
    .regex(/^(unix|tcp|http|https):\/\//, 'must be unix:///path or tcp://host:port')
    .default('unix:///var/run/docker.sock'),

  /**
   * Where instances run: `docker` (a container each on DOCKER_HOST) or `swarm` (a one-replica service each
   * on the swarm whose manager DOCKER_HOST is). Chosen once at boot.
   */
  ORCHESTRATOR: z.enum(['docker', 'swarm']).default('docker'),
  /**
   * A filesystem mounted at the same path on every node (NFS, CephFS): instance data lives under it and an
   * instance can move between nodes. Empty: a local volume per instance (on a swarm, pinned to its node).
   */
  SHARED_STORAGE_PATH: z
    .string()
    .default('')
    .refine((value) => value === '' || value.startsWith('/'), 'must be an absolute path or empty'),
  /** On a swarm: an encrypted (IPsec) overlay per tenant, where the kernel allows it. */
  SWARM_ENCRYPT_NETWORKS: envBoolean(true),
  /**
   * On a swarm: an image with `sh` and the `docker` CLI, run as a job on another node to remove a volume
   * there (a migrated instance's old volume, a purged instance's volume), with that node's engine socket.
   */
  SWARM_NODE_TOOLS_IMAGE: z.string().min(1).default('docker:27-cli'),
  /** The engine socket on every node, bind-mounted into that job (swarm templates allowed: {{.Node.Hostname}}). */
  SWARM_NODE_DOCKER_SOCKET: z.string().min(1).default('/var/run/docker.sock'),

  // ---- Odoo containers ----
  /** Image per Odoo version; `{version}` is replaced by 16.0 / 17.0 / 18.0. */
  ODOO_IMAGE_TEMPLATE: z.string().min(1).default('odoo:{version}'),
  /** Compose network Traefik and Postgres are on; the peers below are looked up on it. */
  ODOO_NETWORK: dockerName.default('saasodoo-odoo'),
  /**
   * Compose services (label com.docker.compose.service) on ODOO_NETWORK that the worker connects to every
   * tenant network, under their service name as DNS alias: Traefik to route to the instances, Postgres so
   * Odoo reaches its database. Instances themselves never share a network with another tenant.
   */
  TENANT_NETWORK_PEERS: z
    .string()
    .default('traefik,postgres')
    .transform((value) =>
      value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  /** Publish 8069 on 127.0.0.1 (random port) and probe health through it; off inside a container. */
  PUBLISH_INSTANCE_PORTS: envBoolean(!inContainer),
  INSTANCE_URL_SCHEME: z.enum(['http', 'https']).default('http'),
  ODOO_PIDS_LIMIT: positiveInt(512),
  ODOO_STOP_TIMEOUT_SECONDS: nonNegativeInt(20),
  PROVISION_HEALTH_TIMEOUT_MS: positiveInt(300_000),
  /** Limit of one-shot `odoo … --stop-after-init` runs (initialisation, `--update all`). */
  ODOO_ONESHOT_TIMEOUT_MS: positiveInt(1_800_000),
  /**
   * Spare databases kept ready per Odoo version (`17.0=4,18.0=1`): role, database already initialised by
   * `odoo -i base` and data volume, made in the background. A new instance without custom addons or demo
   * data adopts one (renamed to its own names, fresh secrets) instead of waiting for CREATE DATABASE and
   * the init run. Empty: none, every instance is made from scratch.
   */
  ODOO_SPARE_POOL: sparePool,
  /** How often the pool is topped up (also right after an instance adopted a spare). */
  ODOO_SPARE_POOL_INTERVAL_MS: positiveInt(15_000),

  // ---- Odoo databases ----
  ODOO_DB_HOST: z.string().min(1).default('127.0.0.1'),
  ODOO_DB_PORT: port(5432),
  /**
   * Address the Odoo containers use for Postgres. Empty: ODOO_DB_HOST, unless that is a loopback address
   * (host mode): then the worker forwards <docker bridge gateway>:ODOO_DB_PORT to ODOO_DB_HOST:ODOO_DB_PORT.
   */
  ODOO_DB_HOST_FOR_CONTAINERS: z.string().default(''),
  ODOO_PROVISIONER_USER: z.string().min(1).default('odoo_provisioner'),
  ODOO_PROVISIONER_PASSWORD: z.string().min(1),

  // ---- backups, retention ----
  BACKUP_DIR: z
    .string()
    .min(1)
    .default(inContainer ? '/var/lib/saasodoo/backups' : './.local/backups'),
  /** Manual backups kept per instance (the newest); scheduled ones follow the plan's GFS retention. */
  MANUAL_BACKUPS_KEEP: positiveInt(5),
  /**
   * Daily scheduled backups: `HH:MM` (UTC) starts the window, each instance backs up at a time spread over
   * the next BACKUP_SCHEDULE_SPREAD_MINUTES by its id (so they do not all run at once); `off` disables them.
   */
  BACKUP_SCHEDULE: z
    .string()
    .regex(/^(off|([01][0-9]|2[0-3]):[0-5][0-9])$/, 'must be HH:MM (UTC) or off')
    .default('01:00'),
  BACKUP_SCHEDULE_SPREAD_MINUTES: nonNegativeInt(240),
  /** Test-restore each completed backup into a scratch database (the `verified` result). */
  BACKUP_VERIFY: envBoolean(true),
  PG_DUMP_BIN: z.string().min(1).default('pg_dump'),
  PG_RESTORE_BIN: z.string().min(1).default('pg_restore'),
  /**
   * Off-host copies (issue #15): with BACKUP_S3_BUCKET set, every completed backup is also copied to this
   * S3-compatible store, and pruned/purged backups are deleted there too. Empty: backups stay on this host only.
   */
  ...offsiteBackupEnv.shape,
  /** Loads an imported Odoo zip's plain-SQL dump.sql (POST /api/v1/instances/import, staging copies). */
  PSQL_BIN: z.string().min(1).default('psql'),
  /** Data of a terminated instance is kept this long, then purged (0: right away). */
  INSTANCE_PURGE_AFTER_SECONDS: nonNegativeInt(604_800),

  // ---- queue, reconciler ----
  /** Jobs run at once; they mostly wait (Docker, Odoo's boot), so this can exceed the CPU count. */
  WORKER_CONCURRENCY: positiveInt(16),
  RECONCILE_INTERVAL_MS: positiveInt(30_000),
  /** How often each instance's storage (volume bytes + pg_database_size) is measured. */
  USAGE_INTERVAL_MS: positiveInt(300_000),
  /** A job of a worker that died (SIGKILL) is taken over after about this long. */
  QUEUE_LOCK_DURATION_MS: positiveInt(30_000),
  QUEUE_STALLED_INTERVAL_MS: positiveInt(15_000),
});

/**
 * Every running job holds database connections (its status changes, a spare's claim): the worker's pool is
 * at least WORKER_CONCURRENCY + 4, whatever DB_POOL_SIZE says, so jobs never queue for a connection.
 */
export const envSchema = envObject.transform((config) => ({
  ...config,
  DB_POOL_SIZE: Math.max(config.DB_POOL_SIZE, config.WORKER_CONCURRENCY + 4),
}));

export type Config = z.infer<typeof envSchema>;
