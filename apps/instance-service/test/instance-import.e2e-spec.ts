import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ZipFile } from 'yazl';
import type { InstanceStatus } from '@app/contracts';
import {
  adminQuery,
  adminSql,
  serviceTestEnv,
  ServiceHarness,
  startService,
  TestCustomer,
} from '@app/testing';
import { AppModule as WorkerModule } from '../../instance-worker/src/app.module';
import { ImportArchiveSweeper } from '../../instance-worker/src/imports/import-archive-sweeper';
import { LifecycleWorker } from '../../instance-worker/src/lifecycle/lifecycle-worker';
import { AppModule as TenantModule } from '../../tenant-service/src/app.module';
import { AppModule as UserModule } from '../../user-service/src/app.module';
import {
  addMember,
  bearer,
  cleanupInstances,
  createBody,
  createInstance,
  expectStatus,
  freePort,
  InstanceBody,
  instanceRowCount,
  newCustomer,
  newTenant,
  Stack,
  startStack,
  TestTenant,
  uniqueDatabaseName,
  uniqueQueuePrefix,
} from './support';
import { RandomSource } from '../src/common/random-source';

/*
 * Issue #15: an instance made from an Odoo backup zip (POST /api/v1/instances/import) and a backup restored into
 * a new staging instance, end to end: instance-service validates and streams the archive to the worker's real
 * AppModule over HTTP, and the worker provisions the stand-in Odoo image saasodoo/odoo-stub from it against the
 * real Docker engine and Postgres. The stand-in creates no tables, so the tests seed a table of their own.
 */
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const runId = randomBytes(4).toString('hex');
const IMPORT_MAX_BYTES = 256 * 1024;

interface StatusBody {
  status: InstanceStatus;
  pending_operation: unknown;
  last_error: string | null;
}

interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  request_id: string;
}

function roleOf(instanceId: string): string {
  return `odoo_${instanceId.replace(/-/g, '')}`;
}

function zipOf(entries: Record<string, string | Buffer>): Promise<Buffer> {
  const zip = new ZipFile();
  for (const [name, content] of Object.entries(entries)) {
    zip.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content), name);
  }
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.once('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.once('error', reject);
  });
}

/** yazl refuses to write `../` names, as it should: the name is swapped in afterwards (same length, no CRC). */
async function unsafeZip(): Promise<Buffer> {
  const zip = await zipOf({ 'manifest.json': manifest('17.0'), 'dump.sql': '', 'filestore/AAAAAAAAA': 'x' });
  const from = Buffer.from('filestore/AAAAAAAAA');
  const to = Buffer.from('../../../etc/passwd');
  for (let i = zip.indexOf(from); i >= 0; i = zip.indexOf(from, i + 1)) to.copy(zip, i);
  return zip;
}

const manifest = (version: string) =>
  JSON.stringify({
    odoo_dump: '1',
    db_name: 'somewhere',
    version,
    version_info: [Number(version.split('.')[0]), 0, 0, 'final', 0, ''],
    major_version: version,
    pg_version: '15.0',
    modules: { base: version },
  });

