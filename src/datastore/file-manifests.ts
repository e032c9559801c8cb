import { CST, isMap, isScalar, LineCounter, Parser, parseAllDocuments, stringify, type Document } from 'yaml';
import type { KindInfo, Resource } from '../model/index.js';
import { InvariantError, MargayError, ValidationError } from '../errors.js';
import { MANAGED_META, stripManaged } from './store-state.js';

/**
 * Manifest text <-> resources, for the file datastore and `margayctl apply -f`: multi-document YAML
 * in, resources plus problems (file, line, reason) out; and the in-place rewrite of one document of
 * a multi-document file that keeps every other byte of the file as it was.
 */
export interface ManifestProblem {
  /** Path relative to the datastore directory (or as given). */
  readonly file: string;
  /** 1-based line of the problem (the offending field when known, else the document start). */
  readonly line: number;
  readonly reason: string;
}

export interface ManifestDoc {
  /** Index of the document in its file (counting empty and broken documents). */
  readonly index: number;
  readonly line: number;
  readonly info: KindInfo;
  readonly object: Resource;
}

export type Normalize = (raw: unknown) => { info: KindInfo; object: Resource };

export function parseManifestText(
  text: string,
  file: string,
  normalize: Normalize,
): { docs: ManifestDoc[]; problems: ManifestProblem[] } {
  const lc = new LineCounter();
  const docs: ManifestDoc[] = [];
  const problems: ManifestProblem[] = [];
  parseAllDocuments(text, { lineCounter: lc, uniqueKeys: true }).forEach((doc, index) => {
    const start = lc.linePos(doc.contents?.range[0] ?? doc.range[0]).line;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        problems.push({ file, line: e.linePos?.[0].line ?? start, reason: `YAML: ${e.message.split('\n')[0]}` });
      }
      return;
    }
    if (isEmptyDocument(doc)) return; // comments only, or a trailing '---'
    if (!isMap(doc.contents)) {
      problems.push({ file, line: start, reason: 'document is not a mapping (expected a Kubernetes object)' });
      return;
    }
    let raw: unknown;
    try {
      raw = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      problems.push({ file, line: start, reason: `YAML: ${(err as Error).message}` });
      return;
    }
    try {
      const { info, object } = normalize(withoutManagedMeta(raw));
      docs.push({ index, line: start, info, object });
    } catch (err) {
      if (!(err instanceof MargayError)) throw err;
      problems.push(...describeInvalid(err, file, start, doc, lc));
    }
  });
  return { docs, problems };
}

/** Store-managed metadata in a hand-written file (e.g. pasted from `kubectl get -o yaml`) is ignored. */
function withoutManagedMeta(raw: unknown): unknown {
  const r = raw as { metadata?: unknown };
  if (!r.metadata || typeof r.metadata !== 'object') return raw;
  const meta = { ...(r.metadata as Record<string, unknown>) };
  for (const f of MANAGED_META) delete meta[f];
  return { ...r, metadata: meta };
}

function describeInvalid(
  err: MargayError,
  file: string,
  start: number,
  doc: Document,
  lc: LineCounter,
): ManifestProblem[] {
  if (!(err instanceof ValidationError)) return [{ file, line: start, reason: err.message }];
  const what = `${err.kind} ${JSON.stringify(err.objectName)}`;
  return err.issues.map((i) => ({
    file,
    line: lineOfPath(doc, i.path, lc) ?? start,
    reason: `invalid ${what}: ${i.path || '(root)'}: ${i.message}`,
  }));
}

/** Line of the node at a validation path ("spec.peers[0].asn", "spec.peers.0.asn"), or of its nearest parent. */
function lineOfPath(doc: Document, path: string, lc: LineCounter): number | undefined {
  const segs = path
    .split(/[.[\]]+/)
    .filter((s) => s !== '')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  for (let n = segs.length; n > 0; n--) {
    const node = doc.getIn(segs.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return lc.linePos(node.range[0]).line;
  }
  return undefined;
}

/** YAML text of an object as a manifest file holds it (without store-managed metadata). */
export function manifestYaml(obj: Resource): string {
  return stringify(stripManaged(obj), { lineWidth: 0 });
}

/** Number of documents in a file as parseAllDocuments counts them. */
export function countDocuments(text: string): number {
  let n = 0;
  for (const tok of new Parser().parse(text)) if (tok.type === 'document') n++;
  return n;
}

/** One document and nothing around it (no comment, marker or directive outside it): safe to rewrite whole. */
export function isBareSingleDocument(text: string): boolean {
  let docs = 0;
  for (const tok of new Parser().parse(text)) {
    if (tok.type === 'document') docs++;
    else if (tok.type !== 'newline' && tok.type !== 'space') return false;
  }
  return docs === 1;
}

/**
 * Replaces document `index` of `text` with `yamlText` (or removes it when undefined), keeping the
 * bytes of every other document, comment and marker.
 */
export function replaceDocument(text: string, index: number, yamlText: string | undefined): string {
  let out = '';
  let n = 0;
  let found = false;
  for (const tok of new Parser().parse(text)) {
    const src = CST.stringify(tok);
    if (tok.type !== 'document' || n++ !== index) {
      out += src;
      continue;
    }
    found = true;
    if (yamlText === undefined) continue;
    if (out !== '' && !out.endsWith('\n')) out += '\n';
    out += `---\n${yamlText.endsWith('\n') ? yamlText : `${yamlText}\n`}`;
  }
  if (!found) throw new InvariantError(`document ${index} not found (file has ${n})`);
  return out;
}

/** True when the text holds no object: only comments, whitespace and empty documents. */
export function hasNoObjects(text: string): boolean {
  return parseAllDocuments(text).every((d) => d.errors.length === 0 && isEmptyDocument(d));
}

function isEmptyDocument(doc: Document): boolean {
  return doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null && doc.contents.source === '');
}
