/**
 * The loader Lambda's entry point (`main.handler`). Each loader's bundle holds exactly one pipeline:
 * the CDK construct bundles this file with `lakeloader-bundled-pipeline` aliased to that pipeline's
 * file (lib/infra/lake-loader.ts), so a bundle never carries the other pipelines' code.
 * The configuration is read on the first invocation, so a missing variable fails the invocation
 * with a ConfigError naming it, not the import.
 */
import * as bundled from 'lakeloader-bundled-pipeline';
import { loadConfig } from '../core/config';
import { isPipeline, type Pipeline } from '../core/pipeline';
import { handleCloudFormation, isCloudFormationEvent, isCommitEvent } from './control';
import { createHandler, type LoaderHandler, type PipelineHandler } from './handler';

function bundledPipeline(): Pipeline {
  const found = [...new Set(Object.values(bundled).filter(isPipeline))];
  if (found.length !== 1) throw new Error(`the loader bundle must hold exactly one pipeline, it holds ${found.length}`);
  return found[0]!;
}

let inner: PipelineHandler | undefined;

/** The Lambda handler: MSK batches; for Iceberg tables also the scheduled commit and the stack's table set-up (control.ts). */
export const handler = (async (event: unknown, context?: Parameters<LoaderHandler>[1]) => {
  const config = inner ? undefined : loadConfig(bundledPipeline());
  inner ??= createHandler({ config: config! });
  if (isCommitEvent(event)) return inner.commit();
  if (isCloudFormationEvent(event)) return handleCloudFormation(event, inner, `lakeloader-table-${bundledPipeline().name}`);
  return inner(event as Parameters<LoaderHandler>[0], context);
}) as LoaderHandler;
