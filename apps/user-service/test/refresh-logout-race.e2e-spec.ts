/**
 * A refresh that races a logout never brings the revoked session back: whatever the interleaving, once both
 * answered the session is dead in Redis (what every service's guard reads) and in Postgres, and no token
 * either request returned is accepted. Postgres is reached with per-connection latency, so the commit of the
 * refresh and the logout's revocation reach user-service in either order.
 */
import { createServer, connect, Server, Socket } from 'node:net';
import { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { createVerifiedCustomer, loginCustomer, randomIp, ServiceHarness, SmtpSink } from '@app/testing';
import { authKeys, bearer, startOtherService, startUserService } from './support';

/**
 * Postgres as if on another host: every connection through this proxy gets its own latency (0–25 ms) on the
 * way back, so two pooled connections answer in either order, as they do across a real network.
 */
class LatencyProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  async start(): Promise<number> {
    this.server = createServer((client) => {
      const upstream = connect(this.port, this.host);
      const delayMs = Math.floor(Math.random() * 26);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream);
      // Same delay for every chunk of a connection: its bytes keep their order.
      upstream.on('data', (chunk: Buffer) => setTimeout(() => client.write(chunk), delayMs));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => setTimeout(() => client.destroy(), delayMs + 1));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const RUNS = 80;
/** Pairs raced at once: the load widens the window between a commit and the Redis write after it. */
const PARALLEL = 8;

describe('user-service: refresh racing logout', () => {
  const smtp = new SmtpSink();
  let redis: Redis;
  let users: ServiceHarness;
  let other: ServiceHarness;
  const postgres = new LatencyProxy(
    process.env.POSTGRES_HOST ?? '127.0.0.1',
    Number(process.env.POSTGRES_PORT ?? 5432),
  );

  beforeAll(async () => {
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    await smtp.start();
    const port = await postgres.start();
    users = await startUserService(smtp, { POSTGRES_HOST: '127.0.0.1', POSTGRES_PORT: String(port) });
    other = await startOtherService();
  });
  afterAll(async () => {
    await other?.close();
    await users?.close();
    await postgres.stop();
    await smtp.stop();
    redis?.disconnect();
  });

  it(`leaves the session dead in every one of ${RUNS} runs`, async () => {
    const customer = await createVerifiedCustomer(users, smtp);
    const problems: string[] = [];
    let refreshedFirst = 0;
    const race = async (run: number): Promise<void> => {
      const session = await loginCustomer(users, customer.email, customer.password, randomIp());
      const refresh = () =>
        users.request({
          method: 'POST',
          url: '/auth/refresh',
          remoteAddress: randomIp(),
          payload: { refresh_token: session.refresh_token },
        });
      const logout = () =>
        users.request({ method: 'POST', url: '/auth/logout', headers: bearer(session.access_token) });
      // The logout leaves 0–60 ms after the refresh (or first, every fourth run): it meets the refresh's
      // transaction at every stage, lock held or not.
      const head = run % 4 === 3 ? 0 : Math.random() * 60;
      const [refreshed, loggedOut] =
        run % 4 === 3
          ? await Promise.all([logout(), refresh()]).then(([l, r]) => [r, l] as const)
          : await Promise.all([refresh(), new Promise((r) => setTimeout(r, head)).then(logout)]);
      expect(loggedOut.statusCode).toBe(200);
      const alive = await redis.exists(authKeys().session(session.session_id));
      if (alive) problems.push(`run ${run}: the session key is back in Redis`);
      const tokens = [session.access_token];
      if (refreshed.statusCode === 200) {
        refreshedFirst++;
        const body = refreshed.json<{ tokens: { access_token: string; refresh_token: string } }>();
        tokens.push(body.tokens.access_token);
        const again = await users.request({
          method: 'POST',
          url: '/auth/refresh',
          remoteAddress: randomIp(),
          payload: { refresh_token: body.tokens.refresh_token },
        });
        if (again.statusCode !== 401) problems.push(`run ${run}: the rotated refresh token still works`);
      } else if (refreshed.statusCode !== 401) {
        problems.push(`run ${run}: refresh answered ${refreshed.statusCode}`);
      }
      for (const token of tokens) {
        const res = await other.request({ method: 'GET', url: '/protected', headers: bearer(token) });
        if (res.statusCode !== 401) problems.push(`run ${run}: an access token is still accepted`);
      }
    };
    for (let batch = 0; batch < RUNS / PARALLEL; batch++) {
      await Promise.all(Array.from({ length: PARALLEL }, (_, i) => race(batch * PARALLEL + i)));
    }
    expect(problems).toEqual([]);
    // Both orders happened: some refreshes won the row lock (and were then revoked by the logout).
    expect(refreshedFirst).toBeGreaterThan(0);
  });
});
