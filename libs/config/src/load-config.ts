import { z } from 'zod';

/** Thrown when the environment does not satisfy an app's schema; lists every problem at once. */
export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
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
