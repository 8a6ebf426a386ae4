/** Every API the embedded broker implements, by request family. */
import { createPartitions, createTopics, deleteTopics, describeConfigs } from './admin';
import { fetch, listOffsets } from './fetch';
import { describeGroups, findCoordinator, heartbeat, joinGroup, leaveGroup, listGroups, offsetCommit, offsetFetch, syncGroup } from './group';
import { apiVersions, metadata } from './metadata';
import { initProducerId, produce } from './produce';
import type { ApiDefinition } from './types';

export const ALL_APIS: readonly ApiDefinition[] = [
  produce,
  fetch,
  listOffsets,
  metadata,
  offsetCommit,
  offsetFetch,
  findCoordinator,
  joinGroup,
  heartbeat,
  leaveGroup,
  syncGroup,
  describeGroups,
  listGroups,
  apiVersions,
  createTopics,
  deleteTopics,
  initProducerId,
  describeConfigs,
  createPartitions,
];
