import { ServiceDataSourceSpec } from '@app/database';
import { EmailTokenEntity } from '../email-tokens/email-token.entity';
import { RefreshTokenEntity, SessionEntity } from '../sessions/session.entity';
import { SigningKeyEntity } from '../signing-keys/signing-key.entity';
import { UserEntity } from '../users/user.entity';
import { CreateAccounts1764000000000 } from './migrations/1764000000000-CreateAccounts';
import { SealSigningKeys1767100000000 } from './migrations/1767100000000-SealSigningKeys';

export const dataSourceSpec: ServiceDataSourceSpec = {
  service: 'user-service',
  entities: [UserEntity, SessionEntity, RefreshTokenEntity, EmailTokenEntity, SigningKeyEntity],
  migrations: [CreateAccounts1764000000000, SealSigningKeys1767100000000],
};
