import { useEffect, useMemo, useRef, useState } from 'react';
import { Link, NavLink, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, fieldErrors, unwrap, type Schemas } from '../api/client';
import { isNotFound, usePlans, useTenants } from '../api/queries';
import {
  Confirm,
  Empty,
  ErrorNote,
  Field,
  formatBytes,
  formatDate,
  Loading,
  ScrollTable,
  StatusBadge,
} from '../components/ui';

type Instance = Schemas['InstanceResponseDto'];
type Action = Schemas['InstanceActionDto']['action'];
const TABS = ['overview', 'actions', 'logs', 'backups', 'activity', 'settings'] as const;

function useInstance(id: string) {
  return useQuery({
    queryKey: ['instances', id],
    queryFn: () => unwrap(api.GET('/instance/api/v1/instances/{id}', { params: { path: { id } } })),
  });
}

function useStatus(id: string) {
  return useQuery({
    queryKey: ['instances', id, 'status'],
    queryFn: () => unwrap(api.GET('/instance/api/v1/instances/{id}/status', { params: { path: { id } } })),
  });
}

function useAct(id: string) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (input: { action: Action; parameters?: Record<string, unknown> }) =>
      unwrap(api.POST('/instance/api/v1/instances/{id}/actions', { params: { path: { id } }, body: input })),
    onSettled: () => queries.invalidateQueries({ queryKey: ['instances'] }),
  });
}

function Overview({ instance }: { instance: Instance }) {
  return (
    <dl className="facts">
      <dt>URL</dt>
      <dd>
        {instance.external_url ? (
          <a href={instance.external_url} target="_blank" rel="noreferrer">
            {instance.external_url}
          </a>
        ) : (
          '—'
        )}
      </dd>
      <dt>Status</dt>
      <dd>
        <StatusBadge status={instance.status} /> (wanted: {instance.desired_state})
        {instance.status_reason && instance.status_reason !== instance.status && (
          <>
            <br />
            <small>{instance.status_reason}</small>
          </>
        )}
      </dd>
      <dt>Odoo version</dt>
      <dd>{instance.odoo_version}</dd>
      <dt>Plan</dt>
      <dd>{instance.plan_name ?? '—'}</dd>
      <dt>Resources</dt>
      <dd>
        {instance.cpu_limit} CPU · {instance.memory_limit} memory · {instance.storage_limit} storage
      </dd>
      <dt>Storage used</dt>
      <dd>
        {formatBytes(instance.usage?.storage_bytes)} files · {formatBytes(instance.usage?.database_bytes)}{' '}
        database
      </dd>
      <dt>Admin login</dt>
      <dd>{instance.admin_email}</dd>
      <dt>Created</dt>
      <dd>{formatDate(instance.created_at)}</dd>
      {instance.error_message && (
        <>
          <dt>Last error</dt>
          <dd className="field-error">{instance.error_message}</dd>
        </>
      )}
    </dl>
  );
}

const ACTION_INFO: { action: Action; label: string; confirm?: string; danger?: boolean }[] = [
  { action: 'start', label: 'Start' },
  { action: 'stop', label: 'Stop', confirm: 'Users are logged out and Odoo stops until you start it again.' },
  { action: 'restart', label: 'Restart', confirm: 'Odoo is unavailable for a few seconds.' },
  { action: 'suspend', label: 'Suspend', confirm: 'Odoo stops and stays stopped until you resume it.' },
  { action: 'unsuspend', label: 'Resume' },
  {
    action: 'upgrade',
    label: 'Upgrade',
    confirm: 'A backup is taken first; Odoo restarts on the same version.',
  },
  {
    action: 'terminate',
    label: 'Terminate',
    confirm: 'The instance, its database and files are deleted. This cannot be undone.',
    danger: true,
  },
];

function why(status: string, pending: string | undefined, writer: boolean): string {
  if (!writer) return 'Viewers cannot change instances';
  if (pending) return `Waiting for ${pending} to finish`;
  return `Not possible while ${status.replace(/_/g, ' ')}`;
}

