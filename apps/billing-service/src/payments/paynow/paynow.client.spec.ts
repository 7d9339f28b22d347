import { returnUrlFor } from './paynow.client';

describe('returnUrlFor', () => {
  const id = '6f1c1d9e-0f43-4b1f-9d1e-2a6c4d3b2a10';

  it('puts the payment id where {payment_id} stands, as written or as the URL parser escaped it', () => {
    expect(returnUrlFor('https://app.example.co.zw/payments/{payment_id}', id)).toBe(
      `https://app.example.co.zw/payments/${id}`,
    );
    expect(returnUrlFor(new URL('https://app.example.co.zw/p/{payment_id}?x=1').href, id)).toBe(
      `https://app.example.co.zw/p/${id}?x=1`,
    );
  });

  it('leaves a URL without the placeholder as it is', () => {
    expect(returnUrlFor('https://app.example.co.zw/payments', id)).toBe('https://app.example.co.zw/payments');
  });
});
