/**
 * Subdomains of BASE_DOMAIN that no tenant and no instance may take: the hosts the platform serves itself
 * (api, app, traefik, grafana, ...) and names that invite phishing (login, support, account, ...).
 * tenant-service and instance-service both read this one list.
 */
export const RESERVED_SUBDOMAINS: ReadonlySet<string> = new Set([
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

export function isReservedSubdomain(subdomain: string): boolean {
  return RESERVED_SUBDOMAINS.has(subdomain.toLowerCase());
}
