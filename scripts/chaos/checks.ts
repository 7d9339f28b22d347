import Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { adminQuery, waitFor } from '@app/testing';
import { ChaosClient } from './client';
import { ChaosRow } from './faults';
import { ChaosInstance } from './workload';

const docker = new Docker({ socketPath: '/var/run/docker.sock' });

export function roleOf(instanceId: string): string {
  return `odoo_${instanceId.replace(/-/g, '')}`;
}

function row(name: string, pass: boolean, checked: string): ChaosRow {
  return { name, at: null, recovery: null, checked, pass };
}

async function fileSha256(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    createReadStream(path),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done();
      },
    }),
  );
  return { sha256: hash.digest('hex'), size };
}

/** The end state, read from the API, the databases, Docker and the backup filesystem, never assumed. */
export class EndStateChecks {
  constructor(
    private readonly client: ChaosClient,
    private readonly instances: ChaosInstance[],
    private readonly db: { instance: string; billing: string; platform: string[] },
    private readonly backupDir: string,
    private readonly expectedCount: number,
  ) {}

  private get live(): ChaosInstance[] {
    return this.instances.filter((i) => i.expected.status !== 'terminated');
  }

  /** Every instance reaches what the workload wants: status, desired state and version. */
  async converged(timeoutMs: number): Promise<ChaosRow> {
    const describe = async () =>
      Promise.all(
        this.instances.map(async (instance) => {
          const reply = await this.client.call<{
            status: string;
            desired_state: string;
            odoo_version: string;
          }>('instance-service', 'GET', `/api/v1/instances/${instance.id}`, { token: instance.token });
          const ok =
            reply?.status === 200 &&
            reply.body.status === instance.expected.status &&
            reply.body.desired_state === instance.expected.status &&
            (instance.expected.status === 'terminated' ||
              reply.body.odoo_version === instance.expected.version);
          return {
            ok,
            text: `#${instance.index} ${reply?.body.status ?? '?'}/${reply?.body.desired_state ?? '?'}`,
          };
        }),
      );
    if (this.instances.length !== this.expectedCount)
      return row(
        'end: instances converged',
        false,
        `${this.instances.length} of ${this.expectedCount} instances created`,
      );
    try {
      await waitFor(
        'every instance converged',
        async () => (await describe()).every((d) => d.ok),
        timeoutMs,
        1000,
      );
      const running = this.live.length;
      return row(
        'end: instances converged',
        true,
        `${running} running (desired running, ${this.live.filter((i) => i.expected.version !== '17.0').length} upgraded to 18.0), ${this.instances.length - running} terminated`,
      );
    } catch {
      const states = await describe();
      return row(
        'end: instances converged',
        false,
        `not converged: ${states
          .filter((s) => !s.ok)
          .map((s) => s.text)
          .join(', ')}`,
      );
    }
  }

  /** Each 2xx has its effect: the instance exists, or the job's own transition / backup row is recorded. */
  async acceptedRequestsHaveEffect(): Promise<ChaosRow> {
    const missing: string[] = [];
    for (const request of this.client.accepted) {
      if (request.what === 'create') {
        const rows = await adminQuery<{ n: number }>(
          `SELECT count(*)::int AS n FROM instances WHERE id = '${request.instanceId}'`,
          this.db.instance,
        );
        if (rows[0]?.n !== 1) missing.push(`create ${request.instanceId}`);
        continue;
      }
      const job = request.jobId ?? '';
      // A backup's own row, or, once its instance was terminated and purged (which removes its backups), the
      // transitions its job recorded.
      const backupRow =
        request.action === 'backup'
          ? await adminQuery<{ n: number }>(
              `SELECT count(*)::int AS n FROM instance_backups WHERE job_id = '${job}' AND status IN ('completed', 'failed')`,
              this.db.instance,
            )
          : [];
      const purged =
        this.instances.find((i) => i.id === request.instanceId)?.expected.status === 'terminated';
      // start/stop: the instance reached that status after the request (by this job, or by the reconciler's
      // sweep that got there first, as after a dockerd restart).
      const reached = request.action === 'start' ? 'running' : request.action === 'stop' ? 'stopped' : null;
      const effect =
        request.action === 'backup' && !purged
          ? backupRow
          : await adminQuery<{ n: number }>(
              reached
                ? `SELECT count(*)::int AS n FROM instance_events e
                    WHERE e.instance_id = '${request.instanceId}' AND e.to_status = '${reached}'
                      AND e.from_status IS DISTINCT FROM e.to_status
                      AND e.id > (SELECT min(id) FROM instance_events WHERE job_id = '${job}')`
                : `SELECT count(*)::int AS n FROM instance_events
                    WHERE instance_id = '${request.instanceId}' AND job_id = '${job}' AND from_status IS DISTINCT FROM to_status`,
              this.db.instance,
            );
      if ((effect[0]?.n ?? 0) < 1) missing.push(`${request.action} ${request.instanceId} (job ${job})`);
    }
    const counts = this.client.accepted.reduce<Record<string, number>>((all, r) => {
      const key = r.action ?? r.what;
      all[key] = (all[key] ?? 0) + 1;
      return all;
    }, {});
    return row(
      'end: every 2xx has its effect',
      missing.length === 0 && this.client.accepted.length > 0,
      `${this.client.accepted.length - missing.length}/${this.client.accepted.length} accepted requests took effect ${JSON.stringify(counts)}${missing.length ? `; missing: ${missing.slice(0, 5).join(', ')}` : ''}`,
    );
  }

