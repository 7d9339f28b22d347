import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { BillingMailTemplates, MailSender, renderBillingMail } from '@app/mail';
import { errorMessage } from '../common/ids';
import { forEachLimit, PollingLoop } from '../common/polling-loop';
import type { Config } from '../config/env';
import { UserDirectoryClient } from '../integrations/user-directory.client';
import { MailOutboxRepository, OutboxRow } from './mail-outbox.repository';

const LEASE_MS = 60_000;
const BATCH = 16;

/** Sends the queued billing mail: looks the customer up in user-service, renders, sends, retries. */
@Injectable()
export class BillingMailDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('BillingMail');
  private readonly loop: PollingLoop;

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly outbox: MailOutboxRepository,
    private readonly users: UserDirectoryClient,
    private readonly sender: MailSender,
  ) {
    this.loop = new PollingLoop('BillingMailDispatcher', Math.max(config.BILLING_INBOX_POLL_MS, 500), () =>
      this.drainOnce(),
    );
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop.stop();
  }

  kick(): void {
    this.loop.kick();
  }

  drainNow(): Promise<void> {
    return this.loop.drainNow();
  }

  private async drainOnce(): Promise<number> {
    const rows = await this.outbox.claim(BATCH, LEASE_MS);
    await forEachLimit(rows, 4, (row) => this.send(row));
    return rows.length;
  }

  private async send(row: OutboxRow): Promise<void> {
    try {
      if (!row.customerId) {
        await this.outbox.finish(row.id, 'skipped', null, 'no billing contact for this tenant');
        return;
      }
      const user = await this.users.find(row.customerId);
      if (!user || !user.is_active) {
        await this.outbox.finish(row.id, 'skipped', null, 'the billing contact no longer exists');
        return;
      }
      const vars = { ...row.vars, first_name: user.first_name };
      const rendered = renderBillingMail(
        row.template,
        vars as unknown as BillingMailTemplates[typeof row.template],
      );
      await this.sender.send({ to: user.email, ...rendered });
      await this.outbox.finish(row.id, 'sent', user.email, null);
    } catch (error) {
      const last = row.attempts >= this.config.BILLING_MAIL_MAX_ATTEMPTS;
      const retryIn = last ? null : Math.min(1000 * 2 ** (row.attempts - 1), 600_000);
      this.logger.warn({
        msg: 'billing mail not sent',
        id: row.id,
        error: errorMessage(error),
        retry_in_ms: retryIn,
      });
      await this.outbox.fail(row.id, errorMessage(error), retryIn);
    }
  }
}
