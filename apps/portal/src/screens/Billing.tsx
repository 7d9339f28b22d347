import { useState } from 'react';
import { Link, Route, Routes, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, fieldErrors, unwrap, type Schemas } from '../api/client';
import { useInvoices, usePayments, useSubscriptions } from '../api/queries';
import {
  Confirm,
  Empty,
  ErrorNote,
  Field,
  formatDate,
  Loading,
  money,
  ScrollTable,
  StatusBadge,
} from '../components/ui';

type Method = Schemas['CreatePaymentDto']['method'];

function disabledCode(error: unknown): string | null {
  return error instanceof ApiError &&
    (error.code === 'PAYMENTS_DISABLED' || error.code === 'BILLING_DISABLED')
    ? error.code
    : null;
}

function Subscriptions() {
  const subs = useSubscriptions();
  const queries = useQueryClient();
  const [cancelling, setCancelling] = useState<string | null>(null);
  const change = useMutation({
    mutationFn: ({ id, undo }: { id: string; undo: boolean }) =>
      undo
        ? unwrap(api.POST('/billing/api/billing/subscriptions/{id}/uncancel', { params: { path: { id } } }))
        : unwrap(api.DELETE('/billing/api/billing/subscriptions/{id}', { params: { path: { id } } })),
    onSettled: () => queries.invalidateQueries({ queryKey: ['billing'] }),
  });
  if (subs.isPending) return <Loading what="subscriptions" />;
  if (disabledCode(subs.error)) return <Empty>Billing is off on this platform: nothing to pay.</Empty>;
  if (subs.isError) return <ErrorNote error={subs.error} retry={() => void subs.refetch()} />;
  if (subs.data.subscriptions.length === 0)
    return <Empty>No subscriptions yet. Launching an instance with a plan starts one.</Empty>;
  return (
    <>
      <ScrollTable>
        <thead>
          <tr>
            <th scope="col">Plan</th>
            <th scope="col">State</th>
            <th scope="col">Trial ends</th>
            <th scope="col">Paid through</th>
            <th scope="col">Renewal</th>
          </tr>
        </thead>
        <tbody>
          {subs.data.subscriptions.map((s) => (
            <tr key={s.id}>
              <td>
                <Link to={`/odoo/${s.instance_id}`}>{s.plan_name}</Link>
                {s.pending_plan_name && <small> → {s.pending_plan_name}</small>}
              </td>
              <td>
                <StatusBadge status={s.entitled ? 'active' : (s.billing_status ?? s.entitlement)} />
              </td>
              <td>{formatDate(s.trial_ends_at)}</td>
              <td>{s.charged_through_date ?? '—'}</td>
              <td>
                {s.cancel_requested ? (
                  <>
                    <small>Ends {formatDate(s.cancels_at)} </small>
                    <button
                      type="button"
                      className="secondary small"
                      onClick={() => change.mutate({ id: s.id, undo: true })}
                    >
                      Keep it
                    </button>
                  </>
                ) : (
                  <button
                    type="button"
                    className="secondary outline small"
                    onClick={() => setCancelling(s.id)}
                    disabled={s.state === 'CANCELLED'}
                  >
                    Cancel at end of term
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </ScrollTable>
      {change.isError && <ErrorNote error={change.error} />}
      {cancelling && (
        <Confirm
          title="Cancel at the end of the term?"
          body={
            <p>
              The instance keeps running until the paid term ends, then stops. You can change your mind until
              then.
            </p>
          }
          confirmLabel="Cancel subscription"
          danger
          onClose={() => setCancelling(null)}
          onConfirm={() => {
            change.mutate({ id: cancelling, undo: false });
            setCancelling(null);
          }}
        />
      )}
    </>
  );
}

function Invoices() {
  const invoices = useInvoices();
  if (invoices.isPending) return <Loading what="invoices" />;
  if (disabledCode(invoices.error)) return null;
  if (invoices.isError) return <ErrorNote error={invoices.error} retry={() => void invoices.refetch()} />;
  if (invoices.data.invoices.length === 0) return <Empty>No invoices yet.</Empty>;
  return (
    <ScrollTable>
      <thead>
        <tr>
          <th scope="col">Invoice</th>
          <th scope="col">Date</th>
          <th scope="col">Amount</th>
          <th scope="col">Balance</th>
          <th scope="col">Pay</th>
        </tr>
      </thead>
      <tbody>
        {invoices.data.invoices.map((inv) => (
          <tr key={inv.id} data-invoice={inv.id}>
            <td>{inv.invoice_number ?? inv.id.slice(0, 8)}</td>
            <td>{inv.invoice_date ?? '—'}</td>
            <td>{money(inv.amount, inv.currency)}</td>
            <td>{money(inv.balance, inv.currency)}</td>
            <td>
              {inv.balance > 0 ? (
                <Link
                  role="button"
                  className="small"
                  to={`/payments/pay/${inv.id}`}
                  aria-label={`Pay invoice ${inv.invoice_number ?? inv.id.slice(0, 8)}`}
                >
                  Pay
                </Link>
              ) : (
                <StatusBadge status="paid" />
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </ScrollTable>
  );
}

function PaymentHistory() {
  const payments = usePayments();
  if (payments.isPending) return <Loading what="payments" />;
  if (disabledCode(payments.error)) return <Empty>Payments are not configured on this platform.</Empty>;
  if (payments.isError) return <ErrorNote error={payments.error} retry={() => void payments.refetch()} />;
  if (payments.data.payments.length === 0) return <Empty>No payments yet.</Empty>;
  return (
    <ScrollTable>
      <thead>
        <tr>
          <th scope="col">Date</th>
          <th scope="col">Method</th>
          <th scope="col">Amount</th>
          <th scope="col">Status</th>
        </tr>
      </thead>
      <tbody>
        {payments.data.payments.map((p) => (
          <tr key={p.id}>
            <td>
              <Link to={`/payments/${p.id}`}>{formatDate(p.created_at)}</Link>
            </td>
            <td>{p.method}</td>
            <td>{money(p.amount, p.currency)}</td>
            <td>
              <StatusBadge status={p.status} />
            </td>
          </tr>
        ))}
      </tbody>
    </ScrollTable>
  );
}

function Overview() {
  return (
    <>
      <h1>Billing</h1>
      <section aria-labelledby="subs">
        <h2 id="subs">Subscriptions</h2>
        <Subscriptions />
      </section>
      <section aria-labelledby="invoices">
        <h2 id="invoices">Invoices</h2>
        <Invoices />
      </section>
      <section aria-labelledby="payments">
        <h2 id="payments">Payment history</h2>
        <PaymentHistory />
      </section>
    </>
  );
}

function Pay() {
  const { invoiceId = '' } = useParams();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const invoices = useInvoices();
  const [method, setMethod] = useState<Method>('ecocash');
  const [phone, setPhone] = useState('');
  const pay = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/billing/api/billing/payments', {
          body: { invoice_id: invoiceId, method, ...(method === 'card' ? {} : { phone }) },
        }),
      ),
    onSuccess: (payment) => {
      void queries.invalidateQueries({ queryKey: ['billing'] });
      if (payment.method === 'card' && payment.redirect_url) window.location.assign(payment.redirect_url);
      else navigate(`/payments/${payment.id}`);
    },
  });
  const errors = fieldErrors(pay.error);
  const invoice = invoices.data?.invoices.find((i) => i.id === invoiceId);
  if (disabledCode(pay.error)) {
    return (
      <article>
        <h1>Payments are not configured</h1>
        <p>This platform takes no online payments yet. Contact support to settle the invoice.</p>
      </article>
    );
  }
  return (
    <>
      <h1>Pay an invoice</h1>
      {invoices.isPending && <Loading what="the invoice" />}
      {invoice && (
        <p>
          Invoice {invoice.invoice_number ?? invoice.id.slice(0, 8)}:{' '}
          <strong>{money(invoice.balance, invoice.currency)}</strong> due
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          pay.mutate();
        }}
      >
        <fieldset>
          <legend>Pay with</legend>
          {(
            [
              ['ecocash', 'EcoCash'],
              ['onemoney', 'OneMoney'],
              ['card', 'Card (Visa / Mastercard, on PayNow’s page)'],
            ] as const
          ).map(([value, label]) => (
            <label key={value}>
              <input
                type="radio"
                name="method"
                value={value}
                checked={method === value}
                onChange={() => setMethod(value)}
              />
              {label}
            </label>
          ))}
        </fieldset>
        {method !== 'card' && (
          <Field
            label="Mobile number"
            type="tel"
            autoComplete="tel"
            inputMode="tel"
            required
            placeholder="0771234567"
            value={phone}
            onChange={(e) => setPhone(e.target.value)}
            error={errors.phone}
            hint="The wallet's number: 07XXXXXXXX or +2637XXXXXXXX"
          />
        )}
        {pay.isError && !errors.phone && <ErrorNote error={pay.error} />}
        <button type="submit" aria-busy={pay.isPending} disabled={pay.isPending}>
          {method === 'card' ? 'Continue to card payment' : 'Send the payment request'}
        </button>
      </form>
    </>
  );
}

/** One payment, followed live: payment.changed events invalidate ['billing'] and this re-reads. */
function PaymentStatus() {
  const { paymentId = '' } = useParams();
  const payment = useQuery({
    queryKey: ['billing', 'payment', paymentId],
    queryFn: () =>
      unwrap(api.GET('/billing/api/billing/payments/{id}', { params: { path: { id: paymentId } } })),
  });
  if (payment.isPending) return <Loading what="the payment" />;
  if (payment.isError) return <ErrorNote error={payment.error} retry={() => void payment.refetch()} />;
  const p = payment.data;
  return (
    <article>
      <h1>
        Payment <StatusBadge status={p.status} />
      </h1>
      <p>
        {money(p.amount, p.currency)} by {p.method}
      </p>
      {p.status === 'pending' && (
        <>
          {p.instructions && (
            <p className="banner" role="status">
              {p.instructions}
            </p>
          )}
          <p role="status">
            <span aria-busy="true" /> Waiting for you to approve the payment on your phone… this page updates
            by itself.
          </p>
        </>
      )}
      {p.status === 'paid' && (
        <p role="status">
          Paid on {formatDate(p.paid_at)}. Thank you: your instances resume.{' '}
          <Link to="/">Back to the dashboard</Link>
        </p>
      )}
      {(p.status === 'failed' || p.status === 'cancelled') && (
        <p className="field-error" role="alert">
          The payment did not go through{p.failure_reason ? `: ${p.failure_reason}` : ''}.{' '}
          <Link to={`/payments/pay/${p.invoice_id}`}>Try again</Link>
        </p>
      )}
      <Link to="/payments">All billing</Link>
    </article>
  );
}

export default function Billing() {
  return (
    <Routes>
      <Route index element={<Overview />} />
      <Route path="pay/:invoiceId" element={<Pay />} />
      <Route path=":paymentId" element={<PaymentStatus />} />
    </Routes>
  );
}
