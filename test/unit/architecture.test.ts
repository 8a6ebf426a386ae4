/**
 * Dependencies point one way (.dependency-cruiser.cjs, checked with dependency-cruiser): the
 * Lambda bundle (lambdas/) never imports tools, pipelines or the CDK; pipeline files import only
 * the public API; the ops engine never imports the CLI; CDK constructs stay CDK; no cycles. A
 * second run over a scratch tree with planted violations shows each rule does fire.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/bundling';

// eslint-disable-next-line @typescript-eslint/consistent-type-imports
type Cruiser = typeof import('dependency-cruiser');
const load = async () => (await import('dependency-cruiser')) as Cruiser;
const config = () => require(join(PROJECT_ROOT, '.dependency-cruiser.cjs')) as { forbidden: unknown[]; options: Record<string, unknown> };

async function violations(dirs: string[], cwd: string): Promise<string[]> {
  const { cruise } = await load();
  const c = config();
  const previous = process.cwd();
  process.chdir(cwd);
  try {
    const r = await cruise(dirs, { ...c.options, ruleSet: { forbidden: c.forbidden }, validate: true } as never);
    const out = r.output as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
    return out.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
  } finally {
    process.chdir(previous);
  }
}

const scratch = mkdtempSync(join(PROJECT_ROOT, '.lakeloader-arch-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('import directions', () => {
  it('the project has no forbidden import and no cycle', async () => {
    expect(await violations(['bin', 'lib', 'lambdas', 'pipelines'], PROJECT_ROOT)).toEqual([]);
  }, 60_000);

  it('the rules fire on planted violations', async () => {
    const file = (path: string, text: string) => {
      mkdirSync(join(scratch, path, '..'), { recursive: true });
      writeFileSync(join(scratch, path), text);
    };
    file('tsconfig.json', '{ "compilerOptions": { "module": "preserve", "moduleResolution": "bundler" } }\n');
    file('lambdas/core/leaky.ts', "import { x } from '../../lib/ops/tool';\nexport const y = x;\n");
    file('lib/ops/tool.ts', "import { z } from '../cli/cmd';\nexport const x = z;\n");
    file('lib/cli/cmd.ts', 'export const z = 1;\n');
    file('lib/gen/a.ts', "import { b } from './b';\nexport const a = b;\n");
    file('lib/gen/b.ts', "import { a } from './a';\nexport const b = () => a;\n");
    file('pipelines/p.ts', "import { y } from '../lambdas/core/leaky';\nexport const p = y;\n");
    const found = await violations(['lambdas', 'lib', 'pipelines'], scratch);
    expect(found.map((v) => v.split(':')[0]).sort()).toEqual(
      expect.arrayContaining(['lambdas-stay-lean', 'ops-not-on-cli', 'no-circular', 'pipelines-use-the-public-api']),
    );
  }, 60_000);
});

describe('the Lambda bundle stays lean', () => {
  // A `require('@aws-sdk/client-x')` makes esbuild bundle every command of the client (Glue's:
  // ≈ 260 KB that every cold start compiles); a static `import { XCommand }` keeps only what is used.
  it('lambdas/ imports AWS SDK clients statically, never with require()', () => {
    const { readdirSync, readFileSync, statSync } = require('node:fs') as typeof import('node:fs');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts') && /require\(\s*['"]@aws-sdk\//.test(readFileSync(p, 'utf8'))) offenders.push(p.slice(PROJECT_ROOT.length + 1));
      }
    };
    walk(join(PROJECT_ROOT, 'lambdas'));
    expect(offenders).toEqual([]);
  });
});
