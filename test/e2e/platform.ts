import { Type } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  createAdmin,
  createVerifiedCustomer,
  requireEnv,
  serviceTestEnv,
  ServiceHarness,
  SmtpSink,
  startService,
  TestCustomer,
  UNREACHABLE_SERVICE_URL,
  userServiceTestEnv,
} from '@app/testing';
import { AdminAccountsService } from '../../apps/user-service/src/admin/admin-accounts.service';
import { AppModule as UserModule } from '../../apps/user-service/src/app.module';
import { AppModule as TenantModule } from '../../apps/tenant-service/src/app.module';
import { AppModule as InstanceModule } from '../../apps/instance-service/src/app.module';
import { freePort } from '@app/testing';
export { freePort };

type ServiceKey = 'user' | 'tenant' | 'instance';

/**
 * The real services, booted in-process from their AppModules and listening on 127.0.0.1 so they call each
 * other's internal APIs over HTTP as in production. Only the services passed to `start` run; the URLs of
 * the others point at a closed port (they look down).
 */
export class TestPlatform {
  readonly smtp = new SmtpSink();
  readonly queuePrefix = `test-e2e-${randomBytes(4).toString('hex')}`;
  user!: ServiceHarness;
  tenant!: ServiceHarness;
  instance!: ServiceHarness;
  private readonly started: ServiceHarness[] = [];
  private readonly ports = new Map<ServiceKey, number>();

  private url(key: ServiceKey): string {
    const port = this.ports.get(key);
    return port ? `http://127.0.0.1:${port}` : UNREACHABLE_SERVICE_URL;
  }

  private urls(): Record<string, string> {
    return {
      USER_SERVICE_URL: this.url('user'),
      TENANT_SERVICE_URL: this.url('tenant'),
      INSTANCE_SERVICE_URL: this.url('instance'),
      BILLING_SERVICE_URL: UNREACHABLE_SERVICE_URL,
    };
  }

  async start(
    services: ServiceKey[],
    env: Partial<Record<ServiceKey, Record<string, string>>> = {},
  ): Promise<void> {
    await this.smtp.start();
    for (const key of services) this.ports.set(key, await freePort());
    const internal = { INTERNAL_API_TOKEN: requireEnv('INTERNAL_API_TOKEN') };
    if (services.includes('user')) {
      this.user = await this.boot(
        'user',
        UserModule,
        'user-service',
        userServiceTestEnv(this.smtp, { ...this.urls(), ...env.user }),
      );
    }
    if (services.includes('tenant')) {
      this.tenant = await this.boot(
        'tenant',
        TenantModule,
        'tenant-service',
        serviceTestEnv('tenant-service', { ...internal, ...this.urls(), ...env.tenant }),
      );
    }
    if (services.includes('instance')) {
      this.instance = await this.boot(
        'instance',
        InstanceModule,
        'instance-service',
        serviceTestEnv('instance-service', {
          ...internal,
          ...this.urls(),
          INSTANCE_SECRETS_KEY: requireEnv('INSTANCE_SECRETS_KEY'),
          QUEUE_PREFIX: this.queuePrefix,
          BILLING_PROVIDER: 'none',
          ...env.instance,
        }),
      );
    }
  }

  private async boot(
    key: ServiceKey,
    module: Type,
    service: Parameters<typeof startService>[1],
    env: Record<string, string>,
  ) {
    const harness = await startService(module, service, env);
    this.started.push(harness);
    await harness.listen(this.ports.get(key));
    return harness;
  }

  customer(): Promise<TestCustomer> {
    return createVerifiedCustomer(this.user, this.smtp);
  }

  admin(): Promise<TestCustomer> {
    return createAdmin(this.user, (email, password) =>
      this.user.app.get(AdminAccountsService).createAdmin(email, { password }),
    );
  }

  async close(): Promise<void> {
    for (const harness of this.started.reverse()) await harness.close();
    await this.smtp.stop();
  }
}

export function bearer(customer: { access_token: string }) {
  return { authorization: `Bearer ${customer.access_token}` };
}

export const internalHeaders = () => ({ 'x-internal-token': requireEnv('INTERNAL_API_TOKEN') });
