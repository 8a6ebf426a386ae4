/**
 * The loader function's events besides MSK batches, for Iceberg tables: the scheduled commit
 * (an EventBridge rule with input `{"lakeloader":"commit"}`) and the stack's table set-up (a
 * CloudFormation custom resource whose provider is this function: on Create and Update it makes
 * sure the table and its first metadata exist; on Delete it keeps the table, as the bucket keeps
 * the data).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { PipelineHandler } from './handler';

/** `{"lakeloader":"commit"}`: publish what is staged. */
export interface CommitEvent {
  lakeloader: 'commit';
}

/** The CloudFormation custom resource request this function answers (the fields it uses). */
export interface CloudFormationEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  ResponseURL: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  PhysicalResourceId?: string;
  ResourceProperties?: Record<string, unknown>;
}

export const isCommitEvent = (e: unknown): e is CommitEvent => typeof e === 'object' && e !== null && (e as CommitEvent).lakeloader === 'commit';
export const isCloudFormationEvent = (e: unknown): e is CloudFormationEvent =>
  typeof e === 'object' && e !== null && typeof (e as CloudFormationEvent).ResponseURL === 'string' && typeof (e as CloudFormationEvent).RequestType === 'string';

/** PUTs the custom resource's outcome to CloudFormation's pre-signed URL. */
export function sendCloudFormationResponse(event: CloudFormationEvent, status: 'SUCCESS' | 'FAILED', physicalId: string, reason: string, data: Record<string, string> = {}): Promise<void> {
  const body = JSON.stringify({ Status: status, Reason: reason.slice(0, 2000), PhysicalResourceId: physicalId, StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId, Data: data });
  return new Promise((resolve, reject) => {
    const url = new URL(event.ResponseURL);
    // CloudFormation's pre-signed URLs are https; plain http serves local tests of this answer.
    const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const req = request({ hostname: url.hostname, port: url.port || (url.protocol === 'http:' ? 80 : 443), path: `${url.pathname}${url.search}`, method: 'PUT', headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Answers a CloudFormation request: ensures the table on Create/Update, keeps it on Delete; reports any failure to CloudFormation. */
export async function handleCloudFormation(event: CloudFormationEvent, handler: PipelineHandler, physicalId: string): Promise<void> {
  try {
    const data: Record<string, string> = {};
    if (event.RequestType !== 'Delete') {
      const r = await handler.ensureTable();
      if (r) data.MetadataLocation = r.metadataLocation;
    }
    await sendCloudFormationResponse(event, 'SUCCESS', event.PhysicalResourceId ?? physicalId, 'ok', data);
  } catch (e) {
    await sendCloudFormationResponse(event, 'FAILED', event.PhysicalResourceId ?? physicalId, e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  }
}
