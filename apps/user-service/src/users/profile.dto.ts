import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  Equals,
  IsBoolean,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { IsTimeZone, LANGUAGE_PATTERN, NAME_PATTERN, PHONE_PATTERN, Trim } from './profile-fields';

/** Every field is optional; the optional contact fields accept null to clear them. */
export class UpdateProfileDto {
  @ApiPropertyOptional()
  @ValidateIf((o: UpdateProfileDto) => o.first_name !== undefined)
  @Trim()
  @IsString()
  @Length(1, 50)
  @Matches(NAME_PATTERN, { message: 'first_name contains characters that are not allowed' })
  first_name?: string;

  @ApiPropertyOptional()
  @ValidateIf((o: UpdateProfileDto) => o.last_name !== undefined)
  @Trim()
  @IsString()
  @Length(1, 50)
  @Matches(NAME_PATTERN, { message: 'last_name contains characters that are not allowed' })
  last_name?: string;

  @ApiPropertyOptional({ type: String, nullable: true, example: '+263771234567' })
  @IsOptional()
  @Matches(PHONE_PATTERN, { message: 'phone must be an E.164 number such as +263771234567' })
  phone?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional()
  @Trim()
  @IsString()
  @Length(1, 100)
  company?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional()
  @Trim()
  @IsString()
  @Length(1, 50)
  country?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'Africa/Harare' })
  @IsOptional()
  @IsTimeZone()
  timezone?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'en' })
  @IsOptional()
  @IsString()
  @MaxLength(10)
  @Matches(LANGUAGE_PATTERN, { message: 'language must be a language tag such as en or pt-BR' })
  language?: string | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  marketing_consent?: boolean;
}

export class DeleteAccountQueryDto {
  @ApiProperty({ enum: ['DELETE'], description: 'Must be DELETE' })
  @Equals('DELETE', { message: 'confirmation must be DELETE' })
  confirmation: string;

  @ApiPropertyOptional({
    description: 'true: terminate the live instances of your tenants too (otherwise they make it a 409)',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'terminate_instances must be true or false' })
  terminate_instances?: boolean;
}

export class DeleteAccountDto {
  @ApiProperty({ description: 'The current password of the account' })
  @IsString()
  @Length(1, 1024)
  password: string;
}
