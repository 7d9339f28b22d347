import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  registerDecorator,
  ValidationArguments,
  ValidationOptions,
} from 'class-validator';
import {
  BACKUP_KINDS,
  BACKUP_LOCATIONS,
  type BackupLocation,
  BACKUP_STATUSES,
  BACKUP_VERIFICATIONS,
  DESIRED_STATES,
  INSTANCE_ACTIONS,
  INSTANCE_STATUSES,
  SUSPENSION_SOURCES,
  type BackupKind,
  type BackupStatus,
  type BackupVerification,
  type DesiredState,
  type InstanceAction,
  type InstanceStatus,
  type SuspensionSource,
} from '@app/contracts';
import {
  addonListProblems,
  CPU_LIMIT_MAX,
  CPU_LIMIT_MIN,
  DATABASE_NAME_PATTERN,
  environmentVarProblems,
  INSTANCE_TYPES,
  isReservedDatabaseName,
  MAX_METADATA_BYTES,
  ODOO_VERSIONS,
  RESOURCE_SIZE_PATTERN,
  subdomainProblem,
  type InstanceType,
  type OdooVersion,
} from './instance-rules';

const LowerCase = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toLowerCase() : value,
  );
const UpperCase = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toUpperCase() : value,
  );
const Trim = () =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));
/** JSON fields are kept exactly as parsed (no class-transformer copy), so they round-trip unchanged. */
const Raw = () => Transform(({ obj, key }: { obj: Record<string, unknown>; key: string }) => obj[key]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A custom rule whose message is computed from the offending value. */
function rule(
  name: string,
  problemsOf: (value: unknown) => string[],
  options?: ValidationOptions,
): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      validator: {
        validate: (value: unknown) => problemsOf(value).length === 0,
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property}: ${problemsOf(args?.value).join('; ')}`,
      },
    });
}

const IsDatabaseName = () =>
  rule('isDatabaseName', (value) => {
    if (typeof value !== 'string' || !DATABASE_NAME_PATTERN.test(value)) {
      return ['1–50 letters, digits, "_" or "-", not starting or ending with "_" or "-"'];
    }
    return isReservedDatabaseName(value) ? [`"${value}" is a reserved name`] : [];
  });

const IsSubdomain = () =>
  rule('isSubdomain', (value) => {
    if (typeof value !== 'string') return ['must be a string'];
    const problem = subdomainProblem(value);
    return problem ? [problem] : [];
  });

const IsModuleList = () =>
  rule('isModuleList', (value) =>
    Array.isArray(value) ? addonListProblems(value) : ['must be a list of module names'],
  );

const IsEnvironmentVars = () =>
  rule('isEnvironmentVars', (value) =>
    isPlainObject(value) ? environmentVarProblems(value) : ['must be an object of string values'],
  );

const IsJsonObject = () =>
  rule('isJsonObject', (value) => {
    if (!isPlainObject(value)) return ['must be a JSON object'];
    return Buffer.byteLength(JSON.stringify(value), 'utf8') > MAX_METADATA_BYTES
      ? [`must be at most ${MAX_METADATA_BYTES} bytes of JSON`]
      : [];
  });

const SIZE_MESSAGE = 'must be a whole number of megabytes or gigabytes, such as 512M or 2G';

export class CreateInstanceDto {
  @ApiProperty({ format: 'uuid', description: 'Tenant (workspace) the instance belongs to' })
  @IsUUID('all', { message: 'tenant_id must be a UUID' })
  tenant_id: string;

  @ApiProperty({ minLength: 1, maxLength: 100, example: 'Acme ERP' })
  @Trim()
  @IsString()
  @Length(1, 100)
  name: string;

  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  @ApiPropertyOptional({ enum: ODOO_VERSIONS, default: '17.0' })
  @IsOptional()
  @IsIn(ODOO_VERSIONS, { message: `odoo_version must be one of ${ODOO_VERSIONS.join(', ')}` })
  odoo_version?: OdooVersion;

  @ApiPropertyOptional({ enum: INSTANCE_TYPES, default: 'development' })
  @IsOptional()
  @IsIn(INSTANCE_TYPES, { message: `instance_type must be one of ${INSTANCE_TYPES.join(', ')}` })
  instance_type?: InstanceType;

  @ApiPropertyOptional({ minimum: CPU_LIMIT_MIN, maximum: CPU_LIMIT_MAX, default: 1, description: 'CPUs' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(CPU_LIMIT_MIN)
  @Max(CPU_LIMIT_MAX)
  cpu_limit?: number;

  @ApiPropertyOptional({ example: '2G', default: '1G', pattern: RESOURCE_SIZE_PATTERN.source })
  @IsOptional()
  @UpperCase()
  @IsString()
  @Matches(RESOURCE_SIZE_PATTERN, { message: `memory_limit ${SIZE_MESSAGE}` })
  memory_limit?: string;

  @ApiPropertyOptional({ example: '10G', default: '10G', pattern: RESOURCE_SIZE_PATTERN.source })
  @IsOptional()
  @UpperCase()
  @IsString()
  @Matches(RESOURCE_SIZE_PATTERN, { message: `storage_limit ${SIZE_MESSAGE}` })
  storage_limit?: string;

  @ApiProperty({ example: 'admin@example.com', description: 'Login of the Odoo administrator' })
  @Trim()
  @IsEmail({}, { message: 'admin_email must be an email address' })
  @MaxLength(254)
  admin_email: string;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  demo_data?: boolean;

  @ApiProperty({
    example: 'acme_prod',
    description: 'Odoo database name: 1–50 letters, digits, "_" or "-"; lower-cased; unique on the platform',
  })
  @LowerCase()
  @IsDatabaseName()
  database_name: string;

  @ApiPropertyOptional({
    example: 'acme',
    description:
      'Host under BASE_DOMAIN (3–50 letters, digits or "-"); derived from database_name when absent',
  })
  @IsOptional()
  @LowerCase()
  @IsSubdomain()
  subdomain?: string;

  @ApiPropertyOptional({ type: [String], example: ['web_responsive'] })
  @IsOptional()
  @Raw()
  @IsModuleList()
  custom_addons?: string[];

  @ApiPropertyOptional({ type: [String], example: ['website'] })
  @IsOptional()
  @Raw()
  @IsModuleList()
  disabled_modules?: string[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { ODOO_WORKERS: '2' },
    description: 'Extra container environment; the database connection variables cannot be set',
  })
  @IsOptional()
  @Raw()
  @IsEnvironmentVars()
  environment_vars?: Record<string, string>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Free-form JSON (≤16 KiB)',
  })
  @IsOptional()
  @Raw()
  @IsJsonObject()
  metadata?: Record<string, unknown>;

  @ApiPropertyOptional({
    example: 'basic-monthly',
    description: 'Billing plan (BILLING_PROVIDER=killbill): a subscription is created for the instance',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,63}$/, {
    message: 'plan_name must be a catalog plan name such as basic-monthly',
  })
  plan_name?: string;
}

/** Only these can change after creation; a limit change is applied to the container by a job. */
export class UpdateInstanceDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 100 })
  @IsOptional()
  @Trim()
  @IsString()
  @Length(1, 100)
  name?: string;

  @ApiPropertyOptional({ type: String, maxLength: 500, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;

  @ApiPropertyOptional({ minimum: CPU_LIMIT_MIN, maximum: CPU_LIMIT_MAX })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(CPU_LIMIT_MIN)
  @Max(CPU_LIMIT_MAX)
  cpu_limit?: number;

  @ApiPropertyOptional({ example: '2G', pattern: RESOURCE_SIZE_PATTERN.source })
  @IsOptional()
  @UpperCase()
  @IsString()
  @Matches(RESOURCE_SIZE_PATTERN, { message: `memory_limit ${SIZE_MESSAGE}` })
  memory_limit?: string;

  @ApiPropertyOptional({ example: '10G', pattern: RESOURCE_SIZE_PATTERN.source })
  @IsOptional()
  @UpperCase()
  @IsString()
  @Matches(RESOURCE_SIZE_PATTERN, { message: `storage_limit ${SIZE_MESSAGE}` })
  storage_limit?: string;
}

export class ListInstancesQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID('all', { message: 'tenant_id must be a UUID' })
  tenant_id?: string;

  @ApiPropertyOptional({ enum: INSTANCE_STATUSES })
  @IsOptional()
  @IsIn(INSTANCE_STATUSES, { message: 'status must be an instance status' })
  status?: InstanceStatus;

  @ApiPropertyOptional({ minimum: 1, default: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100000)
  page?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 10 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  page_size?: number;
}

export class InstanceActionDto {
  @ApiProperty({ enum: INSTANCE_ACTIONS })
  @IsIn(INSTANCE_ACTIONS, { message: `action must be one of ${INSTANCE_ACTIONS.join(', ')}` })
  action: InstanceAction;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'backup: {name?}; restore: {backup_id} (required); upgrade: {version?} (a later or the same Odoo version); ' +
      'the other actions take none',
    example: {},
  })
  @IsOptional()
  @Raw()
  @IsObject()
  parameters?: Record<string, unknown>;
}

export class LogsQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  lines?: number;
}

export class EventsQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

// ---- responses (OpenAPI) ----

export class InstanceUsageDto {
  @ApiProperty({ nullable: true, type: Number, description: "Bytes in the instance's volume" })
  storage_bytes: number | null;
  @ApiProperty({ nullable: true, type: Number, description: "pg_database_size of the instance's database" })
  database_bytes: number | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time', description: 'null: not measured yet' })
  measured_at: string | null;
}

export class InstanceResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) tenant_id: string;
  @ApiProperty({ format: 'uuid', description: 'The user who created it' }) customer_id: string;
  @ApiProperty() name: string;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty({ enum: ODOO_VERSIONS }) odoo_version: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The container image the instance runs (null until it was first provisioned)',
    example: 'odoo:17.0',
  })
  image: string | null;
  @ApiProperty({ enum: INSTANCE_TYPES }) instance_type: string;
  @ApiProperty({ enum: INSTANCE_STATUSES, description: 'Observed status' }) status: InstanceStatus;
  @ApiProperty({ enum: DESIRED_STATES, description: 'What the platform converges the instance to' })
  desired_state: DesiredState;
  @ApiProperty() cpu_limit: number;
  @ApiProperty({ example: '2G' }) memory_limit: string;
  @ApiProperty({ example: '10G' }) storage_limit: string;
  @ApiProperty() admin_email: string;
  @ApiProperty() database_name: string;
  @ApiProperty() subdomain: string;
  @ApiProperty() demo_data: boolean;
  @ApiProperty({ type: [String] }) custom_addons: string[];
  @ApiProperty({ type: [String] }) disabled_modules: string[];
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  environment_vars: Record<string, string>;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata: Record<string, unknown>;
  @ApiProperty({ nullable: true, type: String }) plan_name: string | null;
  @ApiProperty({ nullable: true, type: String }) external_url: string | null;
  @ApiProperty({ nullable: true, type: String }) internal_url: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Set while the status is error' })
  error_message: string | null;
  @ApiProperty({ nullable: true, type: String }) status_reason: string | null;
  @ApiProperty({
    enum: SUSPENSION_SOURCES,
    isArray: true,
    description: 'Who holds the instance suspended; the customer may lift only `customer`',
  })
  suspension_sources: SuspensionSource[];
  @ApiProperty({ type: InstanceUsageDto, description: 'Storage as the worker last measured it' })
  usage: InstanceUsageDto;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) started_at: string | null;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time' }) updated_at: string;
}

export class CreatedInstanceResponseDto extends InstanceResponseDto {
  @ApiProperty({
    description:
      'Password of the Odoo administrator: shown in this response only, never stored in plain text',
  })
  admin_password: string;
}

export class InstanceListResponseDto {
  @ApiProperty({ type: [InstanceResponseDto] }) instances: InstanceResponseDto[];
  @ApiProperty() total: number;
  @ApiProperty() page: number;
  @ApiProperty() page_size: number;
}

export class ActionAcceptedDto {
  @ApiProperty({
    example: '<instance_id>:start:4',
    description: 'Deterministic: <instance>:<job>:<generation>',
  })
  job_id: string;
  @ApiProperty({ format: 'uuid' }) instance_id: string;
  @ApiProperty({ enum: INSTANCE_ACTIONS }) action: InstanceAction;
  @ApiProperty({ enum: ['queued'] }) status: 'queued';
  @ApiProperty({ enum: INSTANCE_STATUSES, description: 'Observed status when the action was accepted' })
  instance_status: InstanceStatus;
  @ApiProperty({ enum: DESIRED_STATES }) desired_state: DesiredState;
}

export class PendingOperationDto {
  @ApiProperty({ enum: ['restart', 'backup', 'restore', 'upgrade', 'migrate'] }) action: string;
  @ApiProperty() job_id: string;
  @ApiProperty({ format: 'date-time' }) requested_at: string;
}

export class InstanceStatusDto {
  @ApiProperty({ format: 'uuid' }) instance_id: string;
  @ApiProperty({ enum: INSTANCE_STATUSES }) status: InstanceStatus;
  @ApiProperty({ enum: DESIRED_STATES }) desired_state: DesiredState;
  @ApiProperty({ type: [String], enum: INSTANCE_ACTIONS }) allowed_actions: InstanceAction[];
  @ApiProperty({ nullable: true, type: PendingOperationDto }) pending_operation: PendingOperationDto | null;
  @ApiProperty({ nullable: true, type: String }) status_reason: string | null;
  @ApiProperty({ nullable: true, type: String }) last_error: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) started_at: string | null;
  @ApiProperty({ nullable: true, type: String }) external_url: string | null;
  @ApiProperty({ nullable: true, type: String }) internal_url: string | null;
  @ApiProperty({ format: 'date-time' }) updated_at: string;
}

export class InstanceEventDto {
  @ApiProperty() id: string;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'create, the user action, desired:<state>, a job…',
  })
  action: string | null;
  @ApiProperty({ nullable: true, type: String, enum: INSTANCE_STATUSES }) from_status: string | null;
  @ApiProperty({ enum: INSTANCE_STATUSES }) to_status: string;
  @ApiProperty({ enum: DESIRED_STATES }) desired_state: string;
  @ApiProperty({ description: 'User id, or the service / worker component that made the change' })
  actor: string;
  @ApiProperty({ nullable: true, type: String }) reason: string | null;
  @ApiProperty({ nullable: true, type: String }) job_id: string | null;
  @ApiProperty() generation: number;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

export class InstanceEventsResponseDto {
  @ApiProperty({ format: 'uuid' }) instance_id: string;
  @ApiProperty({ type: [InstanceEventDto] }) events: InstanceEventDto[];
}

export class BackupDto {
  @ApiProperty({ format: 'uuid' }) backup_id: string;
  @ApiProperty({
    enum: BACKUP_KINDS,
    description:
      'scheduled (daily, grandfather-father-son retention), manual (capped per day, newest N kept), ' +
      'pre_restore / pre_upgrade / pre_migrate (safety copies, kept 7 days), final (taken at termination, kept until the purge)',
  })
  kind: BackupKind;
  @ApiProperty({ enum: BACKUP_STATUSES, description: 'completed: every file re-read and its sha256 matched' })
  status: BackupStatus;
  @ApiProperty({
    nullable: true,
    type: String,
    enum: BACKUP_VERIFICATIONS,
    description:
      'Test restore into a scratch database: passed (Odoo schema present, res_users has rows, table count ' +
      "matches the dump's manifest) or failed; null until it ran",
  })
  verification: BackupVerification | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) verified_at: string | null;
  @ApiProperty({ nullable: true, type: String }) verification_error: string | null;
  @ApiProperty() odoo_version: string;
  @ApiProperty({ nullable: true, type: Number, description: 'bytes' }) database_size: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'bytes' }) data_size: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'bytes' }) total_size: number | null;
  @ApiProperty({ nullable: true, type: String }) database_sha256: string | null;
  @ApiProperty({ nullable: true, type: String }) filestore_sha256: string | null;
  @ApiProperty() requested_by: string;
  @ApiProperty({ nullable: true, type: String }) error: string | null;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) completed_at: string | null;
  @ApiProperty({
    enum: BACKUP_LOCATIONS,
    isArray: true,
    description:
      "Where the backup is kept: local (the worker's host) while completed; s3 once its off-host copy " +
      '(BACKUP_S3_*) was uploaded and checked. Empty while running or failed.',
  })
  locations: BackupLocation[];
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'When the off-host copy was uploaded and checked; null without one (yet)',
  })
  offsite_copied_at: string | null;
}

export class BackupListResponseDto {
  @ApiProperty({ format: 'uuid' }) instance_id: string;
  @ApiProperty() instance_name: string;
  @ApiProperty({ type: [BackupDto] }) backups: BackupDto[];
  @ApiProperty() total_backups: number;
}

export class InstanceLogsDto {
  @ApiProperty({ format: 'uuid' }) instance_id: string;
  @ApiProperty() container_name: string;
  @ApiProperty({ description: 'Number of lines returned' }) lines: number;
  @ApiProperty({ type: [String] }) logs: string[];
}

export class SubdomainAvailabilityDto {
  @ApiProperty() subdomain: string;
  @ApiProperty() available: boolean;
  @ApiProperty({ example: 'Available', enum: ['Available', 'Already taken', 'Reserved'] }) message: string;
}
