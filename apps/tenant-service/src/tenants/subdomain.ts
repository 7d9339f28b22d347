/** Subdomains the platform uses itself or that invite phishing; never given to a tenant. */
export const RESERVED_SUBDOMAINS = new Set([
  'api',
  'www',
  'mail',
  'admin',
  'app',
  'auth',
  'login',
  'dashboard',
  'support',
  'docs',
  'billing',
  'traefik',
  'grafana',
  'prometheus',
  'kaui',
  'killbill',
  'mailpit',
  'status',
  'help',
  'blog',
  'static',
  'assets',
  'cdn',
  'ftp',
  'smtp',
  'imap',
  'pop',
  'ns1',
  'ns2',
  'root',
  'system',
  'internal',
  'metrics',
  'health',
  'odoo',
  'test',
  'staging',
  'dev',
  'localhost',
  'webmail',
  'portal',
  'account',
  'accounts',
  'signup',
  'register',
  'secure',
]);

export const SUBDOMAIN_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** Why a subdomain cannot be used, or null when its form is acceptable (availability is separate). */
export function subdomainProblem(subdomain: string): string | null {
  if (subdomain.length < 3 || subdomain.length > 50) return 'must be 3 to 50 characters long';
  if (!SUBDOMAIN_PATTERN.test(subdomain)) {
    return 'may contain only lower-case letters, digits and single hyphens, and must not start or end with a hyphen';
  }
  if (RESERVED_SUBDOMAINS.has(subdomain)) return 'is reserved';
  return null;
}
