import { SwarmLab } from '@app/testing';

/**
 * Starts a one-node lab, prints "lab <id>" and waits to be killed: the spec SIGKILLs this process to leave
 * an orphaned lab behind, as a crashed test run would, and checks that SwarmLab.cleanupStale() removes it.
 */
SwarmLab.start({ nodes: 1, postgres: false })
  .then((lab) => {
    process.stdout.write(`lab ${lab.id}\n`);
    setInterval(() => undefined, 60_000);
  })
  .catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
