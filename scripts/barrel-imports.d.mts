// Types for scripts/barrel-imports.mjs (imported by test/startup/barrel-imports.unit.test.ts).
export interface ExportTarget {
  readonly file: string;
  readonly name: string;
}
export type ExportsOf = (file: string) => Promise<Map<string, ExportTarget>>;
export function createExportMap(read?: (file: string) => Promise<string>): ExportsOf;
export function rewriteBarrelImports(file: string, src: string, exportsOf: ExportsOf): Promise<string>;
export function rewriteBuiltinImports(src: string): string;
export function barrelImports(repo: string): { name: string; setup(build: unknown): void };
export function rewriteZodImports(src: string): string;
