import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, fieldErrors, unwrap, type Schemas } from '../api/client';
import { usePlans, useTenants } from '../api/queries';
import { useAuth } from '../auth';
import { ErrorNote, Field, Loading, money } from '../components/ui';
import { useSubdomainCheck } from './Dashboard';

type Created = Schemas['CreatedInstanceResponseDto'];
const VERSIONS = ['17.0', '18.0', '16.0'] as const;

function CopyButton({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="secondary small"
      onClick={() =>
        void navigator.clipboard?.writeText(text).then(
          () => setCopied(true),
          () => setCopied(false),
        )
      }
    >
      {copied ? 'Copied' : 'Copy password'}
    </button>
  );
}

function Done({ created, payNow }: { created: Created; payNow: boolean }) {
  return (
    <article>
      <h1>{created.name} is on its way</h1>
      <p>
        Odoo administrator: <strong>{created.admin_email}</strong>
      </p>
      <p>
        Password (shown only this once; keep it safe):{' '}
        <code className="secret" data-testid="admin-password">
          {created.admin_password}
        </code>{' '}
        <CopyButton text={created.admin_password} />
      </p>
      <p>
        {payNow ? (
          <Link role="button" to="/payments">
            Pay the first invoice
          </Link>
        ) : (
          <Link role="button" to={`/odoo/${created.id}`}>
            Open {created.name}
          </Link>
        )}
      </p>
    </article>
  );
}

