import { Type } from '@nestjs/common';
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

/**
 * The real services, booted in-process from their AppModules and listening on 127.0.0.1 so they call each
 * other's internal APIs over HTTP as in production. Start only what a suite needs.
 */
export class TestPlatform {
  readonly smtp = new SmtpSink();
  user!: ServiceHarness;
  tenant!: ServiceHarness;
  private readonly started: ServiceHarness[] = [];
  urls: Record<string, string> = {
    USER_SERVICE_URL: UNREACHABLE_SERVICE_URL,
    TENANT_SERVICE_URL: UNREACHABLE_SERVICE_URL,
    INSTANCE_SERVICE_URL: UNREACHABLE_SERVICE_URL,
    BILLING_SERVICE_URL: UNREACHABLE_SERVICE_URL,
  };

  async startUserService(overrides: Record<string, string> = {}): Promise<ServiceHarness> {
    if (!this.smtp.port) await this.smtp.start();
    this.user = await this.boot(
      UserModule,
      'user-service',
      userServiceTestEnv(this.smtp, { ...this.urls, ...overrides }),
    );
    this.urls.USER_SERVICE_URL = await this.user.listen();
    return this.user;
  }

  async startTenantService(overrides: Record<string, string> = {}): Promise<ServiceHarness> {
    this.tenant = await this.boot(
      TenantModule,
      'tenant-service',
      serviceTestEnv('tenant-service', {
        INTERNAL_API_TOKEN: requireEnv('INTERNAL_API_TOKEN'),
        ...this.urls,
        ...overrides,
      }),
    );
    this.urls.TENANT_SERVICE_URL = await this.tenant.listen();
    return this.tenant;
  }

  async boot(module: Type, service: Parameters<typeof startService>[1], env: Record<string, string>) {
    const harness = await startService(module, service, env);
    this.started.push(harness);
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
