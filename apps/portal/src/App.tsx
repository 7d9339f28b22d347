import { lazy, Suspense } from 'react';
import { BrowserRouter, Link, Navigate, NavLink, Outlet, Route, Routes, useLocation } from 'react-router';
import { AuthProvider, useAuth } from './auth';
import { Loading } from './components/ui';
import { ForgotPassword, Login, ResetPassword, SignUp, VerifyEmail } from './screens/AuthScreens';
import { Dashboard } from './screens/Dashboard';

const CreateInstance = lazy(() => import('./screens/CreateInstance'));
const InstancePage = lazy(() => import('./screens/InstancePage'));
const Billing = lazy(() => import('./screens/Billing'));
const Team = lazy(() => import('./screens/Team'));
const Account = lazy(() => import('./screens/Account'));
const Admin = lazy(() => import('./screens/Admin'));

function Shell() {
  const { customer, logout, live } = useAuth();
  const location = useLocation();
  if (customer === undefined) {
    return (
      <main className="container">
        <Loading what="your session" />
      </main>
    );
  }
  if (customer === null) {
    return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  }
  return (
    <>
      <header className="container">
        <nav aria-label="Main">
          <ul>
            <li>
              <Link to="/" className="brand">
                <strong>SaaSOdoo</strong>
              </Link>
            </li>
          </ul>
          <ul className="nav-links">
            <li>
              <NavLink to="/" end>
                Dashboard
              </NavLink>
            </li>
            <li>
              <NavLink to="/payments">Billing</NavLink>
            </li>
            <li>
              <NavLink to="/team">Team</NavLink>
            </li>
            <li>
              <NavLink to="/account">Account</NavLink>
            </li>
            {customer.role === 'admin' && (
              <li>
                <NavLink to="/admin">Admin</NavLink>
              </li>
            )}
            <li>
              <button type="button" className="secondary outline small" onClick={() => void logout()}>
                Log out
              </button>
            </li>
          </ul>
        </nav>
        <p className="live-indicator" aria-live="polite">
          <span className={live ? 'dot on' : 'dot'} aria-hidden="true" />{' '}
          {live ? 'Live updates on' : 'Connecting live updates…'}
        </p>
      </header>
      <main className="container">
        <Suspense fallback={<Loading what="the page" />}>
          <Outlet />
        </Suspense>
      </main>
    </>
  );
}

function NotFound() {
  return (
    <main className="container">
      <h1>Not found</h1>
      <p>
        There is nothing here. <Link to="/">Go to the dashboard</Link>
      </p>
    </main>
  );
}

export function App() {
  return (
    <BrowserRouter>
      <AuthProvider>
        <Routes>
          <Route path="/signup" element={<SignUp />} />
          <Route path="/login" element={<Login />} />
          <Route path="/verify-email" element={<VerifyEmail />} />
          <Route path="/forgot-password" element={<ForgotPassword />} />
          <Route path="/reset-password" element={<ResetPassword />} />
          {/* No page path starts with an API prefix (/user, /tenant, /instance, /billing): those go to the services. */}
          <Route element={<Shell />}>
            <Route index element={<Dashboard />} />
            <Route path="new" element={<CreateInstance />} />
            <Route path="odoo/:id/:tab?" element={<InstancePage />} />
            <Route path="payments/*" element={<Billing />} />
            <Route path="team" element={<Team />} />
            <Route path="account" element={<Account />} />
            <Route path="admin" element={<Admin />} />
          </Route>
          <Route path="*" element={<NotFound />} />
        </Routes>
      </AuthProvider>
    </BrowserRouter>
  );
}
