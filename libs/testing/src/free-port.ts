import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Where the kernel's ephemeral range starts (outgoing connections' source ports, Docker's published ports). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (low > 2_048) return low;
  } catch {
    // not Linux
  }
  return 49_152; // IANA's dynamic range
}

/** Ports handed out are below the ephemeral range, where neither the kernel nor Docker picks on its own. */
const POOL_HIGH = ephemeralLow() - 1;
const POOL_LOW = Math.max(1_024, POOL_HIGH - 12_000);
const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (for services that must know each other's URLs up front).
 * It is taken outside the ephemeral range: a port from that range can be taken between this call and the
 * service's listen by any outgoing connection's source port or by a container's published port.
 */
export async function freePort(): Promise<number> {
  const span = POOL_HIGH - POOL_LOW + 1;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = POOL_LOW + Math.floor(Math.random() * span);
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found in ${POOL_LOW}-${POOL_HIGH}`);
}
