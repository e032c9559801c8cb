/**
 * PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and strategic-merge patch applied
 * as a merge patch (deviation: lists are replaced whole, not merged by their patch key, and `$patch`,
 * `$setElementOrder/...` and `$retainKeys` directives are dropped before merging).
 */

export class PatchError extends Error {}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, Json> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Strips strategic-merge directives (`$patch`, `$setElementOrder/...`, `$retainKeys`, `$deleteFromPrimitiveList/...`). */
export function stripDirectives(patch: unknown): unknown {
  if (Array.isArray(patch)) return patch.map(stripDirectives);
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    out[k] = stripDirectives(v);
  }
  return out;
}

interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, segs: string[], path: string): { parent: unknown; last: string } {
  let cur = doc;
  for (const s of segs.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(s)];
    else if (isObject(cur)) cur = cur[s];
    else throw new PatchError(`path "${path}" does not exist`);
    if (cur === undefined) throw new PatchError(`path "${path}" does not exist`);
  }
  return { parent: cur, last: segs[segs.length - 1]! };
}

function getAt(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const s of pointer(path)) {
    if (Array.isArray(cur)) cur = cur[Number(s)];
    else if (isObject(cur)) cur = cur[s];
    else cur = undefined;
    if (cur === undefined) throw new PatchError(`path "${path}" does not exist`);
  }
  return cur;
}

function removeAt(doc: unknown, path: string): unknown {
  const segs = pointer(path);
  if (segs.length === 0) throw new PatchError('cannot remove the whole document');
  const { parent, last } = parentOf(doc, segs, path);
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length) throw new PatchError(`path "${path}" does not exist`);
    return parent.splice(i, 1)[0];
  }
  if (!isObject(parent) || !(last in parent)) throw new PatchError(`path "${path}" does not exist`);
  const v = parent[last];
  delete parent[last];
  return v;
}

function addAt(doc: unknown, path: string, value: unknown, replace: boolean): unknown {
  const segs = pointer(path);
  if (segs.length === 0) return value;
  const { parent, last } = parentOf(doc, segs, path);
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new PatchError(`path "${path}" is out of range`);
    if (replace) {
      if (i >= parent.length) throw new PatchError(`path "${path}" does not exist`);
      parent[i] = value as Json;
    } else parent.splice(i, 0, value as Json);
  } else if (isObject(parent)) {
    if (replace && !(last in parent)) throw new PatchError(`path "${path}" does not exist`);
    parent[last] = value as Json;
  } else throw new PatchError(`path "${path}" does not exist`);
  return doc;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array of operations');
  let doc: unknown = structuredClone(target);
  for (const raw of ops as JsonPatchOp[]) {
    switch (raw.op) {
      case 'add':
        doc = addAt(doc, raw.path, structuredClone(raw.value), false);
        break;
      case 'replace':
        doc = addAt(doc, raw.path, structuredClone(raw.value), true);
        break;
      case 'remove':
        removeAt(doc, raw.path);
        break;
      case 'move': {
        const v = removeAt(doc, raw.from ?? '');
        doc = addAt(doc, raw.path, v, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, raw.path, structuredClone(getAt(doc, raw.from ?? '')), false);
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, raw.path)) !== JSON.stringify(raw.value)) {
          throw new PatchError(`testing value ${raw.path} failed`);
        }
        break;
      default:
        throw new PatchError(`unknown JSON patch operation "${String(raw.op)}"`);
    }
  }
  return doc;
}