function Actions({ instance, writer }: { instance: Instance; writer: boolean }) {
  const status = useStatus(instance.id);
  const act = useAct(instance.id);
  const [asking, setAsking] = useState<(typeof ACTION_INFO)[number] | null>(null);
  if (status.isPending) return <Loading what="allowed actions" />;
  if (status.isError) return <ErrorNote error={status.error} retry={() => void status.refetch()} />;
  const allowed = new Set(writer ? status.data.allowed_actions : []);
  const run = (action: Action) => {
    setAsking(null);
    act.mutate({ action });
  };
  return (
    <>
      <div className="actions">
        {ACTION_INFO.filter((a) => a.action !== 'unsuspend' || instance.status === 'suspended').map((a) => {
          const ok = allowed.has(a.action);
          const reasonId = `why-${a.action}`;
          return (
            <div key={a.action}>
              <button
                type="button"
                className={a.danger ? 'danger' : undefined}
                disabled={!ok || act.isPending}
                aria-describedby={ok ? undefined : reasonId}
                onClick={() => (a.confirm ? setAsking(a) : run(a.action))}
              >
                {a.label}
              </button>
              {!ok && (
                <small id={reasonId}>
                  {why(status.data.status, status.data.pending_operation?.action, writer)}
                </small>
              )}
            </div>
          );
        })}
      </div>
      {act.isError && <ErrorNote error={act.error} />}
      {act.isSuccess && <p role="status">{act.data.action} queued.</p>}
      {asking && (
        <Confirm
          title={`${asking.label} ${instance.name}?`}
          body={<p>{asking.confirm}</p>}
          confirmLabel={asking.label}
          typed={asking.action === 'terminate' ? instance.name : undefined}
          danger={asking.danger}
          onClose={() => setAsking(null)}
          onConfirm={() => run(asking.action)}
        />
      )}
    </>
  );
}

function Logs({ id }: { id: string }) {
  const [follow, setFollow] = useState(true);
  const [search, setSearch] = useState('');
  const logs = useQuery({
    queryKey: ['instances', id, 'logs'],
    queryFn: () =>
      unwrap(
        api.GET('/instance/api/v1/instances/{id}/logs', { params: { path: { id }, query: { lines: 500 } } }),
      ),
    // Following a tail is the one place that re-reads on a timer: container logs have no event.
    refetchInterval: follow ? 3000 : false,
  });
  const box = useRef<HTMLPreElement>(null);
  const lines = useMemo(
    () => (logs.data?.logs ?? []).filter((l) => !search || l.toLowerCase().includes(search.toLowerCase())),
    [logs.data, search],
  );
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);
  return (
    <>
      <div className="grid">
        <Field
          label="Search the log"
          type="search"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <label>
          <input
            type="checkbox"
            role="switch"
            checked={follow}
            onChange={(e) => setFollow(e.target.checked)}
          />
          {follow ? 'Following (uncheck to pause)' : 'Paused'}
        </label>
      </div>
      {logs.isPending && <Loading what="the log" />}
      {logs.isError && <ErrorNote error={logs.error} retry={() => void logs.refetch()} />}
      {logs.isSuccess && lines.length === 0 && (
        <Empty>{search ? 'No line matches.' : 'The log is empty.'}</Empty>
      )}
      {lines.length > 0 && (
        <pre className="logs" ref={box} tabIndex={0} aria-label="Log lines">
          {lines.join('\n')}
        </pre>
      )}
    </>
  );
}

