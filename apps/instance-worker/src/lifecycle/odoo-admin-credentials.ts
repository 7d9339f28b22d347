import { pbkdf2, randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { Client } from 'pg';

const pbkdf2Async = promisify(pbkdf2);

/** passlib's "adapted base64": standard alphabet with `.` for `+`, no padding. */
function ab64(buffer: Buffer): string {
  return buffer.toString('base64').replace(/\+/g, '.').replace(/=+$/, '');
}

/**
 * The hash Odoo stores in `res_users.password` (passlib `pbkdf2_sha512`, Odoo's default rounds), so the
 * plain password never reaches the database.
 */
export async function odooPasswordHash(password: string, rounds = 600_000): Promise<string> {
  const salt = randomBytes(16);
  const checksum = await pbkdf2Async(password, salt, rounds, 64, 'sha512');
  return `$pbkdf2-sha512$${rounds}$${ab64(salt)}$${ab64(checksum)}`;
}

/**
 * Sets the login (the admin e-mail) and password of Odoo's administrator (user id 2, created by `-i base`).
 * Returns false when the database has no Odoo schema (a stand-in image that does not use the database).
 */
export async function setOdooAdminCredentials(
  client: Client,
  email: string,
  password: string,
): Promise<boolean> {
  const { rows } = await client.query<{ present: boolean }>(
    `SELECT to_regclass('public.res_users') IS NOT NULL AS present`,
  );
  if (!rows[0]?.present) return false;
  const hash = await odooPasswordHash(password);
  await client.query('BEGIN');
  try {
    await client.query(`UPDATE res_users SET login = $1, password = $2 WHERE id = 2`, [email, hash]);
    await client.query(
      `UPDATE res_partner SET email = $1 WHERE id = (SELECT partner_id FROM res_users WHERE id = 2)`,
      [email],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
  return true;
}

/** True once `odoo -i base` initialised the database (the module table exists). */
export async function isOdooDatabaseInitialised(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ present: boolean }>(
    `SELECT to_regclass('public.ir_module_module') IS NOT NULL AS present`,
  );
  return rows[0]?.present ?? false;
}

/**
 * A database copied from a spare starts with the spare's `database.uuid` and `database.secret` (the key
 * Odoo signs sessions and tokens with): both are replaced, as Odoo's own "duplicate database" does. Returns
 * false when the database has no Odoo schema.
 */
export async function renewOdooDatabaseIdentity(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ present: boolean }>(
    `SELECT to_regclass('public.ir_config_parameter') IS NOT NULL AS present`,
  );
  if (!rows[0]?.present) return false;
  await client.query(
    `UPDATE ir_config_parameter SET value = CASE key
       WHEN 'database.uuid' THEN $1
       WHEN 'database.secret' THEN $2
       ELSE to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') END
     WHERE key IN ('database.uuid', 'database.secret', 'database.create_date')`,
    [randomUUID(), randomUUID()],
  );
  return true;
}

/**
 * Stores these filestore files in the database instead (`db_datas` of the `ir_attachment` rows that point to
 * them, `store_fname` cleared): Odoo reads such attachments from the database, wherever new ones go.
 * Returns how many attachments moved; 0 when the database has no Odoo schema.
 */
export async function moveAttachmentsIntoDatabase(
  client: Client,
  files: { storeFname: string; content: Buffer }[],
): Promise<number> {
  const { rows } = await client.query<{ present: boolean }>(
    `SELECT to_regclass('public.ir_attachment') IS NOT NULL AS present`,
  );
  if (!rows[0]?.present || files.length === 0) return 0;
  let moved = 0;
  await client.query('BEGIN');
  try {
    for (const file of files) {
      const result = await client.query(
        `UPDATE ir_attachment SET db_datas = $2, store_fname = NULL WHERE store_fname = $1`,
        [file.storeFname, file.content],
      );
      moved += result.rowCount ?? 0;
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
  return moved;
}
