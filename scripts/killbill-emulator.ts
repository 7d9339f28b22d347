/**
 * Starts the Kill Bill emulator (a TEST DOUBLE of the Kill Bill 0.24 API, see
 * libs/testing/src/killbill-emulator) on 127.0.0.1:$PORT (default 8080) and prints its URL.
 * Stops on SIGINT/SIGTERM.
 *
 *   PORT=8080 KB_RETRY_SCHEDULE_MS=15,30,120,720,1440 npx ts-node scripts/killbill-emulator.ts
 */
import { KillBillEmulator } from '../libs/testing/src/killbill-emulator/killbill-emulator';

function parseSchedule(raw: string | undefined): number[] | undefined {
  if (!raw) return undefined;
  const values = raw.split(',').map((v) => Number(v.trim()));
  if (values.some((v) => !Number.isFinite(v) || v < 0)) {
    throw new Error(`KB_RETRY_SCHEDULE_MS must be comma-separated milliseconds, got '${raw}'`);
  }
  return values;
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`Invalid PORT '${process.env.PORT ?? ''}'`);
  const emulator = new KillBillEmulator({
    username: process.env.KB_USERNAME,
    password: process.env.KB_PASSWORD,
    retrySchedule: parseSchedule(process.env.KB_RETRY_SCHEDULE_MS),
  });
  const { url } = await emulator.start(port, '127.0.0.1');
  process.stdout.write(`Kill Bill emulator (test double) listening on ${url}\n`);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`Received ${signal}, stopping the Kill Bill emulator\n`);
    emulator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(
          `Failed to stop cleanly: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
