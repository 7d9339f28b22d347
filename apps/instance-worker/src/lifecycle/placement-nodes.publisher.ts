import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { PlacementNodesStore } from '@app/queue';
import type { Config } from '../config/env';
import { PLACEMENT_BACKEND, type PlacementBackend } from '../placement/placement-backend';

const INTERVAL_MS = 10_000;

/**
 * Writes the placement backend's node view (labels, availability, reserved against total CPU and memory)
 * for the API's GET /admin/nodes every 10 s; a snapshot lives three intervals, so a stopped worker's view
 * disappears instead of going stale.
 */
@Injectable()
export class PlacementNodesPublisher {
  private readonly logger = new Logger(PlacementNodesPublisher.name);
  private timer?: NodeJS.Timeout;
  private publishing?: Promise<void>;

  constructor(
    @Inject(PLACEMENT_BACKEND) private readonly placement: PlacementBackend,
    private readonly store: PlacementNodesStore,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  start(): void {
    if (this.timer) return;
    const tick = (): void => {
      this.publishing = this.publish()
        .catch((error: unknown) => this.logger.warn(`node snapshot: ${String(error)}`))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, INTERVAL_MS);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.publishing?.catch(() => undefined);
  }

  async publish(): Promise<void> {
    const nodes = await this.placement.nodes();
    await this.store.publish(
      {
        orchestrator: this.placement.kind,
        storage: this.config.SHARED_STORAGE_PATH ? 'shared-path' : 'local-volume',
        observed_at: new Date().toISOString(),
        nodes: nodes.map((node) => ({
          id: node.id,
          hostname: node.hostname,
          role: node.role,
          availability: node.availability,
          state: node.state,
          labels: node.labels,
          cpus: { total: node.total.nanoCpus / 1e9, reserved: node.reserved.nanoCpus / 1e9 },
          memory_bytes: { total: node.total.memoryBytes, reserved: node.reserved.memoryBytes },
        })),
      },
      3 * INTERVAL_MS,
    );
  }
}
