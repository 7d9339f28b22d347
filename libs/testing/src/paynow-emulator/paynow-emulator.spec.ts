import http from 'node:http';
import { AddressInfo } from 'node:net';
import { PaynowEmulator, PAYNOW_TEST_PHONES } from './paynow-emulator';
import { get, hashOf, parseForm, signed } from './paynow-wire';

/** A result URL that records what it receives and answers with the statuses it is given (then 200). */
async function resultUrl(statuses: number[] = []) {
  const received: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(body);
      res.writeHead(statuses.shift() ?? 200);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/result`;
  return { url, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('PayNow emulator', () => {
  let paynow: PaynowEmulator;
  let result: Awaited<ReturnType<typeof resultUrl>>;

  const initiate = async (path: string, extra: [string, string][], reference = 'ref-1') => {
    const fields: [string, string][] = [
      ['id', paynow.integrationId],
      ['reference', reference],
      ['amount', '5.00'],
      ['additionalinfo', 'Invoice 2'],
      ['returnurl', 'http://app.test/billing'],
      ['resulturl', result.url],
      ['authemail', paynow.merchantEmail],
      ...extra,
      ['status', 'Message'],
    ];
    const res = await fetch(`${paynow.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: signed(fields, paynow.integrationKey),
    });
    return parseForm(await res.text());
  };

  beforeEach(async () => {
    paynow = new PaynowEmulator({ timeScale: 0 });
    await paynow.start();
    result = await resultUrl();
  });
  afterEach(async () => {
    await paynow.stop();
    await result.close();
  });

  it('hashes like the docs (vector of "Generating Hash")', () => {
    const fields: [string, string][] = [
      ['id', '1201'],
      ['reference', 'TEST REF'],
      ['amount', '99.99'],
      ['additionalinfo', 'A test ticket transaction'],
      ['returnurl', 'http://www.google.com/search?q=returnurl'],
      ['resulturl', 'http://www.google.com/search?q=resulturl'],
      ['status', 'Message'],
    ];
    expect(hashOf(fields, '3e9fed89-60e1-4ce5-ab6e-6b1eb2d4f977')).toMatch(/^2A033FC38798D913/);
  });

  it('express checkout with 0771111111: Sent, Paid 5 s later (emulated), posted with a valid hash; the poll agrees', async () => {
    const answer = await initiate('/interface/remotetransaction', [
      ['phone', PAYNOW_TEST_PHONES.paidAfter5s],
      ['method', 'ecocash'],
    ]);
    expect(get(answer, 'status')).toBe('Ok');
    expect(get(answer, 'hash')).toBe(hashOf(answer, paynow.integrationKey));
    expect(get(answer, 'instructions')).toBeTruthy();
    paynow.advance(4_999);
    expect(paynow.transaction('ref-1')?.status).toBe('Sent');
    paynow.advance(1);
    await paynow.results.waitForIdle();
    const update = parseForm(result.received.at(-1) ?? '');
    expect(update.map(([k]) => k)).toEqual([
      'reference',
      'amount',
      'paynowreference',
      'pollurl',
      'status',
      'hash',
    ]);
    expect(get(update, 'status')).toBe('Paid');
    expect(get(update, 'hash')).toBe(hashOf(update, paynow.integrationKey));
    const poll = parseForm(await (await fetch(get(answer, 'pollurl') ?? '', { method: 'POST' })).text());
    expect(get(poll, 'status')).toBe('Paid');
    expect(get(poll, 'hash')).toBe(hashOf(poll, paynow.integrationKey));
  });

  it('0774444444 is refused at once (insufficient balance); a wrong hash or a foreign authemail is refused', async () => {
    const poor = await initiate('/interface/remotetransaction', [
      ['phone', '+263774444444'],
      ['method', 'onemoney'],
    ]);
    expect(get(poor, 'status')).toBe('Error');
    expect(get(poor, 'error')).toBe('Insufficient balance');
    const res = await fetch(`${paynow.url}/interface/initiatetransaction`, {
      method: 'POST',
      body: 'id=1201&reference=x&amount=1.00&status=Message&hash=ABC',
    });
    expect(get(parseForm(await res.text()), 'error')).toMatch(/^Invalid Hash/);
    expect(paynow.list()).toHaveLength(0);
  });

  it('0773333333 is cancelled after 30 s; updates are retried until the merchant answers 2xx', async () => {
    await result.close();
    result = await resultUrl([500, 503]);
    await initiate('/interface/remotetransaction', [
      ['phone', PAYNOW_TEST_PHONES.cancelledAfter30s],
      ['method', 'ecocash'],
    ]);
    paynow.advance(30_000);
    await paynow.results.waitForIdle();
    const post = paynow.results.posts.find((p) => p.status === 'Cancelled');
    expect(post?.attempts.map((a) => a.statusCode)).toEqual([500, 503, 200]);
    expect(post?.outcome).toBe('delivered');
  });

  it('duplicates and drops updates on request', async () => {
    paynow.results.configure({ duplicate: 3, delayMs: [0, 30], shuffle: true });
    await initiate('/interface/remotetransaction', [
      ['phone', PAYNOW_TEST_PHONES.paidAfter5s],
      ['method', 'ecocash'],
    ]);
    paynow.advance(5_000);
    await paynow.results.waitForIdle();
    expect(result.received.filter((b) => b.includes('status=Paid'))).toHaveLength(3);
    paynow.results.configure({ drop: true });
    paynow.setStatus(paynow.transaction('ref-1')!, 'Refunded');
    await paynow.results.waitForIdle();
    expect(result.received.some((b) => b.includes('status=Refunded'))).toBe(false);
  });

  it('web checkout: the browser URL page can be completed by a test', async () => {
    const answer = await initiate('/interface/initiatetransaction', [], 'web-1');
    const page = await fetch(get(answer, 'browserurl') ?? '');
    expect(await page.text()).toContain('web-1');
    const pay = await fetch(get(answer, 'browserurl') ?? '', {
      method: 'POST',
      body: 'action=pay',
      redirect: 'manual',
    });
    expect(pay.status).toBe(302);
    expect(paynow.transaction('web-1')?.status).toBe('Paid');
  });
});
