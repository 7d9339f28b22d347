/**
 * STAND-IN for the other services' internal APIs (instance-service, tenant-service, user-service), used by the
 * billing tests where booting those services is not the point. It implements exactly the routes of
 * libs/contracts/src/internal-api.ts that billing calls, checks the service credential, records every call,
 * and makes an instance's status follow its desired state at once (as the worker eventually would).
 * It is NOT instance-service: the e2e against the real one lives in billing-instance.e2e-spec.ts.
 */
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type {
  CustomerTenantSummary,
  DesiredState,
  InstanceLimits,
  InstanceStatus,
  InternalUser,
  TenantRole,
} from '@app/contracts';

export interface StandInInstance {
  id: string;
  tenant_id: string;
  status: InstanceStatus;
  desired_state: DesiredState;
  limits: InstanceLimits | null;
}

export interface RecordedCall {
  method: string;
  path: string;
  body: unknown;
  status: number;
}

type Tenant = CustomerTenantSummary['tenants'][number];

export class InternalApiStandIn {
  readonly instances = new Map<string, StandInInstance>();
  readonly calls: RecordedCall[] = [];
  /** How many times each instance went from pending to provisioning (must be once). */
  readonly provisionings = new Map<string, number>();
  private readonly memberships = new Map<string, Tenant[]>();
  private readonly users = new Map<string, InternalUser>();
  private server: http.Server | null = null;
  url = '';
  /** When set, every route answers 503 (the other services are down). */
  unavailable = false;

  constructor(private readonly token: string) {}

  async start(): Promise<string> {
    const server = http.createServer((req, res) => this.onRequest(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** An instance as instance-service creates it for a plan: pending, waiting for billing. */
  addInstance(tenantId: string, overrides: Partial<StandInInstance> = {}): StandInInstance {
    const instance: StandInInstance = {
      id: randomUUID(),
      tenant_id: tenantId,
      status: 'pending',
      desired_state: 'running',
      limits: null,
      ...overrides,
    };
    this.instances.set(instance.id, instance);
    return instance;
  }

  addMember(customerId: string, tenantId: string, role: TenantRole = 'owner'): void {
    const tenants = this.memberships.get(customerId) ?? [];
    tenants.push({
      id: tenantId,
      name: `Tenant ${tenantId.slice(0, 8)}`,
      subdomain: `t${tenantId.slice(0, 8)}`,
      role,
      plan: 'basic',
      status: 'active',
    });
    this.memberships.set(customerId, tenants);
  }

  addUser(user: Partial<InternalUser> & { id: string }): InternalUser {
    const full: InternalUser = {
      email: `${user.id}@example.test`,
      first_name: 'Test',
      last_name: 'Customer',
      is_active: true,
      role: 'customer',
      ...user,
    };
    this.users.set(full.id, full);
    return full;
  }

  callsTo(pattern: RegExp, method?: string): RecordedCall[] {
    return this.calls.filter((c) => pattern.test(c.path) && (!method || c.method === method));
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      const reply = this.route(req.method ?? 'GET', req.url ?? '/', req.headers, body);
      this.calls.push({ method: req.method ?? 'GET', path: req.url ?? '/', body, status: reply.status });
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  }

  private route(
    method: string,
    path: string,
    headers: http.IncomingHttpHeaders,
    body: unknown,
  ): { status: number; body?: unknown } {
    if (headers['x-internal-token'] !== this.token)
      return { status: 401, body: { code: 'INTERNAL_AUTH_REQUIRED' } };
    if (this.unavailable) return { status: 503, body: { code: 'DEPENDENCY_UNAVAILABLE' } };
    let match = /^\/internal\/instances\/([^/]+)$/.exec(path);
    if (match && method === 'GET') {
      const instance = this.instances.get(match[1]);
      return instance ? { status: 200, body: this.view(instance) } : { status: 404 };
    }
    match = /^\/internal\/instances\/([^/]+)\/desired-state$/.exec(path);
    if (match && method === 'PUT') {
      const instance = this.instances.get(match[1]);
      if (!instance) return { status: 404 };
      const desired = (body as { desired_state: DesiredState }).desired_state;
      this.applyDesired(instance, desired);
      return { status: 200, body: this.view(instance) };
    }
    match = /^\/internal\/instances\/([^/]+)\/limits$/.exec(path);
    if (match && method === 'PUT') {
      const instance = this.instances.get(match[1]);
      if (!instance) return { status: 404 };
      instance.limits = body as InstanceLimits;
      return { status: 200, body: this.view(instance) };
    }
    match = /^\/internal\/customers\/([^/]+)\/summary$/.exec(path);
    if (match && method === 'GET') {
      const tenants = this.memberships.get(match[1]) ?? [];
      return { status: 200, body: { tenant_count: tenants.length, tenants } };
    }
    match = /^\/internal\/users\/([^/]+)$/.exec(path);
    if (match && method === 'GET') {
      const user = this.users.get(match[1]);
      return user ? { status: 200, body: user } : { status: 404 };
    }
    return { status: 404 };
  }

  /** The worker's job, at once: the status follows the desired state. */
  private applyDesired(instance: StandInInstance, desired: DesiredState): void {
    if (instance.desired_state === 'terminated') return;
    instance.desired_state = desired;
    if (desired === 'running') {
      if (instance.status === 'pending') {
        this.provisionings.set(instance.id, (this.provisionings.get(instance.id) ?? 0) + 1);
      }
      instance.status = 'running';
    } else {
      instance.status = desired;
    }
  }

  private view(instance: StandInInstance) {
    return {
      id: instance.id,
      tenant_id: instance.tenant_id,
      status: instance.status,
      desired_state: instance.desired_state,
    };
  }
}