  /** Every distinct notification that got a 2xx is in billing's inbox exactly once and handled, none failed. */
  async notifications(
    acceptedHashes: Set<string>,
    uniqueSent: number,
    dropped: number,
    timeoutMs: number,
  ): Promise<ChaosRow> {
    const hashes = [...acceptedHashes];
    const list = hashes.map((h) => `'${h}'`).join(',') || `''`;
    const query = () =>
      adminQuery<{ status: string; n: number; d: number }>(
        `SELECT status, count(*)::int AS n, coalesce(sum(duplicates), 0)::int AS d
           FROM killbill_inbox WHERE body_sha256 IN (${list}) GROUP BY status`,
        this.db.billing,
      );
    await waitFor(
      'the inbox to drain',
      async () =>
        (await query()).every(
          (r) => r.status === 'processed' || r.status === 'ignored' || r.status === 'failed',
        ),
      timeoutMs,
      1000,
    ).catch(() => undefined);
    const rows = await query();
    const by = (status: string) => rows.find((r) => r.status === status)?.n ?? 0;
    const stored = rows.reduce((sum, r) => sum + r.n, 0);
    const duplicates = rows.reduce((sum, r) => sum + r.d, 0);
    const handled = by('processed') + by('ignored');
    const lost = uniqueSent - handled;
    return row(
      'end: 0 notifications lost',
      lost === 0 && stored === hashes.length && hashes.length === uniqueSent && dropped === 0,
      `${uniqueSent} distinct sent, ${hashes.length} accepted, ${stored} stored once each (${by('processed')} processed, ${by('ignored')} ignored, ${by('failed')} failed, ${by('pending') + by('processing')} pending), ${duplicates} duplicates dropped; lost ${lost}`,
    );
  }

