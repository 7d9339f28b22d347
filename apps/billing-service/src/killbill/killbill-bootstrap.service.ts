import { ApiProperty } from '@nestjs/swagger';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG } from '@app/config';
import { errorMessage } from '../common/ids';
import type { Config } from '../config/env';
import { KillBillConfigRepository } from './killbill-config.repository';
import { KB_ERROR_CODES, KillBillBadRequestError, KillBillConflictError } from './killbill.errors';
import { KillBillClient } from './killbill.client';

export type BootstrapStatus = 'disabled' | 'pending' | 'ready' | 'failing';

export class BootstrapState {
  @ApiProperty({ enum: ['disabled', 'pending', 'ready', 'failing'] })
  status: BootstrapStatus;
  @ApiProperty({ type: 'integer' })
  attempts: number;
  @ApiProperty({ type: 'string', nullable: true })
  last_error: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  completed_at: string | null;
}

export class BootstrapReport {
  @ApiProperty({ enum: ['created', 'existing'] })
  tenant: 'created' | 'existing';
  @ApiProperty({ enum: ['uploaded', 'unchanged'] })
  catalog: 'uploaded' | 'unchanged';
  @ApiProperty({ example: '2026-01-01T00:00:00Z' })
  catalog_effective_date: string;
  @ApiProperty({ enum: ['uploaded', 'unchanged'] })
  overdue: 'uploaded' | 'unchanged';
  @ApiProperty({ enum: ['registered', 'unchanged'] })
  callback: 'registered' | 'unchanged';
  @ApiProperty({ type: [String] })
  warnings: string[];
}

