import axios, { AxiosInstance } from 'axios';
import http from 'node:http';
import https from 'node:https';
import { field, hasValidHash, parsePaynowMessage, PaynowFields, encodePaynowMessage } from './paynow-message';

export interface PaynowSettings {
  /** https://www.paynow.co.zw (or the emulator). */
  url: string;
  integrationId: string;
  integrationKey: string;
  resultUrl: string;
  /** Where PayNow sends the customer back; `{payment_id}` in it becomes the payment's id (our reference). */
  returnUrl: string;
  timeoutMs: number;
}

export interface PaynowInitiation {
  reference: string;
  amount: number;
  additionalInfo: string;
  authEmail: string;
}

export interface PaynowExpressInitiation extends PaynowInitiation {
  method: 'ecocash' | 'onemoney' | 'innbucks' | 'paygo' | 'vmc' | 'zimswitch';
  phone: string;
}

export type PaynowInitiationAnswer =
  | {
      ok: true;
      pollUrl: string;
      browserUrl: string | null;
      instructions: string | null;
      paynowReference: string | null;
    }
  | { ok: false; error: string };

/** The fields PayNow posts to the result URL, and answers to a poll. */
export interface PaynowStatus {
  reference: string;
  amount: string | null;
  paynowReference: string | null;
  pollUrl: string | null;
  status: string;
}

/** The answer was not what PayNow documents: a bad hash, no status, not form-encoded. */
export class PaynowProtocolError extends Error {}
/** PayNow could not be reached, timed out, or answered with an HTTP error. */
export class PaynowUnavailableError extends Error {}

function amountText(amount: number): string {
  return amount.toFixed(2);
}

/**
 * A small typed PayNow client (no SDK: the npm `paynow` package ships no types, URL-encodes values before
 * hashing and swallows errors). Every request is hashed; every answer is verified before it is believed.
 */
export class PaynowClient {
  private readonly http: AxiosInstance;
  private readonly origin: string;

  constructor(private readonly settings: PaynowSettings) {
    this.origin = new URL(settings.url).origin;
    this.http = axios.create({
      timeout: settings.timeoutMs,
      maxRedirects: 0,
      proxy: false,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }),
      httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 64 }),
    });
  }

  /** Web checkout: the customer completes the payment on PayNow's page (browserurl). */
  initiate(request: PaynowInitiation): Promise<PaynowInitiationAnswer> {
    return this.post('/interface/initiatetransaction', this.baseFields(request));
  }

  /** Express (mobile) checkout: PayNow pushes a prompt to the phone and answers with instructions. */
  initiateExpress(request: PaynowExpressInitiation): Promise<PaynowInitiationAnswer> {
    const fields = this.baseFields(request);
    fields.splice(fields.length - 1, 0, ['phone', request.phone], ['method', request.method]);
    return this.post('/interface/remotetransaction', fields);
  }

  /** An empty POST to the poll URL; the answer is verified. Only poll URLs on PAYNOW_URL's origin are followed. */
  async poll(pollUrl: string): Promise<PaynowStatus> {
    if (new URL(pollUrl).origin !== this.origin) {
      throw new PaynowProtocolError(`poll URL ${pollUrl} is not on ${this.origin}`);
    }
    return this.status(await this.send(pollUrl, ''));
  }

  /** Reads a status update posted to the result URL; throws PaynowProtocolError when its hash is wrong. */
  readStatusUpdate(body: string): PaynowStatus {
    return this.status(parsePaynowMessage(body));
  }

  private status(fields: PaynowFields): PaynowStatus {
    if (!hasValidHash(fields, this.settings.integrationKey)) {
      throw new PaynowProtocolError('missing or wrong hash');
    }
    const status = field(fields, 'status');
    const reference = field(fields, 'reference');
    if (!status || !reference)
      throw new PaynowProtocolError('a status update needs a status and a reference');
    return {
      reference,
      amount: field(fields, 'amount') ?? null,
      paynowReference: field(fields, 'paynowreference') ?? null,
      pollUrl: field(fields, 'pollurl') ?? null,
      status,
    };
  }

  private baseFields(request: PaynowInitiation): PaynowFields {
    return [
      ['id', this.settings.integrationId],
      ['reference', request.reference],
      ['amount', amountText(request.amount)],
      ['additionalinfo', request.additionalInfo],
      ['returnurl', returnUrlFor(this.settings.returnUrl, request.reference)],
      ['resulturl', this.settings.resultUrl],
      ['authemail', request.authEmail],
      ['status', 'Message'],
    ];
  }

  private async post(path: string, fields: PaynowFields): Promise<PaynowInitiationAnswer> {
    const answer = await this.send(
      `${this.settings.url}${path}`,
      encodePaynowMessage(fields, this.settings.integrationKey),
    );
    const status = field(answer, 'status');
    if (status?.toLowerCase() === 'error') {
      // PayNow does not hash its error answers; an error can only make us keep nothing, so it is believed
      // unless it carries a hash that is wrong.
      if (field(answer, 'hash') && !hasValidHash(answer, this.settings.integrationKey)) {
        throw new PaynowProtocolError('error answer with a wrong hash');
      }
      return { ok: false, error: field(answer, 'error') ?? 'unspecified error' };
    }
    if (status?.toLowerCase() !== 'ok')
      throw new PaynowProtocolError(`unexpected status ${status ?? '(none)'}`);
    if (!hasValidHash(answer, this.settings.integrationKey)) {
      throw new PaynowProtocolError('missing or wrong hash on the answer');
    }
    const pollUrl = field(answer, 'pollurl');
    if (!pollUrl) throw new PaynowProtocolError('the answer has no pollurl');
    return {
      ok: true,
      pollUrl,
      browserUrl: field(answer, 'browserurl') ?? null,
      instructions: field(answer, 'instructions') ?? null,
      paynowReference: field(answer, 'paynowreference') ?? null,
    };
  }

  private async send(url: string, body: string): Promise<PaynowFields> {
    let response;
    try {
      response = await this.http.post<string>(url, body, {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
    } catch (error) {
      throw new PaynowUnavailableError(error instanceof Error ? error.message : String(error));
    }
    if (response.status < 200 || response.status >= 300) {
      throw new PaynowUnavailableError(`HTTP ${response.status}`);
    }
    return parsePaynowMessage(typeof response.data === 'string' ? response.data : '');
  }
}

/** The return URL of one payment: `{payment_id}` (also as the URL parser escapes it) replaced by its id. */
export function returnUrlFor(template: string, paymentId: string): string {
  return template.replace(/\{payment_id\}|%7Bpayment_id%7D/gi, encodeURIComponent(paymentId));
}
