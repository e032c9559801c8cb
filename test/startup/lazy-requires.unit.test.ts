import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { LAZY, lazify } from '../../scripts/lazy-requires.mjs';

const require = createRequire(import.meta.url);

describe('lazify', () => {
  it('turns an export line into a getter that requires the module on first read', () => {
    const [rewrite] = LAZY['prom-client/index.js']!;
    const { text, missing } = lazify("exports.A = 1;\nexports.Pushgateway = require('./lib/pushgateway');\n", [
      rewrite!,
    ]);
    expect(missing).toEqual([]);
    expect(text).not.toContain("exports.Pushgateway = require('./lib/pushgateway')");
    // Run it with a require that records what it loads: nothing until Pushgateway is read.
    const loaded: string[] = [];
    const exports: Record<string, unknown> = {};
    new Function('exports', 'require', text)(exports, (id: string) => {
      loaded.push(id);
      return { id };
    });
    expect(exports.A).toBe(1);
    expect(loaded).toEqual([]);
    expect(Object.keys(exports)).toEqual(['A', 'Pushgateway']);
    expect(exports.Pushgateway).toEqual({ id: './lib/pushgateway' });
    expect(loaded).toEqual(['./lib/pushgateway']);
  });

  it('reports a line it does not find and leaves the text as it was', () => {
    const src = "exports.Pushgateway = require('./lib/other');\n";
    const { text, missing } = lazify(src, LAZY['prom-client/index.js']!);
    expect(text).toBe(src);
    expect(missing).toHaveLength(LAZY['prom-client/index.js']!.length);
  });

  // The installed packages still have every line the plugin rewrites (a package update that changes
  // them would silently bring the start-up cost back: the build only warns).
  it.each(Object.entries(LAZY))('the installed %s has every line it rewrites', (file, rewrites) => {
    const path = require.resolve(file);
    expect(lazify(readFileSync(path, 'utf8'), rewrites).missing).toEqual([]);
  });
});
