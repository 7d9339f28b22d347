import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Client, escapeIdentifier, escapeLiteral, Pool } from 'pg';
import { APP_CONFIG } from '@app/config';
import { logClientErrors, logPoolErrors } from '@app/database';
import { PermanentJobError } from '@app/queue';
import type { Config } from '../config/env';

const DUPLICATE_OBJECT = '42710';
const DUPLICATE_DATABASE = '42P04';

function pgCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

export interface OdooDatabaseState {
  roleExists: boolean;
  databaseExists: boolean;
  /** Owner of the database, when it exists. */
  owner: string | null;
}

/**
 * Creates and drops the per-instance Postgres role and database as `odoo_provisioner` (CREATEDB CREATEROLE,
 * never superuser), connected to the `postgres` maintenance database. Every step checks first, so a run
 * interrupted anywhere converges on the next one. A database is only ever dropped when it is owned by
 * the instance's own role: a name clash with anything else is a permanent error, never a deletion.
 */
@Injectable()
export class OdooDatabaseProvisioner implements OnApplicationShutdown {
  private readonly logger = new Logger(OdooDatabaseProvisioner.name);
  private readonly pool: Pool;

  constructor(@Inject(APP_CONFIG) private readonly config: Config) {
    this.pool = new Pool({
      host: config.ODOO_DB_HOST,
      port: config.ODOO_DB_PORT,
      user: config.ODOO_PROVISIONER_USER,
      password: config.ODOO_PROVISIONER_PASSWORD,
      database: 'postgres',
      // Every running job may need it at once (role, database, renames).
      max: Math.max(8, config.WORKER_CONCURRENCY),
      connectionTimeoutMillis: config.DB_CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: 60_000,
      application_name: 'instance-worker:provisioner',
    });
    logPoolErrors(this.pool, (m) => this.logger.warn(m), 'provisioner pool');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }

  /** Connects and checks the role is what it must be (not superuser, can create roles and databases). */
  /** pg_database_size of the instance's database; null when it does not exist (yet, or any more). */
  async databaseSize(database: string): Promise<number | null> {
    const { rows } = await this.pool.query<{ size: string | null }>(
      `SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)
              THEN pg_database_size($1)::text END AS size`,
      [database],
    );
    const size = rows[0]?.size;
    return size === null || size === undefined ? null : Number(size);
  }

  async verify(): Promise<void> {
    const { rows } = await this.pool.query<{
      rolsuper: boolean;
      rolcreatedb: boolean;
      rolcreaterole: boolean;
    }>('SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user');
    const role = rows[0];
    if (!role) throw new Error('cannot read the provisioner role');
    if (role.rolsuper) {
      throw new Error(`${this.config.ODOO_PROVISIONER_USER} is a superuser; the worker refuses to use it`);
    }
    if (!role.rolcreatedb || !role.rolcreaterole) {
      throw new Error(`${this.config.ODOO_PROVISIONER_USER} needs CREATEDB and CREATEROLE`);
    }
  }

  async state(database: string, role: string): Promise<OdooDatabaseState> {
    const roles = await this.pool.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    const dbs = await this.pool.query<{ owner: string }>(
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
      [database],
    );
    return {
      roleExists: (roles.rowCount ?? 0) > 0,
      databaseExists: (dbs.rowCount ?? 0) > 0,
      owner: dbs.rows[0]?.owner ?? null,
    };
  }

