import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { AccountsService } from './accounts.service';

@ApiTags('billing')
@Controller('api/billing/accounts')
@Authenticated()
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Get('me')
  @ApiOperation({ summary: "Balance, overdue state and trial end of my tenants' billing accounts" })
  me(@CurrentUser() user: AuthenticatedUser) {
    return this.accounts.mine(user);
  }
}
