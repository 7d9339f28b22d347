import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { InstanceBackupsRepository } from '@app/instance-data';
import { InstanceLogsClient } from '@app/queue';
import { adminSql } from '@app/testing';
import { docker, execIn as exec, LifecycleTestKit, waitFor } from './support/worker-harness';

/*
 * The whole lifecycle against the real Docker engine, Postgres and Redis, with the stand-in Odoo image
 * (npm run build:stub-image). One in-process worker (the real AppModule) serves every test; each test
 * makes its own instances (own tenant, own names) and the kit removes everything in afterAll.
 */

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('instance lifecycle (real Docker, Postgres, Redis)', () => {
  const kit = new LifecycleTestKit();

  beforeAll(async () => {
    await kit.startWorker();
  });
  afterAll(() => kit.cleanup(), 60_000);

  describe('provisioning', () => {
    it('creates role, database, volume, tenant network and a hardened, labelled container, then runs', async () => {
      const created = await kit.create({
        cpuLimit: 0.5,
        memoryLimit: '256M',
        environmentVars: { FEATURE_FLAG: 'on', HOST: 'evil.example', PASSWORD: 'override' },
      });
      const row = await kit.waitForStatus(created.id, 'running');
      const names = kit.names(row);

      expect(row).toMatchObject({
        containerName: names.container,
        volumeName: names.volume,
        networkName: `saasodoo_tenant_${row.tenantId}`,
        dbRole: names.dbRole,
        image: 'saasodoo/odoo-stub:17.0',
        externalUrl: `http://${row.subdomain}.localhost`,
        adminPasswordEnc: null,
        appliedGeneration: 1,
      });
      expect(row.dbPasswordEnc).toMatch(/^v1\./);
      expect(row.internalUrl).toBe(`http://127.0.0.1:${row.hostPort}`);
      expect(await kit.hostPortHealth(row)).toBe(200);

      const [container, ...others] = await kit.containersOf(row.id);
      expect(others).toHaveLength(0);
      const info = await docker.getContainer(container?.Id ?? '').inspect();
      expect(info.Name).toBe(`/odoo_${row.databaseName}_${row.id.replace(/-/g, '').slice(0, 8)}`);
      expect(info.Config.Labels).toMatchObject({
        'saasodoo.instance.id': row.id,
        'saasodoo.tenant.id': row.tenantId,
        'saasodoo.customer.id': row.customerId,
        'traefik.enable': 'true',
        'traefik.docker.network': `saasodoo_tenant_${row.tenantId}`,
        [`traefik.http.routers.odoo-${row.id}.rule`]: `Host(\`${row.subdomain}.localhost\`)`,
        [`traefik.http.services.odoo-${row.id}.loadbalancer.server.port`]: '8069',
      });
      expect(info.HostConfig).toMatchObject({
        Memory: 256 * 1024 * 1024,
        NanoCpus: 500_000_000,
        PidsLimit: 512,
        RestartPolicy: { Name: 'unless-stopped' },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges:true'],
      });
      expect(Object.keys(info.NetworkSettings.Networks)).toEqual([`saasodoo_tenant_${row.tenantId}`]);
      expect(info.HostConfig.PortBindings?.['8069/tcp']?.[0]?.HostIp).toBe('127.0.0.1');
      // The customer's variables are passed, but never over the platform's database settings.
      const env = info.Config.Env;
      expect(env).toContain('FEATURE_FLAG=on');
      expect(env).toContain(`USER=${names.dbRole}`);
      expect(env).not.toContain('HOST=evil.example');
      expect(env).not.toContain('PASSWORD=override');
      expect(await kit.volumesOf(row.id)).toEqual([names.volume]);
      expect(await kit.pgObjects(row)).toEqual({ databases: 1, roles: 1 });

      // The instance's role owns its database, is no superuser, and nobody else may connect to it.
      const db = await kit.instanceDb(row);
      try {
        const { rows } = await db.query<{
          super: boolean;
          createdb: boolean;
          owner: string;
          public_connect: boolean;
        }>(
          `SELECT r.rolsuper AS super, r.rolcreatedb AS createdb, pg_get_userbyid(d.datdba) AS owner,
                  has_database_privilege('public', d.datname, 'CONNECT') AS public_connect
             FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()`,
        );
        expect(rows[0]).toEqual({
          super: false,
          createdb: false,
          owner: names.dbRole,
          public_connect: false,
        });
      } finally {
        await db.end();
      }
      const statuses = (await kit.instances.listEvents(row.id)).map((e) => `${e.fromStatus}>${e.toStatus}`);
      expect(statuses).toEqual(['null>pending', 'pending>provisioning', 'provisioning>running']);
    });

    it('gives up a provisioning that never gets healthy and removes everything it created', async () => {
      const kitFail = new LifecycleTestKit({ PROVISION_HEALTH_TIMEOUT_MS: '1500' });
      try {
        await kitFail.startWorker();
        const created = await kitFail.create({ environmentVars: { STUB_FAIL: '1' } });
        const row = await kitFail.waitForStatus(created.id, 'error', 40_000);
        expect(row.lastError).toMatch(/did not become healthy.*everything it created was removed/s);
        expect(row.appliedGeneration).toBe(1);
        expect(await kitFail.containersOf(row.id)).toHaveLength(0);
        expect(await kitFail.volumesOf(row.id)).toHaveLength(0);
        expect(await kitFail.pgObjects(row)).toEqual({ databases: 0, roles: 0 });
        await expect(docker.getNetwork(`saasodoo_tenant_${row.tenantId}`).inspect()).rejects.toMatchObject({
          statusCode: 404,
        });
        const attempts = (await kitFail.instances.listEvents(row.id)).filter(
          (e) => e.toStatus === 'provisioning',
        );
        expect(attempts.length).toBeGreaterThanOrEqual(1);
      } finally {
        await kitFail.cleanup();
      }
    }, 60_000);

    it('refuses a database name taken outside the platform without touching that database', async () => {
      const input = kit.newInstance();
      await adminSql(`CREATE DATABASE "${input.databaseName}"`);
      const recorded = await kit.instances.create(input, { entitled: true, actor: 'test' });
      await kit.enqueue(recorded);
      const row = await kit.waitForStatus(input.id, 'error');
      expect(row.lastError).toMatch(/already exists and belongs to postgres/);
      expect(await kit.pgObjects(row)).toEqual({ databases: 1, roles: 0 });
      expect(await kit.volumesOf(row.id)).toHaveLength(0);
      expect(await kit.containersOf(row.id)).toHaveLength(0);
    });

    it('lets Odoo reach its database from the container (host mode forwarder)', async () => {
      // STUB_WAIT_FOR_DB makes the stand-in exit unless HOST:PORT accepts TCP, like the real image.
      const created = await kit.create({ environmentVars: { STUB_WAIT_FOR_DB: '1' } });
      const row = await kit.waitForStatus(created.id, 'running');
      const logs = await kit.app.app.get(InstanceLogsClient).fetch(row.id, 50);
      expect(logs).toMatchObject({ ok: true });
      expect(logs.ok && logs.logs).toContain('HTTP service (werkzeug) running');
    });

    it('re-enqueues a provisioning whose enqueue was lost', async () => {
      const input = kit.newInstance();
      await kit.instances.create(input, { entitled: true, actor: 'test' }); // no enqueue: the API "crashed"
      const row = await kit.waitForStatus(input.id, 'running', 20_000);
      const events = await kit.instances.listEvents(row.id);
      expect(events.some((e) => e.jobId === `${row.id}:provision:1` && e.actor === 'worker')).toBe(true);
    });
  });

  describe('actions', () => {
    it('stops, starts, restarts, suspends and unsuspends (back to the state before)', async () => {
      const created = await kit.create();
      let row = await kit.waitForStatus(created.id, 'running');
      const containerId = row.containerId ?? '';

      await kit.act(row.id, 'stop');
      row = await kit.waitForStatus(row.id, 'stopped');
      expect((await docker.getContainer(containerId).inspect()).State.Running).toBe(false);
      expect(row.stoppedAt).not.toBeNull();

      await kit.act(row.id, 'start');
      row = await kit.waitForStatus(row.id, 'running');
      expect(row.containerId).toBe(containerId);
      expect(await kit.hostPortHealth(row)).toBe(200);

      const before = (await docker.getContainer(containerId).inspect()).State.StartedAt;
      await kit.act(row.id, 'restart');
      row = await kit.waitForOperation(row.id, 'running');
      expect((await docker.getContainer(containerId).inspect()).State.StartedAt).not.toBe(before);
      expect(await kit.hostPortHealth(row)).toBe(200);

      await kit.act(row.id, 'suspend');
      row = await kit.waitForStatus(row.id, 'suspended');
      expect(row.previousStatus).toBe('running');
      expect((await docker.getContainer(containerId).inspect()).State.Running).toBe(false);
      expect(await kit.volumesOf(row.id)).toHaveLength(1);

      await kit.act(row.id, 'unsuspend');
      row = await kit.waitForStatus(row.id, 'running');
      expect(await kit.hostPortHealth(row)).toBe(200);

      // From stopped, unsuspend returns to stopped.
      await kit.act(row.id, 'stop');
      await kit.waitForStatus(row.id, 'stopped');
      await kit.act(row.id, 'suspend');
      row = await kit.waitForStatus(row.id, 'suspended');
      await kit.act(row.id, 'unsuspend');
      await sleep(300);
      row = await kit.waitForStatus(row.id, 'stopped');
      expect(row.desiredState).toBe('stopped');
      expect((await docker.getContainer(containerId).inspect()).State.Running).toBe(false);
    });

    it('serves the container log tail to the API through Redis', async () => {
      const created = await kit.create();
      const row = await kit.waitForStatus(created.id, 'running');
      await kit.hostPortHealth(row);
      const client = new InstanceLogsClient({
        redisUrl: kit.env.REDIS_URL ?? '',
        prefix: kit.env.QUEUE_PREFIX,
      });
      try {
        const answer = await client.fetch(row.id, 3);
        expect(answer).toMatchObject({ ok: true, container_name: row.containerName, lines: 3 });
        expect(answer.ok && answer.logs.trim().split('\n')).toHaveLength(3);
        expect(await client.fetch('00000000-0000-4000-8000-000000000000', 10)).toMatchObject({
          ok: false,
          code: 'INSTANCE_NOT_FOUND',
        });
      } finally {
        await client.close();
      }
    });

    it('applies changed limits to the running container', async () => {
      const created = await kit.create();
      const row = await kit.waitForStatus(created.id, 'running');
      await kit.enqueue(
        await kit.instances.requestLimitsChange(
          row.id,
          { memoryLimit: '512M', cpuLimit: 1 },
          { actor: 'test' },
        ),
      );
      await waitFor('new limits on the container', async () => {
        const info = await docker.getContainer(row.containerId ?? '').inspect();
        return info.HostConfig.Memory === 512 * 1024 * 1024 && info.HostConfig.NanoCpus === 1e9;
      });
    });

    it('terminates (stops at once, keeps nothing after the retention: 0 s here) and stays terminated', async () => {
      const created = await kit.create();
      let row = await kit.waitForStatus(created.id, 'running');
      await kit.act(row.id, 'terminate');
      row = await kit.waitForStatus(row.id, 'terminated');
      expect(row.terminatedAt).not.toBeNull();
      row = await waitFor('purge', async () => {
        const r = await kit.get(created.id);
        return r.purgedAt ? r : null;
      });
      expect(row.status).toBe('terminated');
      expect(await kit.containersOf(row.id)).toHaveLength(0);
      expect(await kit.volumesOf(row.id)).toHaveLength(0);
      expect(await kit.pgObjects(row)).toEqual({ databases: 0, roles: 0 });
      await expect(docker.getNetwork(`saasodoo_tenant_${row.tenantId}`).inspect()).rejects.toMatchObject({
        statusCode: 404,
      });
      await expect(kit.act(row.id, 'start')).rejects.toMatchObject({ code: 'ACTION_NOT_ALLOWED' });
      expect((await kit.instances.listEvents(row.id)).at(-1)).toMatchObject({
        action: 'purge',
        toStatus: 'terminated',
      });
    });

    it('purges all of a tenant’s instances at once and then removes the tenant network', async () => {
      const tenantId = randomUUID();
      const created = await Promise.all([1, 2, 3].map(() => kit.create({ tenantId })));
      await Promise.all(created.map((c) => kit.waitForStatus(c.id, 'running')));
      const network = `saasodoo_tenant_${tenantId}`;
      expect((await docker.getNetwork(network).inspect()).Name).toBe(network);
      // Each purge runs while the others are unfinished: none of them alone sees the tenant empty.
      await Promise.all(created.map((c) => kit.act(c.id, 'terminate')));
      await waitFor('all purged', async () =>
        (await Promise.all(created.map((c) => kit.get(c.id)))).every((r) => r.purgedAt),
      );
      await waitFor('the tenant network removed', async () =>
        docker
          .getNetwork(network)
          .inspect()
          .then(
            () => null,
            (error: { statusCode?: number }) => error.statusCode === 404 || null,
          ),
      );
    });

    it('terminates an instance in the middle of its provisioning and purges what it had', async () => {
      const created = await kit.create({ environmentVars: { STUB_STARTUP_DELAY_SECONDS: '60' } });
      await waitFor(
        'the container to run',
        async () => (await kit.containersOf(created.id))[0]?.State === 'running',
      );
      expect((await kit.get(created.id)).status).toBe('provisioning');
      await kit.act(created.id, 'terminate');
      const row = await waitFor(
        'purge',
        async () => {
          const r = await kit.get(created.id);
          return r.purgedAt ? r : null;
        },
        20_000,
      );
      expect(row.status).toBe('terminated');
      expect(await kit.containersOf(row.id)).toHaveLength(0);
      expect(await kit.volumesOf(row.id)).toHaveLength(0);
      expect(await kit.pgObjects(row)).toEqual({ databases: 0, roles: 0 });
    });

    it('terminates a pending instance without anything to purge', async () => {
      const input = kit.newInstance();
      await kit.instances.create(input, { entitled: false, actor: 'test' });
      await kit.act(input.id, 'terminate');
      const row = await kit.waitForStatus(input.id, 'terminated');
      expect(row.purgedAt).not.toBeNull();
      expect(await kit.pgObjects(row)).toEqual({ databases: 0, roles: 0 });
    });
  });

  describe('backup and restore', () => {
    it('backs up database and data volume with verified checksums, keeps the retention count, restores', async () => {
      const backupRows = kit.app.app.get(InstanceBackupsRepository);
      const created = await kit.create();
      let row = await kit.waitForStatus(created.id, 'running');
      const db = await kit.instanceDb(row);
      try {
        await db.query(`CREATE TABLE notes (id int PRIMARY KEY, body text)`);
        await db.query(`INSERT INTO notes VALUES (1, 'before backup')`);
      } finally {
        await db.end();
      }
      const container = row.containerId ?? '';
      expect(
        (await exec(container, ['sh', '-c', 'echo original > /var/lib/odoo/filestore/marker.txt'])).exitCode,
      ).toBe(0);

      await kit.act(row.id, 'backup');
      row = await kit.waitForOperation(row.id, 'running');
      expect(row.lastError).toBeNull();
      const [backup] = await backupRows.listForInstance(row.id);
      expect(backup).toMatchObject({ status: 'completed', kind: 'manual', odooVersion: '17.0' });
      expect(sha256(backup?.dbDumpPath ?? '')).toBe(backup?.dbDumpSha256);
      expect(sha256(backup?.filestorePath ?? '')).toBe(backup?.filestoreSha256);
      expect(
        readFileSync(backup?.dbDumpPath ?? '')
          .subarray(0, 5)
          .toString(),
      ).toBe('PGDMP');
      const statuses = (await kit.instances.listEvents(row.id)).map((e) => e.toStatus);
      expect(statuses.slice(-2)).toEqual(['backing_up', 'running']);

      // Change everything, then restore (from stopped: it must end stopped again).
      const db2 = await kit.instanceDb(row);
      try {
        await db2.query(`UPDATE notes SET body = 'after backup'`);
        await db2.query(`CREATE TABLE extra (x int)`);
      } finally {
        await db2.end();
      }
      await exec(container, [
        'sh',
        '-c',
        'echo changed > /var/lib/odoo/filestore/marker.txt; touch /var/lib/odoo/new.txt',
      ]);
      await kit.act(row.id, 'stop');
      await kit.waitForStatus(row.id, 'stopped');
      await kit.act(row.id, 'restore', { backup_id: backup?.id });
      row = await kit.waitForOperation(row.id, 'stopped');
      expect(row.lastError).toBeNull();
      const db3 = await kit.instanceDb(row);
      try {
        expect((await db3.query(`SELECT body FROM notes`)).rows).toEqual([{ body: 'before backup' }]);
        expect((await db3.query(`SELECT to_regclass('public.extra') AS t`)).rows).toEqual([{ t: null }]);
      } finally {
        await db3.end();
      }
      await kit.act(row.id, 'start');
      row = await kit.waitForStatus(row.id, 'running');
      const marker = await exec(row.containerId ?? '', [
        'sh',
        '-c',
        'cat /var/lib/odoo/filestore/marker.txt; ls /var/lib/odoo',
      ]);
      expect(marker.output).toContain('original');
      expect(marker.output).not.toContain('new.txt');

      // Retention: 2 manual backups per instance in this run (MANUAL_BACKUPS_KEEP); the oldest files and rows
      // go. The restore's pre_restore safety copy is kept apart (7 days).
      for (let i = 0; i < 2; i += 1) {
        await kit.act(row.id, 'backup');
        row = await kit.waitForOperation(row.id, 'running');
      }
      const kept = await backupRows.listForInstance(row.id);
      expect(kept.filter((b) => b.kind === 'manual')).toHaveLength(2);
      expect(kept.filter((b) => b.kind === 'pre_restore')).toHaveLength(1);
      expect(kept.map((b) => b.id)).not.toContain(backup?.id);
      expect(() => readFileSync(backup?.dbDumpPath ?? '')).toThrow();
    }, 60_000);

    it('refuses to restore a backup whose file no longer matches its checksum, leaving the instance as it was', async () => {
      const backupRows = kit.app.app.get(InstanceBackupsRepository);
      const created = await kit.create();
      let row = await kit.waitForStatus(created.id, 'running');
      await kit.act(row.id, 'backup');
      row = await kit.waitForOperation(row.id, 'running');
      const [backup] = await backupRows.listForInstance(row.id);
      writeFileSync(backup?.filestorePath ?? '', 'tampered');
      await kit.act(row.id, 'stop');
      await kit.waitForStatus(row.id, 'stopped');
      await kit.act(row.id, 'restore', { backup_id: backup?.id });
      row = await waitFor('restore to be refused', async () => {
        const r = await kit.get(created.id);
        return r.pendingOperation === null && r.lastError ? r : null;
      });
      expect(row.status).toBe('stopped');
      expect(row.lastError).toMatch(/restore failed: .*does not match/);
    });

    it('records a failed backup without harming the instance', async () => {
      const failing = new LifecycleTestKit({ PG_DUMP_BIN: '/bin/false' });
      try {
        await failing.startWorker();
        const created = await failing.create();
        let row = await failing.waitForStatus(created.id, 'running');
        await failing.act(row.id, 'backup');
        row = await waitFor(
          'backup failure to be recorded',
          async () => {
            const r = await failing.get(created.id);
            return r.pendingOperation === null && r.lastError ? r : null;
          },
          40_000,
        );
        expect(row.status).toBe('running');
        expect(row.lastError).toMatch(/backup failed: pg_dump failed/);
        const [backup] = await failing.app.app.get(InstanceBackupsRepository).listForInstance(row.id);
        expect(backup).toMatchObject({ status: 'failed' });
        expect(await failing.hostPortHealth(row)).toBe(200);
      } finally {
        await failing.cleanup();
      }
    }, 60_000);
  });

  describe('upgrade', () => {
    it('backs up, runs --update all on the new image and recreates the container on it', async () => {
      const created = await kit.create({ odooVersion: '16.0' });
      let row = await kit.waitForStatus(created.id, 'running');
      await kit.act(row.id, 'upgrade', { version: '18.0' });
      row = await kit.waitForOperation(row.id, 'running');
      expect(row).toMatchObject({ odooVersion: '18.0', image: 'saasodoo/odoo-stub:18.0', lastError: null });
      const info = await docker.getContainer(row.containerId ?? '').inspect();
      expect(info.Config.Image).toBe('saasodoo/odoo-stub:18.0');
      const marker = await exec(row.containerId ?? '', [
        'sh',
        '-c',
        `cat /var/lib/odoo/stub-markers/update-${row.databaseName}`,
      ]);
      expect(marker.output).toMatch(/update=all .*version=18\.0/);
      const backups = await kit.app.app.get(InstanceBackupsRepository).listForInstance(row.id);
      expect(backups[0]).toMatchObject({ kind: 'pre_upgrade', status: 'completed', odooVersion: '16.0' });
      expect(await kit.containersOf(row.id)).toHaveLength(1);
    });

    it('rolls back to the backup and the old image when --update all fails', async () => {
      const created = await kit.create({ odooVersion: '16.0' });
      let row = await kit.waitForStatus(created.id, 'running');
      const db = await kit.instanceDb(row);
      try {
        await db.query(`CREATE TABLE keep (v text)`);
        await db.query(`INSERT INTO keep VALUES ('16 data')`);
      } finally {
        await db.end();
      }
      // The next `--stop-after-init` run fails (the customer's variables reach one-shots too).
      await adminSql(
        `UPDATE instances SET environment_vars = '{"STUB_FAIL_UPDATE":"1"}' WHERE id = '${row.id}'`,
        kit.database,
      );
      await kit.act(row.id, 'upgrade', { version: '17.0' });
      row = await kit.waitForOperation(row.id, 'running');
      expect(row).toMatchObject({ odooVersion: '16.0', image: 'saasodoo/odoo-stub:16.0' });
      expect(row.lastError).toMatch(/upgrade to 17\.0 failed: .*rolled back to 16\.0/);
      expect((await docker.getContainer(row.containerId ?? '').inspect()).Config.Image).toBe(
        'saasodoo/odoo-stub:16.0',
      );
      expect(await kit.hostPortHealth(row)).toBe(200);
      const db2 = await kit.instanceDb(row);
      try {
        expect((await db2.query(`SELECT v FROM keep`)).rows).toEqual([{ v: '16 data' }]);
      } finally {
        await db2.end();
      }
    });
  });

  describe('metrics', () => {
    it('exposes job durations and lifecycle counters on /metrics', async () => {
      const res = await kit.app.request({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toMatch(
        /lifecycle_job_duration_seconds_bucket\{[^}]*job_name="provision",outcome="succeeded"/,
      );
      expect(res.body).toMatch(/lifecycle_jobs_total\{[^}]*job_name="stop",outcome="succeeded"[^}]*\} [1-9]/);
      expect(res.body).toMatch(/instance_status_transitions_total\{[^}]*from="provisioning",to="running"/);
      expect(res.body).toContain('# TYPE lifecycle_worker_consuming gauge');
    });
  });
});
