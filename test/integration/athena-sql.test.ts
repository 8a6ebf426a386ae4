/**
 * The local Athena engine's SQL plumbing in isolation: parameter literals, placeholder binding,
 * the lexer, type mapping and value rendering, and the Glue partition-expression compiler.
 */
import { describe, expect, it } from 'vitest';
import { athenaType, formatDouble, parseAthenaCsv } from '../../lib/local/athena';
import { compilePartitionExpression } from '../../lib/local/glue';
import { bindParameters, glueTypeToDuckDb, lexSql, parseAthenaLiteral, QueryError, singleStatement } from '../../lib/local/sql';
import { encodeSegment, keyToRelativePath } from '../../lib/local/store';

describe('ExecutionParameters', () => {
  it('parses Athena literal texts', () => {
    expect(parseAthenaLiteral("'O''Brien'")).toEqual({ value: "O'Brien" });
    expect(parseAthenaLiteral('42')).toEqual({ value: '42', castTo: 'INTEGER' });
    expect(parseAthenaLiteral('9007199254740993')).toEqual({ value: '9007199254740993', castTo: 'BIGINT' });
    expect(parseAthenaLiteral('-1.25')).toEqual({ value: '-1.25', castTo: 'DECIMAL(3,2)' });
    expect(parseAthenaLiteral('1e3')).toEqual({ value: '1e3', castTo: 'DOUBLE' });
    expect(parseAthenaLiteral("DATE '2026-01-01'")).toEqual({ value: '2026-01-01', castTo: 'DATE' });
    expect(parseAthenaLiteral("timestamp '2026-01-01 00:00:00'")).toEqual({ value: '2026-01-01 00:00:00', castTo: 'TIMESTAMP' });
    expect(parseAthenaLiteral('NULL')).toEqual({ value: null });
    expect(parseAthenaLiteral('TRUE')).toEqual({ value: 'true', castTo: 'BOOLEAN' });
  });

  it('rejects text that is not a literal (an unquoted string is not silently SQL)', () => {
    expect(() => parseAthenaLiteral('1; DROP TABLE t')).toThrow(QueryError);
    expect(() => parseAthenaLiteral("'unterminated")).toThrow(QueryError);
    expect(() => parseAthenaLiteral('abc')).toThrow(/INVALID_PARAMETER_USAGE/);
  });

  it('binds placeholders outside strings, identifiers and comments only, without splicing values', () => {
    const tokens = lexSql(`SELECT '?' AS q, "a?b" FROM t -- ?\nWHERE x = ? AND d = ? /* ? */`);
    const { sql, values } = bindParameters(tokens, ["'it''s; --'", "DATE '2026-01-01'"]);
    expect(sql).toBe(`SELECT '?' AS q, "a?b" FROM t -- ?\nWHERE x = ? AND d = CAST(? AS DATE) /* ? */`);
    expect(values).toEqual(["it's; --", '2026-01-01']);
    expect(() => bindParameters(tokens, ["'one'"])).toThrow(/2 parameter placeholder/);
  });

  it('accepts one statement with trailing semicolons and rejects two', () => {
    expect(singleStatement(lexSql('SELECT 1;;  ')).map((t) => t.text).join('')).toBe('SELECT 1');
    expect(() => singleStatement(lexSql('SELECT 1; SELECT 2'))).toThrow(/one sql statement/);
    expect(singleStatement(lexSql("SELECT ';'")).map((t) => t.text).join('')).toBe("SELECT ';'");
  });
});

describe('types and values', () => {
  it('maps Glue types to DuckDB', () => {
    expect(glueTypeToDuckDb('map<string,array<bigint>>')).toBe('MAP(VARCHAR, BIGINT[])');
    expect(glueTypeToDuckDb('decimal(12,2)')).toBe('DECIMAL(12,2)');
    expect(glueTypeToDuckDb('array<struct<key:string,value_base64:string>>')).toBe('STRUCT("key" VARCHAR, "value_base64" VARCHAR)[]');
    expect(glueTypeToDuckDb('varchar(20)')).toBe('VARCHAR');
    expect(glueTypeToDuckDb('smallint')).toBe('SMALLINT');
    expect(() => glueTypeToDuckDb('uniontype<int,string>')).toThrow(QueryError);
  });

  it('names DuckDB result types as Athena does', () => {
    expect(athenaType('HUGEINT').type).toBe('bigint');
    expect(athenaType('DECIMAL(10,2)')).toEqual({ type: 'decimal', precision: 10, scale: 2 });
    expect(athenaType('STRUCT("a" INTEGER)').type).toBe('row');
    expect(athenaType('VARCHAR[]').type).toBe('array');
    expect(athenaType('TIMESTAMP WITH TIME ZONE').type).toBe('timestamp with time zone');
  });

  it('prints doubles like Java/Trino', () => {
    expect(formatDouble(1)).toBe('1.0');
    expect(formatDouble(0.5)).toBe('0.5');
    expect(formatDouble(1.5e10)).toBe('1.5E10');
    expect(formatDouble(1e-4)).toBe('1.0E-4');
    expect(formatDouble(-0)).toBe('-0.0');
    expect(formatDouble(Number.NaN)).toBe('NaN');
  });
});

describe('result CSV', () => {
  it('parses Athena CSV back: quotes, doubled quotes, commas, newlines in values, nulls', () => {
    expect(parseAthenaCsv('"a","b","c"\n"x,1","say ""hi""",\n,"line\nbreak",""\n')).toEqual([
      ['a', 'b', 'c'],
      ['x,1', 'say "hi"', null],
      [null, 'line\nbreak', ''],
    ]);
  });
});

describe('partition expressions', () => {
  const keys = [{ Name: 'dt', Type: 'string' }, { Name: 'hour', Type: 'int' }];
  const match = (expr: string, values: string[]) => compilePartitionExpression(expr, keys)(values);

  it('compares numeric keys numerically and string keys as strings', () => {
    expect(match('hour > 9', ['2026-01-01', '10'])).toBe(true);
    expect(match("hour > '9'", ['2026-01-01', '10'])).toBe(true);
    expect(match("dt > '2026-01-09'", ['2026-01-10', '0'])).toBe(true);
  });

  it('supports NOT, BETWEEN, LIKE, IN and precedence of AND over OR', () => {
    expect(match("dt = 'a' OR dt = 'b' AND hour = 1", ['a', '5'])).toBe(true);
    expect(match("NOT (dt = 'a')", ['a', '5'])).toBe(false);
    expect(match('hour BETWEEN 3 AND 5', ['x', '4'])).toBe(true);
    expect(match("dt LIKE '2026-01-%'", ['2026-01-31', '0'])).toBe(true);
    expect(match('hour NOT IN (1, 2)', ['x', '2'])).toBe(false);
  });

  it('rejects syntax errors and unknown keys', () => {
    expect(() => compilePartitionExpression("dt = 'a' AND", keys)).toThrow(/partition/);
    expect(() => compilePartitionExpression("region = 'eu'", keys)).toThrow(/Unknown partition key/);
  });
});

describe('key → file path mapping', () => {
  it('is the identity for ordinary keys and escapes ., .. and empty segments', () => {
    expect(keyToRelativePath('tables/t/dt=2026-01-01/part 1%.parquet')).toBe('tables/t/dt=2026-01-01/part 1%.parquet');
    expect(keyToRelativePath('a/../b/./c//d')).toBe('a/%%../b/%%./c/%%/d');
    expect(encodeSegment('%%x')).toBe('%%%%x');
    expect(new Set(['.', '..', '', '%%', '%%.', '%%..'].map(encodeSegment)).size).toBe(6);
  });
});
