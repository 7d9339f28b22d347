import { SwarmLab } from '@app/testing';

/**
 * A three-node swarm lab by hand (libs/testing/src/swarm-lab/README.md):
 *   up [nodes] [image...]  start one and keep it until Ctrl-C (then tear it down); prints each node's DOCKER_HOST
 *   traces                 every lab trace on this host
 *   clean                  tear down labs whose owning process died
 */
async function main(): Promise<void> {
  const [command = 'up', ...args] = process.argv.slice(2);
  if (command === 'traces') {
    const traces = await SwarmLab.allTraces();
    console.log(traces.length > 0 ? traces.join('\n') : 'no swarm lab traces');
    return;
  }
  if (command === 'clean') {
    console.log(`removed: ${(await SwarmLab.cleanupStale()).join(', ') || 'nothing'}`);
    return;
  }
  if (command !== 'up') throw new Error(`unknown command "${command}" (up | traces | clean)`);
  const nodes = Number(args[0] ?? 3);
  const images = args.slice(1);
  const lab = await SwarmLab.start({
    nodes,
    images: images.length > 0 ? images : ['saasodoo/odoo-stub:latest'],
  });
  for (const node of lab.nodes) {
    console.log(
      `${node.name}  ${node.role.padEnd(7)}  ${node.address}  DOCKER_HOST=${node.dockerHost}  id=${node.id}`,
    );
  }
  console.log(`shared dir: ${lab.sharedDir}`);
  if (lab.postgres) console.log(`Postgres for containers: ${lab.postgres.host}:${lab.postgres.port}`);
  console.log('Ctrl-C tears the lab down.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await lab.stop();
  console.log('lab stopped');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
