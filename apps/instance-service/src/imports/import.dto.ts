import { ApiProperty, IntersectionType, PartialType, PickType } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { CreateInstanceDto } from '../instances/instance.dto';

/** The multipart form of an import, for the OpenAPI document: the creation fields, then the zip. */
export class ImportInstanceFormDto extends CreateInstanceDto {
  @ApiProperty({
    type: 'string',
    format: 'binary',
    description:
      "An Odoo database-manager backup zip (dump.sql, filestore/, manifest.json), as Odoo's database manager and " +
      'GET …/backups/{backup_id}/download make it. The last part of the form.',
  })
  file: unknown;
}

/** `{target: "new", name, …}`: a staging copy of the backup as a new instance of the same tenant. */
export class RestoreToNewInstanceDto extends IntersectionType(
  PickType(CreateInstanceDto, ['name', 'description', 'subdomain'] as const),
  PartialType(PickType(CreateInstanceDto, ['database_name'] as const)),
) {
  @ApiProperty({
    enum: ['new'],
    description:
      'Where the backup goes: `new` makes a new instance (a staging copy). A restore over the instance itself ' +
      'stays the `restore` action (POST …/actions).',
  })
  @IsIn(['new'], { message: 'target must be "new" (restore in place is POST /actions {"action":"restore"})' })
  target: 'new';
}
