import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { APP_CONFIG } from '@app/config';
import type { Config } from '../config/env';
import { PLACEMENT_BACKEND, type PlacementBackend } from '../placement/placement-backend';

const LOOPBACK = /^(127\.|localhost$|::1$)/;

export interface DbEndpoint {
  host: string;
  port: number;
}

/**
 * Where Odoo containers find Postgres. In compose: ODOO_DB_HOST (`postgres`, reachable because Postgres is
 * a peer on every tenant network). In host mode Postgres listens on 127.0.0.1 only, which a container
 * cannot reach, so the worker forwards <docker bridge gateway>:ODOO_DB_PORT to it: the gateway address is
 * reachable from every bridge network but not routed from outside the host. If the port is taken there
 * (another worker's forwarder, or Postgres listening on all interfaces) it is used as it is, and binding
 * is retried in the background in case the other forwarder goes away.
 */
@Injectable()
export class ContainerDbEndpoint implements OnApplicationShutdown {
  private readonly logger = new Logger(ContainerDbEndpoint.name);
  private endpoint?: DbEndpoint;
  private server?: Server;
  private retry?: NodeJS.Timeout;
  private readonly sockets = new Set<Socket>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    @Inject(PLACEMENT_BACKEND) private readonly placement: PlacementBackend,
  ) {}

  /** Resolves the endpoint (and starts the forwarder when needed). Idempotent. */
  async init(): Promise<DbEndpoint> {
    if (this.endpoint) return this.endpoint;
    const configured = this.config.ODOO_DB_HOST_FOR_CONTAINERS.trim();
    if (configured) {
      this.endpoint = { host: configured, port: this.config.ODOO_DB_PORT };
    } else if (!LOOPBACK.test(this.config.ODOO_DB_HOST)) {
      this.endpoint = { host: this.config.ODOO_DB_HOST, port: this.config.ODOO_DB_PORT };
    } else {
      const gateway = await this.placement.hostGateway();
      this.endpoint = { host: gateway, port: this.config.ODOO_DB_PORT };
      await this.listen(gateway);
    }
    return this.endpoint;
  }

  get(): DbEndpoint {
    if (!this.endpoint) throw new Error('ContainerDbEndpoint.init() has not run');
    return this.endpoint;
  }

  get forwarding(): boolean {
    return this.server !== undefined;
  }

  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.retry);
    this.retry = undefined;
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async listen(host: string): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.config.ODOO_DB_PORT, this.config.ODOO_DB_HOST);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.config.ODOO_DB_PORT, host, () => resolve());
      });
      // After listen, an error (e.g. the bridge address going away with dockerd) is logged, never fatal.
      server.on('error', (error) => this.logger.warn(`forwarder: ${error.message}`));
      this.server = server;
      this.logger.log(`forwarding ${host}:${this.config.ODOO_DB_PORT} to Postgres for Odoo containers`);
    } catch (error) {
      const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
      if (code !== 'EADDRINUSE') throw error;
      this.logger.warn(
        `${host}:${this.config.ODOO_DB_PORT} is already served (another worker?); retrying later`,
      );
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.listen(host).catch((e: unknown) => this.logger.warn(`forwarder: ${String(e)}`));
      }, 5_000);
      this.retry.unref();
    }
  }
}
