import type Docker from 'dockerode';
import { chmod, mkdir } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import type { NetworkInfo } from '../placement-backend';

/**
 * The address of the engine's default bridge gateway: reachable from every container on this host (bridge
 * or overlay, through docker_gwbridge), not routed from outside it.
 */
export async function bridgeGateway(docker: Docker): Promise<string> {
  const bridge = (await docker.getNetwork('bridge').inspect()) as Docker.NetworkInspectInfo;
  const fromIpam = bridge.IPAM?.Config?.find((c) => c.Gateway && !c.Gateway.includes(':'))?.Gateway;
  if (fromIpam) return fromIpam;
  const ifName = bridge.Options?.['com.docker.network.bridge.name'] ?? 'docker0';
  const address = networkInterfaces()[ifName]?.find((a) => a.family === 'IPv4')?.address;
  if (address) return address;
  // Node lists only interfaces that are up; docker0 is down while no container uses the default bridge.
  // Docker gives the gateway the subnet's first address.
  const subnet = bridge.IPAM?.Config?.find((c) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c.Subnet ?? ''))?.Subnet;
  if (subnet) {
    const [base = '', bits = '32'] = subnet.split('/');
    const value = base.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const mask = Number(bits) === 0 ? 0 : 2 ** 32 - 2 ** (32 - Number(bits));
    const first = ((value & mask) >>> 0) + 1;
    return [24, 16, 8, 0].map((shift) => (first >>> shift) & 255).join('.');
  }
  throw new Error('cannot find the Docker bridge gateway; set ODOO_DB_HOST_FOR_CONTAINERS');
}

/** `saasodoo.role=odoo` → `node.labels.saasodoo.role==odoo`. */
export function nodeLabelConstraints(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([key, value]) => `node.labels.${key}==${value}`);
}

/**
 * An instance's directory on shared storage: writable by the image's user, whatever its uid (mkdir's mode is
 * cut by the umask, hence the chmod). Its parent stays the operator's.
 */
export async function ensureSharedDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  await chmod(path, 0o777);
}

/** The engine's view of a network, as the placement port reports it (both backends list networks alike). */
export function toNetworkInfo(network: Docker.NetworkInspectInfo): NetworkInfo {
  return { name: network.Name, labels: network.Labels ?? {}, created: new Date(network.Created) };
}
