import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SwarmLab, type SwarmLabNode, waitFor } from '@app/testing';

/**
 * A real three-node Docker Swarm on this machine (libs/testing/src/swarm-lab), exercised through plain Docker
 * APIs: the scheduler, overlay networking, drain, local volumes and node loss behave as on separate hosts.
 */
const IMAGE = 'saasodoo/odoo-stub:latest';
const SECOND = 1_000_000_000;

jest.setTimeout(120_000);

describe('swarm lab: three dockerd nodes in one swarm', () => {
  let lab: SwarmLab;
  let services: string[] = [];
  const suffix = randomBytes(3).toString('hex');

  beforeAll(async () => {
    const stale = await SwarmLab.cleanupStale();
    if (stale.length > 0) console.warn(`swarm lab: removed labs left by dead runs: ${stale.join(', ')}`);
    lab = await SwarmLab.start({ nodes: 3, images: [IMAGE] });
  }, 180_000);

  afterEach(async () => {
    for (const id of services)
      await lab.manager.docker
        .getService(id)
        .remove()
        .catch(() => undefined);
    services = [];
    for (const node of lab.nodes) await lab.activate(node).catch(() => undefined);
  });

  afterAll(async () => {
    await lab?.stop();
  }, 60_000);

  /** A one-replica service running `script`; removed after the test. */
  async function createService(
    name: string,
    script: string,
    extra: {
      constraints?: string[];
      nanoCpus?: number;
      mounts?: { Type: 'bind' | 'volume'; Source: string; Target: string }[];
      networks?: string[];
      env?: string[];
    } = {},
  ): Promise<string> {
    const service = await lab.manager.docker.createService({
      Name: `${name}-${suffix}`,
      TaskTemplate: {
        ContainerSpec: {
          Image: IMAGE,
          Command: ['sh', '-c', script],
          Env: extra.env,
          Mounts: extra.mounts,
          User: '0',
          StopGracePeriod: SECOND,
        },
        Resources: extra.nanoCpus ? { Reservations: { NanoCPUs: extra.nanoCpus } } : undefined,
        Placement: { Constraints: extra.constraints ?? [] },
        RestartPolicy: { Condition: 'any', Delay: SECOND },
        Networks: extra.networks?.map((Target) => ({ Target })),
      },
      Mode: { Replicated: { Replicas: 1 } },
      EndpointSpec: { Mode: 'dnsrr' },
    });
    services.push(service.id);
    return `${name}-${suffix}`;
  }

  function runningNode(service: string, timeoutMs = 60_000, not?: SwarmLabNode): Promise<SwarmLabNode> {
    return waitFor(
      `a running task of ${service}${not ? ` off ${not.name}` : ''}`,
      async () => {
        const node = await lab.runningNode(service);
        return node && node.id !== not?.id ? node : undefined;
      },
      timeoutMs,
      250,
    );
  }

  async function overlay(name: string, options: Record<string, string> = {}): Promise<Docker.Network> {
    return lab.manager.docker.createNetwork({
      Name: `${name}-${suffix}`,
      Driver: 'overlay',
      Attachable: true,
      Options: options,
    });
  }

  async function sharedDirFor(name: string): Promise<string> {
    const dir = join(lab.sharedDir, name);
    await mkdir(dir);
    await chmod(dir, 0o777);
    return dir;
  }

  it('has three Ready, Active nodes, one manager, each its own dockerd and hostname', async () => {
    const nodes = (await lab.manager.docker.listNodes()) as {
      ID: string;
      Description: { Hostname: string };
      Spec: { Role: string; Availability: string };
      Status: { State: string; Addr: string };
    }[];
    expect(nodes).toHaveLength(3);
    expect(nodes.map((n) => n.Status.State)).toEqual(['ready', 'ready', 'ready']);
    expect(nodes.map((n) => n.Spec.Availability)).toEqual(['active', 'active', 'active']);
    expect(nodes.filter((n) => n.Spec.Role === 'manager').map((n) => n.ID)).toEqual([lab.manager.id]);
    expect(new Set(nodes.map((n) => n.Description.Hostname))).toEqual(new Set(lab.nodes.map((n) => n.name)));
    expect(new Set(nodes.map((n) => n.Status.Addr))).toEqual(new Set(lab.nodes.map((n) => n.address)));
    for (const node of lab.nodes) {
      const info = (await node.docker.info()) as { Swarm: { NodeID: string }; Images: number };
      expect(info.Swarm.NodeID).toBe(node.id);
      await node.docker.getImage(IMAGE).inspect();
    }
  });

  it('places services by CPU reservation: three that each take 60% of a node land on three nodes, a fourth waits', async () => {
    const described = (await lab.manager.docker.listNodes()) as {
      Description: { Resources: { NanoCPUs: number } };
    }[];
    const nanoCpus = Math.ceil(Math.min(...described.map((n) => n.Description.Resources.NanoCPUs)) * 0.6);
    const names = [];
    for (const i of [1, 2, 3]) names.push(await createService(`reserve${i}`, 'sleep 3600', { nanoCpus }));
    const placed = await Promise.all(names.map((name) => runningNode(name)));
    expect(new Set(placed.map((n) => n.id)).size).toBe(3);

    const fourth = await createService('reserve4', 'sleep 3600', { nanoCpus });
    const pending = await waitFor(
      'the fourth service to be refused for lack of resources',
      async () => (await lab.tasksOf(fourth)).find((t) => /insufficient resources/.test(t.error)),
      30_000,
    );
    expect(pending.state).toBe('pending');
    expect(pending.nodeId).toBe('');
  });

  it('carries overlay traffic between tasks on two different nodes', async () => {
    const network = await overlay('ov');
    try {
      const token = `hello-${randomBytes(4).toString('hex')}`;
      const server = await createService('server', 'while true; do echo "$TOKEN" | nc -l -p 8080; done', {
        constraints: [`node.id==${lab.node(2).id}`],
        networks: [network.id],
        env: [`TOKEN=${token}`],
      });
      expect((await runningNode(server)).id).toBe(lab.node(2).id);
      const reply = await waitFor(
        'the server on node 2 to answer a client on node 3 over the overlay',
        async () => {
          const { output } = await lab.runOnce(
            lab.node(3),
            IMAGE,
            ['sh', '-c', `nc -w 3 tasks.${server} 8080 </dev/null`],
            {
              network: network.id,
            },
          );
          return output.includes(token) ? output : undefined;
        },
        45_000,
        500,
      );
      expect(reply.trim()).toBe(token);
    } finally {
      for (const id of services)
        await lab.manager.docker
          .getService(id)
          .remove()
          .catch(() => undefined);
      services = [];
      await waitFor('the overlay network to be free', () => network.remove().then(() => true), 30_000, 500);
    }
  });

  it('encrypted overlay: carries traffic across nodes, or the kernel refusal is reported and the piece skipped', async () => {
    const probe = await lab.probeEncryptedOverlay();
    if (!probe.ok) {
      console.warn(
        `SKIPPED encrypted overlay (IPsec) in the swarm lab: this kernel refuses it: ${probe.error}`,
      );
      return;
    }
    const network = await overlay('enc', { encrypted: 'true' });
    const server = await createService('encsrv', 'while true; do echo secret-ok | nc -l -p 8080; done', {
      constraints: [`node.id==${lab.node(2).id}`],
      networks: [network.id],
    });
    await runningNode(server);
    await waitFor(
      'traffic over the encrypted overlay',
      async () =>
        (
          await lab.runOnce(lab.node(3), IMAGE, ['sh', '-c', `nc -w 3 tasks.${server} 8080 </dev/null`], {
            network: network.id,
          })
        ).output.includes('secret-ok'),
      45_000,
      500,
    );
  });

  it('lets containers in the lab reach the host Postgres at lab.postgres (a Postgres answer to SSLRequest)', async () => {
    expect(lab.postgres).toEqual({
      host: lab.bridgeAddress,
      port: Number(process.env.POSTGRES_PORT ?? 5432),
    });
    const network = await overlay('pg');
    try {
      const { host, port } = lab.postgres ?? { host: '', port: 0 };
      // SSLRequest (length 8, code 80877103): Postgres answers one byte, S or N. stdin stays open a moment:
      // busybox nc stops on stdin's end before the answer arrives.
      const request = `printf '\\000\\000\\000\\010\\004\\322\\026\\057'`;
      const script = `(${request}; sleep 2) | nc -w 3 ${host} ${port}`;
      const { exitCode, output } = await lab.runOnce(lab.node(3), IMAGE, ['sh', '-c', script], {
        network: network.id,
      });
      expect({ exitCode, output: output.trim() }).toEqual({
        exitCode: 0,
        output: expect.stringMatching(/^[SN]$/),
      });
    } finally {
      await waitFor('the pg network to be free', () => network.remove().then(() => true), 30_000, 500);
    }
  });

  it('runs a ReplicatedJob to completion on the node it is constrained to; its logs come back through the manager', async () => {
    const token = `job-${randomBytes(4).toString('hex')}`;
    const job = await lab.manager.docker.createService({
      Name: `job-${suffix}`,
      TaskTemplate: {
        ContainerSpec: {
          Image: IMAGE,
          Command: ['sh', '-c', `echo "${token} on $NODE"`],
          Env: ['NODE={{.Node.Hostname}}'],
        },
        Placement: { Constraints: [`node.id==${lab.node(3).id}`] },
        RestartPolicy: { Condition: 'none' },
      },
      Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
    });
    services.push(job.id);
    const done = await waitFor(
      'the job to complete',
      async () => (await lab.tasksOf(job.id)).find((t) => t.state === 'complete'),
      60_000,
    );
    expect(done.node?.id).toBe(lab.node(3).id);
    const logs = await waitFor('the job logs', async () => {
      // Without follow, dockerode hands back the whole (multiplexed) log as one Buffer.
      const raw: unknown = await lab.manager.docker.getService(job.id).logs({ stdout: true, stderr: true });
      const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : '';
      return text.includes(token) ? text : undefined;
    });
    expect(logs).toContain(`${token} on ${lab.node(3).name}`);
  });

  it('moves a shared-path task off a drained node; the data on the shared path follows it', async () => {
    const dir = await sharedDirFor('drain');
    const service = await createService('shared', 'echo "$NODE" >> /data/starts; sleep 3600', {
      constraints: ['node.role==worker'],
      mounts: [{ Type: 'bind', Source: dir, Target: '/data' }],
      env: ['NODE={{.Node.Hostname}}'],
    });
    const first = await runningNode(service);
    await waitFor('the first start to be written', async () =>
      (await readFile(join(dir, 'starts'), 'utf8')).trim(),
    );
    await lab.drain(first);
    const second = await runningNode(service, 60_000, first);
    expect(second.role).toBe('worker');
    const starts = await waitFor('the second start to be written', async () => {
      const lines = (await readFile(join(dir, 'starts'), 'utf8')).trim().split('\n');
      return lines.length === 2 ? lines : undefined;
    });
    expect(starts).toEqual([first.name, second.name]);
  });

  it('keeps a local-volume task pinned to its node: drained, it waits; active again, it finds its data there', async () => {
    const volume = `data-${suffix}`;
    const home = lab.node(2);
    const service = await createService('pinned', 'echo start >> /data/starts; sleep 3600', {
      constraints: [`node.id==${home.id}`],
      mounts: [{ Type: 'volume', Source: volume, Target: '/data' }],
    });
    expect((await runningNode(service)).id).toBe(home.id);
    await home.docker.getVolume(volume).inspect();
    for (const other of [lab.node(1), lab.node(3)]) {
      await expect(other.docker.getVolume(volume).inspect()).rejects.toThrow(/no such volume/i);
    }

    await lab.drain(home);
    const waiting = await waitFor(
      'the pinned task to wait for its node',
      async () =>
        (await lab.tasksOf(service)).find((t) => t.state === 'pending' && /no suitable node/.test(t.error)),
      30_000,
    );
    expect(waiting.nodeId).toBe('');
    expect(await lab.runningNode(service)).toBeUndefined();

    await lab.activate(home);
    expect((await runningNode(service)).id).toBe(home.id);
    const starts = await waitFor(
      'the second start, written to the same volume on the same node',
      async () => {
        const { output } = await lab.runOnce(home, IMAGE, ['cat', '/data/starts'], {
          binds: [`${volume}:/data`],
        });
        const lines = output.trim().split(/\r?\n/);
        return lines.length === 2 ? lines : undefined;
      },
    );
    expect(starts).toEqual(['start', 'start']);
  });

  it('reschedules the task of a worker whose dockerd is SIGKILLed: the node goes Down, the task runs elsewhere', async () => {
    const dir = await sharedDirFor('kill');
    const service = await createService('survivor', 'echo "$NODE" >> /data/starts; sleep 3600', {
      constraints: ['node.role==worker'],
      mounts: [{ Type: 'bind', Source: dir, Target: '/data' }],
      env: ['NODE={{.Node.Hostname}}'],
    });
    const victim = await runningNode(service);
    const killedAt = Date.now();
    await lab.killNode(victim);
    await lab.waitForNodeState(victim, 'down', 60_000);
    const survivor = await runningNode(service, 60_000, victim);
    console.log(
      `swarm lab: node ${victim.name} killed; task running on ${survivor.name} after ${Date.now() - killedAt} ms`,
    );
    expect(survivor.role).toBe('worker');

    await lab.restartNode(victim);
    expect((await lab.inspectNode(victim)).Status.State).toBe('ready');
  });

  it('stop() leaves nothing behind on the host and can run twice', async () => {
    await lab.stop();
    expect(await lab.leftovers()).toEqual([]);
    await lab.stop();
  });

  it('SwarmLab.cleanupStale() removes a lab whose test process died (SIGKILL) without touching live labs', async () => {
    const child = spawn(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        join(__dirname, 'support/start-lab-and-wait.ts'),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const orphan = await waitFor(
      'the child process to start its lab',
      async () => /lab (\w+)/.exec(out)?.[1],
      90_000,
      200,
    );
    const live = await SwarmLab.start({ nodes: 1, postgres: false });
    try {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      expect((await SwarmLab.allTraces()).filter((t) => t.includes(orphan)).length).toBeGreaterThan(0);

      expect(await SwarmLab.cleanupStale()).toContain(orphan);
      expect((await SwarmLab.allTraces()).filter((t) => t.includes(orphan))).toEqual([]);
      expect(await live.leftovers()).not.toEqual([]);
      expect((await live.node(1).docker.info()).Swarm.LocalNodeState).toBe('active');
    } finally {
      child.kill('SIGKILL');
      await live.stop();
    }
    expect(await live.leftovers()).toEqual([]);
  });
});
