import Docker from 'dockerode';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  ContainerSpecMismatchError,
  createDockerClient,
  demuxDockerStream,
  DockerConflictError,
  DockerNotFoundError,
  DockerRuntime,
  DockerRuntimeError,
  HttpWaitTimeoutError,
  INSTANCE_ID_LABEL,
  OneShotTimeoutError,
  type ContainerEvent,
  type ContainerSpec,
} from './docker-runtime';

/*
 * Integration tests against the real Docker engine and the locally built saasodoo/odoo-stub image.
 * Every object gets a name with this run's random suffix and the label saasodoo.test.run=<suffix>;
 * afterAll removes everything carrying that label, whatever the tests managed to do.
 */

const execFileAsync = promisify(execFile);
const REPO_ROOT = path.resolve(__dirname, '../../../../..');
const IMAGE = 'saasodoo/odoo-stub:latest';
const RUN_ID = randomBytes(4).toString('hex');
const TEST_LABEL = 'saasodoo.test.run';
const MIB = 1024 * 1024;
const HEALTH_BODY = '{"status": "pass"}';

const unique = (what: string): string => `sotest-${what}-${RUN_ID}`;
const testLabels = (extra: Record<string, string> = {}): Record<string, string> => ({
  [TEST_LABEL]: RUN_ID,
  ...extra,
});

function instanceSpec(name: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    name,
    image: IMAGE,
    env: { HOST: 'postgres.invalid', PORT: '5432', USER: 'odoo_testdb', PASSWORD: 'not-a-secret' },
    labels: testLabels({
      [INSTANCE_ID_LABEL]: `instance-${name}`,
      'saasodoo.tenant.id': `tenant-${RUN_ID}`,
      'saasodoo.customer.id': `customer-${RUN_ID}`,
    }),
    cmd: ['odoo', '-d', 'testdb'],
    memoryBytes: 256 * MIB,
    nanoCpus: 500_000_000,
    pidsLimit: 128,
    networks: [],
    volumeMounts: [],
    restartPolicy: 'unless-stopped',
    ...overrides,
  };
}

async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(100);
  }
}

