import { Module } from '@nestjs/common';
import { InstancesModule } from '../instances/instances.module';
import { DomainEventsConsumer } from './domain-events.consumer';
import { EventStreamController } from './event-stream.controller';
import { EventStreamHub } from './event-stream.hub';
import { EventStreamService } from './event-stream.service';

/** Domain events from Redis to the customers' Server-Sent Events streams (GET /api/v1/events/stream). */
@Module({
  imports: [InstancesModule],
  controllers: [EventStreamController, DomainEventsConsumer],
  providers: [EventStreamHub, EventStreamService],
  exports: [EventStreamHub, EventStreamService],
})
export class EventsModule {}
