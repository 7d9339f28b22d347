import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@app/http';
import { Authenticated, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { AccountsOverview, AccountsService } from './accounts.service';

@ApiTags('billing')
@Controller('api/billing/accounts')
@Authenticated()
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Get('me')
  @ApiOperation({ summary: "Balance, overdue state and trial end of my tenants' billing accounts" })
  @ApiOkResponse({ type: AccountsOverview })
  @ApiErrors({ 503: ['DEPENDENCY_UNAVAILABLE'] })
  me(@CurrentUser() user: AuthenticatedUser) {
    return this.accounts.mine(user);
  }
}
