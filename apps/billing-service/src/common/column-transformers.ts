import { ValueTransformer } from 'typeorm';

/** Postgres numeric arrives as a string (exact decimal); the API speaks JSON numbers. */
export const numericColumn: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
