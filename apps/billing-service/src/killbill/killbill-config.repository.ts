import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface AppliedConfig {
  sha256: string;
  detail: string | null;
  appliedAt: Date;
}

/** Hashes of what was last uploaded to a Kill Bill tenant (catalog, overdue, callback). */
@Injectable()
export class KillBillConfigRepository {
  constructor(private readonly dataSource: DataSource) {}

  async get(apiKey: string, name: string): Promise<AppliedConfig | null> {
    const rows = (await this.dataSource.query(
      `SELECT sha256, detail, applied_at AS "appliedAt" FROM killbill_config WHERE kb_api_key = $1 AND name = $2`,
      [apiKey, name],
    )) as AppliedConfig[];
    return rows[0] ?? null;
  }

  async put(apiKey: string, name: string, sha256: string, detail: string | null): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO killbill_config (kb_api_key, name, sha256, detail) VALUES ($1, $2, $3, $4)
       ON CONFLICT (kb_api_key, name) DO UPDATE SET sha256 = EXCLUDED.sha256, detail = EXCLUDED.detail,
         applied_at = now()`,
      [apiKey, name, sha256, detail],
    );
  }
}
