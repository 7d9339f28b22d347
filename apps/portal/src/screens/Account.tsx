import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, fieldErrors, unwrap, type Schemas } from '../api/client';
import { useAuth } from '../auth';
import { Confirm, ErrorNote, Field, Loading } from '../components/ui';

function Profile({ profile }: { profile: Schemas['ProfileView'] }) {
  const queries = useQueryClient();
  const [form, setForm] = useState({
    first_name: profile.first_name,
    last_name: profile.last_name,
    phone: profile.phone ?? '',
    company: profile.company ?? '',
  });
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT('/user/users/profile', {
          body: { ...form, phone: form.phone || null, company: form.company || null },
        }),
      ),
    onSuccess: () => queries.invalidateQueries({ queryKey: ['me'] }),
  });
  const errors = fieldErrors(save.error);
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <p>
        Email: <strong>{profile.email}</strong>
      </p>
      <div className="grid">
        <Field
          label="First name"
          required
          value={form.first_name}
          onChange={(e) => setForm({ ...form, first_name: e.target.value })}
          error={errors.first_name}
        />
        <Field
          label="Last name"
          required
          value={form.last_name}
          onChange={(e) => setForm({ ...form, last_name: e.target.value })}
          error={errors.last_name}
        />
      </div>
      <div className="grid">
        <Field
          label="Phone"
          type="tel"
          value={form.phone}
          onChange={(e) => setForm({ ...form, phone: e.target.value })}
          error={errors.phone}
        />
        <Field
          label="Company"
          value={form.company}
          onChange={(e) => setForm({ ...form, company: e.target.value })}
          error={errors.company}
        />
      </div>
      {save.isError && Object.keys(errors).length === 0 && <ErrorNote error={save.error} />}
      {save.isSuccess && <p role="status">Profile saved.</p>}
      <button type="submit" aria-busy={save.isPending} disabled={save.isPending}>
        Save profile
      </button>
    </form>
  );
}

function PasswordChange() {
  const [form, setForm] = useState({ current_password: '', new_password: '' });
  const change = useMutation({
    mutationFn: () => unwrap(api.POST('/user/auth/password-change', { body: form })),
  });
  const errors = fieldErrors(change.error);
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        change.mutate();
      }}
    >
      <div className="grid">
        <Field
          label="Current password"
          type="password"
          autoComplete="current-password"
          required
          value={form.current_password}
          onChange={(e) => setForm({ ...form, current_password: e.target.value })}
          error={errors.current_password}
        />
        <Field
          label="New password"
          type="password"
          autoComplete="new-password"
          required
          value={form.new_password}
          onChange={(e) => setForm({ ...form, new_password: e.target.value })}
          error={errors.new_password}
        />
      </div>
      {change.isError && Object.keys(errors).length === 0 && <ErrorNote error={change.error} />}
      {change.isSuccess && <p role="status">Password changed; your other sessions are logged out.</p>}
      <button type="submit" aria-busy={change.isPending} disabled={change.isPending}>
        Change password
      </button>
    </form>
  );
}

function DeleteAccount() {
  const { signedIn } = useAuth();
  const [password, setPassword] = useState('');
  const [asking, setAsking] = useState(false);
  const remove = useMutation({
    mutationFn: () =>
      unwrap(
        api.DELETE('/user/users/account', {
          params: { query: { confirmation: 'DELETE', terminate_instances: true } },
          body: { password },
        }),
      ),
    onSuccess: () => signedIn(null),
  });
  const errors = fieldErrors(remove.error);
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        setAsking(true);
      }}
    >
      <p>Deleting your account terminates your instances and logs you out everywhere.</p>
      <Field
        label="Your password"
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        error={errors.password}
      />
      {remove.isError && Object.keys(errors).length === 0 && <ErrorNote error={remove.error} />}
      <button type="submit" className="danger">
        Delete my account
      </button>
      {asking && (
        <Confirm
          title="Delete your account?"
          body={<p>This terminates every instance you own. It cannot be undone.</p>}
          confirmLabel="Delete account"
          typed="DELETE"
          danger
          onClose={() => setAsking(false)}
          onConfirm={() => {
            setAsking(false);
            remove.mutate();
          }}
        />
      )}
    </form>
  );
}

function LogOutEverywhere() {
  const { signedIn } = useAuth();
  const all = useMutation({
    mutationFn: () => unwrap(api.POST('/user/auth/logout-all', { params: { query: { session: 'cookie' } } })),
    onSuccess: () => signedIn(null),
  });
  return (
    <>
      <button
        type="button"
        className="secondary outline"
        aria-busy={all.isPending}
        onClick={() => all.mutate()}
      >
        Log out everywhere
      </button>
      {all.isError && <ErrorNote error={all.error} />}
    </>
  );
}

export default function Account() {
  const { logout } = useAuth();
  const profile = useQuery({
    queryKey: ['me', 'profile'],
    queryFn: () => unwrap(api.GET('/user/users/profile')),
  });
  return (
    <>
      <h1>Account</h1>
      <section aria-labelledby="profile">
        <h2 id="profile">Profile</h2>
        {profile.isPending && <Loading what="your profile" />}
        {profile.isError && <ErrorNote error={profile.error} retry={() => void profile.refetch()} />}
        {profile.isSuccess && <Profile profile={profile.data} />}
      </section>
      <section aria-labelledby="password">
        <h2 id="password">Password</h2>
        <PasswordChange />
      </section>
      <section aria-labelledby="sessions">
        <h2 id="sessions">Sessions</h2>
        <p>Log out of this browser, or end every session of your account on every device.</p>
        <div className="actions">
          <button type="button" className="secondary" onClick={() => void logout()}>
            Log out
          </button>
          <LogOutEverywhere />
        </div>
      </section>
      <section aria-labelledby="danger">
        <h2 id="danger">Delete account</h2>
        <DeleteAccount />
      </section>
    </>
  );
}
