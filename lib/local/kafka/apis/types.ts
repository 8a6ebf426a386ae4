/**
 * What every request family module provides (one module per family, as franz-go's kfake): the
 * request and response schemas, the versions implemented, and the handler.
 */
import type { GroupCoordinator } from '../groups';
import type { Topic, TopicStore } from '../log';
import type { Message, MessageSchema } from '../protocol';

/** The broker's state, shared by the handlers. */
export interface BrokerState {
  readonly nodeId: number;
  /** The address clients are told to connect to (Metadata, FindCoordinator). */
  readonly host: string;
  port: number;
  readonly clusterId: string;
  readonly topics: TopicStore;
  readonly groups: GroupCoordinator;
  /** Partitions of an auto-created topic. */
  readonly defaultPartitions: number;
  readonly autoCreateTopics: boolean;
  /** Creates a topic on first use if auto-creation is on; undefined when it does not exist (or the name is illegal). */
  autoCreate(name: string): Topic | undefined;
  /** Every API the broker implements (ApiVersions lists them). */
  readonly apis: readonly ApiDefinition[];
}

export interface RequestContext {
  readonly broker: BrokerState;
  readonly version: number;
  readonly clientId: string;
  readonly clientHost: string;
}

export interface ApiDefinition {
  readonly key: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly request: MessageSchema;
  readonly response: MessageSchema;
  /** The response, or null when the request expects none (Produce with acks=0). */
  handle(req: Message, ctx: RequestContext): Message | null | Promise<Message | null>;
}
