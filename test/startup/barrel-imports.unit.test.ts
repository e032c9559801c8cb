import { describe, expect, it } from 'vitest';
import { createExportMap, rewriteBarrelImports, rewriteBuiltinImports } from '../../scripts/barrel-imports.mjs';

/** A little source tree in memory: path → text. */
function tree(files: Record<string, string>): ReturnType<typeof createExportMap> {
  return createExportMap(async (f) => {
    const text = files[f];
    if (text === undefined) throw Object.assign(new Error(`ENOENT ${f}`), { code: 'ENOENT' });
    return text;
  });
}

const FILES = {
  '/r/src/m/index.ts': [
    "export * from './kinds.js';",
    "export { validate, type Checked } from './validate.js';",
    "export { helper as renamed } from './helpers.js';",
    "export * as ns from './helpers.js';",
  ].join('\n'),
  '/r/src/m/kinds.ts': 'export const KINDS = {};\nexport interface Kind {}\nexport function kindFor() {}\n',
  '/r/src/m/validate.ts': "import * as v from 'valibot';\nexport function validate() {}\nexport type Checked = 1;\n",
  '/r/src/m/helpers.ts': 'export class helper {}\n',
};

describe('rewriteBarrelImports', () => {
  it('imports each name from the module that defines it, renames kept', async () => {
    const src = "import { KINDS, validate, type Kind, renamed as R } from '../m/index.js';\nuse(KINDS);\n";
    const out = await rewriteBarrelImports('/r/src/cli/x.ts', src, tree(FILES));
    expect(out).toBe(
      "import { KINDS, type Kind } from '../m/kinds.js'; import { validate } from '../m/validate.js'; " +
        "import { helper as R } from '../m/helpers.js';\nuse(KINDS);\n",
    );
  });
  it('imports names that are all types from one module with `import type` (nothing loaded)', async () => {
    const src = "import { KINDS, type Checked } from '../m/index.js';";
    expect(await rewriteBarrelImports('/r/src/cli/x.ts', src, tree(FILES))).toBe(
      "import { KINDS } from '../m/kinds.js'; import type { Checked } from '../m/validate.js';",
    );
  });
  it('leaves a statement alone when a name cannot be followed, and type-only imports', async () => {
    const e = tree(FILES);
    for (const src of [
      "import { KINDS, nowhere } from '../m/index.js';",
      "import type { Kind } from '../m/index.js';",
      "import * as m from '../m/index.js';",
      "import { ns } from '../m/index.js';",
    ]) {
      expect(await rewriteBarrelImports('/r/src/cli/x.ts', src, e)).toBe(src);
    }
  });
  it('survives a re-export cycle without hanging', async () => {
    const e = tree({ '/r/a/index.ts': "export * from './b.js';", '/r/a/b.ts': "export * from './index.js';" });
    expect(await rewriteBarrelImports('/r/x.ts', "import { q } from './a/index.js';", e)).toBe(
      "import { q } from './a/index.js';",
    );
  });
});

describe('rewriteBuiltinImports', () => {
  it('reads node:http and node:https through process.getBuiltinModule, types dropped', () => {
    expect(rewriteBuiltinImports("import { STATUS_CODES, type Server } from 'node:http';")).toBe(
      "const { STATUS_CODES } = process.getBuiltinModule('node:http');",
    );
    expect(rewriteBuiltinImports("import { Agent as A } from 'https';")).toBe(
      "const { Agent: A } = process.getBuiltinModule('node:https');",
    );
    expect(rewriteBuiltinImports("import http from 'node:http';")).toBe(
      "const http = process.getBuiltinModule('node:http');",
    );
  });
  it('reads every node: built-in the same way, namespace and default imports too', () => {
    expect(rewriteBuiltinImports("import { EOL, tmpdir } from 'node:os';")).toBe(
      "const { EOL, tmpdir } = process.getBuiltinModule('node:os');",
    );
    expect(rewriteBuiltinImports("import * as fsp from 'node:fs/promises';")).toBe(
      "const fsp = process.getBuiltinModule('node:fs/promises');",
    );
    expect(rewriteBuiltinImports("import {\n  join,\n  resolve as res,\n} from 'node:path';")).toBe(
      "const { join, resolve: res } = process.getBuiltinModule('node:path');",
    );
    expect(rewriteBuiltinImports("import { type DatabaseSync } from 'node:sqlite';")).toBe('');
  });
  it('loads costly built-ins on first call when every name imported is a function', () => {
    const lazy = rewriteBuiltinImports("import { randomUUID as uuid, createHash } from 'node:crypto';");
    expect(lazy).toBe(
      "const uuid = (...a) => process.getBuiltinModule('node:crypto').randomUUID(...a); " +
        "const createHash = (...a) => process.getBuiltinModule('node:crypto').createHash(...a);",
    );
    const uuid = new Function(`${lazy}; return uuid;`)() as () => string;
    expect(uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
    // A class (new Socket) or a value (constants) cannot be wrapped: the module is loaded at once.
    expect(rewriteBuiltinImports("import { Socket, connect } from 'node:net';")).toBe(
      "const { Socket, connect } = process.getBuiltinModule('node:net');",
    );
    expect(rewriteBuiltinImports("import { execFile } from 'node:child_process';")).toBe(
      "const { execFile } = process.getBuiltinModule('node:child_process');",
    );
    expect(rewriteBuiltinImports("import { constants, mkdir } from 'node:fs/promises';")).toBe(
      "const { constants, mkdir } = process.getBuiltinModule('node:fs/promises');",
    );
  });
  it('leaves type-only imports and other modules alone', () => {
    for (const src of [
      "import type { Server } from 'node:http';",
      "import { x } from 'valibot';",
      "import { y } from './net.js';",
    ])
      expect(rewriteBuiltinImports(src)).toBe(src);
  });
});
