const TRAILING_UUID = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i;

/**
 * The id Kill Bill puts in the Location of a 201 (contract §1.2): the last UUID of the path, with or
 * without a trailing slash (`/invoicePayments/{id}/` has one), absolute or path-only, query ignored.
 * Null when the Location names no object (`/1.0/kb/catalog`, `/overdue`...).
 */
export function idFromLocation(location: string | undefined | null): string | null {
  if (!location) return null;
  let path: string;
  try {
    path = new URL(location, 'http://killbill.invalid').pathname;
  } catch {
    return null;
  }
  const match = TRAILING_UUID.exec(path);
  return match ? match[1].toLowerCase() : null;
}
