import { Module } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { Config } from '../config/env';
import { KillBillBootstrapService } from './killbill-bootstrap.service';
import { KillBillConfigRepository } from './killbill-config.repository';
import { KillBillClient } from './killbill.client';

/** The Kill Bill client and the bootstrap (started by KillBillBillingProvider, the only user of Kill Bill at boot). */
@Module({
  providers: [
    {
      provide: KillBillClient,
      inject: [APP_CONFIG],
      useFactory: (config: Config) =>
        new KillBillClient({
          url: config.KILLBILL_URL,
          username: config.KILLBILL_USERNAME,
          password: config.KILLBILL_PASSWORD ?? '',
          apiKey: config.KILLBILL_API_KEY ?? '',
          apiSecret: config.KILLBILL_API_SECRET ?? '',
          createdBy: 'billing-service',
          timeoutMs: config.KILLBILL_TIMEOUT_MS,
          retries: config.KILLBILL_RETRIES,
        }),
    },
    KillBillConfigRepository,
    KillBillBootstrapService,
  ],
  exports: [KillBillClient, KillBillBootstrapService],
})
export class KillBillModule {}