describe('instances from an Odoo backup zip: import and staging restore', () => {
  let stack: Stack;
  let worker: ServiceHarness;
  let owner: TestCustomer;
  let viewer: TestCustomer;
  let tenant: TestTenant;
  const backupDir = join(tmpdir(), `saasodoo-import-e2e-${runId}`);
  const uploadDir = join(tmpdir(), `saasodoo-import-tmp-${runId}`);
  const importsDir = join(backupDir, 'imports');
  const created: string[] = [];
  /** Every instance id instance-service drew (a refused import draws one before it refuses). */
  const issuedIds: string[] = [];
  let workerUrl: string;
  /** The instance the round trip starts from, its backup and the zip downloaded from it. */
  let source: InstanceBody;
  let backupId: string;
  let downloaded: Buffer;

  beforeAll(async () => {
    const queuePrefix = uniqueQueuePrefix();
    const workerPort = await freePort();
    workerUrl = `http://127.0.0.1:${workerPort}`;
    stack = await startStack(
      { user: UserModule, tenant: TenantModule },
      {
        queuePrefix,
        instanceEnv: {
          INSTANCE_WORKER_URL: workerUrl,
          BACKUP_DOWNLOAD_URL: workerUrl,
          IMPORT_MAX_BYTES: String(IMPORT_MAX_BYTES),
          IMPORT_TMP_DIR: uploadDir,
        },
      },
    );
    worker = await startService(
      WorkerModule,
      'instance-worker',
      serviceTestEnv('instance-worker', {
        QUEUE_PREFIX: queuePrefix,
        ODOO_IMAGE_TEMPLATE: 'saasodoo/odoo-stub:{version}',
        ODOO_NETWORK: `sotest-odoo-${runId}`,
        PUBLISH_INSTANCE_PORTS: 'true',
        RECONCILE_INTERVAL_MS: '600000',
        PROVISION_HEALTH_TIMEOUT_MS: '30000',
        INSTANCE_PURGE_AFTER_SECONDS: '0',
        ODOO_STOP_TIMEOUT_SECONDS: '2',
        BACKUP_DIR: backupDir,
        BACKUP_VERIFY: 'false',
        BACKUP_SCHEDULE: 'off',
        BASE_DOMAIN: 'saasodoo.test',
        LOG_LEVEL: 'error',
      }),
    );
    await worker.listen(workerPort);
    await worker.app.get(LifecycleWorker).whenStarted();
    // Observed, not replaced: the ids stay random, the test learns which ones a refused import drew.
    const random = stack.instances.app.get(RandomSource);
    const uuid = random.uuid.bind(random);
    random.uuid = () => {
      const id = uuid();
      issuedIds.push(id);
      return id;
    };
    [owner, viewer] = await Promise.all([newCustomer(stack), newCustomer(stack)]);
    tenant = await newTenant(stack, owner, 'basic');
    await addMember(stack, owner, tenant, viewer, 'viewer');
  }, 180_000);

  afterAll(async () => {
    await worker?.close();
    if (stack) {
      await cleanupInstances(stack, created);
      await stack.close();
    }
    await rm(backupDir, { recursive: true, force: true });
    await rm(uploadDir, { recursive: true, force: true });
  }, 180_000);

  async function statusOf(id: string): Promise<StatusBody> {
    const res = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${id}/status`,
      headers: bearer(owner),
    });
    expectStatus(res, 200);
    return res.json<StatusBody>();
  }

  async function waitUntil(id: string, status: InstanceStatus, timeoutMs = 90_000): Promise<StatusBody> {
    const deadline = Date.now() + timeoutMs;
    let last = await statusOf(id);
    while (!(last.status === status && last.pending_operation === null)) {
      if (last.status === 'error' && status !== 'error')
        throw new Error(`instance went to error: ${last.last_error}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${status}: ${JSON.stringify(last)}`);
      await sleep(250);
      last = await statusOf(id);
    }
    return last;
  }

  /** The multipart upload over real HTTP (fields first, then the file), as a browser or curl -F sends it. */
  async function importZip(
    customer: TestCustomer,
    fields: Record<string, unknown>,
    zip: Buffer,
  ): Promise<{ status: number; body: InstanceBody & ErrorBody }> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) {
      form.append(name, typeof value === 'string' ? value : JSON.stringify(value));
    }
    form.append('file', new Blob([new Uint8Array(zip)], { type: 'application/zip' }), 'backup.zip');
    const res = await fetch(`${stack.urls.instance}/api/v1/instances/import`, {
      method: 'POST',
      headers: bearer(customer),
      body: form,
    });
    const body = (await res.json()) as InstanceBody & ErrorBody;
    if (res.status === 201) created.push(body.id);
    return { status: res.status, body };
  }

  function importFields(tenantId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const databaseName = uniqueDatabaseName('imp');
    return {
      tenant_id: tenantId,
      name: 'Imported ERP',
      odoo_version: '17.0',
      cpu_limit: 0.5,
      memory_limit: '256M',
      storage_limit: '1G',
      admin_email: 'admin@acme.example',
      database_name: databaseName,
      custom_addons: [],
      ...overrides,
    };
  }

  async function notesIn(database: string): Promise<{ id: number; body: string }[]> {
    return adminQuery<{ id: number; body: string }>(`SELECT id, body FROM notes ORDER BY id`, database);
  }

  async function containerOf(instanceId: string): Promise<string> {
    const [container] = await docker.listContainers({
      filters: { label: [`saasodoo.instance.id=${instanceId}`] },
    });
    if (!container) throw new Error(`no running container for ${instanceId}`);
    return container.Id;
  }

  async function execIn(containerId: string, cmd: string[]): Promise<string> {
    const exec = await docker
      .getContainer(containerId)
      .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({});
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.once('end', () => resolve());
      stream.once('error', reject);
    });
    // Docker's multiplexed stream: an 8-byte header before each frame.
    const out: Buffer[] = [];
    const all = Buffer.concat(chunks);
    for (let i = 0; i + 8 <= all.length;) {
      const size = all.readUInt32BE(i + 4);
      out.push(all.subarray(i + 8, i + 8 + size));
      i += 8 + size;
    }
    return Buffer.concat(out).toString('utf8');
  }

  async function waitForFiles(dir: string, count: number): Promise<void> {
    const deadline = Date.now() + 15_000;
    while ((existsSync(dir) ? readdirSync(dir) : []).length !== count) {
      if (Date.now() > deadline) throw new Error(`${dir} never held ${count} file(s)`);
      await sleep(50);
    }
  }

  /** Nothing of an import that was refused: no row, database, role, container, volume, upload or file. */
  async function expectNothingLeft(tenantId: string, databaseName: string, idsFrom: number): Promise<void> {
    expect(await instanceRowCount(stack, { databaseName })).toBe(0);
    for (const id of issuedIds.slice(idsFrom)) {
      expect(await stack.db.query(`SELECT id FROM instances WHERE id = $1`, [id])).toEqual([]);
      expect(await adminQuery(`SELECT rolname FROM pg_roles WHERE rolname = '${roleOf(id)}'`)).toEqual([]);
      const byId = { label: [`saasodoo.instance.id=${id}`] };
      expect(await docker.listContainers({ all: true, filters: byId })).toEqual([]);
      expect((await docker.listVolumes({ filters: byId })).Volumes ?? []).toEqual([]);
    }
    expect(
      await adminQuery<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname = '${databaseName}'`,
      ),
    ).toEqual([]);
    const label = { label: [`saasodoo.tenant.id=${tenantId}`] };
    expect(await docker.listContainers({ all: true, filters: label })).toEqual([]);
    expect((await docker.listVolumes({ filters: label })).Volumes ?? []).toEqual([]);
    expect(existsSync(importsDir) ? readdirSync(importsDir) : []).toEqual([]);
    expect(existsSync(uploadDir) ? readdirSync(uploadDir) : []).toEqual([]);
  }

  it("imports the zip of our own download: the new instance's database and filestore are the backup's", async () => {
    source = await createInstance(
      stack,
      owner,
      createBody(tenant.id, { cpu_limit: 0.5, memory_limit: '256M', storage_limit: '1G', custom_addons: [] }),
    );
    created.push(source.id);
    await waitUntil(source.id, 'running');
    await adminSql(
      `SET ROLE "${roleOf(source.id)}";
       CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);
       INSERT INTO notes VALUES (1, 'first'), (2, 'zweite ü'), (3, 'third');`,
      source.database_name,
    );
    await execIn(await containerOf(source.id), [
      'sh',
      '-c',
      `mkdir -p /var/lib/odoo/filestore/${source.database_name}/ab && printf attachment-bytes > /var/lib/odoo/filestore/${source.database_name}/ab/abcdef`,
    ]);
    expectStatus(
      await stack.instances.request({
        method: 'POST',
        url: `/api/v1/instances/${source.id}/actions`,
        headers: bearer(owner),
        payload: { action: 'backup', parameters: {} },
      }),
      202,
    );
    await waitUntil(source.id, 'running');
    const list = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${source.id}/backups`,
      headers: bearer(owner),
    });
    const backup = list.json<{ backups: { backup_id: string; status: string }[] }>().backups[0]!;
    expect(backup.status).toBe('completed');
    backupId = backup.backup_id;
    const link = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${source.id}/backups/${backupId}/download`,
      headers: bearer(owner),
    });
    expectStatus(link, 200);
    const download = await fetch(link.json<{ url: string }>().url);
    expect(download.status).toBe(200);
    downloaded = Buffer.from(await download.arrayBuffer());

    const fields = importFields(tenant.id);
    const { status, body } = await importZip(owner, fields, downloaded);
    expect({ status, code: body.code }).toEqual({ status: 201, code: undefined });
    expect(body).toMatchObject({
      tenant_id: tenant.id,
      database_name: fields.database_name,
      odoo_version: '17.0',
      admin_password: expect.any(String),
    });
    await waitUntil(body.id, 'running');

    expect(await notesIn(body.database_name)).toEqual([
      { id: 1, body: 'first' },
      { id: 2, body: 'zweite ü' },
      { id: 3, body: 'third' },
    ]);
    // The filestore sits under the new instance's own database name, owned by the Odoo user.
    const file = `/var/lib/odoo/filestore/${body.database_name}/ab/abcdef`;
    expect(
      await execIn(await containerOf(body.id), ['sh', '-c', `cat ${file}; echo; stat -c %u ${file}`]),
    ).toBe('attachment-bytes\n101\n');
    // The tables belong to the new instance's own role.
    expect(
      await adminQuery<{ owner: string }>(
        `SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'notes'`,
        body.database_name,
      ),
    ).toEqual([{ owner: roleOf(body.id) }]);
    const events = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${body.id}/events`,
      headers: bearer(owner),
    });
    expect(JSON.stringify(events.json())).toContain('provisioned from the imported Odoo backup');
    // The archive is gone from the worker and from instance-service once the instance runs.
    expect(readdirSync(importsDir)).toEqual([]);
    expect(readdirSync(uploadDir)).toEqual([]);
  }, 240_000);

  describe('refused archives leave nothing behind', () => {
    let other: TestTenant;

    beforeAll(async () => {
      // A starter tenant (1 instance): a slot taken and not given back would show in the last test.
      other = await newTenant(stack, owner, 'starter');
    }, 60_000);

    it('a version that does not match the manifest → 400 IMPORT_VERSION_MISMATCH', async () => {
      const fields = importFields(other.id, { odoo_version: '18.0' });
      const from = issuedIds.length;
      const { status, body } = await importZip(owner, fields, downloaded);
      expect(status).toBe(400);
      expect(body).toMatchObject({ code: 'IMPORT_VERSION_MISMATCH', request_id: expect.any(String) });
      expect(body.message).toContain('17.0');
      expect(issuedIds.length).toBe(from + 1);
      await expectNothingLeft(other.id, String(fields.database_name), from);
    });

    it('a file that is not a zip, or a zip without manifest.json or dump.sql → 400 with the reason', async () => {
      const cases: [Buffer, string][] = [
        [Buffer.from('this is not a zip at all'), 'IMPORT_NOT_A_ZIP'],
        [await zipOf({ 'dump.sql': 'SELECT 1;' }), 'IMPORT_MANIFEST_MISSING'],
        [
          await zipOf({ 'manifest.json': '{"nothing": true}', 'dump.sql': 'SELECT 1;' }),
          'IMPORT_MANIFEST_INVALID',
        ],
        [await zipOf({ 'manifest.json': manifest('17.0') }), 'IMPORT_DUMP_MISSING'],
        [await unsafeZip(), 'IMPORT_ARCHIVE_UNSAFE'],
      ];
      for (const [zip, code] of cases) {
        const fields = importFields(other.id);
        const from = issuedIds.length;
        const { status, body } = await importZip(owner, fields, zip);
        expect({ status, code: body.code }).toEqual({ status: 400, code });
        await expectNothingLeft(other.id, String(fields.database_name), from);
      }
    });

    it('a form without the file part → 400 IMPORT_FILE_MISSING; a JSON body → 400 VALIDATION_FAILED', async () => {
      const fields = importFields(other.id);
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) {
        form.append(name, typeof value === 'string' ? value : JSON.stringify(value));
      }
      const from = issuedIds.length;
      const noFile = await fetch(`${stack.urls.instance}/api/v1/instances/import`, {
        method: 'POST',
        headers: bearer(owner),
        body: form,
      });
      expect(noFile.status).toBe(400);
      expect(((await noFile.json()) as ErrorBody).code).toBe('IMPORT_FILE_MISSING');
      const json = await stack.instances.request({
        method: 'POST',
        url: '/api/v1/instances/import',
        headers: bearer(owner),
        payload: fields,
      });
      expect({ status: json.statusCode, code: json.json<ErrorBody>().code }).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
      });
      expect(issuedIds.length).toBe(from);
      await expectNothingLeft(other.id, String(fields.database_name), from);
    });

    it('an upload the client aborts half-way leaves no file and gives its quota slot back', async () => {
      const fields = importFields(other.id);
      const boundary = `----import${runId}`;
      const head = Object.entries(fields)
        .map(
          ([name, value]) =>
            `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${typeof value === 'string' ? value : JSON.stringify(value)}\r\n`,
        )
        .join('');
      const filePart = `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="b.zip"\r\ncontent-type: application/zip\r\n\r\n`;
      const from = issuedIds.length;
      const { hostname, port } = new URL(stack.urls.instance);
      const req = httpRequest({
        hostname,
        port,
        method: 'POST',
        path: '/api/v1/instances/import',
        headers: {
          ...bearer(owner),
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(10 * 1024 * 1024),
        },
      });
      req.on('error', () => undefined);
      req.write(head + filePart);
      req.write(randomBytes(64 * 1024));
      // The upload reached the disk (the creation's checks passed), then the client goes away.
      await waitForFiles(uploadDir, 1);
      req.destroy();
      await waitForFiles(uploadDir, 0);
      expect(issuedIds.length).toBe(from + 1);
      await expectNothingLeft(other.id, String(fields.database_name), from);
    });

    it("an archive above the plan's import size → 413 IMPORT_TOO_LARGE, the partial file deleted", async () => {
      const fields = importFields(other.id);
      const big = await zipOf({
        'manifest.json': manifest('17.0'),
        'dump.sql': 'SELECT 1;',
        'filestore/aa/big': randomBytes(IMPORT_MAX_BYTES + 4096),
      });
      const from = issuedIds.length;
      const { status, body } = await importZip(owner, fields, big);
      expect({ status, code: body.code }).toEqual({ status: 413, code: 'IMPORT_TOO_LARGE' });
      expect(body.message).toContain(String(IMPORT_MAX_BYTES));
      await expectNothingLeft(other.id, String(fields.database_name), from);
    });

    it('a viewer of the tenant → 403, a stranger → 404, without a body read into a file', async () => {
      const viewed = await importZip(viewer, importFields(tenant.id), downloaded);
      expect({ status: viewed.status, code: viewed.body.code }).toEqual({
        status: 403,
        code: 'TENANT_ROLE_FORBIDDEN',
      });
      const stranger = await newCustomer(stack);
      const fields = importFields(other.id);
      const from = issuedIds.length;
      const strange = await importZip(stranger, fields, downloaded);
      expect(strange.status).toBe(404);
      await expectNothingLeft(other.id, String(fields.database_name), from);
    });

    it("every refusal gave its quota slot back; once the tenant's quota is used up → 409 QUOTA_EXCEEDED", async () => {
      const first = await createInstance(
        stack,
        owner,
        createBody(other.id, {
          cpu_limit: 0.5,
          memory_limit: '256M',
          storage_limit: '1G',
          custom_addons: [],
        }),
      );
      created.push(first.id);
      const fields = importFields(other.id);
      const { status, body } = await importZip(owner, fields, downloaded);
      expect({ status, code: body.code }).toEqual({ status: 409, code: 'QUOTA_EXCEEDED' });
      expect(await instanceRowCount(stack, { databaseName: String(fields.database_name) })).toBe(0);
      expect(existsSync(uploadDir) ? readdirSync(uploadDir) : []).toEqual([]);
      expect(existsSync(importsDir) ? readdirSync(importsDir) : []).toEqual([]);
    });
  });

  it('a dump that does not load → the instance ends in error, with nothing of it left and the file deleted', async () => {
    const broken = await zipOf({
      'manifest.json': manifest('17.0'),
      'dump.sql': 'CREATE TABLE ok (id int);\nTHIS IS NOT SQL;\n',
    });
    const fields = importFields((await newTenant(stack, owner, 'basic')).id);
    const { status, body } = await importZip(owner, fields, broken);
    expect(status).toBe(201);
    const last = await waitUntil(body.id, 'error');
    expect(last.last_error).toContain('dump.sql');
    expect(last.last_error).toContain('everything it created was removed');
    const label = { label: [`saasodoo.instance.id=${body.id}`] };
    expect(await docker.listContainers({ all: true, filters: label })).toEqual([]);
    expect((await docker.listVolumes({ filters: label })).Volumes ?? []).toEqual([]);
    expect(
      await adminQuery(`SELECT datname FROM pg_database WHERE datname = '${body.database_name}'`),
    ).toEqual([]);
    expect(await adminQuery(`SELECT rolname FROM pg_roles WHERE rolname = '${roleOf(body.id)}'`)).toEqual([]);
    expect(readdirSync(importsDir)).toEqual([]);
  }, 120_000);

  it('restores a backup into a new staging instance of the same tenant; the source is untouched', async () => {
    const res = await stack.instances.request({
      method: 'POST',
      url: `/api/v1/instances/${source.id}/backups/${backupId}/restore`,
      headers: bearer(owner),
      payload: { target: 'new', name: 'Staging copy' },
    });
    expectStatus(res, 201);
    const staging = res.json<InstanceBody>();
    created.push(staging.id);
    expect(staging).toMatchObject({
      tenant_id: tenant.id,
      name: 'Staging copy',
      instance_type: 'staging',
      odoo_version: '17.0',
      admin_password: expect.any(String),
    });
    expect(staging.id).not.toBe(source.id);
    expect(staging.database_name).not.toBe(source.database_name);
    await waitUntil(staging.id, 'running');
    expect(await notesIn(staging.database_name)).toEqual([
      { id: 1, body: 'first' },
      { id: 2, body: 'zweite ü' },
      { id: 3, body: 'third' },
    ]);
    const file = `/var/lib/odoo/filestore/${staging.database_name}/ab/abcdef`;
    expect(await execIn(await containerOf(staging.id), ['cat', file])).toBe('attachment-bytes');

    // The source: still running on its own database, with its own data.
    expect((await statusOf(source.id)).status).toBe('running');
    await adminSql(`INSERT INTO notes VALUES (4, 'only in staging')`, staging.database_name);
    expect(await notesIn(source.database_name)).toHaveLength(3);
    expect(readdirSync(importsDir)).toEqual([]);
  }, 180_000);

  it('a staging copy counts against the quota (409 QUOTA_EXCEEDED); viewers 403; other inputs 4xx', async () => {
    // Three instances now (source, import, staging): the tenant's plan (basic) allows three.
    const url = `/api/v1/instances/${source.id}/backups/${backupId}/restore`;
    const full = await stack.instances.request({
      method: 'POST',
      url,
      headers: bearer(owner),
      payload: { target: 'new', name: 'One too many' },
    });
    expect({ status: full.statusCode, code: full.json<ErrorBody>().code }).toEqual({
      status: 409,
      code: 'QUOTA_EXCEEDED',
    });
    const viewed = await stack.instances.request({
      method: 'POST',
      url,
      headers: bearer(viewer),
      payload: { target: 'new', name: 'Viewer copy' },
    });
    expect(viewed.statusCode).toBe(403);
    const inPlace = await stack.instances.request({
      method: 'POST',
      url,
      headers: bearer(owner),
      payload: { target: 'same', name: 'x' },
    });
    expect({ status: inPlace.statusCode, code: inPlace.json<ErrorBody>().code }).toEqual({
      status: 400,
      code: 'VALIDATION_FAILED',
    });
    const missing = await stack.instances.request({
      method: 'POST',
      url: `/api/v1/instances/${source.id}/backups/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}/restore`,
      headers: bearer(owner),
      payload: { target: 'new', name: 'x' },
    });
    expect({ status: missing.statusCode, code: missing.json<ErrorBody>().code }).toEqual({
      status: 404,
      code: 'BACKUP_NOT_FOUND',
    });
    expect(await instanceRowCount(stack, { tenantId: tenant.id })).toBe(3);
  }, 60_000);

  it("the worker's upload endpoint takes only a signed upload; the sweep drops archives nobody will use", async () => {
    const id = '11111111-2222-4333-8444-555555555555';
    const put = (headers: Record<string, string>) =>
      fetch(`${workerUrl}/imports/${id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/zip', ...headers },
        body: new Uint8Array(downloaded),
      });
    const unsigned = await put({});
    expect(unsigned.status).toBe(403);
    expect(((await unsigned.json()) as ErrorBody).code).toBe('IMPORT_UPLOAD_INVALID');
    const forged = await put({
      'x-import-expires': String(Math.floor(Date.now() / 1000) + 60),
      'x-import-signature': 'x'.repeat(43),
    });
    expect(forged.status).toBe(403);
    expect(existsSync(join(importsDir, `${id}.zip`))).toBe(false);

    // An archive whose instance was never recorded (instance-service died in between): gone after an hour.
    mkdirSync(importsDir, { recursive: true });
    writeFileSync(join(importsDir, `${id}.zip`), downloaded);
    const sweeper = worker.app.get(ImportArchiveSweeper);
    expect(await sweeper.sweep()).toEqual([]);
    expect(await sweeper.sweep(Date.now() + 2 * 3_600_000)).toEqual([id]);
    expect(readdirSync(importsDir)).toEqual([]);
  });
});
