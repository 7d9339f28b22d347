import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CustomerView } from '../users/user.views';

export class TokenPair {
  @ApiProperty({ description: 'ES256 JWT; send as "Authorization: Bearer <access_token>"' })
  access_token: string;
  @ApiPropertyOptional({
    description:
      'Opaque; one use only (POST /auth/refresh rotates it). Absent with ?session=cookie (then in a cookie)',
  })
  refresh_token?: string;
  @ApiProperty({ enum: ['Bearer'] })
  token_type: 'Bearer';
  @ApiProperty({ format: 'date-time' })
  expires_at: string;
  @ApiProperty({ type: 'integer', description: 'Seconds until the access token expires', example: 900 })
  expires_in: number;
  @ApiProperty({ format: 'date-time' })
  refresh_expires_at: string;
}

export class LoginResult {
  @ApiProperty()
  customer: CustomerView;
  @ApiProperty()
  tokens: TokenPair;
}

export class Acknowledgement {
  @ApiProperty({ enum: [true] })
  success: true;
  @ApiProperty({ example: 'Logged out' })
  message: string;
}

export class Registration extends Acknowledgement {
  @ApiProperty()
  customer: CustomerView;
  @ApiProperty({ description: 'True until the emailed link is followed' })
  requires_verification: boolean;
}

export class EmailVerified extends Acknowledgement {
  @ApiProperty()
  customer: CustomerView;
}

export class SessionsEnded extends Acknowledgement {
  @ApiProperty({ type: 'integer', description: 'How many sessions ended', example: 3 })
  sessions_ended: number;
}
