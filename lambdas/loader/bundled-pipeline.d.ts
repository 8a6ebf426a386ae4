/** The pipeline module a loader bundle is built with (an esbuild alias set by lib/infra/lake-loader.ts). */
declare module 'lakeloader-bundled-pipeline' {
  const exports: Record<string, unknown>;
  export = exports;
}
