import { sizeInBytes } from '@app/tenancy';

/**
 * The largest archive an import may upload: the storage the new instance gets (its `storage_limit`, which
 * the plan's ceiling bounds, so the limit follows the plan) and never more than the operator's IMPORT_MAX_BYTES.
 */
export function importLimitBytes(storageLimit: string, operatorCap: number): number {
  return Math.min(sizeInBytes(storageLimit), operatorCap);
}
