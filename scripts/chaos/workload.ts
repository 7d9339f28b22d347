import { setTimeout as sleep } from 'node:timers/promises';
import { adminQuery } from '@app/testing';
import { ChaosClient, Reply } from './client';

/** One customer of the run: each has its own account, tenant (starter plan: one instance) and trial. */
export interface ChaosCustomer {
  token: string;
  tenantId: string;
}

export interface ChaosInstance {
  index: number;
  tenantId: string;
  token: string;
  id: string;
  databaseName: string;
  /** What the workload wants it to end as. */
  expected: { status: 'running' | 'terminated'; version: string };
}

interface InstanceView {
  id: string;
  status: string;
  desired_state: string;
  odoo_version: string;
  database_name: string;
}

const TRANSITIONAL = new Set([
  'pending',
  'provisioning',
  'starting',
  'stopping',
  'restarting',
  'backing_up',
  'restoring',
  'upgrading',
  'terminating',
]);

/**
 * The customer's side of the run: N instances created at once, then each on its own: stopped, backed up,
 * restored from that backup, started; one upgraded, two terminated. Requests are retried through outages as a
 * customer's tooling would (network errors, 5xx), and a 409 after an ambiguous attempt is resolved by looking
 * at the instance. Every 2xx is recorded for the end checks.
 */
export class ChaosWorkload {
  readonly instances: ChaosInstance[] = [];
  /** Instances the customer had to act on again because a fault left them in `error`. */
  readonly nudges: string[] = [];
  private backupStarted?: Promise<void>;

  constructor(
    private readonly client: ChaosClient,
    private readonly customers: ChaosCustomer[],
    private readonly runId: string,
    private readonly instanceDb: string,
    private readonly stepTimeoutMs: number,
    /** Called once, when the first backup is about to be requested (the ENOSPC fault hooks in here). */
    private readonly beforeFirstBackup: () => Promise<void>,
  ) {}

  async run(): Promise<void> {
    const created = await Promise.all(
      this.customers.map(async (customer, i) => {
        const instance = await this.create(i, customer);
        this.instances.push(instance);
        return instance;
      }),
    );
    await Promise.all(created.map((instance) => this.lifecycle(instance)));
    const [upgraded] = created;
    const terminated = created.slice(-2);
    await Promise.all([
      upgraded ? this.upgrade(upgraded, '18.0') : Promise.resolve(),
      ...terminated.filter((i) => i !== upgraded).map((instance) => this.terminate(instance)),
    ]);
  }

  private async create(index: number, customer: ChaosCustomer): Promise<ChaosInstance> {
    const databaseName = `ch_${this.runId}_${index}`;
    const body = {
      tenant_id: customer.tenantId,
      name: `Chaos ${index}`,
      odoo_version: '17.0',
      instance_type: 'development',
      cpu_limit: 0.5,
      memory_limit: '512M',
      storage_limit: '5G',
      admin_email: 'admin@example.test',
      demo_data: false,
      database_name: databaseName,
      subdomain: `ch-${this.runId}-${index}`,
      // A trial plan: billing-service subscribes it in Kill Bill, which entitles it at once.
      plan_name: 'basic-monthly',
    };
    const deadline = Date.now() + this.stepTimeoutMs;
    let ambiguous = false;
    while (Date.now() < deadline) {
      const reply = await this.client.call<{ id: string }>('instance-service', 'POST', '/api/v1/instances/', {
        body,
        token: customer.token,
      });
      if (reply?.status === 201) {
        this.client.record({ what: 'create', instanceId: reply.body.id });
        return this.track(index, customer, reply.body.id, databaseName);
      }
      if (reply && reply.status === 409 && ambiguous) {
        const existing = await this.findByDatabase(databaseName);
        if (existing) return this.track(index, customer, existing, databaseName);
      }
      if (reply && reply.status < 500 && (reply.status !== 409 || !ambiguous))
        throw new Error(`create ${index}: ${reply.status} ${JSON.stringify(reply.body)}`);
      ambiguous = ambiguous || !reply || reply.status >= 500;
      await sleep(1000);
    }
    throw new Error(`create ${index}: not accepted in time`);
  }

