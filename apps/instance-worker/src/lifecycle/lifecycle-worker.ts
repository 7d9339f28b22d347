import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG } from '@app/config';
import { InstancesRepository } from '@app/instance-data';
import {
  InstanceLogsResponder,
  LifecycleConsumer,
  type InstanceLogsAnswer,
  type LifecycleJobHandler,
} from '@app/queue';
import type { Config } from '../config/env';
import { PLACEMENT_BACKEND, type PlacementBackend } from '../placement/placement-backend';
import { PlacementNodesPublisher } from './placement-nodes.publisher';
import { ContainerDbEndpoint } from './container-db-endpoint';
import { InstanceBackupsService } from './instance-backups.service';
import { InstanceReconciler } from './instance-reconciler';
import { InstanceRuntime } from './instance-runtime';
import { InstanceUsageMeter } from './instance-usage-meter';
import { LIFECYCLE_JOB_HANDLERS } from './lifecycle-job-handlers';
import { LifecycleMetrics } from './lifecycle.metrics';
import { OdooDatabaseProvisioner } from './odoo-database.provisioner';
import { SparePool } from './spare-pool';

/**
 * Starts the worker's loops in order. The handler registry is checked at boot (a missing or duplicate
 * handler stops the process); consuming jobs, answering log requests and reconciling begin only after the
 * dependencies answered: Docker, the Odoo database endpoint, the provisioner role, the backup directory.
 * Until then (e.g. Docker down) the process runs, /health/ready says what is missing, and init is retried.
 */
@Injectable()
export class LifecycleWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LifecycleWorker.name);
  private readonly consumer: LifecycleConsumer;
  private readonly responder: InstanceLogsResponder;
  private readonly shutdown = new AbortController();
  private starting?: Promise<void>;
  private started = false;

  constructor(
    @Inject(LIFECYCLE_JOB_HANDLERS) handlers: LifecycleJobHandler[],
    @Inject(APP_CONFIG) private readonly config: Config,
    @Inject(PLACEMENT_BACKEND) private readonly placement: PlacementBackend,
    private readonly dbEndpoint: ContainerDbEndpoint,
    private readonly provisioner: OdooDatabaseProvisioner,
    private readonly backups: InstanceBackupsService,
    private readonly reconciler: InstanceReconciler,
    private readonly usage: InstanceUsageMeter,
    private readonly nodes: PlacementNodesPublisher,
    private readonly runtime: InstanceRuntime,
    private readonly instances: InstancesRepository,
    private readonly metrics: LifecycleMetrics,
    private readonly spares: SparePool,
  ) {
    this.consumer = new LifecycleConsumer({
      redisUrl: config.REDIS_URL,
      prefix: config.QUEUE_PREFIX,
      handlers,
      concurrency: config.WORKER_CONCURRENCY,
      lockDurationMs: config.QUEUE_LOCK_DURATION_MS,
      stalledIntervalMs: config.QUEUE_STALLED_INTERVAL_MS,
      onFinished: (name, outcome, seconds) => metrics.observeJob(name, outcome, seconds),
      onError: (error) => this.logger.warn(`queue: ${error.message}`),
    });
    this.responder = new InstanceLogsResponder({
      redisUrl: config.REDIS_URL,
      prefix: config.QUEUE_PREFIX,
      resolve: (instanceId, lines) => this.logs(instanceId, lines),
      onError: (error) => this.logger.warn(`logs: ${error.message}`),
    });
  }

  get consuming(): boolean {
    return this.started;
  }

  onApplicationBootstrap(): void {
    this.starting = this.initAndStart();
  }

  /** Resolves once the worker consumes (tests and main wait on it). */
  async whenStarted(): Promise<void> {
    await this.starting;
  }

  async onApplicationShutdown(): Promise<void> {
    this.shutdown.abort();
    await this.starting?.catch(() => undefined);
    this.metrics.consuming.set(0);
    await this.reconciler.stop();
    await this.usage.stop();
    await this.nodes.stop();
    await this.spares.stop();
    await this.consumer.close(this.config.SHUTDOWN_TIMEOUT_MS);
    await this.responder.close();
  }

  private async initAndStart(): Promise<void> {
    let delay = 500;
    while (!this.shutdown.signal.aborted) {
      try {
        await this.placement.ping();
        await this.dbEndpoint.init();
        await this.provisioner.verify();
        await this.backups.ensureRootWritable();
        break;
      } catch (error) {
        this.logger.warn(
          `init failed, retrying in ${delay} ms: ${error instanceof Error ? error.message : String(error)}`,
        );
        try {
          await sleep(delay, undefined, { signal: this.shutdown.signal });
        } catch {
          return;
        }
        delay = Math.min(delay * 2, 15_000);
      }
    }
    if (this.shutdown.signal.aborted) return;
    await this.consumer.start();
    this.responder.start();
    this.reconciler.start();
    this.usage.start();
    this.nodes.start();
    this.spares.start();
    this.started = true;
    this.metrics.consuming.set(1);
    this.logger.log(
      `consuming ${this.config.QUEUE_PREFIX}:instance-lifecycle (concurrency ${this.config.WORKER_CONCURRENCY})`,
    );
  }

  private async logs(instanceId: string, lines: number): Promise<InstanceLogsAnswer> {
    const row = await this.instances.findById(instanceId);
    if (!row) return { ok: false, code: 'INSTANCE_NOT_FOUND', message: 'no such instance' };
    const observed = await this.runtime.observe(row);
    if (observed.state === 'missing') {
      return { ok: false, code: 'CONTAINER_MISSING', message: 'the instance has no container' };
    }
    const logs = await this.runtime.logs(observed.handle, lines);
    return { ok: true, container_name: observed.name, lines, logs };
  }
}
