import { Injectable } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsEmail, MaxLength } from 'class-validator';
import { ApiProperty } from '@nestjs/swagger';
import { InternalUser } from '@app/contracts';
import { NotFoundError } from '@app/http';
import { UsersRepository } from '../users/users.repository';
import type { UserEntity } from '../users/user.entity';

export class LookupUserQuery {
  @ApiProperty({ example: 'jane@example.com' })
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toLowerCase() : value,
  )
  @IsEmail()
  @MaxLength(255)
  email: string;
}

/** What other services need to address a customer: the contract's InternalUser and a few more fields. */
export class ContactCard extends InternalUser {
  @ApiProperty()
  is_verified: boolean;
  @ApiProperty({ type: 'string', nullable: true, example: 'en' })
  language: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'Africa/Harare' })
  timezone: string | null;
}

@Injectable()
export class InternalUsersService {
  constructor(private readonly users: UsersRepository) {}

  /** What other services need to address a customer (emails, admin screens). */
  async contactCard(id: string): Promise<ContactCard> {
    return this.card(await this.users.findById(id));
  }

  async contactCardByEmail(email: string): Promise<ContactCard> {
    return this.card(await this.users.findByEmail(email));
  }

  private card(user: UserEntity | null): ContactCard {
    if (!user) throw new NotFoundError('User', 'USER_NOT_FOUND');
    return {
      id: user.id,
      email: user.email,
      first_name: user.firstName,
      last_name: user.lastName,
      role: user.role,
      is_active: user.isActive,
      is_verified: user.isVerified,
      language: user.language,
      timezone: user.timezone,
    };
  }
}
