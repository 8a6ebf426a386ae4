/**
 * Which way dependencies may point (checked by test/unit/architecture.test.ts with
 * dependency-cruiser, and by `npx depcruise bin lib lambdas pipelines`):
 *
 * - lambdas/ is the Lambda bundle: it never imports lib/, pipelines/ or the CDK;
 * - pipelines/ import only the public API (`lakeloader`, i.e. lambdas/api.ts);
 * - lib/ops (the operations engine) never imports lib/cli (the command line around it);
 * - lib/infra (CDK) never imports the CLI, the local endpoint or the ops engine;
 * - no module depends on itself through a cycle.
 */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'an import cycle (type-only imports are erased at compile time and cannot form one at run time)', from: {}, to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } } },
    { name: 'lambdas-stay-lean', severity: 'error', comment: 'the Lambda bundle must not pull in tools or other pipelines', from: { path: '^lambdas/' }, to: { path: '^(lib|pipelines|bin)/' } },
    { name: 'lambdas-no-cdk', severity: 'error', comment: 'no CDK in the Lambda', from: { path: '^lambdas/' }, to: { path: 'node_modules/(aws-cdk-lib|constructs|cdk-nag)/' } },
    { name: 'pipelines-use-the-public-api', severity: 'error', comment: "pipeline files import 'lakeloader' (lambdas/api.ts) only", from: { path: '^pipelines/' }, to: { path: '^(lib|bin)/|^lambdas/(?!api\\.ts$)' } },
    { name: 'ops-not-on-cli', severity: 'error', comment: 'the ops engine is used by the CLI, not the other way round', from: { path: '^lib/ops/' }, to: { path: '^lib/cli/' } },
    { name: 'infra-is-cdk-only', severity: 'error', comment: 'CDK constructs do not depend on the CLI, the local endpoint or the ops engine', from: { path: '^lib/infra/' }, to: { path: '^lib/(cli|local|ops|bench)/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'] },
    exclude: { path: '^(node_modules|cdk\\.out|\\.lakeloader)' },
  },
};
