/**
 * Stands in for protobufjs in the bundle of a pipeline that declares no Protobuf format
 * (lib/bundling.ts aliases it here): its 108 KB would be compiled at every cold start and never
 * used. lambdas/core/formats/protobuf.ts requires protobufjs on first use only, so this module is
 * never loaded unless a Protobuf record reaches a bundle built without it.
 */
throw new Error('protobufjs is not in this bundle: the pipeline it was built for declares no protobuf format (lib/bundling.ts)');
