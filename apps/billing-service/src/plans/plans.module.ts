import { Module } from '@nestjs/common';
import { KillBillModule } from '../killbill/killbill.module';
import { InternalPlansController, PlansController } from './plans.controller';
import { PlansService } from './plans.service';

/** The plans catalog and each plan's instance limits. */
@Module({
  imports: [KillBillModule],
  controllers: [PlansController, InternalPlansController],
  providers: [PlansService],
  exports: [PlansService],
})
export class PlansModule {}
