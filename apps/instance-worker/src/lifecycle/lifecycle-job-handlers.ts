import { Injectable, type Provider } from '@nestjs/common';
import type { LifecycleJobContext, LifecycleJobHandler, LifecycleJobName } from '@app/queue';
import { InstanceLifecycleService, type JobOutcome } from './instance-lifecycle.service';

/** Desired-state jobs: whatever triggered them, they converge the instance to its desired state. */
@Injectable()
abstract class ConvergeInstanceJob implements LifecycleJobHandler {
  abstract readonly jobName: LifecycleJobName;
  constructor(protected readonly lifecycle: InstanceLifecycleService) {}
  handle(context: LifecycleJobContext): Promise<JobOutcome> {
    return this.lifecycle.converge(context);
  }
}

/** Operation jobs: carry out the instance's pending operation of the same job id. */
@Injectable()
abstract class OperateInstanceJob implements LifecycleJobHandler {
  abstract readonly jobName: LifecycleJobName;
  constructor(protected readonly lifecycle: InstanceLifecycleService) {}
  handle(context: LifecycleJobContext): Promise<JobOutcome> {
    return this.lifecycle.operate(context);
  }
}

@Injectable()
export class ProvisionInstanceJob extends ConvergeInstanceJob {
  readonly jobName = 'provision';
}
@Injectable()
export class StartInstanceJob extends ConvergeInstanceJob {
  readonly jobName = 'start';
}
@Injectable()
export class StopInstanceJob extends ConvergeInstanceJob {
  readonly jobName = 'stop';
}
@Injectable()
export class SuspendInstanceJob extends ConvergeInstanceJob {
  readonly jobName = 'suspend';
}
@Injectable()
export class UnsuspendInstanceJob extends ConvergeInstanceJob {
  readonly jobName = 'unsuspend';
}
@Injectable()
export class TerminateInstanceJob extends ConvergeInstanceJob {
  readonly jobName = 'terminate';
}
@Injectable()
export class RestartInstanceJob extends OperateInstanceJob {
  readonly jobName = 'restart';
}
@Injectable()
export class BackupInstanceJob extends OperateInstanceJob {
  readonly jobName = 'backup';
}
@Injectable()
export class RestoreInstanceJob extends OperateInstanceJob {
  readonly jobName = 'restore';
}
@Injectable()
export class UpgradeInstanceJob extends OperateInstanceJob {
  readonly jobName = 'upgrade';
}

@Injectable()
export class PurgeInstanceJob implements LifecycleJobHandler {
  readonly jobName = 'purge';
  constructor(private readonly lifecycle: InstanceLifecycleService) {}
  handle(context: LifecycleJobContext): Promise<JobOutcome> {
    return this.lifecycle.purge(context);
  }
}

@Injectable()
export class ApplyLimitsJob implements LifecycleJobHandler {
  readonly jobName = 'apply_limits';
  constructor(private readonly lifecycle: InstanceLifecycleService) {}
  handle(context: LifecycleJobContext): Promise<JobOutcome> {
    return this.lifecycle.applyLimits(context);
  }
}

@Injectable()
export class MigrateInstanceJob extends OperateInstanceJob {
  readonly jobName = 'migrate';
}

export const LIFECYCLE_JOB_HANDLER_CLASSES = [
  ProvisionInstanceJob,
  StartInstanceJob,
  StopInstanceJob,
  SuspendInstanceJob,
  UnsuspendInstanceJob,
  TerminateInstanceJob,
  RestartInstanceJob,
  BackupInstanceJob,
  RestoreInstanceJob,
  UpgradeInstanceJob,
  PurgeInstanceJob,
  ApplyLimitsJob,
  MigrateInstanceJob,
];

export const LIFECYCLE_JOB_HANDLERS = Symbol('LIFECYCLE_JOB_HANDLERS');

export const lifecycleJobHandlersProvider: Provider = {
  provide: LIFECYCLE_JOB_HANDLERS,
  inject: LIFECYCLE_JOB_HANDLER_CLASSES,
  useFactory: (...handlers: LifecycleJobHandler[]): LifecycleJobHandler[] => handlers,
};
