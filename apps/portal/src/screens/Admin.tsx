import { useState } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap, type Schemas } from '../api/client';
import { useInstances } from '../api/queries';
import { useAuth } from '../auth';
import { Empty, ErrorNote, Field, Loading, StatusBadge } from '../components/ui';

type Tenant = Schemas['TenantView'];

function TenantInstances({ tenant }: { tenant: Tenant }) {
  const instances = useInstances(tenant.id);
  if (instances.isPending) return <Loading what="instances" />;
  if (instances.isError) return <ErrorNote error={instances.error} retry={() => void instances.refetch()} />;
  if (instances.data.instances.length === 0) return <Empty>No instances.</Empty>;
  return (
    <ul>
      {instances.data.instances.map((i) => (
        <li key={i.id}>
          <Link to={`/odoo/${i.id}`}>{i.name}</Link> <StatusBadge status={i.status} />{' '}
          <small>{i.subdomain}</small>
        </li>
      ))}
    </ul>
  );
}

function SuspendForm({ tenant, onDone }: { tenant: Tenant; onDone: () => void }) {
  const queries = useQueryClient();
  const [reason, setReason] = useState('');
  const suspend = tenant.status === 'active';
  const change = useMutation({
    mutationFn: () =>
      suspend
        ? unwrap(
            api.POST('/tenant/admin/tenants/{id}/suspend', {
              params: { path: { id: tenant.id } },
              body: { reason },
            }),
          )
        : unwrap(
            api.POST('/tenant/admin/tenants/{id}/activate', {
              params: { path: { id: tenant.id } },
              body: { reason },
            }),
          ),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ['admin'] });
      void queries.invalidateQueries({ queryKey: ['instances'] });
      onDone();
    },
  });
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        change.mutate();
      }}
    >
      <Field
        label={`Reason to ${suspend ? 'suspend' : 'activate'} ${tenant.name}`}
        required
        value={reason}
        onChange={(e) => setReason(e.target.value)}
      />
      {change.isError && <ErrorNote error={change.error} />}
      <button
        type="submit"
        className={suspend ? 'danger' : undefined}
        aria-busy={change.isPending}
        disabled={change.isPending || !reason}
      >
        {suspend ? 'Suspend tenant' : 'Activate tenant'}
      </button>
    </form>
  );
}

export default function Admin() {
  const { customer } = useAuth();
  const [search, setSearch] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const tenants = useQuery({
    queryKey: ['admin', 'tenants', search],
    queryFn: () =>
      unwrap(
        api.GET('/tenant/admin/tenants', {
          params: { query: { page_size: 50, ...(search ? { search } : {}) } },
        }),
      ),
    enabled: customer?.role === 'admin',
  });
  if (customer?.role !== 'admin') return <p>Only platform administrators see this page.</p>;
  return (
    <>
      <h1>Administration</h1>
      <Field
        label="Search tenants"
        type="search"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
      />
      {tenants.isPending && <Loading what="tenants" />}
      {tenants.isError && <ErrorNote error={tenants.error} retry={() => void tenants.refetch()} />}
      {tenants.isSuccess && tenants.data.tenants.length === 0 && <Empty>No tenant matches.</Empty>}
      {tenants.data?.tenants.map((t) => (
        <details
          key={t.id}
          open={open === t.id}
          onToggle={(e) => (e.currentTarget.open ? setOpen(t.id) : open === t.id && setOpen(null))}
        >
          <summary>
            {t.name} ({t.subdomain}) <StatusBadge status={t.status} /> · {t.plan} · {t.instances_used ?? 0}/
            {t.max_instances} instances
          </summary>
          {open === t.id && (
            <>
              <TenantInstances tenant={t} />
              <SuspendForm tenant={t} onDone={() => undefined} />
            </>
          )}
        </details>
      ))}
    </>
  );
}
