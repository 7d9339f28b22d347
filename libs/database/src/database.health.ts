import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { HealthCheck } from '@app/health';

/** Real round trip to Postgres through the service's own pool. */
@Injectable()
export class DatabaseHealthCheck implements HealthCheck {
  readonly name = 'database';
  constructor(private readonly dataSource: DataSource) {}

  async check(): Promise<Record<string, unknown>> {
    const [row] = (await this.dataSource.query('SELECT current_database() AS database, 1 AS ok')) as {
      database: string;
    }[];
    return { database_name: row?.database };
  }
}
