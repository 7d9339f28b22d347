import { HttpStatus, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Counter, Histogram } from 'prom-client';
import { APP_CONFIG } from '@app/config';
import { ApiProperty, getSchemaPath } from '@nestjs/swagger';
import { ApiRawRoute, errorResponse, SECURITY } from '@app/http';
import type { ErrorEnvelope } from '@app/http';
import { MetricsRegistry } from '@app/metrics';
import { errorMessage } from '../common/ids';
import { counter, histogram } from '../common/metrics';
import { type Config, KILLBILL_WEBHOOK_PATH } from '../config/env';
import { InboxProcessor } from './inbox-processor.service';
import { InboxWriter } from './inbox-writer';

const BODY_LIMIT = 1024 * 1024;

type WebhookRequest = FastifyRequest<{ Querystring: { token?: string | string[] } }>;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The receiver's answer once the notification is stored (or recognised as a repeat). */
export class WebhookAck {
  @ApiProperty({ enum: ['stored', 'duplicate'] })
  status: 'stored' | 'duplicate';
}

/**
 * POST /api/billing/webhooks/killbill?token=<KILLBILL_WEBHOOK_SECRET> — Kill Bill's push notifications.
 *
 * Registered as a Fastify route in its own encapsulated context, with a parser that keeps the raw bytes
 * (the inbox stores and hashes the body exactly as sent, and a bad token is refused before any parsing).
 * It only authenticates and stores: 401 without the right token (nothing stored), otherwise the raw body
 * goes into the inbox (a repeated body is acknowledged and dropped) and 200 is answered at once; the
 * processor does the rest. The server has no 'upgrade' listener, so Kill Bill's `Upgrade: h2c` offer is
 * ignored by Node and the request arrives as a normal HTTP/1.1 request with its body (contract §2.6).
 */
@ApiRawRoute({
  method: 'post',
  path: KILLBILL_WEBHOOK_PATH,
  models: [WebhookAck],
  operation: {
    tags: ['webhooks'],
    operationId: 'KillBillWebhook_receive',
    summary: "Kill Bill's push notifications (the callback registered by the bootstrap)",
    description:
      'Authenticated by the `token` query parameter (KILLBILL_WEBHOOK_SECRET). The raw body is stored as sent, ' +
      'deduplicated, and processed later by re-reading Kill Bill; any content type is accepted.',
    security: [{ [SECURITY.killBillWebhookToken]: [] }],
    requestBody: {
      required: true,
      description: 'The notification as Kill Bill sends it (ExtBusEvent JSON)',
      content: {
        'application/json': {
          schema: { type: 'object', additionalProperties: true },
          example: { eventType: 'SUBSCRIPTION_CREATION', objectType: 'SUBSCRIPTION', accountId: '…' },
        },
      },
    },
    responses: {
      '200': {
        description: 'Stored, or a repeat of a stored notification',
        content: {
          'application/json': { schema: { $ref: getSchemaPath(WebhookAck) }, example: { status: 'stored' } },
        },
      },
      '400': errorResponse(400, ['EMPTY_NOTIFICATION']),
      '401': errorResponse(401, ['WEBHOOK_TOKEN_INVALID']),
      '413': errorResponse(413, ['PAYLOAD_TOO_LARGE']),
      '503': errorResponse(503, ['DEPENDENCY_UNAVAILABLE']),
    },
  },
})
@Injectable()
export class KillBillWebhookReceiver implements OnModuleInit {
  private readonly logger = new Logger('KillBillWebhook');
  private readonly expected: Buffer | null;
  private readonly requests: Counter<'result'>;
  private readonly storeDuration: Histogram;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly inbox: InboxWriter,
    private readonly processor: InboxProcessor,
    metrics: MetricsRegistry,
  ) {
    this.expected = config.KILLBILL_WEBHOOK_SECRET ? digest(config.KILLBILL_WEBHOOK_SECRET) : null;
    this.requests = counter(metrics, {
      name: 'billing_killbill_webhook_requests_total',
      help: 'Requests to the Kill Bill push receiver, by result (stored, duplicate, unauthorized, invalid, error)',
      labelNames: ['result'],
    });
    this.storeDuration = histogram(metrics, {
      name: 'billing_killbill_webhook_store_seconds',
      help: 'Time to store one notification in the inbox',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    });
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify?.register) throw new Error('the Kill Bill receiver needs the Fastify adapter');
    void fastify.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) =>
        done(null, body),
      );
      scope.post(KILLBILL_WEBHOOK_PATH, (request: WebhookRequest, reply) => this.receive(request, reply));
    });
  }

  private async receive(request: WebhookRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (!this.authorized(request.query.token)) {
      this.requests.inc({ result: 'unauthorized' });
      return this.error(
        request,
        reply,
        HttpStatus.UNAUTHORIZED,
        'WEBHOOK_TOKEN_INVALID',
        'Missing or wrong token',
      );
    }
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      this.requests.inc({ result: 'invalid' });
      return this.error(
        request,
        reply,
        HttpStatus.BAD_REQUEST,
        'EMPTY_NOTIFICATION',
        'The notification has no body',
      );
    }
    const stop = this.storeDuration.startTimer();
    try {
      const result = await this.inbox.store(body.toString('utf8'));
      stop();
      this.requests.inc({ result: result.stored ? 'stored' : 'duplicate' });
      if (result.stored) this.processor.kick();
      const ack: WebhookAck = { status: result.stored ? 'stored' : 'duplicate' };
      return reply.code(200).send(ack);
    } catch (error) {
      this.requests.inc({ result: 'error' });
      this.logger.error({ msg: 'could not store a Kill Bill notification', error: errorMessage(error) });
      // Not 2xx: Kill Bill keeps the notification and retries it.
      return this.error(
        request,
        reply,
        HttpStatus.SERVICE_UNAVAILABLE,
        'DEPENDENCY_UNAVAILABLE',
        'The notification could not be stored; retry later',
      );
    }
  }

  private authorized(token: string | string[] | undefined): boolean {
    if (!this.expected || typeof token !== 'string') return false;
    return timingSafeEqual(digest(token), this.expected);
  }

  private error(
    request: FastifyRequest,
    reply: FastifyReply,
    status: HttpStatus,
    code: string,
    message: string,
  ): FastifyReply {
    const body: ErrorEnvelope = {
      statusCode: status,
      error: STATUS_CODES[status] ?? 'Error',
      code,
      message,
      details: [],
      request_id: String(request.id),
    };
    return reply.code(status).send(body);
  }
}
