import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** For the benchmarks, the rule of scripts/test.sh: .env.example gives the defaults, the environment wins. */
export function loadEnvExample(): void {
  const text = readFileSync(resolve(__dirname, '..', '.env.example'), 'utf8');
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    const [, key, value] = match ?? [];
    if (key && process.env[key] === undefined) process.env[key] = value;
  }
}
