/**
 * PayNow's message format, written independently of the billing service's client (so a hashing mistake there
 * is caught here): form-encoded fields, SHA-512 over the raw values in message order plus the integration
 * key, upper-case hex (developers.paynow.co.zw "Generating Hash").
 */
import { createHash } from 'node:crypto';

export type Fields = [string, string][];

export function hashOf(fields: Fields, key: string): string {
  let text = '';
  for (const [name, value] of fields) if (name.toLowerCase() !== 'hash') text += value;
  return createHash('sha512')
    .update(text + key, 'utf8')
    .digest('hex')
    .toUpperCase();
}

export function parseForm(body: string): Fields {
  return [...new URLSearchParams(body)].map(([k, v]) => [k.toLowerCase(), v]);
}

export function get(fields: Fields, name: string): string | undefined {
  return fields.find(([k]) => k === name.toLowerCase())?.[1];
}

/** A form body with its hash as the last field. */
export function signed(fields: Fields, key: string): string {
  const params = new URLSearchParams(fields);
  params.append('hash', hashOf(fields, key));
  return params.toString();
}

/** 07XXXXXXXX from 07…, 2637… or +2637…; null when it is not a Zimbabwean mobile number. */
export function localPhone(phone: string): string | null {
  const compact = phone.replace(/[\s-]/g, '');
  const match = /^(?:\+?263|0)(7\d{8})$/.exec(compact);
  return match ? `0${match[1]}` : null;
}
