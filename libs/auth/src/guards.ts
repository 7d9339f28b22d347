import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ForbiddenError } from '@app/http';
import { AccessTokenVerifier } from './access-token.verifier';
import { AUTH_SETTINGS } from './auth.env';
import type { AuthSettings } from './auth.env';
import { AuthenticationError } from './auth.errors';
import { AuthenticatedRequest, AuthenticatedUser, INTERNAL_TOKEN_HEADER } from './auth.types';

function bearerToken(request: AuthenticatedRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
  return match?.[1];
}

async function authenticate(
  request: AuthenticatedRequest,
  verifier: AccessTokenVerifier,
): Promise<AuthenticatedUser> {
  if (request.user) return request.user;
  const token = bearerToken(request);
  if (!token) throw new AuthenticationError('TOKEN_MISSING');
  request.user = await verifier.verify(token);
  return request.user;
}

/** 401 unless the request carries a valid access token of a live session; sets `request.user`. */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(private readonly verifier: AccessTokenVerifier) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    await authenticate(context.switchToHttp().getRequest<AuthenticatedRequest>(), this.verifier);
    return true;
  }
}

/**
 * 403 unless the caller is an admin. Meant to follow AccessTokenGuard; used alone it authenticates the
 * request itself, so a forgotten AccessTokenGuard never opens an admin route.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(private readonly verifier: AccessTokenVerifier) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const user = await authenticate(context.switchToHttp().getRequest<AuthenticatedRequest>(), this.verifier);
    if (user.role !== 'admin')
      throw new ForbiddenError('ADMIN_REQUIRED', 'This route requires the admin role');
    return true;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * `/internal/*` routes: only the service credential (header x-internal-token equal to INTERNAL_API_TOKEN)
 * is accepted, compared in constant time. A customer's bearer token is not a credential here.
 */
@Injectable()
export class InternalApiGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(AUTH_SETTINGS) settings: AuthSettings) {
    this.expected = digest(settings.internalApiToken);
  }

  canActivate(context: ExecutionContext): boolean {
    const given = context.switchToHttp().getRequest<AuthenticatedRequest>().headers[INTERNAL_TOKEN_HEADER];
    // Hashing first makes the comparison constant-time whatever the length of what was sent.
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), this.expected)) {
      throw new AuthenticationError('INTERNAL_AUTH_REQUIRED');
    }
    return true;
  }
}
