import { z } from 'zod';

/**
 * Where a new instance's data comes from when it is not a fresh Odoo database (issue #15): an uploaded Odoo
 * backup zip (`import`, the archive sits on the worker under BACKUP_DIR/imports/<instance id>.zip), or a backup
 * of another instance of the same tenant (`backup`, a staging copy). Stored on the instance row; the worker's
 * provisioning reads it.
 */
export const provisionSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('import'), filename: z.string().max(255).nullable() }).strict(),
  z
    .object({
      kind: z.literal('backup'),
      backup_id: z.uuid(),
      source_instance_id: z.uuid(),
    })
    .strict(),
]);
export type ProvisionSource = z.infer<typeof provisionSourceSchema>;

/**
 * The part of Odoo's `manifest.json` (odoo/service/db.py `dump_db_manifest`) an import reads: `version`
 * (`release.version`, e.g. `17.0`, `17.0+e`, `saas~17.1`) and `version_info` (`[17, 0, 0, 'final', 0, '']`).
 * Other fields (`db_name`, `pg_version`, `modules`, …) are allowed and ignored.
 */
export const odooDumpManifestSchema = z
  .object({
    version: z.string().min(1).max(64).optional(),
    version_info: z
      .array(z.union([z.number(), z.string()]))
      .min(2)
      .optional(),
    db_name: z.string().optional(),
  })
  .loose()
  .refine((m) => m.version !== undefined || m.version_info !== undefined, {
    message: 'manifest.json has neither "version" nor "version_info"',
  });
export type OdooDumpManifest = z.infer<typeof odooDumpManifestSchema>;

/** `17.0+e`, `saas~17.1`, `[17, 0, …]` → `17.0` (major.minor); null when it cannot be read. */
export function odooSeriesOf(manifest: OdooDumpManifest): string | null {
  const info = manifest.version_info;
  if (info && typeof info[0] === 'number' && typeof info[1] === 'number') {
    return `${info[0]}.${info[1]}`;
  }
  const match = /(\d+)\.(\d+)/.exec(manifest.version ?? '');
  return match ? `${Number(match[1])}.${Number(match[2])}` : null;
}

/** Headers of the worker's upload endpoint (PUT /imports/{instance_id}), signed by instance-service. */
export const IMPORT_UPLOAD_HEADERS = {
  expires: 'x-import-expires',
  signature: 'x-import-signature',
} as const;
