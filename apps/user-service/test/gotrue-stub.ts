import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

interface StubUser {
  id: string;
  email: string;
  password: string;
  confirmed_at: string | null;
  user_metadata: Record<string, unknown>;
  created_at: string;
}

export interface GoTrueCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body: Record<string, unknown>;
}

/**
 * A stand-in for Supabase Auth (GoTrue) answering the endpoints supabase-js calls, with GoTrue's shapes
 * (API version 2024-01-01 errors: `{code, message}`). It keeps the token hashes that Supabase would put
 * in its confirmation and recovery emails, so tests can follow those links.
 */
export class GoTrueStub {
  private server?: Server;
  private readonly users = new Map<string, StubUser>();
  private readonly refreshTokens = new Map<string, string>();
  private readonly accessTokens = new Map<string, string>();
  private readonly otps = new Map<string, { userId: string; type: 'signup' | 'recovery' }>();
  readonly calls: GoTrueCall[] = [];
  url = '';

  constructor(readonly anonKey: string) {}

  /** Listens on a random port the first time, and on the same one after a stop. */
  async start(): Promise<string> {
    const port = this.url ? Number(new URL(this.url).port) : 0;
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  user(email: string): StubUser | undefined {
    return [...this.users.values()].find((u) => u.email === email);
  }

  /** The token_hash Supabase's last email of that kind to `email` carried. */
  lastTokenHash(email: string, type: 'signup' | 'recovery'): string {
    const user = this.user(email);
    const hashes = [...this.otps.entries()].filter(([, o]) => o.userId === user?.id && o.type === type);
    const last = hashes[hashes.length - 1];
    if (!last) throw new Error(`no ${type} token for ${email}`);
    return last[0];
  }

  /** Ends every Supabase session of the user (as an admin would in the Supabase dashboard). */
  revokeSessions(email: string): void {
    const user = this.user(email);
    for (const [token, userId] of this.refreshTokens)
      if (userId === user?.id) this.refreshTokens.delete(token);
  }

  private send(res: ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json', 'x-supabase-api-version': '2024-01-01' });
    res.end(JSON.stringify(body));
  }

  private error(res: ServerResponse, status: number, code: string, message: string) {
    this.send(res, status, { code, message });
  }

  private publicUser(user: StubUser) {
    return {
      id: user.id,
      aud: 'authenticated',
      role: 'authenticated',
      email: user.email,
      email_confirmed_at: user.confirmed_at,
      confirmed_at: user.confirmed_at,
      phone: '',
      app_metadata: { provider: 'email', providers: ['email'] },
      user_metadata: user.user_metadata,
      identities: [
        {
          identity_id: randomUUID(),
          id: user.id,
          user_id: user.id,
          provider: 'email',
          identity_data: { email: user.email, sub: user.id },
          created_at: user.created_at,
          updated_at: user.created_at,
        },
      ],
      created_at: user.created_at,
      updated_at: new Date().toISOString(),
      is_anonymous: false,
    };
  }

  private session(user: StubUser) {
    const now = Math.floor(Date.now() / 1000);
    const payload = Buffer.from(
      JSON.stringify({
        sub: user.id,
        email: user.email,
        role: 'authenticated',
        aud: 'authenticated',
        exp: now + 3600,
        iat: now,
      }),
    ).toString('base64url');
    const accessToken = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${payload}.${randomBytes(16).toString('base64url')}`;
    const refreshToken = randomBytes(12).toString('hex');
    this.accessTokens.set(accessToken, user.id);
    this.refreshTokens.set(refreshToken, user.id);
    return {
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: 3600,
      expires_at: now + 3600,
      refresh_token: refreshToken,
      user: this.publicUser(user),
    };
  }

  private otp(userId: string, type: 'signup' | 'recovery'): void {
    this.otps.set(randomBytes(28).toString('hex'), { userId, type });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stub');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = (chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {}) as Record<
      string,
      unknown
    >;
    const path = url.pathname.replace(/^\/auth\/v1/, '');
    this.calls.push({ method: req.method ?? '', path, query: Object.fromEntries(url.searchParams), body });
    if (req.headers.apikey !== this.anonKey) return this.error(res, 401, 'no_api_key', 'Invalid API key');

    const route = `${req.method} ${path}`;
    if (route === 'POST /signup') {
      const email = String(body.email).toLowerCase();
      if (this.user(email)) return this.error(res, 422, 'user_already_exists', 'User already registered');
      const user: StubUser = {
        id: randomUUID(),
        email,
        password: String(body.password),
        confirmed_at: null,
        user_metadata: (body.data as Record<string, unknown>) ?? {},
        created_at: new Date().toISOString(),
      };
      this.users.set(user.id, user);
      this.otp(user.id, 'signup');
      return this.send(res, 200, {
        ...this.publicUser(user),
        confirmation_sent_at: new Date().toISOString(),
      });
    }
    if (route === 'POST /token' && url.searchParams.get('grant_type') === 'password') {
      const user = this.user(String(body.email).toLowerCase());
      if (!user || user.password !== body.password) {
        return this.error(res, 400, 'invalid_credentials', 'Invalid login credentials');
      }
      if (!user.confirmed_at) return this.error(res, 400, 'email_not_confirmed', 'Email not confirmed');
      return this.send(res, 200, this.session(user));
    }
    if (route === 'POST /token' && url.searchParams.get('grant_type') === 'refresh_token') {
      const token = String(body.refresh_token);
      const userId = this.refreshTokens.get(token);
      if (!userId)
        return this.error(
          res,
          400,
          'refresh_token_not_found',
          'Invalid Refresh Token: Refresh Token Not Found',
        );
      this.refreshTokens.delete(token);
      return this.send(res, 200, this.session(this.users.get(userId)!));
    }
    if (route === 'POST /verify') {
      const otp = this.otps.get(String(body.token_hash));
      const wanted = body.type === 'recovery' ? 'recovery' : 'signup';
      if (!otp || otp.type !== wanted)
        return this.error(res, 403, 'otp_expired', 'Email link is invalid or has expired');
      this.otps.delete(String(body.token_hash));
      const user = this.users.get(otp.userId)!;
      user.confirmed_at ??= new Date().toISOString();
      return this.send(res, 200, this.session(user));
    }
    if (route === 'POST /recover' || route === 'POST /resend') {
      const user = this.user(String(body.email).toLowerCase());
      if (user) this.otp(user.id, route === 'POST /recover' ? 'recovery' : 'signup');
      return this.send(res, 200, {});
    }
    if (route === 'PUT /user') {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const userId = this.accessTokens.get(token);
      if (!userId) return this.error(res, 401, 'bad_jwt', 'invalid JWT');
      const user = this.users.get(userId)!;
      if (typeof body.password === 'string') user.password = body.password;
      return this.send(res, 200, this.publicUser(user));
    }
    return this.error(res, 404, 'not_found', `no route ${route}`);
  }
}