describe('DockerRuntime against the real Docker engine', () => {
  let docker: Docker;
  let runtime: DockerRuntime;

  async function startInstance(spec: ContainerSpec): Promise<string> {
    const { id } = await runtime.createContainer(spec);
    await runtime.startContainer(id);
    return id;
  }

  async function healthFromInside(containerId: string, host: string) {
    return runtime.execInContainer(containerId, [
      'wget',
      '-q',
      '-O-',
      '-T',
      '2',
      `http://${host}:8069/web/health`,
    ]);
  }

  beforeAll(async () => {
    await execFileAsync('bash', [path.join(REPO_ROOT, 'infrastructure/odoo-stub/build.sh')], {
      timeout: 120_000,
    });
    docker = createDockerClient();
    runtime = new DockerRuntime(docker);
    await runtime.ping();
  }, 150_000);

  afterAll(async () => {
    if (!docker) {
      return;
    }
    const filter = { label: [`${TEST_LABEL}=${RUN_ID}`] };
    const containers = await docker.listContainers({ all: true, filters: filter });
    for (const container of containers) {
      await runtime.removeContainer(container.Id, { force: true });
    }
    const networks = await docker.listNetworks({ filters: filter });
    for (const network of networks) {
      expect(await runtime.removeNetworkIfUnused(network.Name)).not.toBe('in_use');
    }
    const { Volumes: volumes } = await docker.listVolumes({ filters: filter });
    for (const volume of volumes ?? []) {
      await runtime.removeVolume(volume.Name);
    }
    const leftovers = await docker.listContainers({ all: true, filters: filter });
    expect(leftovers).toEqual([]);
  }, 60_000);

  it('builds clients from DOCKER_HOST-style addresses', async () => {
    await new DockerRuntime(createDockerClient('unix:///var/run/docker.sock')).ping();
    expect(createDockerClient('tcp://127.0.0.1:2375')).toBeInstanceOf(Docker);
    expect(() => createDockerClient('ftp://example.invalid')).toThrow(DockerRuntimeError);
    await expect(new DockerRuntime(createDockerClient('unix:///nonexistent.sock')).ping()).rejects.toThrow(
      DockerRuntimeError,
    );
  });

  it('ensureNetwork and ensureVolume create one object however often they are called', async () => {
    const networkName = unique('net-idem');
    const first = await runtime.ensureNetwork(networkName, testLabels({ 'saasodoo.tenant.id': 't1' }));
    const second = await runtime.ensureNetwork(networkName, testLabels({ 'saasodoo.tenant.id': 't1' }));
    expect(second).toBe(first);
    const networks = await docker.listNetworks({ filters: { name: [networkName] } });
    expect(networks.filter((network) => network.Name === networkName)).toHaveLength(1);
    const info = await docker.getNetwork(networkName).inspect();
    expect(info).toMatchObject({ Driver: 'bridge', Internal: false, Labels: { 'saasodoo.tenant.id': 't1' } });

    const volumeName = unique('vol-idem');
    expect(await runtime.ensureVolume(volumeName, testLabels({ purpose: 'filestore' }))).toBe(volumeName);
    expect(await runtime.ensureVolume(volumeName, testLabels({ purpose: 'filestore' }))).toBe(volumeName);
    const { Volumes: volumes } = await docker.listVolumes({ filters: { name: [volumeName] } });
    expect((volumes ?? []).filter((volume) => volume.Name === volumeName)).toHaveLength(1);
    expect((await docker.getVolume(volumeName).inspect()).Labels).toMatchObject({ purpose: 'filestore' });
  });

  it('createContainer applies limits, hardening, labels and mounts, and adopts an identical container', async () => {
    const network = await runtime.ensureNetwork(unique('net-create'), testLabels());
    await runtime.ensureNetwork(unique('net-create2'), testLabels());
    const volume = await runtime.ensureVolume(unique('vol-create'), testLabels());
    const spec = instanceSpec(unique('create'), {
      networks: [unique('net-create'), unique('net-create2')],
      volumeMounts: [{ volume, path: '/var/lib/odoo' }],
      publishPort: { containerPort: 8069, hostIp: '127.0.0.1' },
    });

    const first = await runtime.createContainer(spec);
    const second = await runtime.createContainer(spec);
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ id: first.id, created: false });
    const sameName = await docker.listContainers({ all: true, filters: { name: [`^/${spec.name}$`] } });
    expect(sameName).toHaveLength(1);

    const info = await docker.getContainer(first.id).inspect();
    expect(info.HostConfig).toMatchObject({
      Memory: 256 * MIB,
      MemorySwap: 256 * MIB,
      NanoCpus: 500_000_000,
      PidsLimit: 128,
      SecurityOpt: ['no-new-privileges:true'],
      CapDrop: ['ALL'],
      RestartPolicy: { Name: 'unless-stopped' },
      PortBindings: { '8069/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
    });
    expect(info.HostConfig.CapAdd ?? []).toEqual([]);
    expect(info.Config.Labels).toMatchObject(spec.labels);
    expect(info.Config.Env).toEqual(expect.arrayContaining(['HOST=postgres.invalid', 'USER=odoo_testdb']));
    expect(info.Mounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Type: 'volume', Name: volume, Destination: '/var/lib/odoo' }),
      ]),
    );
    expect(Object.keys(info.NetworkSettings.Networks).sort()).toEqual(
      [unique('net-create'), unique('net-create2')].sort(),
    );
    await runtime.startContainer(first.id);
    const started = await docker.getContainer(first.id).inspect();
    expect(started.NetworkSettings.Networks[unique('net-create')]?.NetworkID).toBe(network);
    expect(await runtime.containerIp(first.id, unique('net-create'))).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    await expect(runtime.createContainer({ ...spec, memoryBytes: 512 * MIB })).rejects.toThrow(
      ContainerSpecMismatchError,
    );

    const managed = await runtime.listManaged({ [INSTANCE_ID_LABEL]: `instance-${spec.name}` });
    expect(managed.map((container) => container.Id)).toEqual([first.id]);
    expect(await runtime.findContainer(spec.name)).toMatchObject({ Id: first.id });
    expect(await runtime.findContainer(unique('no-such-container'))).toBeNull();
  });

  it('a started instance is healthy on its published loopback port and its logs are demultiplexed', async () => {
    const spec = instanceSpec(unique('http'), { publishPort: { containerPort: 8069, hostIp: '127.0.0.1' } });
    const { id } = await runtime.createContainer(spec);
    expect(await runtime.startContainer(id)).toBe('started');
    expect(await runtime.startContainer(id)).toBe('already_running');

    const port = await runtime.publishedPort(id, 8069);
    expect(port).toBeGreaterThan(0);
    const health = await runtime.waitForHttp(`http://127.0.0.1:${port}`, {
      path: '/web/health',
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'pass' });
    expect(health.body).toBe(HEALTH_BODY);

    const login = await fetch(`http://127.0.0.1:${port}/web/login`, { signal: AbortSignal.timeout(5_000) });
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('oe_login_form');
    const selector = await fetch(`http://127.0.0.1:${port}/web/database/selector`, {
      signal: AbortSignal.timeout(5_000),
    });
    expect(selector.status).toBe(200);
    expect(await selector.text()).toContain('testdb');

    const logs = await waitUntil('the access log line', async () => {
      const text = await runtime.logs(id, 200);
      return text.includes('"GET /web/login HTTP/1.1" 200') ? text : undefined;
    });
    expect(logs).toContain('odoo-stub: ready');
    expect(logs).toContain('HTTP service (werkzeug) running on 0.0.0.0:8069');
    expect(logs).toContain('database: odoo_testdb@postgres.invalid:5432 (password set)');
    // Frame headers start with byte 1 or 2 followed by three zero bytes; none may leak into the text.
    expect([...logs].some((char) => char.charCodeAt(0) < 9)).toBe(false);
    expect(logs).not.toContain('not-a-secret');
    const lastLine = await runtime.logs(id, 1);
    expect(lastLine.trim().split('\n')).toHaveLength(1);
  });

  it('waitForHttp rejects with a typed timeout when the instance never becomes healthy', async () => {
    const spec = instanceSpec(unique('unhealthy'), {
      env: { STUB_FAIL: '1' },
      publishPort: { containerPort: 8069, hostIp: '127.0.0.1' },
    });
    const id = await startInstance(spec);
    const port = await runtime.publishedPort(id);
    const error = await runtime
      .waitForHttp(`http://127.0.0.1:${port}`, { timeoutMs: 2_000, intervalMs: 200 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HttpWaitTimeoutError);
    expect(error).toMatchObject({ url: `http://127.0.0.1:${port}/web/health`, lastStatus: 503 });
  });

  it('honours STUB_STARTUP_DELAY_SECONDS: not reachable at first, healthy after the delay', async () => {
    const spec = instanceSpec(unique('slow'), {
      env: { STUB_STARTUP_DELAY_SECONDS: '2' },
      publishPort: { containerPort: 8069, hostIp: '127.0.0.1' },
    });
    const id = await startInstance(spec);
    const port = await runtime.publishedPort(id);
    const started = Date.now();
    const health = await runtime.waitForHttp(`http://127.0.0.1:${port}`, {
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    expect(health.attempts).toBeGreaterThan(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it('updateResources changes memory, CPU and pids limits in place', async () => {
    const id = await startInstance(instanceSpec(unique('resize')));
    await runtime.updateResources(id, { memoryBytes: 512 * MIB, nanoCpus: 1_500_000_000, pidsLimit: 256 });
    const info = await docker.getContainer(id).inspect();
    expect(info.HostConfig).toMatchObject({
      Memory: 512 * MIB,
      MemorySwap: 512 * MIB,
      NanoCpus: 1_500_000_000,
      PidsLimit: 256,
    });
    expect(info.State.Running).toBe(true);
  });

  it('exec runs as uid 101 with a writable filestore volume, and archives round-trip', async () => {
    const volume = await runtime.ensureVolume(unique('vol-exec'), testLabels());
    const id = await startInstance(
      instanceSpec(unique('exec'), { volumeMounts: [{ volume, path: '/var/lib/odoo' }] }),
    );
    const whoami = await runtime.execInContainer(id, ['id', '-u']);
    expect(whoami).toEqual({ exitCode: 0, stdout: '101\n', stderr: '' });

    const write = await runtime.execInContainer(id, [
      'sh',
      '-c',
      'echo attachment-data > /var/lib/odoo/filestore/testdb/attachment.txt && echo to-stderr >&2',
    ]);
    expect(write).toEqual({ exitCode: 0, stdout: '', stderr: 'to-stderr\n' });
    expect((await runtime.execInContainer(id, ['sh', '-c', 'exit 3'])).exitCode).toBe(3);

    const archive = await runtime.copyFromContainerToBuffer(id, '/var/lib/odoo');
    expect(archive.includes('odoo/filestore/testdb/attachment.txt')).toBe(true);
    expect(archive.includes('attachment-data')).toBe(true);

    await runtime.copyToContainer(id, '/tmp', archive);
    const restored = await runtime.execInContainer(id, [
      'sh',
      '-c',
      'cat /tmp/odoo/filestore/testdb/attachment.txt && stat -c %u /tmp/odoo/filestore/testdb/attachment.txt',
    ]);
    expect(restored).toMatchObject({ exitCode: 0, stdout: 'attachment-data\n101\n' });

    await expect(runtime.execInContainer(unique('missing'), ['true'])).rejects.toThrow(DockerNotFoundError);
  });

  it('runOneShot runs `odoo --update all --stop-after-init` to completion and always removes the container', async () => {
    const network = unique('net-oneshot');
    await runtime.ensureNetwork(network, testLabels());
    const volume = await runtime.ensureVolume(unique('vol-oneshot'), testLabels());
    const base = {
      image: IMAGE,
      env: { HOST: 'postgres.invalid', USER: 'odoo_testdb', PASSWORD: 'not-a-secret' },
      volumeMounts: [{ volume, path: '/var/lib/odoo' }],
      networks: [network],
      labels: testLabels(),
    };

    const ok = await runtime.runOneShot({
      ...base,
      name: unique('update-ok'),
      cmd: ['odoo', '--update', 'all', '-d', 'testdb', '--stop-after-init'],
    });
    expect(ok.exitCode).toBe(0);
    expect(ok.output).toContain('updating modules: all');
    expect(ok.output).toContain('Modules loaded.');
    expect(await runtime.findContainer(unique('update-ok'))).toBeNull();

    const marker = await runtime.runOneShot({
      ...base,
      name: unique('update-marker'),
      cmd: ['cat', '/var/lib/odoo/stub-markers/update-testdb'],
    });
    expect(marker.exitCode).toBe(0);
    expect(marker.output).toMatch(/update=all init= version=18\.0/);

    const failed = await runtime.runOneShot({
      ...base,
      env: { ...base.env, STUB_FAIL_UPDATE: '1' },
      name: unique('update-fail'),
      cmd: ['odoo', '--update', 'all', '-d', 'testdb', '--stop-after-init'],
    });
    expect(failed.exitCode).toBe(1);
    expect(failed.output).toContain('Failed to load registry');
    expect(await runtime.findContainer(unique('update-fail'))).toBeNull();

    const timedOut = await runtime
      .runOneShot({ ...base, name: unique('update-slow'), cmd: ['sleep', '30'], timeoutMs: 1_000 })
      .catch((caught: unknown) => caught);
    expect(timedOut).toBeInstanceOf(OneShotTimeoutError);
    expect(await runtime.findContainer(unique('update-slow'))).toBeNull();

    await expect(
      runtime.runOneShot({ ...base, image: 'saasodoo/no-such-image:never', cmd: ['true'] }),
    ).rejects.toThrow(DockerNotFoundError);
  });

  it('events deliver start and die when a container is killed outside the platform', async () => {
    const received: ContainerEvent[] = [];
    const errors: Error[] = [];
    const controller = new AbortController();
    let connected = false;
    const subscription = runtime.events(
      (event) => {
        received.push(event);
      },
      controller.signal,
      {
        labels: [`${TEST_LABEL}=${RUN_ID}`],
        since: new Date(Date.now() - 1_000),
        onConnect: () => {
          connected = true;
        },
        onError: (error) => errors.push(error),
      },
    );
    try {
      await waitUntil('the event stream', async () => connected);
      const spec = instanceSpec(unique('events'));
      const id = await startInstance(spec);
      await waitUntil('the start event', async () =>
        received.find((event) => event.containerId === id && event.action === 'start'),
      );

      await execFileAsync('docker', ['kill', id]);
      const die = await waitUntil('the die event', async () =>
        received.find((event) => event.containerId === id && event.action === 'die'),
      );
      expect(die).toMatchObject({
        instanceId: `instance-${spec.name}`,
        containerName: spec.name,
        exitCode: 137,
      });
      expect(die.attributes['saasodoo.tenant.id']).toBe(`tenant-${RUN_ID}`);
      expect(die.time.getTime()).toBeGreaterThan(Date.now() - 60_000);
    } finally {
      controller.abort();
      await subscription;
    }
    expect(errors).toEqual([]);
  });

  it('events parse lines split across chunks and reconnect, resuming where the stream ended', async () => {
    const client = createDockerClient();
    const subject = new DockerRuntime(client);
    const event = (id: string, action: string, seconds: number) =>
      JSON.stringify({
        Type: 'container',
        Action: action,
        Actor: { ID: id, Attributes: { [INSTANCE_ID_LABEL]: 'inst-1', name: 'odoo_é', exitCode: '0' } },
        time: seconds,
        timeNano: seconds * 1e9,
      }) + '\n';
    const first = Buffer.from(
      event('c1', 'start', 1_700_000_000) + 'not json\n' + event('c1', 'die', 1_700_000_005),
    );
    const cut = first.indexOf('é') + 1; // inside the two-byte character
    const streams = [
      Readable.from([first.subarray(0, 10), first.subarray(10, cut), first.subarray(cut)]),
      Readable.from([Buffer.from(event('c1', 'die', 1_700_000_005) + event('c1', 'destroy', 1_700_000_009))]),
    ];
    const calls: Docker.GetEventsOptions[] = [];
    const controller = new AbortController();
    jest.spyOn(client, 'getEvents').mockImplementation(async (options?: Docker.GetEventsOptions) => {
      calls.push(options ?? {});
      const next = streams.shift();
      if (!next) {
        await sleep(60_000, undefined, { signal: controller.signal }).catch(() => undefined);
        return Readable.from([]);
      }
      return next;
    });
    const received: ContainerEvent[] = [];
    const errors: Error[] = [];
    const subscription = subject.events((e) => void received.push(e), controller.signal, {
      reconnectDelayMs: 10,
      onError: (error) => errors.push(error),
    });
    await waitUntil('three events', async () => received.length >= 3 || undefined);
    controller.abort();
    await subscription;

    expect(received.map((e) => e.action)).toEqual(['start', 'die', 'destroy']);
    expect(received[0]).toMatchObject({ containerId: 'c1', instanceId: 'inst-1', containerName: 'odoo_é' });
    expect(received[1].exitCode).toBe(0);
    expect(calls[0]).toMatchObject({
      filters: {
        type: ['container'],
        event: ['start', 'die', 'stop', 'destroy', 'oom'],
        label: [INSTANCE_ID_LABEL],
      },
    });
    expect(calls[0].since).toBeUndefined();
    expect(calls[1].since).toBe(1_700_000_005);
    expect(errors.some((error) => error.message.includes('unparseable event line not json'))).toBe(true);
  });

  it('demuxDockerStream splits stdout and stderr frames', () => {
    const frame = (type: number, text: string) => {
      const payload = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = type;
      header.writeUInt32BE(payload.length, 4);
      return Buffer.concat([header, payload]);
    };
    const output = demuxDockerStream(
      Buffer.concat([frame(1, 'out1\n'), frame(2, 'err\n'), frame(1, 'out2\n')]),
    );
    expect(output.stdout.toString()).toBe('out1\nout2\n');
    expect(output.stderr.toString()).toBe('err\n');
    expect(output.combined.toString()).toBe('out1\nerr\nout2\n');
    expect(demuxDockerStream(Buffer.from('plain tty output')).stdout.toString()).toBe('plain tty output');
  });

  it('stop and remove are idempotent', async () => {
    const spec = instanceSpec(unique('stop'));
    const id = await startInstance(spec);
    expect(await runtime.stopContainer(id, 5)).toBe('stopped');
    expect(await runtime.stopContainer(id, 5)).toBe('not_running');
    expect((await docker.getContainer(id).inspect()).State.Running).toBe(false);
    await runtime.restartContainer(id, 5);
    expect((await docker.getContainer(id).inspect()).State.Running).toBe(true);
    expect(await runtime.removeContainer(id, { force: true })).toBe(true);
    expect(await runtime.removeContainer(id, { force: true })).toBe(false);
    expect(await runtime.stopContainer(id, 5)).toBe('missing');
    expect(await runtime.findContainer(spec.name)).toBeNull();
    await expect(runtime.startContainer(id)).rejects.toThrow(DockerNotFoundError);
    await expect(runtime.logs(id)).rejects.toThrow(DockerNotFoundError);
  });

  it('containers on different networks cannot reach each other; on the same network they can', async () => {
    const netA = unique('net-a');
    const netB = unique('net-b');
    await runtime.ensureNetwork(netA, testLabels());
    await runtime.ensureNetwork(netB, testLabels());
    const a = await startInstance(instanceSpec(unique('iso-a'), { networks: [netA] }));
    const b = await startInstance(instanceSpec(unique('iso-b'), { networks: [netB] }));
    const c = await startInstance(instanceSpec(unique('iso-c'), { networks: [netA] }));
    const ipB = await runtime.containerIp(b, netB);
    const ipC = await runtime.containerIp(c, netA);
    expect(ipB).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(ipC).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await runtime.containerIp(b, netA)).toBeNull();

    // Both targets serve their health page locally, so a failure below can only be the network.
    for (const target of [b, c]) {
      await waitUntil(
        'the local health page',
        async () => (await healthFromInside(target, '127.0.0.1')).exitCode === 0,
      );
    }

    const sameNetwork = await healthFromInside(a, ipC ?? '');
    expect(sameNetwork).toMatchObject({ exitCode: 0, stdout: HEALTH_BODY });

    const otherNetwork = await healthFromInside(a, ipB ?? '');
    expect(otherNetwork.exitCode).not.toBe(0);
    expect(otherNetwork.stdout).not.toContain('pass');
    // No HTTP answer at all (not even an error page): the packets were dropped between the bridges.
    expect(otherNetwork.stderr).not.toContain('server returned');
  });

  it('removeNetworkIfUnused keeps a network that a stopped container still needs; volumes likewise', async () => {
    const network = unique('net-rm');
    await runtime.ensureNetwork(network, testLabels());
    const volume = await runtime.ensureVolume(unique('vol-rm'), testLabels());
    const { id } = await runtime.createContainer(
      instanceSpec(unique('rm'), { networks: [network], volumeMounts: [{ volume, path: '/var/lib/odoo' }] }),
    );

    expect(await runtime.removeNetworkIfUnused(network)).toBe('in_use');
    await expect(runtime.removeVolume(volume)).rejects.toThrow(DockerConflictError);

    expect(await runtime.removeContainer(id)).toBe(true);
    expect(await runtime.removeNetworkIfUnused(network)).toBe('removed');
    expect(await runtime.removeNetworkIfUnused(network)).toBe('missing');
    expect(await runtime.removeVolume(volume)).toBe('removed');
    expect(await runtime.removeVolume(volume)).toBe('missing');
  });
});
