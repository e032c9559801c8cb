import { z } from 'zod';
import { lazy } from './lazy.js';
import { DnsLabel, DnsSubdomain, Labels } from './fields.js';

/**
 * ObjectMeta as Margay validates it. Known fields are typed and checked; anything else the API
 * server puts there (ownerReferences, finalizers, managedFields...) passes through untouched so an
 * update never drops it. Whether `namespace` is required is decided per kind in validate.ts.
 */
const ObjectMetaFields = lazy(() =>
  z.looseObject({
    name: DnsSubdomain(),
    namespace: DnsLabel().optional(),
    labels: Labels().optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    resourceVersion: z.string().optional(),
    uid: z.string().optional(),
    generation: z.number().int().optional(),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
  }),
);

/** Drops null-valued keys first: generated manifests carry `creationTimestamp: null`, `labels:`. */
function dropNulls(m: unknown): unknown {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return m;
  return Object.fromEntries(Object.entries(m).filter(([, v]) => v !== null));
}

export const ObjectMetaSchema = lazy(() => z.preprocess(dropNulls, ObjectMetaFields()));

/** Namespaces' own names are DNS-1123 labels, stricter than other objects' names. */
export const NamespaceMetaSchema = lazy(() => z.preprocess(dropNulls, ObjectMetaFields().extend({ name: DnsLabel() })));

export type ValidatedObjectMeta = z.output<ReturnType<typeof ObjectMetaSchema>>;
