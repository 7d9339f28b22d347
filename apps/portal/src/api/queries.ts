import { useQuery } from '@tanstack/react-query';
import { api, ApiError, unwrap } from './client';

/** Query keys start with the area an event invalidates (see api/events.ts). */
export function useTenants() {
  return useQuery({
    queryKey: ['tenants', 'mine'],
    queryFn: () => unwrap(api.GET('/tenant/api/v1/tenants', { params: { query: { page_size: 100 } } })),
  });
}

export function useInstances(tenantId?: string) {
  return useQuery({
    queryKey: ['instances', 'list', tenantId ?? 'all'],
    queryFn: () =>
      unwrap(
        api.GET('/instance/api/v1/instances', {
          params: { query: { page_size: 100, ...(tenantId ? { tenant_id: tenantId } : {}) } },
        }),
      ),
  });
}

export function usePlans() {
  return useQuery({
    queryKey: ['billing', 'plans'],
    queryFn: () => unwrap(api.GET('/billing/api/billing/plans')),
    staleTime: 5 * 60_000,
  });
}

export function useAccounts() {
  return useQuery({
    queryKey: ['billing', 'accounts'],
    queryFn: () => unwrap(api.GET('/billing/api/billing/accounts/me')),
  });
}

export function useSubscriptions() {
  return useQuery({
    queryKey: ['billing', 'subscriptions'],
    queryFn: () => unwrap(api.GET('/billing/api/billing/subscriptions', { params: { query: {} } })),
  });
}

export function useInvoices() {
  return useQuery({
    queryKey: ['billing', 'invoices'],
    queryFn: () => unwrap(api.GET('/billing/api/billing/invoices', { params: { query: {} } })),
  });
}

export function usePayments() {
  return useQuery({
    queryKey: ['billing', 'payments'],
    queryFn: () => unwrap(api.GET('/billing/api/billing/payments', { params: { query: {} } })),
  });
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 403 || error.status === 400);
}
