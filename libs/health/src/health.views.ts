import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { CheckResult } from './health-check';

export class LivenessView {
  @ApiProperty({ enum: ['healthy'] })
  status: 'healthy';

  @ApiProperty({ example: 'user-service' })
  service: string;

  @ApiProperty({ example: '0.1.0' })
  version: string;

  @ApiProperty({ type: 'integer', example: 42 })
  uptime_seconds: number;
}

export class DatabaseHealthView {
  @ApiProperty({ enum: ['healthy', 'unhealthy'] })
  status: 'healthy' | 'unhealthy';

  @ApiProperty({ example: 'user-service' })
  service: string;

  @ApiProperty({ enum: ['connected', 'disconnected', 'not_used'] })
  database: 'connected' | 'disconnected' | 'not_used';

  @ApiPropertyOptional({ type: 'integer', example: 2 })
  latency_ms?: number;

  @ApiPropertyOptional({ example: 'connect ECONNREFUSED 127.0.0.1:5432' })
  error?: string;

  @ApiPropertyOptional({ example: 'auth' })
  database_name?: string;
}

export class ReadinessView {
  @ApiProperty({ enum: ['ready', 'not_ready'] })
  status: 'ready' | 'not_ready';

  @ApiProperty({ example: 'user-service' })
  service: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(CheckResult) },
    description: 'One entry per dependency (database, redis, and docker or killbill where used)',
  })
  checks: Record<string, CheckResult>;
}
