import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** One dependency the service needs. `check` throws when the dependency is unusable. */
export interface HealthCheck {
  readonly name: string;
  check(): Promise<Record<string, unknown> | void>;
}

export const HEALTH_CHECKS = Symbol('HEALTH_CHECKS');
export const SERVICE_INFO = Symbol('SERVICE_INFO');

export interface ServiceInfo {
  name: string;
  version: string;
}

/** One dependency's answer in /health/ready; a check may add its own detail fields (documented here). */
export class CheckResult {
  @ApiProperty({ enum: ['up', 'down'] })
  status: 'up' | 'down';

  @ApiProperty({ type: 'integer', example: 3 })
  latency_ms: number;

  @ApiPropertyOptional({ description: 'Why the check failed', example: 'timed out after 3000 ms' })
  error?: string;

  @ApiPropertyOptional({ description: 'database: the database the service is connected to' })
  database_name?: string;

  @ApiPropertyOptional({ description: 'docker (worker): the engine version' })
  server_version?: string;

  @ApiPropertyOptional({ description: 'killbill (billing-service): `none` when billing is off' })
  provider?: string;

  @ApiPropertyOptional({
    type: 'string',
    format: 'date-time',
    nullable: true,
    description: 'killbill (billing-service): when the Kill Bill bootstrap completed',
  })
  bootstrapped_at?: string | null;

  [detail: string]: unknown;
}

export async function runCheck(check: HealthCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const details = await Promise.race([
      check.check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { status: 'up', latency_ms: Math.round(performance.now() - started), ...(details ?? {}) };
  } catch (error) {
    return {
      status: 'down',
      latency_ms: Math.round(performance.now() - started),
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
}
