import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * Listens on listenHost:listenPort and pipes each connection to targetHost:targetPort. The lab uses it to
 * put the host's Postgres (127.0.0.1 only) on the lab bridge, as the worker's ContainerDbEndpoint does on
 * the docker0 gateway, without touching Postgres' listen_addresses or pg_hba (connections reach it from
 * 127.0.0.1).
 */
export class TcpForwarder {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly listenHost: string,
    private readonly listenPort: number,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  get listening(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, this.listenHost, () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
