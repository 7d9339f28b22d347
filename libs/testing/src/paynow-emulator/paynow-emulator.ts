/**
 * PayNow emulator: a test double of PayNow's merchant interface (developers.paynow.co.zw), for the billing
 * service's tests. The product never depends on it. See README.md.
 */
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Fields, get, hashOf, localPhone, parseForm, signed } from './paynow-wire';
import { ResultPoster, ResultPostOptions } from './result-poster';

export type PaynowTxStatus =
  | 'Created'
  | 'Sent'
  | 'Paid'
  | 'Awaiting Delivery'
  | 'Delivered'
  | 'Cancelled'
  | 'Disputed'
  | 'Refunded'
  | 'Failed';

export interface PaynowEmulatorOptions extends Partial<ResultPostOptions> {
  integrationId?: string;
  integrationKey?: string;
  /** In test mode `authemail` must be this address (PayNow requires the merchant's own email). */
  merchantEmail?: string;
  /** Test mode: only the documented test phone numbers work. Default true. */
  testMode?: boolean;
  /** Emulated milliseconds per real millisecond (default 1; 0 = the clock moves only with advance()). */
  timeScale?: number;
  /** Outside test mode, a mobile payment is paid this long after it starts (emulated ms). */
  livePaidAfterMs?: number;
  /** When set, a paid payment moves on to Delivered this long after (emulated ms): a second "paid" update. */
  deliveredAfterMs?: number;
}

export interface PaynowTransaction {
  paynowReference: string;
  guid: string;
  reference: string;
  amount: string;
  /** What the status updates and polls report (tamperAmount changes it). */
  reportedAmount: string;
  method: string | null;
  phone: string | null;
  authEmail: string | null;
  resultUrl: string;
  returnUrl: string;
  status: PaynowTxStatus;
  history: { status: PaynowTxStatus; at: number }[];
  polls: number;
}

interface Scheduled {
  at: number;
  paynowReference: string;
  status: PaynowTxStatus;
}

/** The documented test numbers (developers.paynow.co.zw "Test Mode"). */
export const PAYNOW_TEST_PHONES = {
  paidAfter5s: '0771111111',
  paidAfter30s: '0772222222',
  cancelledAfter30s: '0773333333',
  insufficientBalance: '0774444444',
} as const;

const EXPRESS_METHODS = ['ecocash', 'onemoney', 'innbucks', 'paygo', 'vmc', 'zimswitch'];

export class PaynowEmulator {
  readonly integrationId: string;
  readonly integrationKey: string;
  readonly merchantEmail: string;
  readonly results: ResultPoster;
  private readonly transactions = new Map<string, PaynowTransaction>();
  private readonly byGuid = new Map<string, string>();
  private scheduled: Scheduled[] = [];
  private server: http.Server | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private counter = 9500;
  private readonly realStart = Date.now();
  private offset = 0;
  url = '';
  /** Every request received (path, status). */
  readonly requests: { method: string; path: string; status: number }[] = [];

  constructor(private readonly options: PaynowEmulatorOptions = {}) {
    this.integrationId = options.integrationId ?? '1201';
    this.integrationKey = options.integrationKey ?? randomUUID();
    this.merchantEmail = options.merchantEmail ?? 'merchant@saasodoo.test';
    this.results = new ResultPoster(this.integrationKey, options);
  }

