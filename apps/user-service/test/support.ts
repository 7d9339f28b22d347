import { Controller, Get, Module, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AdminOnly, authEnv, Authenticated, AuthModule, CurrentUser, InternalOnly } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { commonEnv, ConfigModule, redisEnv } from '@app/config';
import { HttpCoreModule } from '@app/http';
import { RedisModule } from '@app/redis';
import { serviceTestEnv, ServiceHarness, SmtpSink, startService, userServiceTestEnv } from '@app/testing';
import { AdminAccountsService } from '../src/admin/admin-accounts.service';
import { AppModule } from '../src/app.module';
import { BackgroundTasks } from '../src/common/background-tasks';

export async function startUserService(
  smtp: SmtpSink,
  overrides: Record<string, string> = {},
): Promise<ServiceHarness> {
  return startService(AppModule, 'user-service', userServiceTestEnv(smtp, overrides));
}

/** The CLI's create-admin, as the test factory wants it. */
export function adminBootstrap(userService: ServiceHarness) {
  return (email: string, password: string) =>
    userService.app.get(AdminAccountsService).createAdmin(email, { password });
}

export function db(userService: ServiceHarness): DataSource {
  return userService.app.get(DataSource);
}

/** Waits until mail and other after-response work of user-service is done. */
export function settle(userService: ServiceHarness): Promise<void> {
  return userService.app.get(BackgroundTasks).drain();
}

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

/** Documented like a real service's routes, since the harness checks every answer against the document. */
@Controller()
class ProbeController {
  @Get('protected')
  @Authenticated()
  @ApiOkResponse({ description: 'The authenticated caller', schema: { type: 'object' } })
  whoami(@CurrentUser() user: AuthenticatedUser) {
    return user;
  }

  @Get('admin/probe')
  @AdminOnly()
  @ApiOkResponse({ schema: { type: 'object', properties: { admin: { type: 'string' } } } })
  admin(@CurrentUser('id') id: string) {
    return { admin: id };
  }

  @Post('internal/probe')
  @InternalOnly()
  @ApiCreatedResponse({ schema: { type: 'object', properties: { ok: { type: 'boolean' } } } })
  internal() {
    return { ok: true };
  }
}

const probeEnv = z.object({ ...commonEnv.shape, ...redisEnv.shape, ...authEnv.shape });

/** A minimal "other service": only @app/auth's guards, fed from Redis, with no link to user-service's code. */
@Module({
  imports: [ConfigModule.forRoot(probeEnv), HttpCoreModule, RedisModule, AuthModule],
  controllers: [ProbeController],
})
export class OtherServiceModule {}

export function startOtherService(overrides: Record<string, string> = {}): Promise<ServiceHarness> {
  const { REDIS_URL, INTERNAL_API_TOKEN, AUTH_REDIS_PREFIX } = serviceTestEnv('user-service');
  return startService(OtherServiceModule, 'other-service', {
    NODE_ENV: 'test',
    REDIS_URL: REDIS_URL!,
    INTERNAL_API_TOKEN: INTERNAL_API_TOKEN!,
    AUTH_REDIS_PREFIX: AUTH_REDIS_PREFIX!,
    ...overrides,
  });
}

/** Where the tests' user-service keeps `jwks` and `session:<sid>` in Redis. */
export function authKeys() {
  const prefix = serviceTestEnv('user-service').AUTH_REDIS_PREFIX!;
  return { jwks: `${prefix}jwks`, session: (sid: string) => `${prefix}session:${sid}` };
}
