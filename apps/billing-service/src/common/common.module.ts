import { Module } from '@nestjs/common';
import { AdvisoryLocks } from './advisory-lock';
import { BacklogMetrics } from './backlog.metrics';
import { BacklogRepository } from './backlog.repository';
import { Clock } from './clock';

/** Shared plumbing: the clock, advisory locks and the backlog gauges (inbox and outbox depths). */
@Module({
  providers: [Clock, AdvisoryLocks, BacklogRepository, BacklogMetrics],
  exports: [Clock, AdvisoryLocks],
})
export class CommonModule {}
