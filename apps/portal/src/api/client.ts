import createClient from 'openapi-fetch';
import type { components, paths } from './schema.gen';

export type Schemas = components['schemas'];
export type ErrorEnvelope = Schemas['ErrorEnvelope'];
export type Customer = Schemas['CustomerView'];
export type LoginResult = Schemas['LoginResult'];

/** The access token lives in this module only: never in localStorage or sessionStorage. */
let accessToken: string | null = null;
let refreshing: Promise<LoginResult | null> | null = null;
const listeners = new Set<(result: LoginResult | null) => void>();

export function getAccessToken(): string | null {
  return accessToken;
}

export function setSession(result: LoginResult | null): void {
  accessToken = result?.tokens.access_token ?? null;
  for (const listener of listeners) listener(result);
}

export function onSession(listener: (result: LoginResult | null) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function readCookie(name: string): string {
  const found = document.cookie.split('; ').find((c) => c.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : '';
}

/** The CSRF double-submit header the cookie endpoints (refresh, logout) want. */
export function csrfHeaders(): Record<string, string> {
  return { 'content-type': 'application/json', 'x-csrf-token': readCookie('saasodoo_csrf') };
}

/** POST /user/auth/refresh?session=cookie: the HttpOnly refresh cookie gives a new access token. */
export function refreshSession(): Promise<LoginResult | null> {
  refreshing ??= fetch('/user/auth/refresh?session=cookie', {
    method: 'POST',
    credentials: 'same-origin',
    headers: csrfHeaders(),
    body: '{}',
  })
    .then(async (res) => (res.ok ? ((await res.json()) as LoginResult) : null))
    .catch(() => null)
    .then((result) => {
      setSession(result);
      return result;
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/** Adds the bearer token; on a 401 with a token, refreshes once and retries. */
async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const send = (req: Request) => {
    if (accessToken) req.headers.set('authorization', `Bearer ${accessToken}`);
    return fetch(req);
  };
  const res = await send(input);
  if (res.status !== 401 || !accessToken) return res;
  const renewed = await refreshSession();
  return renewed ? send(retry) : res;
}

export const api = createClient<paths>({ baseUrl: '', fetch: authFetch });

/** An API failure: the common error envelope, or a stand-in when the answer was not one. */
export class ApiError extends Error {
  constructor(readonly envelope: ErrorEnvelope) {
    super(envelope.message);
  }
  get status(): number {
    return this.envelope.statusCode;
  }
  get code(): string {
    return this.envelope.code;
  }
}

function toEnvelope(error: unknown, status: number): ErrorEnvelope {
  if (error && typeof error === 'object' && 'code' in error && 'message' in error) {
    return error as ErrorEnvelope;
  }
  return {
    statusCode: status,
    error: 'Error',
    code: status === 0 ? 'NETWORK' : 'UNEXPECTED',
    message:
      status === 0 ? 'The server cannot be reached. Check your connection.' : `Request failed (${status})`,
    details: [],
    request_id: '',
  };
}

/** Unwraps an openapi-fetch answer: the data, or throws ApiError with the envelope. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let answer: { data?: T; error?: unknown; response: Response };
  try {
    answer = await call;
  } catch {
    throw new ApiError(toEnvelope(undefined, 0));
  }
  if (answer.error !== undefined || !answer.response.ok) {
    throw new ApiError(toEnvelope(answer.error, answer.response.status));
  }
  return answer.data as T;
}

/** Field → message, from VALIDATION_FAILED details and codes that concern one field. */
const CODE_FIELDS: Record<string, string> = {
  EMAIL_TAKEN: 'email',
  INVALID_CREDENTIALS: 'password',
  EMAIL_NOT_VERIFIED: 'email',
  ACCOUNT_LOCKED: 'password',
  SUBDOMAIN_TAKEN: 'subdomain',
  DATABASE_NAME_TAKEN: 'subdomain',
  CURRENT_PASSWORD_INCORRECT: 'current_password',
  PASSWORD_INCORRECT: 'password',
  PASSWORD_UNCHANGED: 'new_password',
  USER_NOT_FOUND: 'email',
  ALREADY_MEMBER: 'email',
  INVALID_OR_EXPIRED_TOKEN: 'token',
};

export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const out: Record<string, string> = {};
  for (const detail of error.envelope.details ?? []) {
    if (detail && typeof detail === 'object' && 'field' in detail) {
      const d = detail as { field: string; problems?: string[] };
      out[d.field] = (d.problems ?? []).join('; ') || error.message;
    }
  }
  const field = CODE_FIELDS[error.code];
  if (field && !out[field]) out[field] = error.message;
  return out;
}

export function errorMessage(error: unknown): string {
  return error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
}