  /** One provisioning per instance (its event), and exactly one container, volume, database and role. */
  async provisionedOnce(): Promise<ChaosRow> {
    const wrong: string[] = [];
    for (const instance of this.instances) {
      const want = instance.expected.status === 'terminated' ? 0 : 1;
      const provisioned = await adminQuery<{ n: number }>(
        `SELECT count(*)::int AS n FROM instance_events WHERE instance_id = '${instance.id}' AND reason LIKE 'provisioned%'`,
        this.db.instance,
      );
      const containers = (
        await docker.listContainers({
          all: true,
          filters: { label: [`saasodoo.instance.id=${instance.id}`] },
        })
      ).filter((c) => !c.Labels['saasodoo.oneshot.instance']);
      const volumes =
        (await docker.listVolumes({ filters: { label: [`saasodoo.instance.id=${instance.id}`] } })).Volumes ??
        [];
      const dbs = await adminQuery<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_database WHERE datname = '${instance.databaseName}'`,
      );
      const roles = await adminQuery<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_roles WHERE rolname = '${roleOf(instance.id)}'`,
      );
      const got = [provisioned[0]?.n, containers.length, volumes.length, dbs[0]?.n, roles[0]?.n];
      const expected = [1, want, want, want, want];
      if (JSON.stringify(got) !== JSON.stringify(expected))
        wrong.push(
          `#${instance.index} provisioned/containers/volumes/dbs/roles=${got.join('/')} want ${expected.join('/')}`,
        );
    }
    return row(
      'end: 0 duplicate provisionings',
      wrong.length === 0,
      wrong.length
        ? wrong.join('; ')
        : `${this.instances.length} instances provisioned once each; ${this.live.length} with 1 container, volume, database and role; terminated ones with none`,
    );
  }

  /** Containers and Odoo roles of this run's instances still there (0 once all are purged). */
  async leftovers(): Promise<number> {
    let n = 0;
    for (const instance of this.instances) {
      n += (
        await docker.listContainers({
          all: true,
          filters: { label: [`saasodoo.instance.id=${instance.id}`] },
        })
      ).length;
    }
    const roles = await adminQuery<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE 'odoo\\_%' AND rolname <> 'odoo_provisioner'`,
    );
    return n + (roles[0]?.n ?? 0);
  }

  /** Nothing of this run exists that no live instance owns. */
  async noOrphans(name: string, live: ChaosInstance[]): Promise<ChaosRow> {
    const liveIds = new Set(live.map((i) => i.id));
    let containers = 0;
    let volumes = 0;
    let strayNetworks = 0;
    let networks = 0;
    for (const tenantId of new Set(this.instances.map((i) => i.tenantId))) {
      containers += (
        await docker.listContainers({ all: true, filters: { label: [`saasodoo.tenant.id=${tenantId}`] } })
      ).filter(
        (c) => !liveIds.has(c.Labels['saasodoo.instance.id'] ?? '') || c.Labels['saasodoo.oneshot.instance'],
      ).length;
      const found = (await docker.listNetworks({ filters: { label: [`saasodoo.tenant.id=${tenantId}`] } }))
        .length;
      const wanted = live.some((i) => i.tenantId === tenantId) ? 1 : 0;
      networks += found;
      strayNetworks += Math.abs(found - wanted);
    }
    for (const instance of this.instances.filter((i) => !liveIds.has(i.id))) {
      volumes += (
        (await docker.listVolumes({ filters: { label: [`saasodoo.instance.id=${instance.id}`] } })).Volumes ??
        []
      ).length;
    }
    const platformDbs = [...this.db.platform, 'postgres', 'template0', 'template1']
      .map((d) => `'${d}'`)
      .join(',');
    const dbs = await adminQuery<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname NOT IN (${platformDbs})`,
    );
    const strayDbs = dbs.filter((d) => !live.some((i) => i.databaseName === d.datname));
    const roles = await adminQuery<{ rolname: string }>(
      `SELECT rolname FROM pg_roles WHERE rolname LIKE 'odoo\\_%' AND rolname <> 'odoo_provisioner'`,
    );
    const strayRoles = roles.filter((r) => !live.some((i) => roleOf(i.id) === r.rolname));
    const pass =
      containers === 0 &&
      volumes === 0 &&
      strayNetworks === 0 &&
      strayDbs.length === 0 &&
      strayRoles.length === 0;
    return row(
      name,
      pass,
      `orphans: ${containers} containers, ${volumes} volumes, ${strayNetworks} networks, ${strayDbs.length} databases${strayDbs.length ? ` (${strayDbs.map((d) => d.datname).join(', ')})` : ''}, ${strayRoles.length} roles (${live.length} live instances, ${networks} tenant networks)`,
    );
  }

  /** Completed backups have both files with their recorded checksum; failed ones left no file; nothing else on disk. */
  async backups(enospcFailures: string[]): Promise<ChaosRow> {
    const ids = this.instances.map((i) => `'${i.id}'`).join(',') || 'NULL';
    const rows = await adminQuery<{
      id: string;
      instance_id: string;
      status: string;
      db_dump_path: string | null;
      db_dump_sha256: string | null;
      db_dump_size: string | null;
      filestore_path: string | null;
      filestore_sha256: string | null;
      filestore_size: string | null;
      error: string | null;
    }>(
      `SELECT id, instance_id, status, db_dump_path, db_dump_sha256, db_dump_size, filestore_path, filestore_sha256,
              filestore_size, error FROM instance_backups WHERE instance_id IN (${ids})`,
      this.db.instance,
    );
    const problems: string[] = [];
    const verification = await this.verification(ids);
    if (verification.problem) problems.push(verification.problem);
    const completed = rows.filter((r) => r.status === 'completed');
    const failed = rows.filter((r) => r.status === 'failed');
    for (const backup of completed) {
      for (const [path, sha, size] of [
        [backup.db_dump_path, backup.db_dump_sha256, backup.db_dump_size],
        [backup.filestore_path, backup.filestore_sha256, backup.filestore_size],
      ] as const) {
        if (!path || !sha || !existsSync(path)) {
          problems.push(`completed ${backup.id} lacks ${path ?? 'a file'}`);
          continue;
        }
        const actual = await fileSha256(path);
        if (actual.sha256 !== sha.trim() || actual.size !== Number(size))
          problems.push(`completed ${backup.id}: ${path} does not match its checksum`);
      }
    }
    for (const backup of failed) {
      if (existsSync(join(this.backupDir, backup.instance_id, backup.id)))
        problems.push(`failed ${backup.id} left files behind`);
    }
    const running = rows.filter((r) => r.status === 'running');
    if (running.length) problems.push(`${running.length} backups still 'running'`);
    const known = new Set(completed.map((b) => `${b.instance_id}/${b.id}`));
    for (const instance of this.instances) {
      const dir = join(this.backupDir, instance.id);
      for (const entry of existsSync(dir) ? readdirSync(dir) : []) {
        if (!known.has(`${instance.id}/${entry}`))
          problems.push(`stray backup folder ${instance.id}/${entry}`);
      }
    }
    // What became of the backups that failed on the full disk: a retried job rewrites its own backup.
    const fate = enospcFailures.map((id) => rows.find((r) => r.id === id)?.status ?? 'purged');
    const enospc = `${enospcFailures.length} failed on ENOSPC, since then: ${['completed', 'failed', 'purged']
      .map(
        (s) =>
          `${fate.filter((f) => f === s).length} ${s === 'completed' ? 'completed by their job retry' : s === 'purged' ? 'purged with their instance' : 'still failed'}`,
      )
      .join(', ')}`;
    return row(
      'end: backups completed+checksummed or honestly failed',
      problems.length === 0 && completed.length > 0,
      `${completed.length} completed (files re-read, sha256 and size match), ${failed.length} failed (no files left), none running or stray; ${verification.text}; ${enospc}${problems.length ? `; PROBLEMS: ${problems.slice(0, 5).join('; ')}` : ''}`,
    );
  }

  /**
   * Where backups are test-restored (the `verification` column, issue #15's verified backups): waits for every
   * completed backup to have its result, and counts them. Without that column, says so.
   */
  private async verification(idList: string): Promise<{ text: string; problem?: string }> {
    const column = await adminQuery<{ n: number }>(
      `SELECT count(*)::int AS n FROM information_schema.columns
        WHERE table_name = 'instance_backups' AND column_name = 'verification'`,
      this.db.instance,
    );
    if (!column[0]?.n) return { text: 'test-restore verification not in this build' };
    const query = () =>
      adminQuery<{ verification: string | null; n: number }>(
        `SELECT verification, count(*)::int AS n FROM instance_backups
          WHERE instance_id IN (${idList}) AND status = 'completed' GROUP BY verification`,
        this.db.instance,
      );
    await waitFor(
      'every completed backup verified',
      async () => !(await query()).some((r) => r.verification === null),
      120_000,
      1000,
    ).catch(() => undefined);
    const counts = await query();
    const n = (v: string | null) => counts.find((r) => r.verification === v)?.n ?? 0;
    const text = `${n('passed')} verified by a test restore, ${n('failed')} whose test restore failed (reported), ${n(null)} unverified`;
    return n(null) ? { text, problem: `${n(null)} completed backups never verified` } : { text };
  }

  /** Only the killed processes restarted, once each, and no log shows an unhandled error. */
  processes(killed: number): ChaosRow {
    const output = this.client.platform.output();
    const exits = (output.match(/exited unexpectedly/g) ?? []).length;
    const unhandled =
      /Unhandled 'error' event|unhandledRejection|UnhandledPromiseRejection|uncaughtException/.test(
        this.client.platform.logs(),
      );
    return row(
      'end: no other process exited',
      exits === killed && !unhandled,
      `${exits} unexpected exits for ${killed} SIGKILLs; ${unhandled ? 'an unhandled error in the logs' : 'no unhandled error in any log'}`,
    );
  }
}
