/**
 * Catalog-wide Glue operations that tools call around the tables: resource tags (TagResource,
 * UntagResource, GetTags on database/table ARNs), GetCatalogImportStatus and
 * GetDataCatalogEncryptionSettings (the catalog's fixed answers).
 */
import { glueErrors } from '../errors';
import { list, str } from './input';
import { mutation, type GlueAction, type GlueState, type Json } from './model';

/**
 * The tagged resource of a Glue ARN (`database/<db>`, `table/<db>/<table>`), which must exist.
 * @throws InvalidInputException for another ARN, EntityNotFoundException for a missing resource
 */
function resourceOf(s: GlueState, arn: string): string {
  const m = /^arn:aws[a-z-]*:glue:[^:]*:[^:]*:(database|table)\/(.+)$/.exec(arn);
  if (!m) throw glueErrors.invalidInput(`ResourceArn "${arn}" is not the ARN of a Glue database or table (arn:aws:glue:<region>:<account>:database/<db> or table/<db>/<table>)`);
  if (m[1] === 'database') {
    const db = s.requireDb(m[2]!).db.Name;
    return `database/${db}`;
  }
  const slash = m[2]!.indexOf('/');
  if (slash < 0) throw glueErrors.invalidInput(`ResourceArn "${arn}": a table ARN ends in table/<database>/<table>`);
  const t = s.requireTable(m[2]!.slice(0, slash), m[2]!.slice(slash + 1)).table;
  return `table/${t.DatabaseName}/${t.Name}`;
}

export const resourceActions: Record<string, GlueAction> = {
  TagResource: mutation(async (s, input) => {
    const key = resourceOf(s, str(input, 'ResourceArn'));
    const add = (input.TagsToAdd ?? {}) as Record<string, string>;
    s.tags.set(key, { ...(s.tags.get(key) ?? {}), ...add });
    await s.saveTags();
    return {};
  }),

  UntagResource: mutation(async (s, input) => {
    const key = resourceOf(s, str(input, 'ResourceArn'));
    const tags = { ...(s.tags.get(key) ?? {}) };
    for (const k of list<string>(input, 'TagsToRemove')) delete tags[k];
    s.tags.set(key, tags);
    await s.saveTags();
    return {};
  }),

  GetTags: (s, input) => ({ Tags: s.tags.get(resourceOf(s, str(input, 'ResourceArn'))) ?? {} }),

  GetCatalogImportStatus: () => ({ ImportStatus: { ImportCompleted: true } }),

  GetDataCatalogEncryptionSettings: (): Json => ({
    DataCatalogEncryptionSettings: { EncryptionAtRest: { CatalogEncryptionMode: 'DISABLED' }, ConnectionPasswordEncryption: { ReturnConnectionPasswordEncrypted: false } },
  }),
};
