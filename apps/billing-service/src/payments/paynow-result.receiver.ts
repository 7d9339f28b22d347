import { HttpStatus, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { ApiRawRoute, errorResponse } from '@app/http';
import type { ErrorEnvelope } from '@app/http';
import { errorMessage } from '../common/ids';
import { PAYNOW_RESULT_PATH } from '../config/env';
import { InvalidStatusUpdateError, PaymentGateway } from './payment-gateway';
import { PaymentMetrics } from './payment-metrics';
import { ResultInboxProcessor } from './result-inbox.processor';
import { ResultInboxWriter } from './result-inbox.writer';

const BODY_LIMIT = 64 * 1024;

/**
 * POST /api/billing/webhooks/paynow — PayNow's result URL (form-encoded status updates).
 * Its own Fastify context keeps the raw body. A missing or wrong hash is 400 and nothing is stored; otherwise the
 * raw update is stored durably, 200 is answered at once (an unknown reference too, so PayNow stops retrying) and
 * the processor does the rest.
 */
@ApiRawRoute({
  method: 'post',
  path: PAYNOW_RESULT_PATH,
  models: [],
  operation: {
    tags: ['webhooks'],
    operationId: 'PaynowResult_receive',
    summary: "PayNow's status updates (the result URL given with every payment)",
    description:
      'Authenticated by the message itself: its `hash` (SHA-512 of the values in order and the integration key) ' +
      'is verified in constant time. The update is stored before the answer and only prompts a confirming poll.',
    security: [],
    requestBody: {
      required: true,
      content: {
        'application/x-www-form-urlencoded': {
          schema: {
            type: 'object',
            required: ['reference', 'amount', 'paynowreference', 'pollurl', 'status', 'hash'],
            properties: {
              reference: { type: 'string' },
              amount: { type: 'string', example: '5.00' },
              paynowreference: { type: 'string' },
              pollurl: { type: 'string' },
              status: { type: 'string', example: 'Paid' },
              hash: { type: 'string' },
            },
          },
        },
      },
    },
    responses: {
      '200': {
        description: 'Stored (or an unknown reference, ignored)',
        content: { 'text/plain': { schema: { type: 'string', example: 'OK' } } },
      },
      '400': errorResponse(400, ['INVALID_STATUS_UPDATE']),
      '503': errorResponse(503, ['DEPENDENCY_UNAVAILABLE']),
    },
  },
})
@Injectable()
export class PaynowResultReceiver implements OnModuleInit {
  private readonly logger = new Logger('PaynowResultReceiver');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly gateway: PaymentGateway,
    private readonly writer: ResultInboxWriter,
    private readonly processor: ResultInboxProcessor,
    private readonly metrics: PaymentMetrics,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify?.register) throw new Error('the PayNow result receiver needs the Fastify adapter');
    void fastify.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) =>
        done(null, body),
      );
      scope.post(PAYNOW_RESULT_PATH, (request, reply) => this.receive(request, reply));
    });
  }

  private async receive(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const body = typeof request.body === 'string' ? request.body : '';
    let update;
    try {
      update = this.gateway.readStatusUpdate(body);
    } catch (error) {
      if (!(error instanceof InvalidStatusUpdateError)) throw error;
      this.metrics.resultPosts.inc({ result: 'invalid' });
      this.logger.warn({ msg: 'status update refused', reason: error.message, ip: request.ip });
      return this.error(request, reply, HttpStatus.BAD_REQUEST, error.code, error.message);
    }
    const stored = this.metrics.resultStore.startTimer();
    try {
      await this.writer.store({ body, reference: update.reference, gatewayStatus: update.gatewayStatus });
    } catch (error) {
      this.metrics.resultPosts.inc({ result: 'error' });
      this.logger.error({ msg: 'could not store a PayNow status update', error: errorMessage(error) });
      // Not 2xx: PayNow retries, and the poller does not need it anyway.
      return this.error(
        request,
        reply,
        HttpStatus.SERVICE_UNAVAILABLE,
        'DEPENDENCY_UNAVAILABLE',
        'retry later',
      );
    }
    stored();
    this.metrics.resultPosts.inc({ result: 'stored' });
    this.processor.kick();
    return reply.code(200).type('text/plain').send('OK');
  }

  private error(
    request: FastifyRequest,
    reply: FastifyReply,
    status: HttpStatus,
    code: string,
    message: string,
  ) {
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
