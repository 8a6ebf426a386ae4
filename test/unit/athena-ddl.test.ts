/**
 * The local Athena's statement parser, error translation and result metadata in isolation.
 */
import { describe, expect, it } from 'vitest';
import { DdlParseError, hiveLineCol, isDdlStatement, parseDdl } from '../../lib/local/athena-ddl';
import { duckDbOffset, lineCol, syntaxErrorFrom, translateDuckDbError } from '../../lib/local/athena-errors';
import { decodeResultMetadata, encodeResultMetadata, columnInfo, toAthenaText } from '../../lib/local/athena-results';
import { jodaToStrftime, mysqlToStrftime, rewriteTrinoCalls } from '../../lib/local/trino';
import { lexSql, queryConstants } from '../../lib/local/sql';

describe('DDL parser', () => {
  it('parses CREATE EXTERNAL TABLE with nested types, comments, partitions, SerDe, location and properties', () => {
    const s = parseDdl(`CREATE EXTERNAL TABLE IF NOT EXISTS \`db\`.t (
      id string COMMENT 'it''s the id', m map<string,array<int>>, s struct<a:int,b:decimal(10,2)>
    ) COMMENT 'c' PARTITIONED BY (dt string, hour int)
    ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' WITH SERDEPROPERTIES ('ignore.malformed.json' = 'true')
    STORED AS INPUTFORMAT 'in' OUTPUTFORMAT 'out'
    LOCATION 's3://b/p/' TBLPROPERTIES ('a'='1', 'b'='2');`);
    expect(s).toMatchObject({
      kind: 'createTable',
      table: { db: 'db', name: 't' },
      ifNotExists: true,
      columns: [{ name: 'id', type: 'string', comment: "it's the id" }, { name: 'm', type: 'map<string,array<int>>' }, { name: 's', type: 'struct<a:int,b:decimal(10,2)>' }],
      partitionedBy: [{ name: 'dt', type: 'string' }, { name: 'hour', type: 'int' }],
      comment: 'c',
      serde: 'org.openx.data.jsonserde.JsonSerDe',
      serdeProperties: { 'ignore.malformed.json': 'true' },
      inputFormat: 'in',
      outputFormat: 'out',
      location: 's3://b/p/',
      properties: { a: '1', b: '2' },
    });
  });

  it('turns ROW FORMAT DELIMITED into LazySimpleSerDe parameters (backslash escapes as Hive reads them)', () => {
    const s = parseDdl("CREATE EXTERNAL TABLE t (a int) ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' STORED AS TEXTFILE");
    expect(s).toMatchObject({ serde: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe', serdeProperties: { 'field.delim': '\t', 'escape.delim': '\\', 'line.delim': '\n' }, storedAs: 'TEXTFILE' });
  });

  it('parses the partition statements, MSCK, SHOW, DESCRIBE and DROP', () => {
    expect(parseDdl("ALTER TABLE t ADD IF NOT EXISTS PARTITION (dt='a', h=1) LOCATION 's3://x/' PARTITION (dt='b', h=2)")).toMatchObject({
      kind: 'addPartitions',
      ifNotExists: true,
      partitions: [{ spec: [['dt', 'a'], ['h', '1']], location: 's3://x/' }, { spec: [['dt', 'b'], ['h', '2']] }],
    });
    expect(parseDdl("ALTER TABLE db.t DROP IF EXISTS PARTITION (dt='a'), PARTITION (dt='b')")).toMatchObject({ kind: 'dropPartitions', ifExists: true, table: { db: 'db', name: 't' } });
    expect(parseDdl('MSCK REPAIR TABLE T')).toMatchObject({ kind: 'msck', table: { name: 't' } });
    expect(parseDdl("SHOW TABLES IN db 'a*|b*'")).toEqual({ kind: 'showTables', db: 'db', pattern: 'a*|b*' });
    expect(parseDdl('SHOW COLUMNS FROM t IN db')).toMatchObject({ kind: 'showColumns', table: { db: 'db', name: 't' } });
    expect(parseDdl('DESCRIBE FORMATTED awsdatacatalog.db.t')).toMatchObject({ kind: 'describe', table: { db: 'db', name: 't' } });
    expect(parseDdl('DROP TABLE IF EXISTS t')).toMatchObject({ kind: 'dropTable', ifExists: true });
  });

  it('hands on the query of CREATE TABLE AS and INSERT INTO as text, with its offset', () => {
    const sql = "CREATE TABLE x WITH (format = 'PARQUET', partitioned_by = ARRAY['dt'], bucket_count = 4) AS SELECT 1 AS a, 'x' AS dt WITH NO DATA";
    const s = parseDdl(sql);
    expect(s).toMatchObject({ kind: 'ctas', with: { format: 'PARQUET', partitioned_by: ['dt'], bucket_count: '4' }, query: "SELECT 1 AS a, 'x' AS dt", withData: false });
    expect(sql.slice((s as { queryOffset: number }).queryOffset)).toMatch(/^SELECT 1/);
    expect(parseDdl('INSERT INTO t (a, b) SELECT 1, 2')).toMatchObject({ kind: 'insert', columns: ['a', 'b'], query: 'SELECT 1, 2' });
    expect(parseDdl('INSERT INTO t (SELECT 1)')).toMatchObject({ kind: 'insert', query: '(SELECT 1)' });
  });

  it('reports the offending token with its offset (Hive counts columns from 0)', () => {
    const sql = 'CREATE EXTERNAL TABLE t (a int,) LOCATION';
    try {
      parseDdl(sql);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DdlParseError);
      expect((e as DdlParseError).message).toBe("mismatched input ')' expecting Identifier");
      expect(hiveLineCol(sql, (e as DdlParseError).offset)).toBe('line 1:31');
    }
    expect(() => parseDdl('CREATE TABLE t (a int)')).toThrow('External keyword required for table type HIVE');
    expect(() => parseDdl("SHOW TABLES 'x' extra")).toThrow(/mismatched input 'extra' expecting <EOF>/);
  });

  it('knows which statements it takes', () => {
    expect(['CREATE EXTERNAL TABLE t (a int)', '  -- c\n show tables', 'INSERT INTO t SELECT 1', 'msck repair table t', 'ALTER TABLE t ADD PARTITION (a=1)'].every(isDdlStatement)).toBe(true);
    expect(['SELECT 1', 'WITH x AS (SELECT 1) SELECT * FROM x', 'CREATE VIEW v AS SELECT 1', 'OPTIMIZE t REWRITE DATA USING BIN_PACK'].some(isDdlStatement)).toBe(false);
  });
});

describe('error translation', () => {
  const ctx = (query: string) => ({ query, ran: query, database: 'db' });
  it('points at the token DuckDB points at, as Trino\'s 1-based line:column', () => {
    const q = 'SELECT a,\n  nocol FROM t';
    const msg = `Binder Error: Referenced column "nocol" not found in FROM clause!\nCandidate bindings: "a"\n\nLINE 2:   nocol FROM t\n          ^`;
    expect(duckDbOffset(msg, q)).toBe(q.indexOf('nocol'));
    expect(lineCol(q, q.indexOf('nocol'))).toBe('line 2:3');
    expect(translateDuckDbError(msg, ctx(q)).reason).toBe("COLUMN_NOT_FOUND: line 2:3: Column 'nocol' cannot be resolved or requester is not authorized to access requested resources");
  });

  it('names tables with their catalog and database, and drops DuckDB\'s suggestions', () => {
    const e = translateDuckDbError('Catalog Error: Table with name nosuch does not exist!\nDid you mean "pg_tables"?\n\nLINE 1: SELECT * FROM nosuch\n                      ^', ctx('SELECT * FROM nosuch'));
    expect(e.reason).toBe("TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.db.nosuch' does not exist");
    expect(e.errorType).toBe(1110);
    expect(translateDuckDbError('Catalog Error: Scalar Function with name foo does not exist!\nDid you mean "floor"?\n\nLINE 1: SELECT foo(1)\n               ^', ctx('SELECT foo(1)')).reason).toBe("FUNCTION_NOT_FOUND: line 1:8: Function 'foo' not registered");
    expect(translateDuckDbError("Conversion Error: Could not convert string 'abc' to INT32", ctx("SELECT CAST('abc' AS INTEGER)")).reason).toBe("INVALID_CAST_ARGUMENT: Cannot cast 'abc' to INT");
  });

  it('turns a DuckDB parse failure into Trino\'s mismatched input message', () => {
    expect(syntaxErrorFrom('Parser Error: syntax error at or near "FROM"\n\nLINE 1: SELECT FROM t\n               ^', 'SELECT FROM t').message).toBe("line 1:8: mismatched input 'FROM'");
    expect(syntaxErrorFrom('Parser Error: syntax error at end of input\n\nLINE 1: SELECT * FROM\n                    ^', 'SELECT * FROM;').message).toBe("line 1:14: mismatched input '<EOF>'");
  });
});

describe('results', () => {
  it('round-trips the .metadata ColumnInfo and writes DDL text without a header', () => {
    const cols = [columnInfo('a', 'VARCHAR'), columnInfo('d', 'DECIMAL(12,3)'), columnInfo('n', 'BIGINT')];
    expect(decodeResultMetadata(encodeResultMetadata(cols))).toEqual(cols);
    expect(toAthenaText([['x'], ['y']])).toBe('x\ny\n');
  });
});

describe('Trino translation', () => {
  it('converts MySQL and Joda formats', () => {
    expect(mysqlToStrftime('%Y-%m-%d %H:%i:%s %p')).toBe('%Y-%m-%d %H:%M:%S %p');
    expect(jodaToStrftime("yyyy-MM-dd'T'HH:mm:ss.SSS EEE MMM d")).toBe('%Y-%m-%dT%H:%M:%S.%g %a %b %-d');
    expect(() => jodaToStrftime('yyyy G')).toThrow(/"G"/);
  });

  it('rewrites lambda functions and literal-format functions, leaving FILTER clauses and parameters alone', () => {
    const out = (sql: string) => rewriteTrinoCalls(lexSql(sql), lexSql).map((t) => t.text).join('');
    expect(out('SELECT transform(filter(a, x -> x > ?), x -> x * 2) FROM t')).toBe('SELECT list_transform(list_filter(a, x -> x > ?), x -> x * 2) FROM t');
    expect(out('SELECT count(*) FILTER (WHERE a > 1) FROM t')).toBe('SELECT count(*) FILTER (WHERE a > 1) FROM t');
    expect(out("SELECT reduce(a, 0, (s, x) -> s + x, s -> s)")).toBe('SELECT list_reduce(a, (s, x) -> s + x, 0)');
    expect(out("SELECT date_parse(s, '%d/%m/%Y')")).toBe("SELECT strptime(s, '%d/%m/%Y')");
    expect(() => out('SELECT date_parse(s, f) FROM t')).toThrow(/NOT_SUPPORTED|string literal/);
    expect(rewriteTrinoCalls(lexSql('SELECT transform(a, x -> x + ?)'), lexSql).filter((t) => t.kind === 'param')).toHaveLength(1);
    expect(out("SELECT zip_with(a, b, (x, y) -> x + y * 2 + t.x)")).toBe('SELECT list_transform(range(1, greatest(len(a), len(b)) + 1), __i -> (a)[__i] + (b)[__i] * 2 + t.x)');
    expect(out("SELECT transform_values(m, (k, v) -> v || k || 'v')")).toBe("SELECT map_from_entries(list_transform(map_entries(m), __e -> struct_pack(key := __e.key, value := __e.value || __e.key || 'v')))");
  });

  it('reads the constants a query fixes (for injected projection columns)', () => {
    const c = queryConstants(lexSql("SELECT * FROM t WHERE country = 'DE' AND 'x' = t.region AND shard IN ('1', '2')"));
    expect(Object.fromEntries([...c].map(([k, v]) => [k, [...v]]))).toEqual({ country: ['DE'], region: ['x'], shard: ['1', '2'] });
  });
});
