import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface Backlog {
  pending: number;
  /** Age in seconds of the oldest row still to be handled (0 when none). */
  oldestPendingSeconds: number;
  failed: number;
}

/** How far behind billing's durable queues are: the Kill Bill push inbox and the mail outbox. */
@Injectable()
export class BacklogRepository {
  constructor(private readonly dataSource: DataSource) {}

  killbillInbox(): Promise<Backlog> {
    return this.backlog('killbill_inbox', 'received_at');
  }

  mailOutbox(): Promise<Backlog> {
    return this.backlog('mail_outbox', 'created_at');
  }

  /** Payments still pending at the gateway: how many, and the age of the oldest (the poller ends them at expiry). */
  async pendingPayments(): Promise<{ pending: number; oldestPendingSeconds: number }> {
    const [row] = (await this.dataSource.query(
      `SELECT count(*)::int AS pending, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float AS oldest
         FROM payments WHERE status = 'pending'`,
    )) as { pending: number; oldest: number }[];
    return { pending: row?.pending ?? 0, oldestPendingSeconds: Math.round(row?.oldest ?? 0) };
  }

  private async backlog(table: 'killbill_inbox' | 'mail_outbox', since: string): Promise<Backlog> {
    const [row] = (await this.dataSource.query(
      `SELECT count(*) FILTER (WHERE status IN ('pending', 'processing'))::int AS pending,
              coalesce(extract(epoch FROM now() - min(${since}) FILTER (WHERE status IN ('pending', 'processing'))), 0)::float AS oldest,
              count(*) FILTER (WHERE status = 'failed')::int AS failed
         FROM ${table}`,
    )) as { pending: number; oldest: number; failed: number }[];
    return {
      pending: row?.pending ?? 0,
      oldestPendingSeconds: Math.round(row?.oldest ?? 0),
      failed: row?.failed ?? 0,
    };
  }
}
