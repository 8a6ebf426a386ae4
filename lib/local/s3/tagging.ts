/**
 * Tags of objects and buckets: the `x-amz-tagging` header (URL-query encoded) and the `<Tagging>`
 * document, with S3's limits (10 tags per object, 50 per bucket, keys ≤ 128 and values ≤ 256
 * characters, no duplicate keys, no `aws:` prefix) and its InvalidTag errors.
 */
import { S3Error } from '../errors';
import type { Tag } from '../store';
import { parseXml, text, xml } from './xml';

const invalidTag = (message: string) => new S3Error('InvalidTag', message, 400);

/** Validates a tag set for an object (`limit` 10) or a bucket (50). */
export function validateTags(tags: Tag[], limit: number): Tag[] {
  if (tags.length > limit) throw new S3Error(limit === 10 ? 'BadRequest' : 'InvalidTag', limit === 10 ? 'Object tags cannot be greater than 10' : 'Bucket tag count cannot be greater than 50', 400);
  const seen = new Set<string>();
  for (const t of tags) {
    if (t.Key.length === 0 || t.Key.length > 128) throw invalidTag('The TagKey you have provided is invalid');
    if (t.Value.length > 256) throw invalidTag('The TagValue you have provided is invalid');
    if (t.Key.toLowerCase().startsWith('aws:')) throw invalidTag('Your TagKey cannot be prefixed with aws:');
    if (seen.has(t.Key)) throw invalidTag('Cannot provide multiple Tags with the same key');
    seen.add(t.Key);
  }
  return tags;
}

/** Parses the `x-amz-tagging` header (`k1=v1&k2=v2`). */
export function parseTaggingHeader(value: string): Tag[] {
  const tags: Tag[] = [];
  for (const [Key, Value] of new URLSearchParams(value)) tags.push({ Key, Value });
  return validateTags(tags, 10);
}

/** Parses a `<Tagging><TagSet><Tag>…` document. */
export function parseTaggingXml(body: string, limit: number): Tag[] {
  const doc = parseXml<{ TagSet?: { Tag?: Array<{ Key?: unknown; Value?: unknown }> } | '' }>(body, 'Tagging');
  const list = (typeof doc.TagSet === 'object' ? doc.TagSet.Tag : undefined) ?? [];
  return validateTags(list.map((t) => ({ Key: text(t.Key), Value: text(t.Value) })), limit);
}

/** Renders a `<Tagging>` document. */
export function taggingXml(tags: Tag[]): string {
  return xml('Tagging', { TagSet: { Tag: tags.map((t) => ({ Key: t.Key, Value: t.Value })) } });
}
