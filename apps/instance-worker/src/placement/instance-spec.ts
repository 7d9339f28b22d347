/**
 * What one Odoo instance needs, in words no engine owns: the lifecycle builds it, a placement backend turns
 * it into a container (docker) or a service (swarm). Nothing here names a Docker or Swarm type.
 */

/** Every object the platform manages carries this label; events and listings are filtered on it. */
export const INSTANCE_ID_LABEL = 'saasodoo.instance.id';
export const TENANT_LABEL = 'saasodoo.tenant.id';
export const CUSTOMER_LABEL = 'saasodoo.customer.id';
/** One-shot jobs carry this instead of the instance label, so the monitor never mistakes them. */
export const ONESHOT_LABEL = 'saasodoo.oneshot.instance';

export interface ResourceAmounts {
  memoryBytes: number;
  nanoCpus: number;
}

export interface InstanceResources {
  limits: ResourceAmounts & { pids: number };
  /** What the scheduler sets aside (swarm places by it; a single Docker host ignores it). */
  reservations: ResourceAmounts;
}

/**
 * `local-volume`: a named volume on the node that runs the instance (the instance is pinned there).
 * `shared-path`: a directory on a filesystem every node mounts (NFS, CephFS): the instance can move.
 */
export type InstanceStorage =
  | {
      kind: 'local-volume';
      volume: string;
      mountPath: string;
      /** The node holding the volume (swarm); null until one is chosen, always null on a single host. */
      node?: string | null;
    }
  | { kind: 'shared-path'; hostPath: string; mountPath: string };

export interface InstanceRoute {
  /** Router and service name for the proxy's labels. */
  router: string;
  host: string;
  port: number;
  /** The network the proxy reaches the instance on. */
  network: string;
}

export interface InstanceHealth {
  cmd: string[];
  startPeriodMs: number;
  intervalMs: number;
  timeoutMs: number;
  retries: number;
}

export interface InstancePlacement {
  /** Node labels that must match (`saasodoo.role=odoo`). */
  nodeLabels: Record<string, string>;
  /** The node holding the instance's local volume, once known. */
  pinnedNode?: string;
}

export interface InstanceSpec {
  instanceId: string;
  /** The container or service name. */
  name: string;
  image: string;
  cmd?: string[];
  env: Record<string, string>;
  /** The `saasodoo.*` labels (the backend adds the proxy's own). */
  labels: Record<string, string>;
  resources: InstanceResources;
  storage: InstanceStorage;
  network: string;
  route: InstanceRoute | null;
  health: InstanceHealth | null;
  placement: InstancePlacement;
  /** Single host without a proxy: publish `route.port` on 127.0.0.1 (random port) and probe through it. */
  publishOnLoopback: boolean;
  stopTimeoutSeconds: number;
}

/** A one-off run to completion (init, upgrade, backup, restore): removed afterwards, whatever happened. */
export interface JobSpec {
  name: string;
  image: string;
  cmd: string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  storage?: InstanceStorage;
  /** Labels a local volume gets when this job is the first to mount it (swarm creates it on the node). */
  volumeLabels?: Record<string, string>;
  networks?: string[];
  resources?: InstanceResources;
  user?: string;
  timeoutMs?: number;
  /** Runs the job on the node of this instance's storage (swarm); a single host has one node anyway. */
  placement?: InstancePlacement;
  /** After a clean exit, a tar archive of this path is returned as `collected`. */
  collectPath?: string;
}

/**
 * A health check command for `http://127.0.0.1:<port><path>` that works whatever the image ships: wget,
 * curl, python3, or a bare nc (busybox's static wget crashes on some swarm task networks).
 */
export function httpHealthCommand(port: number, path: string): string[] {
  const url = `http://127.0.0.1:${port}${path}`;
  return [
    'CMD-SHELL',
    `wget -q -T 2 -O /dev/null ${url} 2>/dev/null || curl -fsS -m 2 -o /dev/null ${url} 2>/dev/null || ` +
      `python3 -c "import urllib.request as r; r.urlopen('${url}', timeout=2)" 2>/dev/null || ` +
      `printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' | nc -w 2 127.0.0.1 ${port} 2>/dev/null | head -1 | grep -q ' 200 '`,
  ];
}
