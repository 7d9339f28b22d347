/**
 * Boots the worker's AppModule with a changed handler list, in its own process (a failed boot leaves
 * connections open, which a test process must not inherit). Usage: boot-with-handlers.ts missing|duplicate
 * Exit 0 when the app booted, 1 with the error on stderr otherwise.
 */
import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../src/app.module';
import {
  LIFECYCLE_JOB_HANDLER_CLASSES,
  LIFECYCLE_JOB_HANDLERS,
  StopInstanceJob,
} from '../../src/lifecycle/lifecycle-job-handlers';
import type { LifecycleJobHandler } from '@app/queue';

async function main(mode: string): Promise<void> {
  const classes = LIFECYCLE_JOB_HANDLER_CLASSES;
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(LIFECYCLE_JOB_HANDLERS)
    .useFactory({
      inject: [...classes],
      factory: (...handlers: LifecycleJobHandler[]) =>
        mode === 'missing'
          ? handlers.filter((h) => h.jobName !== 'restore')
          : [...handlers, handlers.find((h) => h instanceof StopInstanceJob) ?? handlers[0]],
    })
    .compile();
  const app = moduleRef.createNestApplication();
  await app.init();
  await app.close();
}

main(process.argv[2] ?? 'missing').then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    process.exit(1);
  },
);