export class BootstrapRun extends BootstrapReport {
  @ApiProperty()
  state: BootstrapState;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function xmlText(xml: string, element: string): string | null {
  const match = new RegExp(`<${element}>\\s*([^<]+?)\\s*</${element}>`).exec(xml);
  return match ? match[1] : null;
}

/** Where Kill Bill must push: the configured callback URL plus the shared secret as `token`. */
export function callbackUrlWithToken(callbackUrl: string, secret: string): string {
  const url = new URL(callbackUrl);
  url.searchParams.set('token', secret);
  return url.toString();
}

/**
 * Makes the Kill Bill side ready: the platform's tenant, the catalog and overdue config, the push callback.
 * Each step checks first and changes only what is missing or different, so a restart uploads nothing and
 * registers nothing (the original re-uploaded the catalog — a 400 on the second start — and re-registered
 * the callback every time). At start it runs in the background with backoff until it succeeds, so a Kill
 * Bill outage never blocks /health; readiness reports `killbill` down meanwhile.
 */
@Injectable()
export class KillBillBootstrapService implements OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger('KillBillBootstrap');
  private state: BootstrapState;
  private running: Promise<BootstrapReport> | null = null;
  private loop: Promise<void> | null = null;
  private readonly abort = new AbortController();

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly killbill: KillBillClient,
    private readonly applied: KillBillConfigRepository,
  ) {
    this.state = {
      status: 'disabled',
      attempts: 0,
      last_error: null,
      completed_at: null,
    };
  }

  /** Kill Bill is the billing provider (KillBillBillingProvider, at construction): the bootstrap is due. */
  enable(): void {
    if (this.state.status === 'disabled') this.state = { ...this.state, status: 'pending' };
  }

  /** Starts the background bootstrap (KillBillBillingProvider, at application bootstrap). */
  start(): void {
    this.loop ??= this.retryUntilReady();
  }

  async onModuleDestroy(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.running?.catch(() => undefined);
  }

  /** After every module stopped its work: close the client's keep-alive sockets. */
  onApplicationShutdown(): void {
    this.killbill.close();
  }

  status(): BootstrapState {
    return { ...this.state };
  }

  /** Runs the bootstrap now (admin route); concurrent callers share one run. */
  bootstrap(): Promise<BootstrapReport> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async retryUntilReady(): Promise<void> {
    let delay = this.config.KILLBILL_BOOTSTRAP_RETRY_MIN_MS;
    while (!this.abort.signal.aborted) {
      try {
        await this.bootstrap();
        return;
      } catch (error) {
        this.logger.warn({
          msg: 'Kill Bill bootstrap failed, retrying',
          error: errorMessage(error),
          retry_in_ms: delay,
        });
      }
      try {
        await sleep(delay, undefined, { signal: this.abort.signal });
      } catch {
        return;
      }
      delay = Math.min(delay * 2, this.config.KILLBILL_BOOTSTRAP_RETRY_MAX_MS);
    }
  }

  private async run(): Promise<BootstrapReport> {
    this.state.attempts++;
    try {
      const report = await this.steps();
      this.state = {
        ...this.state,
        status: 'ready',
        last_error: null,
        completed_at: new Date().toISOString(),
      };
      this.logger.log({ msg: 'Kill Bill bootstrap done', ...report });
      return report;
    } catch (error) {
      this.state = {
        ...this.state,
        status: this.state.status === 'ready' ? 'ready' : 'failing',
        last_error: errorMessage(error),
      };
      throw error;
    }
  }

  private async steps(): Promise<BootstrapReport> {
    const warnings: string[] = [];
    const tenant = await this.ensureTenant();
    const [catalogXml, overdueXml] = await Promise.all([
      readFile(resolve(process.cwd(), this.config.KILLBILL_CATALOG_FILE), 'utf8'),
      readFile(resolve(process.cwd(), this.config.KILLBILL_OVERDUE_FILE), 'utf8'),
    ]);
    const catalog = await this.ensureCatalog(catalogXml, warnings);
    const overdue = await this.ensureOverdue(overdueXml);
    const callback = await this.ensureCallback();
    return { tenant, ...catalog, overdue, callback, warnings };
  }

  private get apiKey(): string {
    return this.config.KILLBILL_API_KEY ?? '';
  }

  private async ensureTenant(): Promise<BootstrapReport['tenant']> {
    if (await this.killbill.findTenantByApiKey(this.apiKey)) return 'existing';
    try {
      await this.killbill.createTenant({
        apiKey: this.apiKey,
        apiSecret: this.config.KILLBILL_API_SECRET ?? '',
        externalKey: 'saasodoo',
      });
      return 'created';
    } catch (error) {
      // Another replica created it between our check and our POST.
      if (error instanceof KillBillConflictError) return 'existing';
      throw error;
    }
  }

  /**
   * Kill Bill keeps every catalog version and refuses a second upload with the same effectiveDate, so the
   * file is uploaded only when its effectiveDate is not among the tenant's versions. A file edited without
   * bumping effectiveDate cannot be applied: that is reported, not retried forever.
   */
  private async ensureCatalog(
    xml: string,
    warnings: string[],
  ): Promise<Pick<BootstrapReport, 'catalog' | 'catalog_effective_date'>> {
    const effectiveDate = xmlText(xml, 'effectiveDate');
    if (!effectiveDate || Number.isNaN(Date.parse(effectiveDate))) {
      throw new Error(`${this.config.KILLBILL_CATALOG_FILE} has no valid <effectiveDate>`);
    }
    const hash = sha256(xml);
    const versions = await this.killbill.getCatalogVersions();
    const present = versions.some((v) => Date.parse(v) === Date.parse(effectiveDate));
    if (present) {
      const previous = await this.applied.get(this.apiKey, 'catalog');
      if (previous && previous.detail === effectiveDate && previous.sha256 !== hash) {
        const warning = `catalog.xml changed but its effectiveDate ${effectiveDate} is already in Kill Bill: bump effectiveDate to apply the change`;
        warnings.push(warning);
        this.logger.warn(warning);
      } else if (!previous || previous.detail !== effectiveDate) {
        await this.applied.put(this.apiKey, 'catalog', hash, effectiveDate);
      }
      return { catalog: 'unchanged', catalog_effective_date: effectiveDate };
    }
    try {
      await this.killbill.uploadCatalogXml(xml);
    } catch (error) {
      const raced =
        error instanceof KillBillBadRequestError &&
        error.failure.code === KB_ERROR_CODES.CAT_INVALID_FOR_TENANT &&
        /already exists/.test(error.failure.message);
      if (!raced) throw error;
    }
    await this.applied.put(this.apiKey, 'catalog', hash, effectiveDate);
    return { catalog: 'uploaded', catalog_effective_date: effectiveDate };
  }

  /**
   * The overdue config is one value per tenant (an upload replaces it). It is uploaded when the file differs
   * from what was last uploaded to this tenant, or when Kill Bill does not have the file's states (a new or
   * reset Kill Bill database).
   */
  private async ensureOverdue(xml: string): Promise<BootstrapReport['overdue']> {
    const hash = sha256(xml);
    const wanted = [...xml.matchAll(/<state\s+name="([^"]+)"/g)].map((m) => m[1]).sort();
    const [previous, current] = await Promise.all([
      this.applied.get(this.apiKey, 'overdue'),
      this.killbill.getOverdueConfig(),
    ]);
    const present = (current.overdueStates ?? []).map((s) => s.name).sort();
    const sameStates = present.length === wanted.length && present.every((name, i) => name === wanted[i]);
    if (previous?.sha256 === hash && sameStates) return 'unchanged';
    await this.killbill.uploadOverdueXml(xml);
    await this.applied.put(this.apiKey, 'overdue', hash, wanted.join(','));
    return 'uploaded';
  }

  /** One URL per tenant in Kill Bill; registered only when it is not already exactly ours. */
  private async ensureCallback(): Promise<BootstrapReport['callback']> {
    const wanted = callbackUrlWithToken(
      this.config.KILLBILL_CALLBACK_URL,
      this.config.KILLBILL_WEBHOOK_SECRET ?? '',
    );
    const registered = await this.killbill.getNotificationCallbacks();
    if (registered.length === 1 && registered[0] === wanted) return 'unchanged';
    await this.killbill.registerNotificationCallback(wanted);
    await this.applied.put(this.apiKey, 'callback', sha256(wanted), this.config.KILLBILL_CALLBACK_URL);
    return 'registered';
  }
}
