import type { UserRole } from '@app/auth';
import { UserEntity } from './user.entity';

export interface CustomerView {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  is_verified: boolean;
  role: UserRole;
}

export interface ProfileView extends CustomerView {
  phone: string | null;
  company: string | null;
  country: string | null;
  timezone: string | null;
  language: string | null;
  marketing_consent: boolean;
  created_at: string;
  updated_at: string;
}

export interface AdminUserView extends ProfileView {
  is_active: boolean;
  email_verified_at: string | null;
  deactivated_at: string | null;
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
