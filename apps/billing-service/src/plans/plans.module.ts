import { Module } from '@nestjs/common';
import { BillingProviderModule } from '../billing-provider/billing-provider.module';
import { InternalPlansController, PlansController } from './plans.controller';
import { PlansService } from './plans.service';

/** The plans catalog and each plan's instance limits. */
@Module({
  imports: [BillingProviderModule],
  controllers: [PlansController, InternalPlansController],
  providers: [PlansService],
  exports: [PlansService],
})
export class PlansModule {}
