import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, fieldErrors, unwrap, type Schemas } from '../api/client';
import { useAccounts, useInstances, useSubscriptions, useTenants } from '../api/queries';
import { Empty, ErrorNote, Field, Loading, StatusBadge, formatDate } from '../components/ui';

type Instance = Schemas['InstanceResponseDto'];
type Tenant = Schemas['TenantView'];

/** Debounced availability of a subdomain: null while typing or unchecked. */
export function useSubdomainCheck(
  subdomain: string,
  path: 'tenant' | 'instance',
): { available: boolean; reason: string } | null {
  const [result, setResult] = useState<{ available: boolean; reason: string } | null>(null);
  useEffect(() => {
    setResult(null);
    if (subdomain.length < 3) return;
    const timer = setTimeout(async () => {
      if (path === 'tenant') {
        const { data } = await api.GET('/tenant/api/v1/tenants/check-subdomain/{subdomain}', {
          params: { path: { subdomain } },
        });
        if (data) setResult({ available: data.available, reason: data.reason ?? 'Available' });
      } else {
        const { data } = await api.GET('/instance/api/v1/instances/check-subdomain/{subdomain}', {
          params: { path: { subdomain } },
        });
        if (data) setResult({ available: data.available, reason: data.message });
      }
    }, 350);
    return () => clearTimeout(timer);
  }, [subdomain, path]);
  return result;
}

