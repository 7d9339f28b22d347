import { run, succeeds } from './host';

/** The /24 candidates: 192.168.x, away from Docker's overlay pool (10.0.0.0/8) and its bridges (172.16/12). */
const CANDIDATE_THIRD_OCTETS = Array.from({ length: 40 }, (_, i) => 200 + i);

function toInt(address: string): number {
  return address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0) >>> 0;
}

/** Whether two IPv4 prefixes (a.b.c.d/n) share any address. */
export function overlaps(a: string, b: string): boolean {
  const [aBase = '0.0.0.0', aBits = '32'] = a.split('/');
  const [bBase = '0.0.0.0', bBits = '32'] = b.split('/');
  const bits = Math.min(Number(aBits), Number(bBits));
  const mask = bits === 0 ? 0 : (2 ** 32 - 2 ** (32 - bits)) >>> 0;
  return (toInt(aBase) & mask) >>> 0 === (toInt(bBase) & mask) >>> 0;
}

/** Prefixes the host already routes or holds an address in ("default" and the like are skipped). */
async function prefixesInUse(): Promise<string[]> {
  const routes = (await run('ip', ['-4', 'route', 'show', 'table', 'all'])).split('\n');
  const addresses = (await run('ip', ['-4', '-o', 'addr', 'show'])).split('\n');
  const prefixes: string[] = [];
  for (const line of routes) {
    const first = line.trim().split(/\s+/)[0] ?? '';
    const target = /^(local|broadcast|unicast)$/.test(first) ? (line.trim().split(/\s+/)[1] ?? '') : first;
    if (/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(target))
      prefixes.push(target.includes('/') ? target : `${target}/32`);
  }
  for (const line of addresses) {
    const match = /inet (\d+\.\d+\.\d+\.\d+\/\d+)/.exec(line);
    if (match?.[1]) prefixes.push(match[1]);
  }
  return prefixes;
}

/** A private /24 that nothing on the host uses; its base ("192.168.x") without the last octet. */
export async function pickUnusedSubnet(): Promise<string> {
  const inUse = await prefixesInUse();
  // In random order, so that labs started side by side (parallel test runs) rarely try the same one.
  const candidates = [...CANDIDATE_THIRD_OCTETS].sort(() => Math.random() - 0.5);
  for (const third of candidates) {
    const candidate = `192.168.${third}.0/24`;
    if (!inUse.some((p) => overlaps(p, candidate))) return `192.168.${third}`;
  }
  throw new Error('swarm-lab: no unused /24 in 192.168.200-239.0/24');
}

export class SubnetTakenError extends Error {}

/**
 * The FORWARD rule that lets the lab's bridged traffic through: br_netfilter hands bridged frames to
 * iptables, and Docker sets the FORWARD policy to DROP.
 */
export function forwardRule(bridge: string): string[] {
  return ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
}

export async function createBridge(bridge: string, address: string): Promise<void> {
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await run('ip', ['addr', 'add', `${address}/24`, 'dev', bridge]);
  // Another lab (or anything else) may have taken the same /24 since pickUnusedSubnet looked.
  const others = (await run('ip', ['-4', '-o', 'addr', 'show']))
    .split('\n')
    .filter((line) => !line.includes(` ${bridge} `) && line.includes(` ${address.replace(/\.\d+$/, '.')}`));
  if (others.length > 0)
    throw new SubnetTakenError(`swarm-lab: ${address}/24 is also on: ${others.join('; ')}`);
  await run('ip', ['link', 'set', bridge, 'up']);
  await run('iptables', ['-w', '-I', ...forwardRule(bridge)]);
}

/**
 * A network namespace joined to the bridge by a veth pair; inside it the node's interface is eth0 with
 * `address`. No default route: nothing in the lab can reach beyond the bridge's /24 (registry lookups fail
 * at once instead of timing out), and the host (the bridge address) is on-link. Containers behind a node's
 * docker_gwbridge reach the host through a MASQUERADE rule, which dockerd (--iptables=false) does not add.
 */
export async function createNodeNetwork(
  netns: string,
  hostVeth: string,
  bridge: string,
  address: string,
): Promise<void> {
  const peer = `${hostVeth}p`;
  await run('ip', ['netns', 'add', netns]);
  await run('ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', peer]);
  await run('ip', ['link', 'set', peer, 'netns', netns]);
  await run('ip', ['link', 'set', hostVeth, 'master', bridge, 'up']);
  const inNs = (args: string[]) => run('ip', ['-n', netns, ...args]);
  await inNs(['link', 'set', 'lo', 'up']);
  await inNs(['link', 'set', peer, 'name', 'eth0']);
  await inNs(['addr', 'add', `${address}/24`, 'dev', 'eth0']);
  await inNs(['link', 'set', 'eth0', 'up']);
  const nsenter = ['--net=/var/run/netns/' + netns];
  await run('nsenter', [...nsenter, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  const subnet = address.replace(/\.\d+$/, '.0/24');
  await run('nsenter', [
    ...nsenter,
    'iptables',
    '-w',
    '-t',
    'nat',
    '-A',
    'POSTROUTING',
    '!',
    '-s',
    subnet,
    '-o',
    'eth0',
    '-j',
    'MASQUERADE',
  ]);
}

export async function netnsExists(netns: string): Promise<boolean> {
  return (await run('ip', ['netns', 'list'])).split('\n').some((line) => line.split(' ')[0] === netns);
}

export async function linkExists(name: string): Promise<boolean> {
  return succeeds('ip', ['link', 'show', name]);
}

export async function forwardRulePresent(bridge: string): Promise<boolean> {
  return succeeds('iptables', ['-w', '-C', ...forwardRule(bridge)]);
}

/** Removes what createBridge/createNodeNetwork made; anything already gone is fine. */
export async function deleteNetwork(
  bridge: string,
  nodes: { netns: string; hostVeth: string }[],
): Promise<void> {
  for (const node of nodes) {
    if (await netnsExists(node.netns)) await succeeds('ip', ['netns', 'del', node.netns]);
    // The veth dies with its namespace once nothing holds the namespace; delete it explicitly in case.
    if (await linkExists(node.hostVeth)) await succeeds('ip', ['link', 'del', node.hostVeth]);
  }
  while (await forwardRulePresent(bridge)) {
    if (!(await succeeds('iptables', ['-w', '-D', ...forwardRule(bridge)]))) break;
  }
  if (await linkExists(bridge)) await succeeds('ip', ['link', 'del', bridge]);
}

/** Whether the kernel takes the IPsec state an encrypted overlay needs (ESP with AES-GCM), and if not, why. */
export async function probeIpsec(netns: string): Promise<{ ok: true } | { ok: false; error: string }> {
  const key = '0x' + '01'.repeat(20);
  const state = ['xfrm', 'state'];
  const args = ['-n', netns, ...state, 'add', 'src', '192.0.2.250', 'dst', '192.0.2.251', 'proto', 'esp'];
  const rest = ['spi', '0x5a5a', 'mode', 'transport', 'aead', 'rfc4106(gcm(aes))', key, '64'];
  try {
    await run('ip', [...args, ...rest]);
    await succeeds('ip', ['-n', netns, ...state, 'flush']);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}
