import { Controller, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { DOMAIN_EVENT_SCHEMAS, DOMAIN_EVENTS } from '@app/contracts';
import type { DomainEventName } from '@app/contracts';
import { EventStreamHub } from './event-stream.hub';

/** Domain events from Redis (the hybrid app's microservice), checked against their contract, into the hub. */
@Controller()
export class DomainEventsConsumer {
  private readonly logger = new Logger(DomainEventsConsumer.name);

  constructor(private readonly hub: EventStreamHub) {}

  @EventPattern(DOMAIN_EVENTS.instanceStatusChanged)
  instanceStatusChanged(@Payload() data: unknown): void {
    this.accept(DOMAIN_EVENTS.instanceStatusChanged, data);
  }

  @EventPattern(DOMAIN_EVENTS.tenantSuspended)
  tenantSuspended(@Payload() data: unknown): void {
    this.accept(DOMAIN_EVENTS.tenantSuspended, data);
  }

  @EventPattern(DOMAIN_EVENTS.tenantActivated)
  tenantActivated(@Payload() data: unknown): void {
    this.accept(DOMAIN_EVENTS.tenantActivated, data);
  }

  @EventPattern(DOMAIN_EVENTS.subscriptionChanged)
  subscriptionChanged(@Payload() data: unknown): void {
    this.accept(DOMAIN_EVENTS.subscriptionChanged, data);
  }

  @EventPattern(DOMAIN_EVENTS.paymentChanged)
  paymentChanged(@Payload() data: unknown): void {
    this.accept(DOMAIN_EVENTS.paymentChanged, data);
  }

  private accept(name: DomainEventName, data: unknown): void {
    const checked = DOMAIN_EVENT_SCHEMAS[name].safeParse(data);
    if (!checked.success) {
      this.logger.warn(`dropped a malformed ${name} event: ${checked.error.message}`);
      return;
    }
    this.hub.append(name, checked.data);
  }
}
