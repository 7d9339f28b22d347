import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';

export const USER_ROLES = ['customer', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** Who made the request, as proven by a valid access token whose session is still alive. */
export interface AuthenticatedUser {
  id: string;
  email: string;
  role: UserRole;
  session_id: string;
}

/** The claims user-service signs into every access token (besides iss, aud, iat, exp, jti). */
export interface AccessTokenClaims {
  sub: string;
  email: string;
  role: UserRole;
  sid: string;
}

export const ACCESS_TOKEN_ALGORITHM = 'ES256';
export const ACCESS_TOKEN_ISSUER = 'saasodoo-user-service';
export const ACCESS_TOKEN_AUDIENCE = 'saasodoo';

/** Header carrying the service credential on `/internal/*` calls. */
export const INTERNAL_TOKEN_HEADER = 'x-internal-token';

export type AuthenticatedRequest = FastifyRequest & { user?: AuthenticatedUser };

/** The public key set user-service publishes, in the JWKS format of RFC 7517. */
export class PublicJwk {
  @ApiProperty({ example: 'EC' })
  kty: string;
  @ApiProperty()
  kid: string;
  @ApiProperty({ example: 'ES256' })
  alg: string;
  @ApiProperty({ example: 'sig' })
  use: string;
  @ApiPropertyOptional({ example: 'P-256' })
  crv?: string;
  @ApiPropertyOptional()
  x?: string;
  @ApiPropertyOptional()
  y?: string;
}

export class PublicJwks {
  @ApiProperty({ type: [PublicJwk] })
  keys: PublicJwk[];
}

/**
 * Redis keys shared by the signer (user-service) and every verifier. `prefix` is AUTH_REDIS_PREFIX
 * ("auth:" unless a test isolates itself).
 */
export function authRedisKeys(prefix: string) {
  return {
    jwks: `${prefix}jwks`,
    session: (sessionId: string) => `${prefix}session:${sessionId}`,
  };
}
