import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { useMutation } from '@tanstack/react-query';
import { api, ApiError, errorMessage, fieldErrors, unwrap, type ErrorEnvelope } from '../api/client';
import { useAuth } from '../auth';
import { Field, Loading } from '../components/ui';

function AuthCard({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <main className="container auth-card">
      <article>
        <header>
          <h1>{title}</h1>
        </header>
        {children}
      </article>
    </main>
  );
}

function FormError({ error, fields }: { error: unknown; fields: Record<string, string> }) {
  if (!error || Object.keys(fields).length > 0) return null;
  return (
    <p className="field-error" role="alert">
      {errorMessage(error)}
    </p>
  );
}

export function SignUp() {
  const [form, setForm] = useState({
    first_name: '',
    last_name: '',
    email: '',
    password: '',
    accept_terms: false,
  });
  const signUp = useMutation({
    mutationFn: () => unwrap(api.POST('/user/auth/register', { body: form })),
  });
  const errors = fieldErrors(signUp.error);
  const set = (key: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) =>
    setForm({ ...form, [key]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });

  if (signUp.isSuccess) {
    return (
      <AuthCard title="Check your email">
        <p role="status">
          We sent a confirmation link to <strong>{form.email}</strong>. Open it to activate your account.
        </p>
        <Link to="/login">Back to log in</Link>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Create your account">
      <form
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          signUp.mutate();
        }}
      >
        <div className="grid">
          <Field
            label="First name"
            name="first_name"
            autoComplete="given-name"
            required
            value={form.first_name}
            onChange={set('first_name')}
            error={errors.first_name}
          />
          <Field
            label="Last name"
            name="last_name"
            autoComplete="family-name"
            required
            value={form.last_name}
            onChange={set('last_name')}
            error={errors.last_name}
          />
        </div>
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          required
          value={form.email}
          onChange={set('email')}
          error={errors.email}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          value={form.password}
          onChange={set('password')}
          error={errors.password}
          hint="8 or more characters with upper and lower case, a digit and a symbol."
        />
        <label>
          <input
            type="checkbox"
            name="accept_terms"
            checked={form.accept_terms}
            onChange={set('accept_terms')}
            aria-invalid={errors.accept_terms ? true : undefined}
          />
          I accept the terms of service
        </label>
        {errors.accept_terms && (
          <small className="field-error" role="alert">
            {errors.accept_terms}
          </small>
        )}
        <FormError error={signUp.error} fields={errors} />
        <button type="submit" aria-busy={signUp.isPending} disabled={signUp.isPending}>
          Sign up
        </button>
      </form>
      <p>
        Already have an account? <Link to="/login">Log in</Link>
      </p>
    </AuthCard>
  );
}

export function VerifyEmail() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const verify = useMutation({
    mutationFn: () => unwrap(api.POST('/user/auth/verify-email', { body: { token } })),
  });
  const started = useRef(false);
  useEffect(() => {
    if (token && !started.current) {
      started.current = true;
      verify.mutate();
    }
  }, [token, verify]);
  return (
    <AuthCard title="Confirm your email">
      {!token && <p role="alert">This link has no token. Open the link from the email again.</p>}
      {verify.isPending && <Loading what="your confirmation" />}
      {verify.isError && (
        <p className="field-error" role="alert">
          {errorMessage(verify.error)} The link may have expired: log in to get a new one.
        </p>
      )}
      {verify.isSuccess && (
        <p role="status">
          Your email is confirmed. <Link to="/login">Log in</Link> to launch your first Odoo.
        </p>
      )}
    </AuthCard>
  );
}

export function Login() {
  const { customer, login } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [form, setForm] = useState({ email: '', password: '', remember: false });
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [resent, setResent] = useState(false);
  if (customer) return <Navigate to={params.get('next') ?? '/'} replace />;
  const errors = fieldErrors(error);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await login(form.email, form.password, form.remember);
      if (!res.ok) setError(new ApiError((await res.json().catch(() => ({}))) as ErrorEnvelope));
      else navigate(params.get('next') ?? '/', { replace: true });
    } catch {
      setError(
        new ApiError({
          statusCode: 0,
          error: '',
          code: 'NETWORK',
          message: 'The server cannot be reached.',
          details: [],
          request_id: '',
        }),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <AuthCard title="Log in">
      <form onSubmit={submit}>
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          required
          value={form.email}
          onChange={(e) => setForm({ ...form, email: e.target.value })}
          error={errors.email}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={form.password}
          onChange={(e) => setForm({ ...form, password: e.target.value })}
          error={errors.password}
        />
        <label>
          <input
            type="checkbox"
            checked={form.remember}
            onChange={(e) => setForm({ ...form, remember: e.target.checked })}
          />
          Keep me logged in for 30 days
        </label>
        <FormError error={error} fields={errors} />
        {error?.code === 'EMAIL_NOT_VERIFIED' && (
          <button
            type="button"
            className="secondary outline"
            onClick={() =>
              void api
                .POST('/user/auth/resend-verification', { body: { email: form.email } })
                .then(() => setResent(true))
            }
          >
            {resent ? 'Sent: check your email' : 'Send the confirmation link again'}
          </button>
        )}
        <button type="submit" aria-busy={busy} disabled={busy}>
          Log in
        </button>
      </form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link> · New here?{' '}
        <Link to="/signup">Create an account</Link>
      </p>
    </AuthCard>
  );
}

export function ForgotPassword() {
  const [email, setEmail] = useState('');
  const reset = useMutation({
    mutationFn: () => unwrap(api.POST('/user/auth/password-reset', { body: { email } })),
  });
  const errors = fieldErrors(reset.error);
  return (
    <AuthCard title="Reset your password">
      {reset.isSuccess ? (
        <p role="status">If an account exists for {email}, a reset link is on its way.</p>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            reset.mutate();
          }}
        >
          <Field
            label="Email"
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            error={errors.email}
          />
          <FormError error={reset.error} fields={errors} />
          <button type="submit" aria-busy={reset.isPending} disabled={reset.isPending}>
            Email me a reset link
          </button>
        </form>
      )}
      <Link to="/login">Back to log in</Link>
    </AuthCard>
  );
}

export function ResetPassword() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const [password, setPassword] = useState('');
  const complete = useMutation({
    mutationFn: () =>
      unwrap(api.POST('/user/auth/password-reset-complete', { body: { token, new_password: password } })),
  });
  const errors = fieldErrors(complete.error);
  return (
    <AuthCard title="Choose a new password">
      {complete.isSuccess ? (
        <p role="status">
          Your password is changed. <Link to="/login">Log in</Link>
        </p>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            complete.mutate();
          }}
        >
          <Field
            label="New password"
            type="password"
            autoComplete="new-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={errors.new_password ?? errors.password}
          />
          {errors.token && (
            <p className="field-error" role="alert">
              {errors.token}
            </p>
          )}
          <FormError error={complete.error} fields={errors} />
          <button type="submit" aria-busy={complete.isPending} disabled={complete.isPending || !token}>
            Set password
          </button>
        </form>
      )}
    </AuthCard>
  );
}
