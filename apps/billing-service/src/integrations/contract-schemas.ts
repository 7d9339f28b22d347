/**
 * The shared zod schemas of the internal API's answers (libs/contracts/src/internal-schemas.ts). @app/contracts'
 * index does not export that file yet; once it does, the clients import these from '@app/contracts' and this
 * file goes.
 */
export {
  customerTenantSummarySchema,
  internalInstanceStateSchema,
  internalUserSchema,
} from '../../../../libs/contracts/src/internal-schemas';