  private track(index: number, customer: ChaosCustomer, id: string, databaseName: string): ChaosInstance {
    return { index, ...customer, id, databaseName, expected: { status: 'running', version: '17.0' } };
  }

  private async findByDatabase(databaseName: string): Promise<string | null> {
    const rows = await adminQuery<{ id: string }>(
      `SELECT id FROM instances WHERE database_name = '${databaseName}'`,
      this.instanceDb,
    );
    return rows[0]?.id ?? null;
  }

  private async lifecycle(instance: ChaosInstance): Promise<void> {
    await this.waitStatus(instance, 'running');
    await this.act(instance, 'stop', 'stopped');
    const backupId = await this.backup(instance);
    await this.act(instance, 'restore', 'stopped', { backup_id: backupId });
    await this.act(instance, 'start', 'running');
  }

  private async upgrade(instance: ChaosInstance, version: string): Promise<void> {
    await this.act(instance, 'upgrade', 'running', { version });
    instance.expected.version = version;
    const view = await this.view(instance);
    if (view?.odoo_version !== version) {
      await this.waitFor(instance, `odoo_version ${version}`, async () => {
        const now = await this.view(instance);
        return now?.odoo_version === version && now.status === 'running';
      });
    }
  }

  private async terminate(instance: ChaosInstance): Promise<void> {
    instance.expected.status = 'terminated';
    await this.act(instance, 'terminate', 'terminated');
  }

  /** A backup that completed: retried (as a customer would) while backups fail, e.g. on a full disk. */
  private async backup(instance: ChaosInstance): Promise<string> {
    this.backupStarted ??= this.beforeFirstBackup();
    await this.backupStarted;
    for (let attempt = 1; attempt <= 5; attempt++) {
      const jobId = await this.act(instance, 'backup', 'stopped');
      const rows = await this.waitFor(instance, `backup of job ${jobId ?? '?'}`, async () => {
        const found = await adminQuery<{ id: string; status: string }>(
          `SELECT id, status FROM instance_backups WHERE instance_id = '${instance.id}'
             ${jobId ? `AND job_id = '${jobId}'` : ''} AND status <> 'running' ORDER BY created_at DESC`,
          this.instanceDb,
        );
        return found.length ? found : null;
      });
      const completed = rows.find((r) => r.status === 'completed');
      if (completed) return completed.id;
    }
    throw new Error(`${instance.id}: no backup completed in 5 attempts`);
  }

  /**
   * Requests `action` until it is accepted (returns the job id), or until an ambiguous earlier attempt is seen
   * to have taken effect (returns null); then waits for `target`. An instance found in `error` is asked again.
   */
  private async act(
    instance: ChaosInstance,
    action: string,
    target: string,
    parameters: Record<string, unknown> = {},
  ): Promise<string | null> {
    const deadline = Date.now() + this.stepTimeoutMs;
    let ambiguous = false;
    let jobId: string | null = null;
    while (Date.now() < deadline) {
      const reply: Reply<{ job_id: string }> | null = await this.client.call(
        'instance-service',
        'POST',
        `/api/v1/instances/${instance.id}/actions`,
        { body: { action, parameters }, token: instance.token },
      );
      if (reply?.status === 202) {
        jobId = reply.body.job_id;
        this.client.record({ what: 'action', instanceId: instance.id, action, jobId, parameters });
        break;
      }
      if (reply && reply.status < 500 && reply.status !== 409)
        throw new Error(`${action} ${instance.id}: ${reply.status} ${JSON.stringify(reply.body)}`);
      if (reply?.status === 409 && ambiguous && (await this.view(instance))?.status === target) break;
      ambiguous = ambiguous || !reply || reply.status >= 500;
      await sleep(1000);
    }
    if (Date.now() >= deadline) throw new Error(`${action} ${instance.id}: not accepted in time`);
    await this.waitStatus(instance, target, action === 'terminate' ? undefined : action, parameters, jobId);
    return jobId;
  }

  private async view(instance: ChaosInstance): Promise<InstanceView | null> {
    const reply = await this.client.call<InstanceView>(
      'instance-service',
      'GET',
      `/api/v1/instances/${instance.id}`,
      { token: instance.token },
    );
    return reply?.status === 200 ? reply.body : null;
  }

