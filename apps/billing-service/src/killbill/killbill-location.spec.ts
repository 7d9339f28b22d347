import { idFromLocation } from './killbill-location';

describe('idFromLocation (contract §1.2)', () => {
  const id = '3f1e2d4c-5b6a-4789-8abc-0123456789ab';

  it.each([
    [`http://killbill:8080/1.0/kb/accounts/${id}`, id],
    [`http://killbill:8080/1.0/kb/subscriptions/${id}`, id],
    [`http://killbill:8080/1.0/kb/invoicePayments/${id}/`, id],
    [`/1.0/kb/tenants/${id}`, id],
    [`https://kb.example/1.0/kb/accounts/${id.toUpperCase()}`, id],
    [`http://kb/1.0/kb/accounts/${id}/invoices?startDate=2025-01-01&invoicesFilter=${id}`, null],
    ['http://killbill:8080/1.0/kb/catalog', null],
    ['http://killbill:8080/1.0/kb/tenants/registerNotificationCallback', null],
    [undefined, null],
    ['', null],
  ])('%s → %s', (location, expected) => {
    expect(idFromLocation(location)).toBe(expected);
  });
});