  async start(port = 0): Promise<{ url: string }> {
    const server = http.createServer((req, res) => this.onRequest(req, res));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.ticker = setInterval(() => this.processDue(), 5);
    this.ticker.unref();
    return { url: this.url };
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.results.stop();
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** The emulated clock (ms). */
  now(): number {
    return this.realStart + (Date.now() - this.realStart) * (this.options.timeScale ?? 1) + this.offset;
  }

  /** Moves the emulated clock and applies every status change that became due. */
  advance(ms: number): void {
    this.offset += ms;
    this.processDue();
  }

  transaction(reference: string): PaynowTransaction | undefined {
    return [...this.transactions.values()].find((t) => t.reference === reference);
  }

  list(): PaynowTransaction[] {
    return [...this.transactions.values()];
  }

  /** Completes a web payment as the customer would on the browser URL page. */
  completeWebPayment(reference: string, outcome: 'pay' | 'cancel' = 'pay'): void {
    const tx = this.require(reference);
    if (tx.status !== 'Created' && tx.status !== 'Sent')
      throw new Error(`payment ${reference} is ${tx.status}`);
    this.setStatus(tx, outcome === 'pay' ? 'Paid' : 'Cancelled');
  }

  /** From now on the updates and polls of this payment report another amount (an amount-mismatch test). */
  tamperAmount(reference: string, amount: string): void {
    this.require(reference).reportedAmount = amount;
  }

  /** Sets a status now (Refunded, Disputed…), with its status update. */
  setStatus(tx: PaynowTransaction, status: PaynowTxStatus): void {
    tx.status = status;
    tx.history.push({ status, at: this.now() });
    this.results.post(tx.resultUrl, tx.reference, this.statusFields(tx));
    if (status === 'Paid' && this.options.deliveredAfterMs !== undefined) {
      this.schedule(tx, 'Delivered', this.options.deliveredAfterMs);
    }
  }

  private require(reference: string): PaynowTransaction {
    const tx = this.transaction(reference);
    if (!tx) throw new Error(`no PayNow transaction with reference ${reference}`);
    return tx;
  }

  private schedule(tx: PaynowTransaction, status: PaynowTxStatus, afterMs: number): void {
    this.scheduled.push({ at: this.now() + afterMs, paynowReference: tx.paynowReference, status });
  }

  private processDue(): void {
    const now = this.now();
    const due = this.scheduled.filter((s) => s.at <= now).sort((a, b) => a.at - b.at);
    if (due.length === 0) return;
    this.scheduled = this.scheduled.filter((s) => s.at > now);
    for (const item of due) {
      const tx = this.transactions.get(item.paynowReference);
      if (tx) this.setStatus(tx, item.status);
    }
  }

  private pollUrl(tx: PaynowTransaction): string {
    return `${this.url}/Interface/CheckPayment/?guid=${tx.guid}`;
  }

  private statusFields(tx: PaynowTransaction): Fields {
    return [
      ['reference', tx.reference],
      ['amount', tx.reportedAmount],
      ['paynowreference', tx.paynowReference],
      ['pollurl', this.pollUrl(tx)],
      ['status', tx.status],
    ];
  }

  // ------------------------------------------------------------------------------------------------ HTTP

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.processDue();
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://paynow.local');
      const path = url.pathname.toLowerCase().replace(/\/+$/, '');
      const reply = this.route(req.method ?? 'GET', path, url, body);
      this.requests.push({ method: req.method ?? 'GET', path: url.pathname, status: reply.status });
      res.writeHead(reply.status, reply.headers ?? { 'content-type': 'text/plain; charset=utf-8' });
      res.end(reply.body);
    });
  }

  private route(
    method: string,
    path: string,
    url: URL,
    body: string,
  ): { status: number; body: string; headers?: Record<string, string> } {
    if (method === 'POST' && path === '/interface/initiatetransaction') return this.initiate(body, false);
    if (method === 'POST' && path === '/interface/remotetransaction') return this.initiate(body, true);
    if (method === 'POST' && path === '/interface/checkpayment') {
      const ref = this.byGuid.get(url.searchParams.get('guid') ?? '');
      const tx = ref ? this.transactions.get(ref) : undefined;
      if (!tx) return this.error('Invalid transaction.');
      tx.polls++;
      return { status: 200, body: signed(this.statusFields(tx), this.integrationKey) };
    }
    const page = /^\/payment\/confirmpayment\/(\d+)$/.exec(path);
    if (page) {
      const tx = this.transactions.get(page[1]);
      if (!tx) return { status: 404, body: 'Not found' };
      if (method === 'GET') return this.browserPage(tx);
      if (method === 'POST' && (tx.status === 'Created' || tx.status === 'Sent')) {
        this.setStatus(tx, get(parseForm(body), 'action') === 'cancel' ? 'Cancelled' : 'Paid');
      }
      return { status: 302, body: '', headers: { location: tx.returnUrl } };
    }
    return { status: 404, body: 'Not found' };
  }

  private initiate(body: string, express: boolean) {
    const fields = parseForm(body);
    const given = get(fields, 'hash');
    if (get(fields, 'id') !== this.integrationId) return this.error('Invalid Id.');
    const expected = hashOf(fields, this.integrationKey);
    if (given?.toUpperCase() !== expected) {
      return this.error(`Invalid Hash.  Hash should start with: ${expected.slice(0, 6)}`);
    }
    const reference = get(fields, 'reference') ?? '';
    const amount = get(fields, 'amount') ?? '';
    const resultUrl = get(fields, 'resulturl') ?? '';
    const returnUrl = get(fields, 'returnurl') ?? '';
    const authEmail = get(fields, 'authemail') ?? null;
    if (!reference) return this.error('Missing reference.');
    if (!/^\d+(\.\d{1,2})?$/.test(amount) || Number(amount) <= 0) return this.error('Invalid amount.');
    if (!resultUrl || !returnUrl) return this.error('Missing resulturl or returnurl.');
    if (get(fields, 'status')?.toLowerCase() !== 'message') return this.error('Invalid status.');
    if (express && !authEmail) return this.error('authemail is required for express checkout.');
    if (this.options.testMode !== false && authEmail && authEmail !== this.merchantEmail) {
      return this.error(
        'The integration is in test mode: authemail must be the email address of the merchant account.',
      );
    }
    let phone: string | null = null;
    const method = express ? (get(fields, 'method') ?? '').toLowerCase() : null;
    if (express) {
      if (!method || !EXPRESS_METHODS.includes(method)) return this.error('Invalid payment method.');
      phone = localPhone(get(fields, 'phone') ?? '');
      if (!phone) return this.error('Invalid phone number.');
      if (phone === PAYNOW_TEST_PHONES.insufficientBalance) return this.error('Insufficient balance');
      const known = (Object.values(PAYNOW_TEST_PHONES) as string[]).includes(phone);
      if (this.options.testMode !== false && !known) {
        return this.error('The integration is in test mode: use one of the test phone numbers.');
      }
    }
    const tx: PaynowTransaction = {
      paynowReference: String(++this.counter),
      guid: randomUUID(),
      reference,
      amount,
      reportedAmount: amount,
      method,
      phone,
      authEmail,
      resultUrl,
      returnUrl,
      status: express ? 'Sent' : 'Created',
      history: [],
      polls: 0,
    };
    tx.history.push({ status: tx.status, at: this.now() });
    this.transactions.set(tx.paynowReference, tx);
    this.byGuid.set(tx.guid, tx.paynowReference);
    if (phone === PAYNOW_TEST_PHONES.paidAfter5s) this.schedule(tx, 'Paid', 5_000);
    else if (phone === PAYNOW_TEST_PHONES.paidAfter30s) this.schedule(tx, 'Paid', 30_000);
    else if (phone === PAYNOW_TEST_PHONES.cancelledAfter30s) this.schedule(tx, 'Cancelled', 30_000);
    else if (phone) this.schedule(tx, 'Paid', this.options.livePaidAfterMs ?? 5_000);
    const answer: Fields = express
      ? [
          ['status', 'Ok'],
          ['instructions', `Dial *151*2*4# and enter your PIN to approve ${amount} for ${reference}`],
          ['paynowreference', tx.paynowReference],
          ['pollurl', this.pollUrl(tx)],
        ]
      : [
          ['status', 'Ok'],
          ['browserurl', `${this.url}/Payment/ConfirmPayment/${tx.paynowReference}`],
          ['pollurl', this.pollUrl(tx)],
          ['paynowreference', tx.paynowReference],
        ];
    return { status: 200, body: signed(answer, this.integrationKey) };
  }

  private error(message: string) {
    return {
      status: 200,
      body: signed(
        [
          ['status', 'Error'],
          ['error', message],
        ],
        this.integrationKey,
      ),
    };
  }

  private browserPage(tx: PaynowTransaction) {
    const form = (action: string, label: string) =>
      `<form method="post"><input type="hidden" name="action" value="${action}"><button>${label}</button></form>`;
    return {
      status: 200,
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body:
        `<!doctype html><html><body><h1>Paynow (emulator)</h1><p>Payment ${tx.paynowReference}: ` +
        `${tx.amount} for ${tx.reference.replace(/[<>&"]/g, '')} (${tx.status})</p>` +
        form('pay', 'Pay') +
        form('cancel', 'Cancel') +
        '</body></html>',
    };
  }
}
