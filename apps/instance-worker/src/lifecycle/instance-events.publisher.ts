import { Global, Injectable, Module } from '@nestjs/common';
import { DOMAIN_EVENTS } from '@app/contracts';
import { INSTANCE_STATUS_LISTENER } from '@app/instance-data';
import type { InstanceEntity, InstanceStatusListener } from '@app/instance-data';
import { DomainEventPublisher, DomainEventsModule } from '@app/redis';

/**
 * Publishes `instance.status_changed` for every status the lifecycle records (InstancesRepository.transition
 * calls it after the commit), so the portal's live status follows the worker without polling.
 */
@Injectable()
export class InstanceEventsPublisher implements InstanceStatusListener {
  constructor(private readonly events: DomainEventPublisher) {}

  statusRecorded(instance: InstanceEntity): void {
    this.events.publish(DOMAIN_EVENTS.instanceStatusChanged, {
      instance_id: instance.id,
      tenant_id: instance.tenantId,
      status: instance.status,
      desired_state: instance.desiredState,
      at: instance.updatedAt.toISOString(),
    });
  }
}

/** Global so that InstanceDataModule's repository (a global module of its own) finds the listener. */
@Global()
@Module({
  imports: [DomainEventsModule],
  providers: [{ provide: INSTANCE_STATUS_LISTENER, useClass: InstanceEventsPublisher }],
  exports: [INSTANCE_STATUS_LISTENER],
})
export class InstanceEventsModule {}
