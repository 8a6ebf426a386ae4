/** Lakeloader's CDK constructs, for use in your own CDK app. */
export { LakeStack, LakeStackPropsError, OUTPUT_KEYS, type LakeStackProps } from './lake-stack';
export { LakeLoader, LakeLoaderPropsError, LOADER_ENTRY, PARQUET_WASM_FILE, parquetWasmPath, type LakeLoaderProps, type ProvisionedPollers } from './lake-loader';
export { LakeBucket, LakeBucketPropsError, ESM_ON_FAILURE_PREFIX, type LakeBucketProps } from './lake-bucket';
export { LakeWorkGroup, LakeWorkGroupPropsError, ATHENA_ENGINE_V3, type LakeWorkGroupProps } from './athena';
export { PipelineTables, glueApiToCfn, cfnTableInput, glueArns, type PipelineTablesProps } from './glue';
export { LoaderMonitoring, LoaderMonitoringPropsError, METRICS_NAMESPACE, SERVICE_NAME, type LoaderMonitoringProps } from './monitoring';
export { LakeFailureDestination } from './failure-destination';
export {
  mskResourceArns,
  parseMskClusterArn,
  sourceAccessConfigurations,
  type KafkaSource,
  type MskKafkaSource,
  type SelfManagedKafkaSource,
} from './kafka-source';
export { readLakeAppConfig, selectPipelines, LakeAppConfigError, DEFAULT_STACK_NAME, type LakeAppConfig, type KafkaClusterConfig } from './context';
