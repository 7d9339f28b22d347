import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Thrown when the environment does not satisfy an app's schema; lists every problem at once. */
export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

/**
 * `NAME_FILE=/run/secrets/name` sets `NAME` to that file's content (a trailing newline dropped): how Docker
 * secrets reach the apps on a swarm. Only for secret names (PASSWORD, SECRET, TOKEN, KEY) and URLs (which
 * may carry credentials, e.g. REDIS_URL_FILE): other `*_FILE`
 * variables (KILLBILL_CATALOG_FILE, SSL_CERT_FILE) are paths in their own right. Setting both `NAME` and
 * `NAME_FILE`, or a file that cannot be read, is a configuration error.
 */
export function resolveFileVariables(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; problems: string[] } {
  const resolved: NodeJS.ProcessEnv = { ...env };
  const problems: string[] = [];
  for (const [key, path] of Object.entries(env)) {
    if (!key.endsWith('_FILE') || key.length <= 5 || path === undefined || path === '') continue;
    const name = key.slice(0, -5);
    if (!isSecretName(name) && !name.endsWith('_URL')) continue;
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`${key}: ${name} is set too; set one of them`);
      continue;
    }
    try {
      resolved[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
      problems.push(`${key}: cannot read ${path}${code ? ` (${code})` : ''}`);
    }
  }
  return { env: resolved, problems };
}

export function loadConfig<S extends z.ZodType>(
  schema: S,
  rawEnv: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const { env, problems: fileProblems } = resolveFileVariables(rawEnv);
  if (fileProblems.length > 0) throw new ConfigValidationError(fileProblems);
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.join('.') || '(environment)';
    const value = issue.path.length === 1 ? env[String(issue.path[0])] : undefined;
    const shown = value === undefined ? 'missing' : `got "${isSecretName(variable) ? '***' : value}"`;
    return `${variable}: ${issue.message} (${shown})`;
  });
  throw new ConfigValidationError(problems);
}

export function isSecretName(name: string): boolean {
  return /PASSWORD|SECRET|TOKEN|KEY/i.test(name);
}
