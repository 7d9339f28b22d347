/**
 * Secrets the project ships as examples or defaults (.env.example, docker-compose.dev.yml, today's and
 * earlier ones). With NODE_ENV=production a service refuses to start when one of its secrets is one of
 * these: anyone who read the repository knows them. test/hardening/shipped-secrets.e2e-spec.ts keeps this
 * list in step with .env.example and compose (it fails when a secret there is missing here).
 */

/** Variables holding a secret a service reads (REDIS_URL is checked for the password inside it). */
export const SECRET_VARIABLES: readonly string[] = [
  'DB_SERVICE_PASSWORD',
  'INTERNAL_API_TOKEN',
  'INSTANCE_SECRETS_KEY',
  'SIGNING_KEYS_ENCRYPTION_KEY',
  'ODOO_PROVISIONER_PASSWORD',
  'KILLBILL_PASSWORD',
  'KILLBILL_API_SECRET',
  'KILLBILL_WEBHOOK_SECRET',
  'SMTP_PASSWORD',
  'SUPABASE_SERVICE_ROLE_KEY',
];

export const SHIPPED_SECRET_VALUES: ReadonlySet<string> = new Set([
  // .env.example
  'user_service_dev_password',
  'tenant_service_dev_password',
  'instance_service_dev_password',
  'billing_service_dev_password',
  'odoo_provisioner_dev_password',
  'password',
  'saasodoo-dev-killbill-api-secret',
  'dev-killbill-webhook-secret-change-me-0123',
  'dev-internal-api-token-change-me-0123456789',
  'd5//V8Zk8FU5K7XXYNA6pKovlrur3HmmaNgzHuYza+0=',
  'qG4cTLn1y2pJ3MrOBQ8wFuCzXq6kV0yA0f9s3j1Ue9c=',
  // docker-compose.dev.yml defaults (before compose required every secret to be set)
  'postgres_dev_password',
  'killbill_db_dev_password',
  'killbill_admin_dev_password',
  'saasodoo_killbill_dev_api_secret',
  'dev_killbill_webhook_secret_change_me_0123',
  'dev_internal_api_token_change_me_0123456789',
  'ZGV2LW9ubHktaW5zdGFuY2Utc2VjcmV0cy1rZXktMzI=',
  'grafana_dev_password',
]);

/** The password inside a redis:// URL, if any. */
function urlPassword(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password === '' ? undefined : password;
  } catch {
    return undefined;
  }
}

/** Names of the variables in `env` whose secret is a shipped one (empty values are not secrets). */
export function shippedSecretsIn(env: Record<string, unknown>): string[] {
  const found = SECRET_VARIABLES.filter((name) => {
    const value = env[name];
    return typeof value === 'string' && value !== '' && SHIPPED_SECRET_VALUES.has(value);
  });
  const redisPassword = typeof env.REDIS_URL === 'string' ? urlPassword(env.REDIS_URL) : undefined;
  if (redisPassword !== undefined && SHIPPED_SECRET_VALUES.has(redisPassword)) found.push('REDIS_URL');
  return found;
}

/** Thrown at boot under NODE_ENV=production when a secret is one the project ships. */
export class ShippedSecretError extends Error {
  constructor(readonly variables: string[]) {
    super(
      `NODE_ENV=production refuses secrets shipped in .env.example or docker-compose.dev.yml: ` +
        `${variables.join(', ')}. Set your own values (for example openssl rand -base64 32).`,
    );
    this.name = 'ShippedSecretError';
  }
}

/**
 * Under NODE_ENV=production, throws ShippedSecretError naming every variable the service reads (the keys of
 * its validated config) whose raw value in `env` is a shipped secret.
 */
export function assertNoShippedSecrets(
  config: { NODE_ENV?: string } & object,
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (config.NODE_ENV !== 'production') return;
  const read = Object.fromEntries(Object.keys(config).map((name) => [name, env[name]]));
  const found = shippedSecretsIn(read);
  if (found.length > 0) throw new ShippedSecretError(found);
}
