export { SwarmLab } from './swarm-lab';
export type { NodeAvailability, NodeState, SwarmLabNode, SwarmLabOptions } from './swarm-lab';
export type { LabTask } from './containers';
