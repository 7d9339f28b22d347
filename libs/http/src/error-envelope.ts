import { ApiProperty } from '@nestjs/swagger';

/** The one error body every service answers with (the global filter writes it; OpenAPI documents it). */
export class ErrorEnvelope {
  @ApiProperty({ type: 'integer', description: 'The HTTP status, repeated in the body', example: 400 })
  statusCode: number;

  @ApiProperty({ description: 'The HTTP reason phrase', example: 'Bad Request' })
  error: string;

  @ApiProperty({ description: 'Stable machine-readable code; each operation lists the ones it can return' })
  code: string;

  @ApiProperty({
    description: 'Human-readable explanation',
    example: 'email: email must be an email address',
  })
  message: string;

  @ApiProperty({
    type: 'array',
    items: {},
    description: 'Structured details, for VALIDATION_FAILED one {field, problems} per field',
    example: [{ field: 'email', problems: ['email must be an email address'] }],
  })
  details: unknown[];

  @ApiProperty({
    description: 'The request id (also in the x-request-id response header)',
    example: 'req-3f6c2a9e',
  })
  request_id: string;
}
