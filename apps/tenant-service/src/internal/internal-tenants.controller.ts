import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Put,
  Res,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { InternalOnly } from '@app/auth';
import { QuotaReservationDto, TenantPlanChangeDto } from '../tenants/tenant.dto';
import { TenantsService } from '../tenants/tenants.service';

const uuid = new ParseUUIDPipe();

/** Service-to-service API (x-internal-token only); shapes in libs/contracts/src/internal-api.ts. */
@ApiExcludeController()
@InternalOnly()
@Controller('internal')
export class InternalTenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Get('tenants/:tenantId/members/:userId')
  membership(@Param('tenantId', uuid) tenantId: string, @Param('userId', uuid) userId: string) {
    return this.tenants.membership(tenantId, userId);
  }

  @Get('tenants/:tenantId')
  tenant(@Param('tenantId', uuid) tenantId: string) {
    return this.tenants.internalTenant(tenantId);
  }

  @Put('tenants/:tenantId/plan')
  setPlan(@Param('tenantId', uuid) tenantId: string, @Body() body: TenantPlanChangeDto) {
    return this.tenants.setPlan(tenantId, body.plan);
  }

  @Post('tenants/:tenantId/quota/reservations')
  async reserve(
    @Param('tenantId', uuid) tenantId: string,
    @Body() body: QuotaReservationDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { created, reservation } = await this.tenants.reserve(tenantId, body.instance_id);
    reply.status(created ? 201 : 200);
    return reservation;
  }

  @Delete('tenants/:tenantId/quota/reservations/:instanceId')
  @HttpCode(204)
  async release(@Param('tenantId', uuid) tenantId: string, @Param('instanceId', uuid) instanceId: string) {
    await this.tenants.release(tenantId, instanceId);
  }

  @Get('customers/:customerId/summary')
  summary(@Param('customerId', uuid) customerId: string) {
    return this.tenants.customerSummary(customerId);
  }
}