  /** Waits for `target`; an instance stuck in `error` for 20 s gets `retry` again (a customer would). */
  private async waitStatus(
    instance: ChaosInstance,
    target: string,
    retry?: string,
    parameters: Record<string, unknown> = {},
    jobId: string | null = null,
  ): Promise<void> {
    let errorSince: number | null = null;
    await this.waitFor(instance, `status ${target}`, async () => {
      const view = await this.view(instance);
      if (view?.status === target && (await this.applied(instance, jobId))) return true;
      if (view?.status === 'error' && retry) {
        errorSince ??= Date.now();
        if (Date.now() - errorSince > 20_000) {
          errorSince = null;
          await this.nudge(instance, view, retry, target, parameters);
        }
      } else if (view && !TRANSITIONAL.has(view.status)) {
        errorSince = null;
      }
      return false;
    });
  }

  /**
   * The worker is done with what was asked (not merely: the status already matched before the job ran).
   */
  private async applied(instance: ChaosInstance, jobId: string | null): Promise<boolean> {
    if (!jobId) return true;
    // Operations (backup, restore, upgrade) end by clearing pending_operation and record their transitions;
    // desired-state jobs (start, stop) end by raising applied_generation, even when nothing had to change.
    const rows = await adminQuery<{
      pending: string | null;
      generation: number;
      applied: number;
      moved: number;
    }>(
      `SELECT pending_operation->>'job_id' AS pending, generation, applied_generation AS applied,
              (SELECT count(*)::int FROM instance_events
                WHERE job_id = '${jobId}' AND from_status IS DISTINCT FROM to_status) AS moved
         FROM instances WHERE id = '${instance.id}'`,
      this.instanceDb,
    );
    const row = rows[0];
    return !!row && row.pending !== jobId && (row.moved > 0 || row.applied >= row.generation);
  }

  /**
   * What a customer does with an instance left in `error`: asks again for what it wanted, or, when that is not
   * allowed in `error`, starts (or stops) it. Each nudge is listed in the table: the platform did not converge
   * by itself.
   */
  private async nudge(
    instance: ChaosInstance,
    view: InstanceView & { status_reason?: string | null; error_message?: string | null },
    retry: string,
    target: string,
    parameters: Record<string, unknown>,
  ): Promise<void> {
    const attempts: [string, Record<string, unknown>][] = [[retry, parameters]];
    const refusals: string[] = [];
    if (target === 'running' || target === 'stopped')
      attempts.push([target === 'running' ? 'start' : 'stop', {}]);
    for (const [action, params] of attempts) {
      const again = await this.client.call<{ job_id: string }>(
        'instance-service',
        'POST',
        `/api/v1/instances/${instance.id}/actions`,
        { body: { action, parameters: params }, token: instance.token },
      );
      if (again?.status === 202) {
        this.client.record({
          what: 'action',
          instanceId: instance.id,
          action,
          jobId: again.body.job_id,
          parameters: params,
        });
        this.nudges.push(
          `#${instance.index} in error during ${retry} (${(view.error_message ?? view.status_reason ?? '?').slice(0, 120)}): customer sent ${action}`,
        );
        return;
      }
      refusals.push(
        `${action} → ${again?.status ?? 'no answer'} ${String((again?.body as { code?: string } | undefined)?.code ?? '')}`,
      );
    }
    const note = `#${instance.index} in error during ${retry}: customer's ${refusals.join(', ')}`;
    if (!this.nudges.includes(note)) this.nudges.push(note);
  }

  private async waitFor<T>(
    instance: ChaosInstance,
    what: string,
    probe: () => Promise<T | null | false>,
  ): Promise<T> {
    const deadline = Date.now() + this.stepTimeoutMs;
    for (;;) {
      const value = await probe().catch(() => null);
      if (value !== null && value !== false) return value;
      if (Date.now() > deadline) {
        const view = await this.view(instance);
        throw new Error(
          `instance ${instance.index} (${instance.id}): no ${what} in time (status ${view?.status ?? '?'})`,
        );
      }
      await sleep(500);
    }
  }
}
