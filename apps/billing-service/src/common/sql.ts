import { QueryFailedError } from 'typeorm';

/**
 * Rows of a raw query. TypeORM's Postgres driver returns `[rows, rowCount]` for UPDATE/DELETE (with or
 * without RETURNING) and `rows` for everything else.
 */
export function rowsOf<T>(raw: unknown): T[] {
  if (Array.isArray(raw) && raw.length === 2 && Array.isArray(raw[0]) && typeof raw[1] === 'number') {
    return raw[0] as T[];
  }
  return raw as T[];
}

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '23505';
}
