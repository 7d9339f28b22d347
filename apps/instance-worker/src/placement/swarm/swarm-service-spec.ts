import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import type { InstanceSpec, InstanceStorage, JobSpec } from '../instance-spec';

/** The hash of what the platform asked for, on the service: a redeploy with the same spec changes nothing. */
export const SPEC_HASH_LABEL = 'saasodoo.spec.hash';
/** Jobs carry this so a sweep (and the contract tests) can find leftovers. */
export const JOB_LABEL = 'saasodoo.job';
export const ROLE_LABEL = 'saasodoo.role';

const MS = 1_000_000;
const LOG_DRIVER = { Name: 'json-file', Options: { 'max-size': '10m', 'max-file': '3' } };

function envList(env: Record<string, string> | undefined): string[] {
  return Object.entries(env ?? {}).map(([key, value]) => `${key}=${value}`);
}

export function swarmMounts(storage: InstanceStorage | undefined, labels: Record<string, string> = {}) {
  if (!storage) return [];
  return storage.kind === 'local-volume'
    ? [
        {
          Type: 'volume' as const,
          Source: storage.volume,
          Target: storage.mountPath,
          VolumeOptions: { Labels: labels, DriverConfig: { Name: 'local' } },
        },
      ]
    : [{ Type: 'bind' as const, Source: storage.hostPath, Target: storage.mountPath }];
}

/** Traefik's swarm provider reads these from the service (not the container) spec. */
export function swarmRouteLabels(spec: InstanceSpec): Record<string, string> {
  if (!spec.route) return {};
  const { router, host, port, network } = spec.route;
  return {
    'traefik.enable': 'true',
    'traefik.swarm.network': network,
    [`traefik.http.routers.${router}.rule`]: `Host(\`${host}\`)`,
    [`traefik.http.routers.${router}.service`]: router,
    [`traefik.http.services.${router}.loadbalancer.server.port`]: String(port),
  };
}

/**
 * Constraints: the node holding a local volume (`node.id==…`), the spec's node labels, and
 * `node.labels.saasodoo.role==odoo` when some node carries that label (`roleLabelInUse`).
 */
export function placementConstraints(
  placement: { nodeLabels: Record<string, string>; pinnedNode?: string | undefined } | undefined,
  storage: InstanceStorage | undefined,
  roleLabelInUse: boolean,
): string[] {
  const constraints: string[] = [];
  const pinned = placement?.pinnedNode ?? (storage?.kind === 'local-volume' ? storage.node : undefined);
  if (pinned && storage?.kind !== 'shared-path') constraints.push(`node.id==${pinned}`);
  const labels = { ...(roleLabelInUse ? { [ROLE_LABEL]: 'odoo' } : {}), ...(placement?.nodeLabels ?? {}) };
  for (const [key, value] of Object.entries(labels)) constraints.push(`node.labels.${key}==${value}`);
  return constraints;
}

/** One replica (or none while stopped), restarted on any exit, hardened as the Docker backend's containers. */
export function instanceServiceSpec(
  spec: InstanceSpec,
  constraints: string[],
  replicas: 0 | 1,
): Docker.ServiceSpec {
  const { limits, reservations } = spec.resources;
  const labels = { ...spec.labels, ...swarmRouteLabels(spec) };
  const hash = createHash('sha256').update(JSON.stringify({ spec, constraints })).digest('hex').slice(0, 16);
  const containerSpec = {
    Image: spec.image,
    ...(spec.cmd ? { Args: spec.cmd } : {}),
    Env: envList(spec.env),
    // On the container too: container events (die, oom) then carry the instance id.
    Labels: spec.labels,
    Mounts: swarmMounts(spec.storage, spec.labels),
    CapabilityDrop: ['ALL'],
    // Engines from API 1.46 apply it; older ones ignore the field (set no-new-privileges in daemon.json).
    Privileges: { NoNewPrivileges: true },
    StopGracePeriod: spec.stopTimeoutSeconds * 1000 * MS,
    ...(spec.health
      ? {
          Healthcheck: {
            Test: spec.health.cmd,
            Interval: spec.health.intervalMs * MS,
            Timeout: spec.health.timeoutMs * MS,
            Retries: spec.health.retries,
            StartPeriod: spec.health.startPeriodMs * MS,
          },
        }
      : {}),
  };
  return {
    Name: spec.name,
    Labels: { ...labels, [SPEC_HASH_LABEL]: hash },
    TaskTemplate: {
      ContainerSpec: containerSpec as Docker.ContainerSpec,
      Resources: {
        Limits: { NanoCPUs: limits.nanoCpus, MemoryBytes: limits.memoryBytes, Pids: limits.pids },
        Reservations: { NanoCPUs: reservations.nanoCpus, MemoryBytes: reservations.memoryBytes },
      } as Docker.ResourceRequirements,
      RestartPolicy: { Condition: 'any', Delay: 2_000 * MS },
      Placement: { Constraints: constraints },
      Networks: [{ Target: spec.network, Aliases: [spec.name] }],
      LogDriver: LOG_DRIVER,
    },
    Mode: { Replicated: { Replicas: replicas } },
    UpdateConfig: { Parallelism: 1, Order: 'stop-first', FailureAction: 'pause' },
    EndpointSpec: { Mode: 'vip' },
  };
}

/** A `ReplicatedJob`: one task to completion, never restarted. */
export function jobServiceSpec(
  spec: JobSpec,
  command: string[] | null,
  constraints: string[],
): Docker.ServiceSpec {
  const limits = spec.resources?.limits;
  const reservations = spec.resources?.reservations;
  return {
    Name: spec.name,
    Labels: { ...(spec.labels ?? {}), [JOB_LABEL]: 'true' },
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image,
        ...(command ? { Command: command } : { Args: spec.cmd }),
        Env: envList(spec.env),
        Labels: { ...(spec.labels ?? {}), [JOB_LABEL]: 'true' },
        Mounts: swarmMounts(spec.storage, spec.volumeLabels) as Docker.MountSettings[],
        CapabilityDrop: ['ALL'],
        ...(spec.user ? { User: spec.user } : {}),
      },
      Resources: {
        ...(limits
          ? { Limits: { NanoCPUs: limits.nanoCpus, MemoryBytes: limits.memoryBytes, Pids: limits.pids } }
          : {}),
        ...(reservations
          ? { Reservations: { NanoCPUs: reservations.nanoCpus, MemoryBytes: reservations.memoryBytes } }
          : {}),
      } as Docker.ResourceRequirements,
      RestartPolicy: { Condition: 'none' },
      Placement: { Constraints: constraints },
      Networks: (spec.networks ?? []).map((network) => ({ Target: network })),
      LogDriver: LOG_DRIVER,
    },
    Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
  };
}
