/**
 * Builds the conformance table of docs/local-endpoint.md (case × endpoint) from vitest JSON
 * reports of the same suite run against different endpoints:
 *
 * ```sh
 * npx vitest run test/conformance --reporter=json --outputFile=/tmp/after.json
 * LAKELOADER_TEST_SERVER=/tmp/main/lib/local/server.ts npx vitest run test/conformance --reporter=json --outputFile=/tmp/before.json
 * LAKELOADER_TEST_ENDPOINT=http://127.0.0.1:5000 npx vitest run test/conformance --reporter=json --outputFile=/tmp/moto.json
 * npx tsx test/conformance/table.ts "before (main)=/tmp/before.json" "after=/tmp/after.json" "moto 5.2.1=/tmp/moto.json"
 * ```
 *
 * A cell is `pass`, `FAIL` or `skip` (skipped: the case needs something the run did not have,
 * e.g. the AWS CLI, or the local endpoint's own options for `--enforce-iam`).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface Report {
  testResults: Array<{ name: string; assertionResults: Array<{ ancestorTitles: string[]; title: string; status: string }> }>;
}

const runs = process.argv.slice(2).map((arg) => {
  const i = arg.indexOf('=');
  if (i < 0) throw new Error(`expected <label>=<vitest json report>, got "${arg}"`);
  return { label: arg.slice(0, i), report: JSON.parse(readFileSync(arg.slice(i + 1), 'utf8')) as Report };
});
if (runs.length === 0) throw new Error('usage: table.ts <label>=<report.json> ...');

const cell = (status: string | undefined) => (status === 'passed' ? 'pass' : status === 'failed' ? '**FAIL**' : status ? 'skip' : '—');
const order: string[] = [];
const rows = new Map<string, { group: string; title: string; results: Map<string, string> }>();
for (const { label, report } of runs) {
  for (const file of [...report.testResults].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const t of file.assertionResults) {
      const group = t.ancestorTitles.join(' › ').replace(/ \(skipped: .*\)$/, '') || basename(file.name);
      const id = `${group}\u0000${t.title}`;
      if (!rows.has(id)) {
        rows.set(id, { group, title: t.title, results: new Map() });
        order.push(id);
      }
      rows.get(id)!.results.set(label, t.status);
    }
  }
}

const out: string[] = [];
let group = '';
for (const id of order) {
  const r = rows.get(id)!;
  if (r.group !== group) {
    group = r.group;
    out.push('', `**${group}**`, '', `| Case | ${runs.map((x) => x.label).join(' | ')} |`, `|---|${runs.map(() => '---').join('|')}|`);
  }
  out.push(`| ${r.title.replace(/\|/g, '\\|')} | ${runs.map((x) => cell(r.results.get(x.label))).join(' | ')} |`);
}
const totals = runs.map((x) => {
  const all = [...rows.values()].map((r) => r.results.get(x.label));
  return `${x.label}: ${all.filter((s) => s === 'passed').length} pass, ${all.filter((s) => s === 'failed').length} fail, ${all.filter((s) => s && s !== 'passed' && s !== 'failed').length} skip`;
});
process.stdout.write(`${out.join('\n').trimStart()}\n\nTotals (${rows.size} cases) — ${totals.join('; ')}.\n`);
