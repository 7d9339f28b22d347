import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Authenticated, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { DOMAIN_EVENT_NAMES } from '@app/contracts';
import { EventStreamService } from './event-stream.service';

@ApiTags('events')
@Controller('api/v1/events')
export class EventStreamController {
  constructor(private readonly streams: EventStreamService) {}

  @Get('stream')
  @Authenticated()
  @ApiOperation({
    summary: 'Live domain events of the caller’s tenants and instances (Server-Sent Events)',
    description:
      `Events: ${DOMAIN_EVENT_NAMES.join(', ')}, each as \`id: <n>\`, \`event: <name>\`, \`data: <json>\`; ` +
      'only those of tenants the caller belongs to (platform admins: all). They are hints: re-read the ' +
      'resource. A comment line is sent every 15 s as heartbeat. Send `Last-Event-ID` to get the events ' +
      'missed since (from the last 1,000); when they are no longer known the stream starts with ' +
      '`event: resync` (re-read everything).',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The id of the last event received' })
  @ApiOkResponse({
    description: 'An endless text/event-stream',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  async stream(
    @CurrentUser() user: AuthenticatedUser,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    reply.hijack();
    await this.streams.stream(user, lastEventId, reply.raw);
  }
}
