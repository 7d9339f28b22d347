import { docker, LifecycleTestKit } from './support/worker-harness';

/*
 * Node loss on the single-node swarm, through the real worker: the instance's node drained → the reconciler
 * records `unschedulable` (its local volume pins it there); the node active again → `running`. The node is
 * always set back to active, whatever happens (other test runs share this engine).
 */

async function setAvailability(availability: 'active' | 'drain'): Promise<void> {
  const nodeId = ((await docker.info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
  const node = (await docker.getNode(nodeId).inspect()) as {
    Version: { Index: number };
    Spec: Record<string, unknown>;
  };
  await docker
    .getNode(nodeId)
    .update({ version: node.Version.Index, ...node.Spec, Availability: availability });
}

describe('ORCHESTRATOR=swarm: a drained node makes its instances unschedulable', () => {
  const kit = new LifecycleTestKit({ ORCHESTRATOR: 'swarm', RECONCILE_INTERVAL_MS: '2000' });

  beforeAll(async () => {
    await kit.startWorker();
  }, 60_000);

  afterAll(async () => {
    await setAvailability('active').catch(() => undefined);
    for (const id of kit.instanceIds) {
      for (const service of await docker.listServices({
        filters: { label: [`saasodoo.instance.id=${id}`] },
      })) {
        await docker
          .getService(service.ID)
          .remove()
          .catch(() => undefined);
      }
    }
    await kit.cleanup();
  }, 90_000);

  it('records unschedulable while the node is drained and running once it is back', async () => {
    const created = await kit.create();
    const row = await kit.waitForStatus(created.id, 'running', 90_000);
    try {
      await setAvailability('drain');
      const drained = await kit.waitForStatus(row.id, 'unschedulable', 60_000);
      expect(drained.statusReason).toMatch(/unschedulable/);
      expect(drained.desiredState).toBe('running');
    } finally {
      await setAvailability('active');
    }
    await kit.waitForStatus(row.id, 'running', 90_000);
  }, 300_000);
});
