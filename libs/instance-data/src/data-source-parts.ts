import { InstanceBackupEntity } from './instance-backup.entity';
import { InstanceEventEntity } from './instance-event.entity';
import { InstanceEntity } from './instance.entity';
import { CreateInstanceTables1766000000000 } from './migrations/1766000000000-CreateInstanceTables';
import { CreateOdooSpares1767000000000 } from './migrations/1767000000000-CreateOdooSpares';
import { SuspensionSourcesAndUsage1768000000000 } from './migrations/1768000000000-SuspensionSourcesAndUsage';
import { BackupKindsAndVerification1769000000000 } from './migrations/1769000000000-BackupKindsAndVerification';
import { PlacementNodeAndUnschedulable1769100000000 } from './migrations/1769100000000-PlacementNodeAndUnschedulable';
import { InstanceProvisionSource1769200000000 } from './migrations/1769200000000-InstanceProvisionSource';
import { BackupOffsiteCopies1769300000000 } from './migrations/1769300000000-BackupOffsiteCopies';
import { MigratingStatus1769400000000 } from './migrations/1769400000000-MigratingStatus';

/** List these in `apps/{instance-service,instance-worker}/src/database/data-source.ts`. */
export const INSTANCE_DATA_ENTITIES = [InstanceEntity, InstanceEventEntity, InstanceBackupEntity];
export const INSTANCE_DATA_MIGRATIONS = [
  CreateInstanceTables1766000000000,
  CreateOdooSpares1767000000000,
  SuspensionSourcesAndUsage1768000000000,
  BackupKindsAndVerification1769000000000,
  PlacementNodeAndUnschedulable1769100000000,
  InstanceProvisionSource1769200000000,
  BackupOffsiteCopies1769300000000,
  MigratingStatus1769400000000,
];