function Backups({ instance, writer }: { instance: Instance; writer: boolean }) {
  const backups = useQuery({
    queryKey: ['instances', instance.id, 'backups'],
    queryFn: () =>
      unwrap(api.GET('/instance/api/v1/instances/{id}/backups', { params: { path: { id: instance.id } } })),
  });
  const status = useStatus(instance.id);
  const act = useAct(instance.id);
  const [restoring, setRestoring] = useState<string | null>(null);
  const allowed = new Set(writer ? (status.data?.allowed_actions ?? []) : []);
  return (
    <>
      <p>
        <button
          type="button"
          disabled={!allowed.has('backup') || act.isPending}
          onClick={() => act.mutate({ action: 'backup' })}
        >
          Back up now
        </button>
        {!allowed.has('backup') && (
          <small>
            {' '}
            {writer ? `Not possible while ${instance.status.replace(/_/g, ' ')}` : 'Viewers cannot back up'}
          </small>
        )}
      </p>
      {act.isError && <ErrorNote error={act.error} />}
      {act.isSuccess && <p role="status">{act.data.action === 'restore' ? 'Restore' : 'Backup'} queued.</p>}
      {backups.isPending && <Loading what="backups" />}
      {backups.isError && <ErrorNote error={backups.error} retry={() => void backups.refetch()} />}
      {backups.isSuccess && backups.data.backups.length === 0 && <Empty>No backups yet.</Empty>}
      {backups.isSuccess && backups.data.backups.length > 0 && writer && !allowed.has('restore') && (
        <p id="restore-why">
          <small>Restoring replaces the running data: stop the instance first (Actions tab).</small>
        </p>
      )}
      {backups.isSuccess && backups.data.backups.length > 0 && (
        <ScrollTable>
          <thead>
            <tr>
              <th scope="col">Taken</th>
              <th scope="col">Kind</th>
              <th scope="col">Status</th>
              <th scope="col">Size</th>
              <th scope="col">Restore</th>
            </tr>
          </thead>
          <tbody>
            {backups.data.backups.map((b) => (
              <tr key={b.backup_id} data-backup={b.backup_id}>
                <td>{formatDate(b.created_at)}</td>
                <td>{b.kind}</td>
                <td>
                  <StatusBadge status={b.status} />
                </td>
                <td>{formatBytes(b.total_size)}</td>
                <td>
                  <button
                    type="button"
                    className="secondary small"
                    disabled={b.status !== 'completed' || !allowed.has('restore')}
                    onClick={() => setRestoring(b.backup_id)}
                    aria-describedby={allowed.has('restore') ? undefined : 'restore-why'}
                    aria-label={`Restore the backup of ${formatDate(b.created_at)}`}
                  >
                    Restore
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      )}
      {restoring && (
        <Confirm
          title="Restore this backup?"
          body={<p>Everything changed in {instance.name} since this backup is replaced by the backup.</p>}
          confirmLabel="Restore"
          danger
          onClose={() => setRestoring(null)}
          onConfirm={() => {
            act.mutate({ action: 'restore', parameters: { backup_id: restoring } });
            setRestoring(null);
          }}
        />
      )}
    </>
  );
}

function Activity({ id }: { id: string }) {
  const events = useQuery({
    queryKey: ['instances', id, 'events'],
    queryFn: () =>
      unwrap(
        api.GET('/instance/api/v1/instances/{id}/events', {
          params: { path: { id }, query: { limit: 100 } },
        }),
      ),
  });
  if (events.isPending) return <Loading what="activity" />;
  if (events.isError) return <ErrorNote error={events.error} retry={() => void events.refetch()} />;
  if (events.data.events.length === 0) return <Empty>Nothing happened yet.</Empty>;
  return (
    <ol className="activity">
      {events.data.events.map((e) => (
        <li key={e.id}>
          <time dateTime={e.created_at}>{formatDate(e.created_at)}</time> · {e.action ?? 'change'}:{' '}
          {e.from_status ? `${e.from_status} → ` : ''}
          <StatusBadge status={e.to_status} /> {e.reason && <small>({e.reason})</small>}
        </li>
      ))}
    </ol>
  );
}

/**
 * Keyed by the instance's updated_at, so a saved change (or anyone else's) refills the form; the "Saved." note
 * lives in the page (`saved`), or it would go with the form it confirms.
 */
function Settings({
  instance,
  writer,
  saved,
  onSaved,
}: {
  instance: Instance;
  writer: boolean;
  saved: boolean;
  onSaved: (saved: boolean) => void;
}) {
  const queries = useQueryClient();
  const plans = usePlans();
  const ceiling = plans.data?.plans.find((p) => p.name === instance.plan_name)?.entitlements ?? null;
  const [form, setForm] = useState({
    name: instance.name,
    cpu_limit: String(instance.cpu_limit),
    memory_limit: instance.memory_limit,
    storage_limit: instance.storage_limit,
  });
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT('/instance/api/v1/instances/{id}', {
          params: { path: { id: instance.id } },
          body: {
            name: form.name,
            cpu_limit: Number(form.cpu_limit),
            memory_limit: form.memory_limit,
            storage_limit: form.storage_limit,
          },
        }),
      ),
    onSuccess: () => {
      onSaved(true);
      return queries.invalidateQueries({ queryKey: ['instances'] });
    },
  });
  const errors = fieldErrors(save.error);
  const edit = (patch: Partial<typeof form>) => {
    onSaved(false);
    setForm({ ...form, ...patch });
  };
  if (!writer) return <p>Viewers cannot change settings.</p>;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <Field
        label="Name"
        required
        value={form.name}
        onChange={(e) => edit({ name: e.target.value })}
        error={errors.name}
      />
      <fieldset>
        <legend>
          Resources{' '}
          {ceiling
            ? `(your plan allows up to ${ceiling.cpu_limit} CPU, ${ceiling.memory_limit}, ${ceiling.storage_limit})`
            : ''}
        </legend>
        <div className="grid">
          <Field
            label="CPUs"
            type="number"
            step="0.1"
            min="0.1"
            max={ceiling?.cpu_limit ?? 8}
            value={form.cpu_limit}
            onChange={(e) => edit({ cpu_limit: e.target.value })}
            error={errors.cpu_limit}
          />
          <Field
            label="Memory (e.g. 2G)"
            value={form.memory_limit}
            onChange={(e) => edit({ memory_limit: e.target.value })}
            error={errors.memory_limit}
          />
          <Field
            label="Storage (e.g. 10G)"
            value={form.storage_limit}
            onChange={(e) => edit({ storage_limit: e.target.value })}
            error={errors.storage_limit}
          />
        </div>
      </fieldset>
      {save.isError && Object.keys(errors).length === 0 && <ErrorNote error={save.error} />}
      {saved && !save.isPending && <p role="status">Saved.</p>}
      <button type="submit" aria-busy={save.isPending} disabled={save.isPending}>
        Save settings
      </button>
    </form>
  );
}

