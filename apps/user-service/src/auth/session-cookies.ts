import { HttpStatus, Injectable } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { parseCookie, stringifySetCookie } from 'cookie';
import { timingSafeEqual } from 'node:crypto';
import { DomainError, ValidationFailedError } from '@app/http';
import { RandomSource } from '../common/random';
import { Clock } from '../common/clock';
import type { LoginResult } from './auth.views';

/** The refresh token's cookie: sent back only to `/user/auth/…`, the auth routes as the portal sees them. */
export const REFRESH_COOKIE = 'saasodoo_refresh';
export const REFRESH_COOKIE_PATH = '/user/auth';
/** Double-submit CSRF token: readable by the portal's script, echoed in `X-CSRF-Token`. */
export const CSRF_COOKIE = 'saasodoo_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export class SessionModeQuery {
  @ApiPropertyOptional({
    enum: ['cookie'],
    description:
      `cookie: the refresh token travels in the HttpOnly cookie ${REFRESH_COOKIE} (Path=${REFRESH_COOKIE_PATH}) ` +
      `instead of the body, with a CSRF cookie ${CSRF_COOKIE} whose value must be sent as X-CSRF-Token ` +
      'by the routes that read the refresh cookie',
  })
  @IsOptional()
  @IsIn(['cookie'], { message: 'session must be "cookie" when given' })
  session?: 'cookie';
}

export class CsrfInvalidError extends DomainError {
  constructor() {
    super(
      HttpStatus.FORBIDDEN,
      'CSRF_INVALID',
      `The ${CSRF_HEADER} header must equal the ${CSRF_COOKIE} cookie set at login`,
    );
  }
}

/** What a route needs of the request to read the cookies: its headers. */
export interface CookieRequest {
  headers: Record<string, string | string[] | undefined>;
}

/** What a route needs of the reply to set them. */
export interface CookieReply {
  header(name: string, value: string[]): unknown;
}

/**
 * The cookie variant of a session (`?session=cookie`): the refresh token lives in an HttpOnly, Secure,
 * SameSite=Strict cookie the portal's script never sees, and the routes that read it require the CSRF
 * token of the double-submit cookie (a form on another site can send the cookie, not the header).
 */
@Injectable()
export class SessionCookies {
  constructor(
    private readonly random: RandomSource,
    private readonly clock: Clock,
  ) {}

  /** In cookie mode: sets both cookies and leaves the refresh token out of the body. */
  deliver(result: LoginResult, mode: SessionModeQuery, reply: CookieReply): LoginResult {
    if (mode.session !== 'cookie') return result;
    const { refresh_token: refreshToken, ...tokens } = result.tokens;
    const maxAge = Math.max(
      0,
      Math.floor((Date.parse(tokens.refresh_expires_at) - this.clock.now().getTime()) / 1000),
    );
    reply.header('set-cookie', [
      stringifySetCookie({
        name: REFRESH_COOKIE,
        value: refreshToken ?? '',
        ...this.refreshAttributes(),
        maxAge,
      }),
      stringifySetCookie({ name: CSRF_COOKIE, value: this.random.token(), ...this.csrfAttributes(), maxAge }),
    ]);
    return { ...result, tokens };
  }

  /** Expires both cookies. */
  clear(reply: CookieReply): void {
    reply.header('set-cookie', [
      stringifySetCookie({ name: REFRESH_COOKIE, value: '', ...this.refreshAttributes(), maxAge: 0 }),
      stringifySetCookie({ name: CSRF_COOKIE, value: '', ...this.csrfAttributes(), maxAge: 0 }),
    ]);
  }

  /**
   * The refresh token the request presents: from the body, or in cookie mode from the cookie after the CSRF
   * check (403 CSRF_INVALID). Null when cookie mode finds no refresh cookie.
   */
  refreshTokenOf(
    mode: SessionModeQuery,
    bodyToken: string | undefined,
    request: CookieRequest,
  ): string | null {
    if (mode.session !== 'cookie') {
      if (!bodyToken) {
        throw new ValidationFailedError('refresh_token is required (or use ?session=cookie)', [
          { field: 'refresh_token', message: 'refresh_token is required' },
        ]);
      }
      return bodyToken;
    }
    if (bodyToken !== undefined) {
      throw new ValidationFailedError('With ?session=cookie the refresh token comes from its cookie only', [
        { field: 'refresh_token', message: 'must be absent with ?session=cookie' },
      ]);
    }
    return this.checkedRefreshCookie(request);
  }

  /** The refresh cookie's value once the CSRF header matches the CSRF cookie; null when it is absent. */
  checkedRefreshCookie(request: CookieRequest): string | null {
    const cookies = parseCookie(headerValue(request.headers.cookie) ?? '');
    const expected = cookies[CSRF_COOKIE];
    const header = request.headers[CSRF_HEADER];
    const given = Array.isArray(header) ? header[0] : header;
    if (!expected || !given || !sameText(expected, given)) throw new CsrfInvalidError();
    return cookies[REFRESH_COOKIE] || null;
  }

  private refreshAttributes() {
    return {
      httpOnly: true,
      secure: true,
      sameSite: 'strict' as const,
      path: REFRESH_COOKIE_PATH,
    };
  }

  private csrfAttributes() {
    return { httpOnly: false, secure: true, sameSite: 'strict' as const, path: '/' };
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join('; ') : value;
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
