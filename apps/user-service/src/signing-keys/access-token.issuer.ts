import { Inject, Injectable } from '@nestjs/common';
import { SignJWT } from 'jose';
import {
  ACCESS_TOKEN_ALGORITHM,
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  AccessTokenClaims,
} from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { Clock } from '../common/clock';
import { RandomSource } from '../common/random';
import type { Config } from '../config/env';
import { SigningKeyService } from './signing-key.service';

export interface IssuedAccessToken {
  access_token: string;
  expires_at: Date;
}

/** Signs the short-lived access tokens every service verifies with @app/auth. */
@Injectable()
export class AccessTokenIssuer {
  constructor(
    private readonly keys: SigningKeyService,
    private readonly clock: Clock,
    private readonly random: RandomSource,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  async issue(claims: AccessTokenClaims): Promise<IssuedAccessToken> {
    const { kid, key } = await this.keys.activeKey();
    const issuedAt = Math.floor(this.clock.now().getTime() / 1000);
    const expiresAt = issuedAt + this.config.ACCESS_TOKEN_TTL_SECONDS;
    const token = await new SignJWT({ email: claims.email, role: claims.role, sid: claims.sid })
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid, typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(ACCESS_TOKEN_ISSUER)
      .setAudience(ACCESS_TOKEN_AUDIENCE)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(this.random.uuid())
      .sign(key);
    return { access_token: token, expires_at: new Date(expiresAt * 1000) };
  }
}
