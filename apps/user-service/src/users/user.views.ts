import { ApiProperty } from '@nestjs/swagger';
import { USER_ROLES } from '@app/auth';
import type { UserRole } from '@app/auth';
import { UserEntity } from './user.entity';

export class CustomerView {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ example: 'jane@example.com' })
  email: string;
  @ApiProperty({ example: 'Jane' })
  first_name: string;
  @ApiProperty({ example: 'Doe' })
  last_name: string;
  @ApiProperty()
  is_verified: boolean;
  @ApiProperty({ enum: USER_ROLES })
  role: UserRole;
}

export class ProfileView extends CustomerView {
  @ApiProperty({ type: 'string', nullable: true, example: '+263771234567' })
  phone: string | null;
  @ApiProperty({ type: 'string', nullable: true })
  company: string | null;
  @ApiProperty({ type: 'string', nullable: true })
  country: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'Africa/Harare' })
  timezone: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'en' })
  language: string | null;
  @ApiProperty()
  marketing_consent: boolean;
  @ApiProperty({ format: 'date-time' })
  created_at: string;
  @ApiProperty({ format: 'date-time' })
  updated_at: string;
}

export class AdminUserView extends ProfileView {
  @ApiProperty()
  is_active: boolean;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  email_verified_at: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  deactivated_at: string | null;
  @ApiProperty({ type: 'string', nullable: true })
  supabase_user_id: string | null;
}

export function customerView(user: UserEntity): CustomerView {
  return {
    id: user.id,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    is_verified: user.isVerified,
    role: user.role,
  };
}

export function profileView(user: UserEntity): ProfileView {
  return {
    ...customerView(user),
    phone: user.phone,
    company: user.company,
    country: user.country,
    timezone: user.timezone,
    language: user.language,
    marketing_consent: user.marketingConsent,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

export function adminUserView(user: UserEntity): AdminUserView {
  return {
    ...profileView(user),
    is_active: user.isActive,
    email_verified_at: user.emailVerifiedAt?.toISOString() ?? null,
    deactivated_at: user.deactivatedAt?.toISOString() ?? null,
    supabase_user_id: user.supabaseUserId,
  };
}
