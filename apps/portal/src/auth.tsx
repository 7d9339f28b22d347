import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import {
  csrfHeaders,
  getAccessToken,
  onSession,
  refreshSession,
  setSession,
  type Customer,
  type LoginResult,
} from './api/client';
import { followEvents } from './api/events';

interface AuthState {
  /** undefined while the first refresh is in flight. */
  customer: Customer | null | undefined;
  live: boolean;
  login(email: string, password: string, remember: boolean): Promise<Response>;
  logout(): Promise<void>;
  signedIn(result: LoginResult | null): void;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const queries = useQueryClient();
  const [customer, setCustomer] = useState<Customer | null | undefined>(undefined);
  const [live, setLive] = useState(false);

  useEffect(() => {
    const off = onSession((result) => setCustomer(result?.customer ?? null));
    void refreshSession();
    return () => {
      off();
    };
  }, []);

  const signedInId = customer?.id;
  useEffect(() => {
    if (!signedInId) return;
    return followEvents(queries, (state) => setLive(state.connected));
  }, [signedInId, queries]);

  const value = useMemo<AuthState>(
    () => ({
      customer,
      live,
      async login(email, password, remember) {
        const res = await fetch('/user/auth/login?session=cookie', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password, remember_me: remember }),
        });
        if (res.ok) setSession((await res.clone().json()) as LoginResult);
        return res;
      },
      async logout() {
        await fetch('/user/auth/logout?session=cookie', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { ...csrfHeaders(), authorization: `Bearer ${getAccessToken() ?? ''}` },
          body: '{}',
        }).catch(() => undefined);
        setSession(null);
        queries.clear();
      },
      signedIn(result) {
        setSession(result);
        if (!result) queries.clear();
      },
    }),
    [customer, live, queries],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error('useAuth outside AuthProvider');
  return state;
}
