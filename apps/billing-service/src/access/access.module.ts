import { Module } from '@nestjs/common';
import { IntegrationsModule } from '../integrations/integrations.module';
import { MembershipService } from './membership.service';

/** Which tenants a customer may see and manage (tenant-service's memberships). */
@Module({
  imports: [IntegrationsModule],
  providers: [MembershipService],
  exports: [MembershipService],
})
export class AccessModule {}
