/**
 * margay-bgpd's config file: YAML text → a validated, frozen config. Apart from bgp/config.ts so
 * that what validates a config built in memory (margay-node's speaker host) does not load the YAML
 * parser (≈ 140 KB of module code at every agent start).
 */
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../src/errors.js';
import { validateBgpdConfig, type BgpdConfig } from './config.js';

/** Parses YAML text then validates it. YAML syntax errors become ConfigError with the line. */
export function parseBgpdConfig(text: string, source = 'margay-bgpd config'): Readonly<BgpdConfig> {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError(source, `YAML: ${(err as Error).message}`, { cause: err });
  }
  return validateBgpdConfig(doc ?? {}, source);
}