export default function CreateInstance() {
  const { customer } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const tenants = useTenants();
  const plans = usePlans();
  const [step, setStep] = useState(1);
  const [form, setForm] = useState({
    tenant_id: params.get('tenant') ?? '',
    plan_name: '',
    name: '',
    subdomain: '',
    odoo_version: '17.0' as (typeof VERSIONS)[number],
    demo_data: false,
    addons: '',
    payNow: false,
  });
  const check = useSubdomainCheck(form.subdomain, 'instance');
  const billingOff =
    plans.isError && plans.error instanceof ApiError && plans.error.code === 'BILLING_DISABLED';
  const planList = plans.data?.plans ?? [];
  const chosenPlan = planList.find((p) => p.name === form.plan_name);
  // Plans without prices (billing off) are optional; priced plans must be chosen. The first trial plan is preselected.
  const priced = planList.some((p) => p.price != null);
  if (!form.plan_name && planList.length > 0 && priced) {
    const first = planList.find((p) => p.trial_length > 0) ?? planList[0];
    setForm({ ...form, plan_name: first.name });
  }

  const create = useMutation({
    mutationFn: async () => {
      const tenantId = form.tenant_id || tenants.data?.tenants[0]?.id || '';
      const body = {
        tenant_id: tenantId,
        name: form.name,
        odoo_version: form.odoo_version,
        admin_email: customer?.email ?? '',
        demo_data: form.demo_data,
        subdomain: form.subdomain,
        database_name: form.subdomain.replace(/-/g, '_'),
        custom_addons: form.addons.split(/[\s,]+/).filter(Boolean),
        ...(form.plan_name && !form.payNow ? { plan_name: form.plan_name } : {}),
      };
      const created = await unwrap(api.POST('/instance/api/v1/instances', { body }));
      if (form.plan_name && form.payNow) {
        await unwrap(
          api.POST('/billing/api/billing/subscriptions', {
            body: { plan_name: form.plan_name, instance_id: created.id, skip_trial: true },
          }),
        );
      }
      return created;
    },
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ['instances'] });
      void queries.invalidateQueries({ queryKey: ['tenants'] });
      void queries.invalidateQueries({ queryKey: ['billing'] });
    },
  });
  const errors = fieldErrors(create.error);

  if (create.isSuccess) return <Done created={create.data} payNow={form.payNow} />;
  if (tenants.isPending) return <Loading what="your workspaces" />;
  if (tenants.isError) return <ErrorNote error={tenants.error} retry={() => void tenants.refetch()} />;
  const writable = tenants.data.tenants.filter((t) => t.my_role === 'owner' || t.my_role === 'admin');
  if (writable.length === 0) {
    return (
      <p className="empty">
        You need a workspace where you are owner or admin first.{' '}
        <Link to="/">Create one on the dashboard</Link>.
      </p>
    );
  }
  const fieldStep = (field: string) => (['plan_name'].includes(field) ? 1 : 2);
  const firstErrorStep = Object.keys(errors).map(fieldStep).sort()[0];
  if (firstErrorStep && firstErrorStep < step && create.isError) setStep(firstErrorStep);

  return (
    <>
      <h1>Launch an Odoo instance</h1>
      <p>Step {step} of 3</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (step < 3) setStep(step + 1);
          else create.mutate();
        }}
      >
        {step === 1 && (
          <fieldset>
            <legend>Choose a plan</legend>
            {writable.length > 1 && (
              <label>
                Workspace
                <select
                  value={form.tenant_id}
                  onChange={(e) => setForm({ ...form, tenant_id: e.target.value })}
                >
                  {writable.map((t) => (
                    <option key={t.id} value={t.id}>
                      {t.name}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {plans.isPending && <Loading what="plans" />}
            {billingOff && <p>Billing is off on this platform: instances run without a plan.</p>}
            {plans.isError && !billingOff && (
              <ErrorNote error={plans.error} retry={() => void plans.refetch()} />
            )}
            {plans.isSuccess && planList.length === 0 && (
              <p className="empty">No plans on sale: the instance runs on the platform defaults.</p>
            )}
            <div className="cards">
              {planList.map((p) => (
                <label key={p.name} className="plan">
                  <input
                    type="radio"
                    name="plan"
                    value={p.name}
                    checked={form.plan_name === p.name}
                    onChange={() => setForm({ ...form, plan_name: p.name })}
                  />
                  <strong>{p.product ?? p.name}</strong> <small>({p.name})</small> —{' '}
                  {p.price == null
                    ? 'no charge'
                    : `${money(p.price, p.currency)} / ${(p.billing_period ?? 'month').toLowerCase()}`}
                  <br />
                  <small>
                    {p.entitlements
                      ? `${p.entitlements.cpu_limit} CPU · ${p.entitlements.memory_limit} memory · ${p.entitlements.storage_limit} storage`
                      : 'Platform default resources'}
                    {p.trial_length > 0
                      ? ` · ${p.trial_length} ${(p.trial_time_unit ?? 'days').toLowerCase()} free trial`
                      : ''}
                  </small>
                </label>
              ))}
            </div>
            {errors.plan_name && (
              <small className="field-error" role="alert">
                {errors.plan_name}
              </small>
            )}
          </fieldset>
        )}
        {step === 2 && (
          <fieldset>
            <legend>Name, address and Odoo</legend>
            <Field
              label="Instance name"
              required
              maxLength={100}
              value={form.name}
              onChange={(e) => setForm({ ...form, name: e.target.value })}
              error={errors.name}
            />
            <Field
              label="Subdomain"
              required
              pattern="[a-z0-9][a-z0-9\-]{1,48}[a-z0-9]"
              value={form.subdomain}
              onChange={(e) => setForm({ ...form, subdomain: e.target.value.toLowerCase() })}
              error={
                errors.subdomain ??
                errors.database_name ??
                (check && !check.available ? check.reason : undefined)
              }
              hint={
                check?.available
                  ? `${form.subdomain} is available`
                  : '3–50 lower-case letters, digits and hyphens'
              }
            />
            <label>
              Odoo version
              <select
                value={form.odoo_version}
                onChange={(e) =>
                  setForm({ ...form, odoo_version: e.target.value as (typeof VERSIONS)[number] })
                }
              >
                {VERSIONS.map((v) => (
                  <option key={v} value={v}>
                    Odoo {v}
                  </option>
                ))}
              </select>
            </label>
            <label>
              <input
                type="checkbox"
                role="switch"
                checked={form.demo_data}
                onChange={(e) => setForm({ ...form, demo_data: e.target.checked })}
              />
              Load demo data
            </label>
            <Field
              label="Extra addons (optional)"
              value={form.addons}
              onChange={(e) => setForm({ ...form, addons: e.target.value })}
              hint="Module names separated by commas, e.g. web_responsive"
              error={errors.custom_addons}
            />
          </fieldset>
        )}
        {step === 3 && (
          <fieldset>
            <legend>Trial or pay now</legend>
            {chosenPlan ? (
              <>
                <label>
                  <input
                    type="radio"
                    name="pay"
                    checked={!form.payNow}
                    onChange={() => setForm({ ...form, payNow: false })}
                    disabled={chosenPlan.trial_length === 0}
                  />
                  Start the free trial
                  {chosenPlan.trial_length > 0
                    ? ` (${chosenPlan.trial_length} ${(chosenPlan.trial_time_unit ?? 'days').toLowerCase()})`
                    : ' (this plan has none)'}
                </label>
                <label>
                  <input
                    type="radio"
                    name="pay"
                    checked={form.payNow}
                    onChange={() => setForm({ ...form, payNow: true })}
                  />
                  Pay now ({money(chosenPlan.price, chosenPlan.currency)}): the instance starts once paid
                </label>
              </>
            ) : (
              <p>No plan chosen: the instance starts on the platform defaults.</p>
            )}
            <p>
              <strong>{form.name}</strong> · {form.subdomain} · Odoo {form.odoo_version}
              {form.demo_data ? ' · demo data' : ''}
            </p>
            {create.isError && Object.keys(errors).length === 0 && <ErrorNote error={create.error} />}
          </fieldset>
        )}
        <div className="actions">
          {step > 1 && (
            <button type="button" className="secondary" onClick={() => setStep(step - 1)}>
              Back
            </button>
          )}
          <button type="button" className="secondary outline" onClick={() => navigate('/')}>
            Cancel
          </button>
          <button
            type="submit"
            aria-busy={create.isPending}
            disabled={create.isPending || (step === 1 && priced && !form.plan_name)}
          >
            {step < 3 ? 'Next' : 'Launch'}
          </button>
        </div>
      </form>
    </>
  );
}