export function CreateTenant({ first }: { first: boolean }) {
  const queries = useQueryClient();
  const [name, setName] = useState('');
  const [subdomain, setSubdomain] = useState('');
  const check = useSubdomainCheck(subdomain, 'tenant');
  const create = useMutation({
    mutationFn: () => unwrap(api.POST('/tenant/api/v1/tenants', { body: { name, subdomain } })),
    onSuccess: () => queries.invalidateQueries({ queryKey: ['tenants'] }),
  });
  const errors = fieldErrors(create.error);
  return (
    <article>
      <h2>{first ? 'Create your workspace' : 'New workspace'}</h2>
      {first && <p>A workspace holds your Odoo instances, your team and your billing.</p>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <div className="grid">
          <Field
            label="Workspace name"
            required
            value={name}
            onChange={(e) => setName(e.target.value)}
            error={errors.name}
          />
          <Field
            label="Workspace subdomain"
            required
            value={subdomain}
            onChange={(e) => setSubdomain(e.target.value.toLowerCase())}
            error={errors.subdomain ?? (check && !check.available ? check.reason : undefined)}
            hint={check?.available ? 'Available' : '3–50 lower-case letters, digits and hyphens'}
          />
        </div>
        {create.error && Object.keys(errors).length === 0 && <ErrorNote error={create.error} />}
        <button type="submit" aria-busy={create.isPending} disabled={create.isPending}>
          Create workspace
        </button>
      </form>
    </article>
  );
}

function BillingBanner({ tenants }: { tenants: Tenant[] }) {
  const accounts = useAccounts();
  const subscriptions = useSubscriptions();
  const notes: { tone: 'warn' | 'bad'; text: string; pay?: boolean }[] = [];
  for (const t of tenants.filter((t) => t.status === 'suspended')) {
    notes.push({
      tone: 'bad',
      text: `${t.name} is suspended: its instances are stopped. Contact support or pay what is due.`,
    });
  }
  for (const a of accounts.data?.accounts ?? []) {
    if (a.overdue_blocked) {
      notes.push({
        tone: 'bad',
        text: `${a.tenant_name}: suspended for non-payment. Pay the overdue invoice to resume.`,
        pay: true,
      });
    } else if (a.overdue_state && !a.overdue_state.startsWith('__')) {
      notes.push({ tone: 'bad', text: `${a.tenant_name}: payment overdue (${a.overdue_state}).`, pay: true });
    } else if ((a.balance ?? 0) > 0) {
      notes.push({
        tone: 'warn',
        text: `${a.tenant_name}: ${a.currency} ${(a.balance ?? 0).toFixed(2)} is due.`,
        pay: true,
      });
    }
    if (a.trial_ends_at) {
      const days = Math.ceil((new Date(a.trial_ends_at).getTime() - Date.now()) / 86_400_000);
      if (days >= 0 && days <= 7)
        notes.push({
          tone: 'warn',
          text: `${a.tenant_name}: the trial ends in ${days} day${days === 1 ? '' : 's'} (${formatDate(a.trial_ends_at)}).`,
        });
    }
  }
  for (const s of subscriptions.data?.subscriptions ?? []) {
    if (s.billing_status === 'payment_required') {
      notes.push({
        tone: 'warn',
        text: `Payment required: the ${s.plan_name} plan starts once its first invoice is paid.`,
        pay: true,
      });
    }
  }
  if (notes.length === 0) return null;
  return (
    <section aria-label="Billing notices">
      {notes.map((n, i) => (
        <div key={i} className={`banner ${n.tone === 'bad' ? 'bad' : ''}`} role="status">
          {n.text} {n.pay && <Link to="/payments">Go to billing</Link>}
        </div>
      ))}
    </section>
  );
}

export function InstanceCard({ instance }: { instance: Instance }) {
  return (
    <article data-instance={instance.id}>
      <header>
        <h3>
          <Link to={`/odoo/${instance.id}`}>{instance.name}</Link>
        </h3>
        <StatusBadge status={instance.status} />
      </header>
      <p>
        Odoo {instance.odoo_version}
        {instance.external_url && (
          <>
            {' · '}
            <a href={instance.external_url} target="_blank" rel="noreferrer">
              {instance.subdomain}
            </a>
          </>
        )}
      </p>
      {instance.status_reason && instance.status_reason !== instance.status && (
        <small>{instance.status_reason}</small>
      )}
    </article>
  );
}

function TenantSection({ tenant, instances }: { tenant: Tenant; instances: Instance[] }) {
  const used = tenant.instances_used ?? instances.filter((i) => i.status !== 'terminated').length;
  const writer = tenant.my_role === 'owner' || tenant.my_role === 'admin';
  return (
    <section aria-labelledby={`t-${tenant.id}`}>
      <hgroup>
        <h2 id={`t-${tenant.id}`}>{tenant.name}</h2>
        <p>
          Your role: <strong>{tenant.my_role ?? 'platform admin'}</strong> · plan {tenant.plan} ·{' '}
          <StatusBadge status={tenant.status} />
        </p>
      </hgroup>
      <label>
        Instances: {used} of {tenant.max_instances} on your plan
        <progress value={used} max={Math.max(tenant.max_instances, 1)} />
      </label>
      {instances.length === 0 ? (
        <Empty>No instances yet.</Empty>
      ) : (
        <div className="cards">
          {instances.map((i) => (
            <InstanceCard key={i.id} instance={i} />
          ))}
        </div>
      )}
      {writer && tenant.status === 'active' && used < tenant.max_instances && (
        <p>
          <Link role="button" to={`/new?tenant=${tenant.id}`}>
            Launch an Odoo instance
          </Link>
        </p>
      )}
      {writer && tenant.status === 'active' && used >= tenant.max_instances && (
        <p>
          <small>
            Your plan allows {tenant.max_instances} instance{tenant.max_instances === 1 ? '' : 's'}: terminate
            one to launch another.
          </small>
        </p>
      )}
    </section>
  );
}

export function Dashboard() {
  const tenants = useTenants();
  const instances = useInstances();
  useEffect(() => {
    if (tenants.isSuccess && instances.isSuccess) {
      performance.mark('dashboard-interactive');
      document.body.dataset.dashboardReady = 'true';
    }
  }, [tenants.isSuccess, instances.isSuccess]);
  if (tenants.isPending) return <Loading what="your workspaces" />;
  if (tenants.isError) return <ErrorNote error={tenants.error} retry={() => void tenants.refetch()} />;
  const list = tenants.data.tenants;
  return (
    <>
      <h1>Dashboard</h1>
      <BillingBanner tenants={list} />
      {list.length === 0 ? (
        <CreateTenant first />
      ) : (
        <>
          {instances.isPending && <Loading what="instances" />}
          {instances.isError && <ErrorNote error={instances.error} retry={() => void instances.refetch()} />}
          {list.map((t) => (
            <TenantSection
              key={t.id}
              tenant={t}
              instances={(instances.data?.instances ?? []).filter(
                (i) => i.tenant_id === t.id && i.status !== 'terminated',
              )}
            />
          ))}
          <details>
            <summary>Add another workspace</summary>
            <CreateTenant first={false} />
          </details>
        </>
      )}
    </>
  );
}
