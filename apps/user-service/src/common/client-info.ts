import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

export interface ClientInfo {
  /** The client's address: the TCP peer, or X-Forwarded-For when the peer is in TRUSTED_PROXIES. */
  ip: string;
  user_agent: string | null;
  request_id: string;
}

export const Client = createParamDecorator((_: unknown, context: ExecutionContext): ClientInfo => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  const agent = request.headers['user-agent'];
  return {
    ip: request.ip,
    user_agent: typeof agent === 'string' ? agent : null,
    request_id: String(request.id),
  };
});