export default function InstancePage() {
  const { id = '', tab = 'overview' } = useParams();
  const instance = useInstance(id);
  const tenants = useTenants();
  const [saved, setSaved] = useState(false);
  useEffect(() => setSaved(false), [id, tab]);
  if (instance.isPending) return <Loading what="the instance" />;
  if (instance.isError) {
    if (isNotFound(instance.error)) {
      return (
        <section>
          <h1>Not found</h1>
          <p>
            This instance does not exist or is not yours. <Link to="/">Back to the dashboard</Link>
          </p>
        </section>
      );
    }
    return <ErrorNote error={instance.error} retry={() => void instance.refetch()} />;
  }
  const i = instance.data;
  const role = tenants.data?.tenants.find((t) => t.id === i.tenant_id)?.my_role;
  const writer = role === 'owner' || role === 'admin';
  return (
    <>
      <nav aria-label="Breadcrumb">
        <ul>
          <li>
            <Link to="/">Dashboard</Link>
          </li>
          <li>{i.name}</li>
        </ul>
      </nav>
      <h1>
        {i.name} <StatusBadge status={i.status} />
      </h1>
      <nav aria-label="Instance sections">
        <ul className="tabs">
          {TABS.map((t) => (
            <li key={t} style={{ listStyle: 'none' }}>
              <NavLink to={`/odoo/${id}/${t}`} aria-current={t === tab ? 'page' : undefined}>
                {t[0].toUpperCase() + t.slice(1)}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      {tab === 'overview' && <Overview instance={i} />}
      {tab === 'actions' && <Actions instance={i} writer={writer} />}
      {tab === 'logs' && <Logs id={id} />}
      {tab === 'backups' && <Backups instance={i} writer={writer} />}
      {tab === 'activity' && <Activity id={id} />}
      {tab === 'settings' && (
        <Settings key={i.updated_at} instance={i} writer={writer} saved={saved} onSaved={setSaved} />
      )}
      {!TABS.includes(tab as (typeof TABS)[number]) && <p>{errorMessage(new Error('Unknown section'))}</p>}
    </>
  );
}
