import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, fieldErrors, unwrap, type Schemas } from '../api/client';
import { useTenants } from '../api/queries';
import { useAuth } from '../auth';
import { Confirm, Empty, ErrorNote, Field, Loading, ScrollTable } from '../components/ui';

type Tenant = Schemas['TenantView'];

function Members({ tenant }: { tenant: Tenant }) {
  const { customer } = useAuth();
  const queries = useQueryClient();
  const key = ['tenants', tenant.id, 'members'];
  const members = useQuery({
    queryKey: key,
    queryFn: () =>
      unwrap(api.GET('/tenant/api/v1/tenants/{id}/members', { params: { path: { id: tenant.id } } })),
  });
  const owner = tenant.my_role === 'owner';
  const [invite, setInvite] = useState({ email: '', role: 'viewer' as 'admin' | 'viewer' });
  const [removing, setRemoving] = useState<Schemas['MemberView'] | null>(null);
  const add = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/tenant/api/v1/tenants/{id}/members', {
          params: { path: { id: tenant.id } },
          body: invite,
        }),
      ),
    onSuccess: () => {
      setInvite({ email: '', role: 'viewer' });
      void queries.invalidateQueries({ queryKey: key });
    },
  });
  const update = useMutation({
    mutationFn: (input: { userId: string; role?: 'admin' | 'viewer' }) =>
      input.role
        ? unwrap(
            api.PUT('/tenant/api/v1/tenants/{id}/members/{userId}', {
              params: { path: { id: tenant.id, userId: input.userId } },
              body: { role: input.role },
            }),
          )
        : unwrap(
            api.DELETE('/tenant/api/v1/tenants/{id}/members/{userId}', {
              params: { path: { id: tenant.id, userId: input.userId } },
            }),
          ),
    onSettled: () => queries.invalidateQueries({ queryKey: key }),
  });
  const errors = fieldErrors(add.error);
  return (
    <section aria-labelledby={`team-${tenant.id}`}>
      <h2 id={`team-${tenant.id}`}>
        {tenant.name} <small>(you are {tenant.my_role ?? 'platform admin'})</small>
      </h2>
      {members.isPending && <Loading what="members" />}
      {members.isError && <ErrorNote error={members.error} retry={() => void members.refetch()} />}
      {members.isSuccess && members.data.members.length === 0 && <Empty>No members.</Empty>}
      {members.isSuccess && members.data.members.length > 0 && (
        <ScrollTable>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              {owner && <th scope="col">Manage</th>}
            </tr>
          </thead>
          <tbody>
            {members.data.members.map((m) => (
              <tr key={m.user_id}>
                <td>{m.email}</td>
                <td>
                  {owner && m.role !== 'owner' ? (
                    <select
                      aria-label={`Role of ${m.email}`}
                      value={m.role}
                      onChange={(e) =>
                        update.mutate({ userId: m.user_id, role: e.target.value as 'admin' | 'viewer' })
                      }
                    >
                      <option value="admin">admin</option>
                      <option value="viewer">viewer</option>
                    </select>
                  ) : (
                    m.role
                  )}
                </td>
                {owner && (
                  <td>
                    {m.role !== 'owner' && m.user_id !== customer?.id && (
                      <button
                        type="button"
                        className="secondary outline small"
                        onClick={() => setRemoving(m)}
                        aria-label={`Remove ${m.email}`}
                      >
                        Remove
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      )}
      {update.isError && <ErrorNote error={update.error} />}
      {owner && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            add.mutate();
          }}
        >
          <fieldset className="grid">
            <legend>Invite someone who has an account</legend>
            <Field
              label="Email"
              type="email"
              required
              value={invite.email}
              onChange={(e) => setInvite({ ...invite, email: e.target.value })}
              error={errors.email}
            />
            <div>
              <label htmlFor={`invite-role-${tenant.id}`}>Role</label>
              <select
                id={`invite-role-${tenant.id}`}
                value={invite.role}
                onChange={(e) => setInvite({ ...invite, role: e.target.value as 'admin' | 'viewer' })}
              >
                <option value="viewer">viewer (read only)</option>
                <option value="admin">admin (manages instances)</option>
              </select>
            </div>
          </fieldset>
          {add.isError && Object.keys(errors).length === 0 && <ErrorNote error={add.error} />}
          <button type="submit" aria-busy={add.isPending} disabled={add.isPending}>
            Invite
          </button>
        </form>
      )}
      {removing && (
        <Confirm
          title={`Remove ${removing.email}?`}
          body={<p>They lose access to {tenant.name} and its instances at once.</p>}
          confirmLabel="Remove"
          danger
          onClose={() => setRemoving(null)}
          onConfirm={() => {
            update.mutate({ userId: removing.user_id });
            setRemoving(null);
          }}
        />
      )}
    </section>
  );
}

export default function Team() {
  const tenants = useTenants();
  if (tenants.isPending) return <Loading what="your workspaces" />;
  if (tenants.isError) return <ErrorNote error={tenants.error} retry={() => void tenants.refetch()} />;
  return (
    <>
      <h1>Team</h1>
      {tenants.data.tenants.length === 0 && <Empty>You belong to no workspace yet.</Empty>}
      {tenants.data.tenants.map((t) => (
        <Members key={t.id} tenant={t} />
      ))}
    </>
  );
}
