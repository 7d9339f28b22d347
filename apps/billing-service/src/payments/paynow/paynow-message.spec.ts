import { encodePaynowMessage, field, hasValidHash, parsePaynowMessage, paynowHash } from './paynow-message';
import { paymentStatusOf as statusOf } from './paynow.gateway';

/** The test vectors of PayNow's developer docs (developers.paynow.co.zw, "Generating Hash" and "Validating Hash"). */
const DOCS_KEY = '3e9fed89-60e1-4ce5-ab6e-6b1eb2d4f977';

describe('PayNow message hash', () => {
  it('matches the docs vector for an outbound message (Generating Hash)', () => {
    const fields: [string, string][] = [
      ['id', '1201'],
      ['reference', 'TEST REF'],
      ['amount', '99.99'],
      ['additionalinfo', 'A test ticket transaction'],
      ['returnurl', 'http://www.google.com/search?q=returnurl'],
      ['resulturl', 'http://www.google.com/search?q=resulturl'],
      ['status', 'Message'],
    ];
    expect(paynowHash(fields, DOCS_KEY)).toBe(
      '2A033FC38798D913D42ECB786B9B19645ADEDBDE788862032F1BD82CF3B92DEF84F316385D5B40DBB35F1A4FD7D5BFE73835174136463CDD48C9366B0749C689',
    );
    // Encoding for the wire does not change what is hashed: the values are hashed raw.
    const wire = encodePaynowMessage(fields, DOCS_KEY);
    expect(wire).toContain('reference=TEST+REF');
    expect(hasValidHash(parsePaynowMessage(wire), DOCS_KEY)).toBe(true);
  });

  it('validates the docs vector for an inbound answer (Validating Hash), URL-decoding each value', () => {
    const answer =
      'status=Ok&browserurl=https%3a%2f%2fstaging.paynow.co.zw%2fPayment%2fConfirmPayment%2f9510&pollurl=https%3a%2f%2fstaging.paynow.co.zw%2fInterface%2fCheckPayment%2f%3fguid%3dc7ed41da-0159-46da-b428-69549f770413&paynowreference=9510&hash=750DD0B0DF374678707BB5AF915AF81C228B9058AD57BB7120569EC68BBB9C2EFC1B26C6375D2BC562AC909B3CD6B2AF1D42E1A5E479FFAC8F4FB3FDCE71DF4D';
    const fields = parsePaynowMessage(answer);
    expect(field(fields, 'pollurl')).toBe(
      'https://staging.paynow.co.zw/Interface/CheckPayment/?guid=c7ed41da-0159-46da-b428-69549f770413',
    );
    expect(hasValidHash(fields, DOCS_KEY)).toBe(true);
  });

  it('parses keys case-insensitively and still validates (PayNow capitalises some answers)', () => {
    const answer =
      'Status=Ok&BrowserUrl=https%3a%2f%2fstaging.paynow.co.zw%2fPayment%2fConfirmPayment%2f9510&PollUrl=https%3a%2f%2fstaging.paynow.co.zw%2fInterface%2fCheckPayment%2f%3fguid%3dc7ed41da-0159-46da-b428-69549f770413&PaynowReference=9510&Hash=750DD0B0DF374678707BB5AF915AF81C228B9058AD57BB7120569EC68BBB9C2EFC1B26C6375D2BC562AC909B3CD6B2AF1D42E1A5E479FFAC8F4FB3FDCE71DF4D';
    const fields = parsePaynowMessage(answer);
    expect(field(fields, 'STATUS')).toBe('Ok');
    expect(hasValidHash(fields, DOCS_KEY)).toBe(true);
  });

  it('refuses a missing hash, a changed value, a truncated hash and another key', () => {
    const fields: [string, string][] = [
      ['reference', 'r1'],
      ['amount', '5.00'],
      ['status', 'Paid'],
    ];
    const good = parsePaynowMessage(encodePaynowMessage(fields, DOCS_KEY));
    expect(hasValidHash(good, DOCS_KEY)).toBe(true);
    expect(hasValidHash(fields, DOCS_KEY)).toBe(false);
    const tampered = good.map(([k, v]) => [k, k === 'amount' ? '0.01' : v] as [string, string]);
    expect(hasValidHash(tampered, DOCS_KEY)).toBe(false);
    const truncated = good.map(([k, v]) => [k, k === 'hash' ? v.slice(0, 64) : v] as [string, string]);
    expect(hasValidHash(truncated, DOCS_KEY)).toBe(false);
    expect(hasValidHash(good, 'another-key')).toBe(false);
  });
});

describe('PayNow statuses', () => {
  it('maps every documented status, and treats anything else as a failure', () => {
    expect(
      ['Created', 'Sent', 'Paid', 'Awaiting Delivery', 'Delivered', 'Cancelled', 'Disputed', 'Refunded'].map(
        statusOf,
      ),
    ).toEqual(['pending', 'pending', 'paid', 'paid', 'paid', 'cancelled', 'disputed', 'refunded']);
    expect(statusOf('Insufficient balance')).toBe('failed');
    expect(statusOf('paid')).toBe('paid');
  });
});
