import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  Equals,
  IsBoolean,
  IsEmail,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
} from 'class-validator';
import { IsPasswordPolicy } from '../security/password-policy';
import {
  IsTimeZone,
  LANGUAGE_PATTERN,
  NAME_PATTERN,
  NormaliseEmail,
  PHONE_PATTERN,
  TOKEN_PATTERN,
  Trim,
} from '../users/profile-fields';

export class EmailDto {
  @ApiProperty({ example: 'jane@example.com' })
  @NormaliseEmail()
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email: string;
}

export class RegisterDto extends EmailDto {
  @ApiProperty({ description: '8–128 characters with upper, lower, digit and special character' })
  @IsString()
  @IsPasswordPolicy()
  password: string;

  @ApiProperty({ example: 'Jane' })
  @Trim()
  @IsString()
  @Length(1, 50)
  @Matches(NAME_PATTERN, { message: 'first_name contains characters that are not allowed' })
  first_name: string;

  @ApiProperty({ example: 'Doe' })
  @Trim()
  @IsString()
  @Length(1, 50)
  @Matches(NAME_PATTERN, { message: 'last_name contains characters that are not allowed' })
  last_name: string;

  @ApiProperty({ description: 'Must be true' })
  @IsBoolean()
  @Equals(true, { message: 'accept_terms must be true' })
  accept_terms: boolean;

  @ApiPropertyOptional({ example: '+263771234567' })
  @IsOptional()
  @Matches(PHONE_PATTERN, { message: 'phone must be an E.164 number such as +263771234567' })
  phone?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @Trim()
  @IsString()
  @Length(1, 100)
  company?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @Trim()
  @IsString()
  @Length(1, 50)
  country?: string;

  @ApiPropertyOptional({ example: 'Africa/Harare' })
  @IsOptional()
  @IsTimeZone()
  timezone?: string;

  @ApiPropertyOptional({ example: 'en' })
  @IsOptional()
  @IsString()
  @MaxLength(10)
  @Matches(LANGUAGE_PATTERN, { message: 'language must be a language tag such as en or pt-BR' })
  language?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  marketing_consent?: boolean;
}

export class LoginDto extends EmailDto {
  @ApiProperty()
  @IsString()
  @Length(1, 128)
  password: string;

  @ApiPropertyOptional({ description: 'Session of 30 days instead of 7' })
  @IsOptional()
  @IsBoolean()
  remember_me?: boolean;
}

export class RefreshDto {
  @ApiPropertyOptional({ description: 'Required, unless ?session=cookie (then it must be absent)' })
  @IsOptional()
  @IsString()
  @Matches(TOKEN_PATTERN, { message: 'refresh_token is malformed' })
  refresh_token?: string;
}

export class TokenDto {
  @ApiProperty({ description: 'The token from the emailed link' })
  @IsString()
  @Matches(TOKEN_PATTERN, { message: 'token is malformed' })
  token: string;
}

export class PasswordResetCompleteDto extends TokenDto {
  @ApiProperty()
  @IsString()
  @IsPasswordPolicy()
  new_password: string;
}

export class PasswordChangeDto {
  @ApiProperty()
  @IsString()
  @Length(1, 128)
  current_password: string;

  @ApiProperty()
  @IsString()
  @IsPasswordPolicy()
  new_password: string;
}
