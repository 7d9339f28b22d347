import { connect } from 'node:net';
import Docker from 'dockerode';
import { isDependencyUnreachable } from './unreachable';

/** The error a real connection attempt gives (no mock: a socket that does not exist, a port nobody listens on). */
function connectError(options: { path: string } | { port: number; host: string }): Promise<Error> {
  return new Promise((resolve) => {
    const socket = connect(options as never);
    socket.on('error', (error) => resolve(error));
    socket.on('connect', () => {
      socket.destroy();
      resolve(new Error('connected'));
    });
  });
}

describe('isDependencyUnreachable', () => {
  it('is true for an engine socket that is missing, directly and as the cause of a wrapped error', async () => {
    const missing = await connectError({ path: '/run/no-such-dockerd.sock' });
    expect(isDependencyUnreachable(missing)).toBe(true);
    const wrapped = new Error('inspectContainer: failed', { cause: missing });
    expect(isDependencyUnreachable(wrapped)).toBe(true);
  });

  it('is true for what dockerode reports when the engine is down', async () => {
    const docker = new Docker({ socketPath: '/run/no-such-dockerd.sock' });
    const error = await docker.ping().then(
      () => new Error('answered'),
      (e: unknown) => e as Error,
    );
    expect(isDependencyUnreachable(error)).toBe(true);
  });

  it('is true for a refused TCP connection (a database restarting)', async () => {
    const refused = await connectError({ host: '127.0.0.1', port: 1 });
    expect(isDependencyUnreachable(refused)).toBe(true);
  });

  it('is false for errors the engine or the job itself decided', () => {
    expect(isDependencyUnreachable(new Error('(HTTP code 409) container is already running'))).toBe(false);
    expect(isDependencyUnreachable(new Error('odoo --update=all exited with 1'))).toBe(false);
    const notFound = Object.assign(new Error('ENOENT: no such file or directory, open /backups/x'), {
      code: 'ENOENT',
      syscall: 'open',
    });
    expect(isDependencyUnreachable(notFound)).toBe(false);
    expect(isDependencyUnreachable('a string')).toBe(false);
  });
});