  /** Role with this password and database owned by it; CONNECT only for that role. */
  async ensure(database: string, role: string, password: string): Promise<void> {
    const r = escapeIdentifier(role);
    const attributes = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT';
    const state = await this.state(database, role);
    if (!state.roleExists) {
      try {
        await this.pool.query(`CREATE ROLE ${r} ${attributes} PASSWORD ${escapeLiteral(password)}`);
      } catch (error) {
        if (pgCode(error) !== DUPLICATE_OBJECT) throw error;
      }
    }
    // Also for an existing role: the stored (encrypted) password is the truth. (Only a superuser may even
    // restate SUPERUSER/REPLICATION/BYPASSRLS, so those are set at creation only.)
    await this.pool.query(`ALTER ROLE ${r} WITH LOGIN PASSWORD ${escapeLiteral(password)}`);
    // Membership lets the provisioner create a database owned by the role, drop it and end its sessions.
    await this.pool.query(`GRANT ${r} TO CURRENT_USER`);
    if (state.databaseExists) {
      this.assertOwnedBy(database, state.owner, role);
    } else {
      try {
        await this.pool.query(
          `CREATE DATABASE ${escapeIdentifier(database)} OWNER ${r} TEMPLATE template0 ENCODING 'UTF8' ` +
            `LC_COLLATE 'C' LC_CTYPE 'C'`,
        );
      } catch (error) {
        if (pgCode(error) !== DUPLICATE_DATABASE) throw error;
        this.assertOwnedBy(database, (await this.state(database, role)).owner, role);
      }
    }
    const d = escapeIdentifier(database);
    await this.pool.query(`REVOKE ALL ON DATABASE ${d} FROM PUBLIC`);
    await this.pool.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${d} TO ${r}`);
  }

  /**
   * Gives a spare's role and database the instance's names. Idempotent: a rename already done is skipped.
   * A target name held by anything else is a permanent error (nothing is renamed over it).
   */
  async adoptSpare(
    spare: { role: string; database: string },
    target: { role: string; database: string },
  ): Promise<void> {
    const roleExists = async (name: string) =>
      ((await this.pool.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount ?? 0) > 0;
    if (await roleExists(spare.role)) {
      if (await roleExists(target.role)) {
        throw new PermanentJobError(
          `role ${target.role} already exists; spare role ${spare.role} not renamed`,
        );
      }
      await this.pool.query(
        `ALTER ROLE ${escapeIdentifier(spare.role)} RENAME TO ${escapeIdentifier(target.role)}`,
      );
    }
    const source = await this.state(spare.database, target.role);
    if (source.databaseExists) {
      this.assertOwnedBy(spare.database, source.owner, target.role);
      const clash = await this.state(target.database, target.role);
      if (clash.databaseExists) {
        throw new PermanentJobError(
          `database "${target.database}" already exists (owner ${clash.owner ?? 'unknown'}); spare not renamed`,
        );
      }
      await this.pool.query(
        `ALTER DATABASE ${escapeIdentifier(spare.database)} RENAME TO ${escapeIdentifier(target.database)}`,
      );
    }
  }

  /**
   * What is left under a claimed spare's own names when its instance goes away before the renames were
   * done: its database (if owned by the spare's role or, renamed already, by the instance's) and its role.
   */
  async dropSpareLeftovers(spare: { role: string; database: string }, instanceRole: string): Promise<void> {
    const state = await this.state(spare.database, spare.role);
    if (state.databaseExists) {
      if (state.owner === spare.role || state.owner === instanceRole) {
        await this.pool.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(spare.database)} WITH (FORCE)`);
      } else {
        this.logger.warn(`not dropping database ${spare.database}: owned by ${state.owner}`);
      }
    }
    if (state.roleExists) await this.pool.query(`DROP ROLE IF EXISTS ${escapeIdentifier(spare.role)}`);
  }

  /**
   * Drops the database (sessions ended) if the role owns it, then the role. Missing objects are fine. Other
   * databases the role owns are the instance's too (a test restore's `bkverify_*`, a restore's `rst_*`/`old_*`
   * left by a worker that died mid-way): they go first, or the role could never be dropped.
   */
  async drop(database: string, role: string): Promise<void> {
    const owned = await this.pool.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = $1 AND datname <> $2`,
      [role, database],
    );
    for (const { datname } of owned.rows) {
      await this.pool.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(datname)} WITH (FORCE)`);
    }
    const state = await this.state(database, role);
    if (state.databaseExists) {
      if (state.owner === role) {
        await this.pool.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(database)} WITH (FORCE)`);
      } else {
        this.logger.warn(`not dropping database ${database}: owned by ${state.owner}, not ${role}`);
      }
    }
    if (state.roleExists) {
      await this.pool.query(`DROP ROLE IF EXISTS ${escapeIdentifier(role)}`);
    }
  }

  /** Empty database again (restore): drop with sessions, create owned by the role. */
  async recreateDatabase(database: string, role: string, password: string): Promise<void> {
    const state = await this.state(database, role);
    if (state.databaseExists) {
      this.assertOwnedBy(database, state.owner, role);
      await this.pool.query(`DROP DATABASE ${escapeIdentifier(database)} WITH (FORCE)`);
    }
    await this.ensure(database, role, password);
  }

  /** Drops one database (sessions ended) owned by `role`, keeping the role (a scratch or replaced copy). */
  async dropDatabase(database: string, role: string): Promise<void> {
    const state = await this.state(database, role);
    if (!state.databaseExists) return;
    this.assertOwnedBy(database, state.owner, role);
    await this.pool.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(database)} WITH (FORCE)`);
  }

  /**
   * Puts `replacement` in the place of `database` (restore): in one transaction `database` is renamed to
   * `keepAs` and `replacement` to `database`, after their sessions were ended. When `keepAs` exists already
   * (a previous attempt swapped, then died before recording it) the current `database` is that attempt's
   * copy and is dropped instead. All three must be owned by `role`.
   */
  async swapIn(database: string, replacement: string, keepAs: string, role: string): Promise<void> {
    const current = await this.state(database, role);
    const kept = await this.state(keepAs, role);
    const incoming = await this.state(replacement, role);
    if (!incoming.databaseExists) throw new Error(`database ${replacement} to swap in does not exist`);
    this.assertOwnedBy(replacement, incoming.owner, role);
    if (current.databaseExists) this.assertOwnedBy(database, current.owner, role);
    if (kept.databaseExists) this.assertOwnedBy(keepAs, kept.owner, role);
    if (current.databaseExists && kept.databaseExists) {
      await this.pool.query(`DROP DATABASE ${escapeIdentifier(database)} WITH (FORCE)`);
    }
    const client = await this.pool.connect();
    try {
      await client.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()`,
        [[database, replacement]],
      );
      await client.query('BEGIN');
      if (current.databaseExists && !kept.databaseExists) {
        await client.query(
          `ALTER DATABASE ${escapeIdentifier(database)} RENAME TO ${escapeIdentifier(keepAs)}`,
        );
      }
      await client.query(
        `ALTER DATABASE ${escapeIdentifier(replacement)} RENAME TO ${escapeIdentifier(database)}`,
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** A connection to the instance's own database as the instance's own role. */
  async withInstanceConnection<T>(
    database: string,
    role: string,
    password: string,
    fn: (client: Client) => Promise<T>,
  ): Promise<T> {
    const client = logClientErrors(
      new Client({
        host: this.config.ODOO_DB_HOST,
        port: this.config.ODOO_DB_PORT,
        user: role,
        password,
        database,
        connectionTimeoutMillis: this.config.DB_CONNECT_TIMEOUT_MS,
        application_name: 'instance-worker',
      }),
      (m) => this.logger.warn(m),
      `connection to ${database}`,
    );
    try {
      await client.connect();
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private assertOwnedBy(database: string, owner: string | null, role: string): void {
    if (owner !== role) {
      throw new PermanentJobError(
        `database "${database}" already exists and belongs to ${owner ?? 'someone else'}, not to this instance`,
      );
    }
  }
}
