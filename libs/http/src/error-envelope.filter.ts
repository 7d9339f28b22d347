import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { DomainError } from './domain-errors';
import type { ErrorEnvelope } from './error-envelope';

const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

/** Fastify's own errors (bad JSON, body too large, wrong content type) carry a statusCode and an FST code. */
function isFastifyError(e: unknown): e is Error & { statusCode: number; code: string } {
  return e instanceof Error && typeof (e as { statusCode?: unknown }).statusCode === 'number' && 'code' in e;
}

function toEnvelope(
  exception: unknown,
  requestId: string,
): { body: ErrorEnvelope; headers: Record<string, string> } {
  let status = HttpStatus.INTERNAL_SERVER_ERROR;
  let code = 'INTERNAL_ERROR';
  let message = 'Internal server error';
  let details: unknown[] = [];
  let headers: Record<string, string> = {};

  if (exception instanceof DomainError) {
    ({ status, code, message, details, headers } = exception);
  } else if (exception instanceof HttpException) {
    status = exception.getStatus();
    code = CODE_BY_STATUS[status] ?? 'HTTP_ERROR';
    const response = exception.getResponse();
    if (typeof response === 'string') message = response;
    else {
      const m = (response as { message?: unknown }).message;
      message = Array.isArray(m) ? m.join('; ') : typeof m === 'string' ? m : exception.message;
      if (Array.isArray(m)) details = m;
    }
    if (status === HttpStatus.NOT_FOUND && /^Cannot (GET|POST|PUT|PATCH|DELETE)/.test(message)) {
      message = 'Route not found';
    }
  } else if (isFastifyError(exception) && exception.statusCode >= 400 && exception.statusCode < 500) {
    status = exception.statusCode;
    code = CODE_BY_STATUS[status] ?? 'BAD_REQUEST';
    message = exception.message;
  }
  return {
    body: {
      statusCode: status,
      error: STATUS_CODES[status] ?? 'Error',
      code,
      message,
      details,
      request_id: requestId,
    },
    headers,
  };
}

@Catch()
export class ErrorEnvelopeFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { body, headers } = toEnvelope(exception, String(request.id));
    if (body.statusCode >= 500) {
      this.logger.error({
        msg: 'unhandled error',
        request_id: request.id,
        method: request.method,
        url: request.url,
        error:
          exception instanceof Error
            ? { name: exception.name, message: exception.message, stack: exception.stack }
            : exception,
      });
    }
    void reply.status(body.statusCode).headers(headers).send(body);
  }
}
