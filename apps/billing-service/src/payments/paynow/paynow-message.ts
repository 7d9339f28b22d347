import { createHash, timingSafeEqual } from 'node:crypto';

/** One PayNow message: its fields in message order, keys lower-cased (PayNow capitalises some answers). */
export type PaynowFields = [key: string, value: string][];

/**
 * PayNow's hash (developers.paynow.co.zw "Generating Hash"): the raw values in message order, `hash` left out,
 * then the integration key, SHA-512 of the UTF-8 string as upper-case hex. Values are never URL-encoded first
 * (the npm `paynow` package does, which is why its users see "Hashes do not match").
 */
export function paynowHash(fields: PaynowFields, integrationKey: string): string {
  const joined = fields
    .filter(([key]) => key.toLowerCase() !== 'hash')
    .map(([, value]) => value)
    .join('');
  return createHash('sha512')
    .update(joined + integrationKey, 'utf8')
    .digest('hex')
    .toUpperCase();
}

/** Parses a form-encoded message (`a=1&b=2`), decoding values, lower-casing keys, keeping the order. */
export function parsePaynowMessage(body: string): PaynowFields {
  const fields: PaynowFields = [];
  for (const [key, value] of new URLSearchParams(body.trim())) fields.push([key.toLowerCase(), value]);
  return fields;
}

/** The form body of an outbound message, with its hash appended. */
export function encodePaynowMessage(fields: PaynowFields, integrationKey: string): string {
  const params = new URLSearchParams();
  for (const [key, value] of fields) params.append(key, value);
  params.append('hash', paynowHash(fields, integrationKey));
  return params.toString();
}

export function field(fields: PaynowFields, key: string): string | undefined {
  const wanted = key.toLowerCase();
  return fields.find(([k]) => k === wanted)?.[1];
}

/** True when the message carries a hash that matches its values (compared in constant time). */
export function hasValidHash(fields: PaynowFields, integrationKey: string): boolean {
  const given = field(fields, 'hash');
  if (!given) return false;
  const expected = Buffer.from(paynowHash(fields, integrationKey), 'utf8');
  const actual = Buffer.from(given.toUpperCase(), 'utf8');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
