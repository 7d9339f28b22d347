import { Module } from '@nestjs/common';
import { DomainEventsModule } from '@app/redis';
import { AdvisoryLocks } from './advisory-lock';
import { BacklogMetrics } from './backlog.metrics';
import { BacklogRepository } from './backlog.repository';
import { BillingEvents } from './billing-events';
import { Clock } from './clock';

/** Shared plumbing: the clock, advisory locks, the backlog gauges (inbox and outbox depths), domain events. */
@Module({
  imports: [DomainEventsModule],
  providers: [Clock, AdvisoryLocks, BacklogRepository, BacklogMetrics, BillingEvents],
  exports: [Clock, AdvisoryLocks, BillingEvents],
})
export class CommonModule {}
