import { describe, expect, it } from 'vitest';
import {
  createExportMap,
  rewriteBarrelImports,
  rewriteHttpImports,
  rewriteZodImports,
} from '../../scripts/barrel-imports.mjs';

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
  '/r/src/m/validate.ts': "import { z } from 'zod';\nexport function validate() {}\nexport type Checked = 1;\n",
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

describe('rewriteHttpImports', () => {
  it('reads node:http and node:https through process.getBuiltinModule, types dropped', () => {
    expect(rewriteHttpImports("import { createServer, type Server } from 'node:http';")).toBe(
      "const { createServer } = process.getBuiltinModule('node:http');",
    );
    expect(rewriteHttpImports("import { request as r } from 'https';")).toBe(
      "const { request: r } = process.getBuiltinModule('node:https');",
    );
    expect(rewriteHttpImports("import http from 'node:http';")).toBe(
      "const http = process.getBuiltinModule('node:http');",
    );
  });
  it('leaves type-only imports and other modules alone', () => {
    for (const src of ["import type { Server } from 'node:http';", "import { createServer } from 'node:net';"])
      expect(rewriteHttpImports(src)).toBe(src);
  });
});

describe('rewriteZodImports', () => {
  it("imports zod's z as a namespace so the bundler can drop what is unused", () => {
    expect(rewriteZodImports("import { z } from 'zod';\nconst s = z.string();")).toBe(
      "import * as z from 'zod';\nconst s = z.string();",
    );
  });
  it('leaves type-only and other zod imports alone', () => {
    for (const src of [
      "import type { z } from 'zod';",
      "import { z } from 'zod/mini';",
      "import { ZodError } from 'zod';",
    ])
      expect(rewriteZodImports(src)).toBe(src);
  });
});
