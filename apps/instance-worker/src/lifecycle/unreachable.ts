import { OffsiteStoreUnavailableError } from '../backups/offsite/offsite-backup-store';

const UNREACHABLE_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']);
/**
 * Postgres ending or refusing sessions while it stops or starts: admin_shutdown, crash_shutdown and
 * cannot_connect_now (class 57, operator intervention).
 */
const POSTGRES_GOING_AWAY = new Set(['57P01', '57P02', '57P03']);

/**
 * True when `error`, or an error it was caused by, says a dependency could not be reached at all: the container
 * engine's socket missing or refusing while dockerd restarts, the database refusing connections or ending
 * sessions while it restarts, or the off-host backup store out of reach when a backup's only copy is there. The engine or the database never answered, so nothing was decided: a job that meets this waits for
 * the dependency (JobDeferral) instead of failing for good on its last attempt.
 */
export function isDependencyUnreachable(error: unknown): boolean {
  let current: unknown = error;
  // Duck-typed, not instanceof: errors from Node's own modules may come from another realm.
  for (let depth = 0; typeof current === 'object' && current !== null && depth < 5; depth++) {
    const { code, syscall, message, cause } = current as Partial<NodeJS.ErrnoException>;
    if (syscall === 'connect' && code !== undefined && UNREACHABLE_CODES.has(code)) return true;
    if (code !== undefined && POSTGRES_GOING_AWAY.has(code)) return true;
    if (typeof message === 'string' && /\bconnect (ENOENT|ECONNREFUSED)\b/.test(message)) return true;
    // node-postgres, when the server closed a session without a word (a restart's fast shutdown).
    if (message === 'Connection terminated unexpectedly') return true;
    // The off-host backup store (BACKUP_S3_*) down while a restore, download or copy needs the only copy.
    if (current instanceof OffsiteStoreUnavailableError) return true;
    current = cause;
  }
  return false;
}
