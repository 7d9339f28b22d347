import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuthClient, AuthError, isAuthApiError, isAuthError } from '@supabase/supabase-js';
import { APP_CONFIG } from '@app/config';
import { DependencyUnavailableError } from '@app/http';
import type { Config } from '../config/env';

export type SupabaseSignIn =
  | { outcome: 'ok'; supabaseUserId: string; refreshToken: string }
  | { outcome: 'invalid_credentials' }
  | { outcome: 'email_not_confirmed' };

export type SupabaseSignUp =
  { outcome: 'created'; supabaseUserId: string; emailConfirmed: boolean } | { outcome: 'exists' };

/**
 * Supabase Auth (GoTrue), optional: on when SUPABASE_URL and SUPABASE_ANON_KEY are set. It holds the
 * passwords of the accounts created through it and sends their verification and reset emails; we keep
 * the link by the Supabase user id stored on the local user, and still issue our own tokens.
 */
@Injectable()
export class SupabaseAuthGateway {
  private readonly logger = new Logger('Supabase');
  readonly enabled: boolean;

  constructor(@Inject(APP_CONFIG) private readonly config: Config) {
    this.enabled = Boolean(config.SUPABASE_URL && config.SUPABASE_ANON_KEY);
  }

  /**
   * One client per operation: a GoTrue client keeps the session of its last sign-in in memory, so a shared
   * one would mix the sessions of concurrent requests. (supabase-js' AuthClient is `supabase.auth` without
   * the realtime client, which Node 20 cannot create without a WebSocket package.)
   */
  private client(): InstanceType<typeof AuthClient> {
    if (!this.config.SUPABASE_URL || !this.config.SUPABASE_ANON_KEY)
      throw new Error('Supabase is not configured');
    return new AuthClient({
      url: `${this.config.SUPABASE_URL}/auth/v1`,
      headers: {
        apikey: this.config.SUPABASE_ANON_KEY,
        Authorization: `Bearer ${this.config.SUPABASE_ANON_KEY}`,
      },
      persistSession: false,
      autoRefreshToken: false,
      detectSessionInUrl: false,
      flowType: 'implicit',
    });
  }

  private unavailable(error: AuthError | unknown): never {
    this.logger.warn({
      msg: 'Supabase Auth call failed',
      error: error instanceof Error ? error.message : error,
    });
    throw new DependencyUnavailableError('supabase', 'The identity provider is unavailable, try again later');
  }

  /** Client-side refusals (bad password, bad token) are answers; anything else means Supabase is unusable. */
  private isRefusal(error: unknown): boolean {
    return isAuthApiError(error) && error.status >= 400 && error.status < 500;
  }

  async signUp(
    email: string,
    password: string,
    metadata: Record<string, string>,
    redirectTo: string,
  ): Promise<SupabaseSignUp> {
    const { data, error } = await this.client().signUp({
      email,
      password,
      options: { data: metadata, emailRedirectTo: redirectTo },
    });
    if (error) {
      if (isAuthError(error) && (error.code === 'user_already_exists' || error.code === 'email_exists')) {
        return { outcome: 'exists' };
      }
      return this.unavailable(error);
    }
    if (!data.user) return this.unavailable(new Error('sign-up answered without a user'));
    // With email confirmation on and the address already registered, GoTrue answers with an obfuscated user without identities.
    if (Array.isArray(data.user.identities) && data.user.identities.length === 0)
      return { outcome: 'exists' };
    return {
      outcome: 'created',
      supabaseUserId: data.user.id,
      emailConfirmed: Boolean(data.user.email_confirmed_at),
    };
  }

  async signIn(email: string, password: string): Promise<SupabaseSignIn> {
    const { data, error } = await this.client().signInWithPassword({ email, password });
    if (error) {
      if (isAuthError(error) && error.code === 'email_not_confirmed')
        return { outcome: 'email_not_confirmed' };
      if (this.isRefusal(error)) return { outcome: 'invalid_credentials' };
      return this.unavailable(error);
    }
    return { outcome: 'ok', supabaseUserId: data.user.id, refreshToken: data.session.refresh_token };
  }

  /** A new Supabase refresh token, or null when Supabase refuses (user removed, session revoked there). */
  async refresh(refreshToken: string): Promise<string | null> {
    const { data, error } = await this.client().refreshSession({ refresh_token: refreshToken });
    if (error) {
      if (this.isRefusal(error)) return null;
      return this.unavailable(error);
    }
    return data.session?.refresh_token ?? null;
  }

  /** Confirms the address with the token_hash of Supabase's confirmation email; the Supabase user id or null. */
  async confirmEmail(tokenHash: string): Promise<string | null> {
    const { data, error } = await this.client().verifyOtp({ token_hash: tokenHash, type: 'email' });
    if (error) {
      if (this.isRefusal(error)) return null;
      return this.unavailable(error);
    }
    return data.user?.id ?? null;
  }

  async resendConfirmation(email: string, redirectTo: string): Promise<void> {
    const { error } = await this.client().resend({
      type: 'signup',
      email,
      options: { emailRedirectTo: redirectTo },
    });
    if (error && !this.isRefusal(error)) this.unavailable(error);
  }

  async requestPasswordReset(email: string, redirectTo: string): Promise<void> {
    const { error } = await this.client().resetPasswordForEmail(email, { redirectTo });
    if (error && !this.isRefusal(error)) this.unavailable(error);
  }

  /** Sets a new password with the token_hash of Supabase's recovery email; the Supabase user id or null. */
  async completePasswordReset(tokenHash: string, newPassword: string): Promise<string | null> {
    const client = this.client();
    const { data, error } = await client.verifyOtp({ token_hash: tokenHash, type: 'recovery' });
    if (error) {
      if (this.isRefusal(error)) return null;
      return this.unavailable(error);
    }
    if (!data.session || !data.user) return null;
    const updated = await client.updateUser({ password: newPassword });
    if (updated.error) return this.unavailable(updated.error);
    return data.user.id;
  }

  /** Changes the password after proving the current one; false when the current one is wrong. */
  async changePassword(email: string, currentPassword: string, newPassword: string): Promise<boolean> {
    const client = this.client();
    const { error } = await client.signInWithPassword({ email, password: currentPassword });
    if (error) {
      if (this.isRefusal(error)) return false;
      return this.unavailable(error);
    }
    const updated = await client.updateUser({ password: newPassword });
    if (updated.error) return this.unavailable(updated.error);
    return true;
  }
}
