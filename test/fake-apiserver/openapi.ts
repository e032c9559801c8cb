/**
 * A minimal OpenAPI v3 surface (/openapi/v3 and /openapi/v3/<api|apis/group>/<version>): the paths and
 * operations of each served resource, tagged with x-kubernetes-group-version-kind, and PATCH/POST/PUT
 * declaring the `fieldValidation` query parameter. That is what kubectl (1.27+) reads to decide that
 * validation happens on the server, so `kubectl apply` works without --validate=false. No schemas are
 * published (components.schemas is empty), and no strategic-merge content type is declared, so kubectl
 * computes patches from its compiled-in types for built-ins and uses merge patch for custom resources.
 */
import { createHash } from 'node:crypto';
import type { ResourceDef } from './resources.js';

function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function hashOf(defs: readonly ResourceDef[]): string {
  return createHash('sha256')
    .update(JSON.stringify(defs.map((d) => [d.group, d.version, d.plural, d.kind, d.namespaced])))
    .digest('hex')
    .slice(0, 32)
    .toUpperCase();
}

/** The /openapi/v3 discovery document. */
export function openapiRoot(defs: readonly ResourceDef[]): Record<string, unknown> {
  const gvs = new Map<string, ResourceDef[]>();
  for (const d of defs) {
    const k = gvPath(d.group, d.version);
    gvs.set(k, [...(gvs.get(k) ?? []), d]);
  }
  return {
    paths: Object.fromEntries(
      [...gvs].map(([k, ds]) => [k, { serverRelativeURL: `/openapi/v3/${k}?hash=${hashOf(ds)}` }]),
    ),
  };
}

const WRITE_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation'].map((name) => ({
  name,
  in: 'query',
  schema: { type: 'string', uniqueItems: true },
}));

const OK = { '200': { description: 'OK' } };

function op(d: ResourceDef, action: string, write: boolean, patch = false): Record<string, unknown> {
  return {
    operationId: `${action}${d.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: d.group, version: d.version, kind: d.kind },
    ...(write ? { parameters: WRITE_PARAMS } : {}),
    ...(patch
      ? {
          requestBody: {
            content: { 'application/json-patch+json': { schema: {} }, 'application/merge-patch+json': { schema: {} } },
            required: true,
          },
        }
      : {}),
    responses: OK,
  };
}

/** The OpenAPI v3 document of one group/version, or undefined if nothing is served there. */
export function openapiGroupVersion(defs: readonly ResourceDef[], key: string): Record<string, unknown> | undefined {
  const mine = defs.filter((d) => gvPath(d.group, d.version) === key);
  if (mine.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const d of mine) {
    const base = `/${key}${d.namespaced ? '/namespaces/{namespace}' : ''}/${d.plural}`;
    paths[base] = { get: op(d, 'list', false), post: op(d, 'post', true) };
    paths[`${base}/{name}`] = {
      get: op(d, 'get', false),
      put: op(d, 'put', true),
      patch: op(d, 'patch', true, true),
      delete: op(d, 'delete', false),
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0-margay-fake' },
    paths,
    components: { schemas: {} },
  };
}
