import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PublicJwks } from '@app/auth';
import { SigningKeyService } from './signing-key.service';

@ApiTags('auth')
@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: SigningKeyService) {}

  @Get('jwks.json')
  @Header('cache-control', 'public, max-age=60')
  @ApiOperation({
    summary: 'Public keys that verify access tokens (the active one and recently retired ones)',
  })
  @ApiOkResponse({ type: PublicJwks })
  jwks(): PublicJwks {
    return this.keys.jwks();
  }
}
