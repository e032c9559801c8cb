import * as v from 'valibot';
import { DnsLabel, DnsSubdomain, Labels } from './fields.js';
import { lazy } from './lazy.js';
import { int, looseObject, record } from './schema.js';

/**
 * ObjectMeta as Margay validates it. Known fields are typed and checked; anything else the API
 * server puts there (ownerReferences, finalizers, managedFields...) passes through untouched so an
 * update never drops it. Null-valued fields count as absent: generated manifests carry
 * `creationTimestamp: null`, `labels:`. Whether `namespace` is required is decided per kind in validate.ts.
 */
const metaFields = () => ({
  name: DnsSubdomain(),
  namespace: v.optional(DnsLabel()),
  labels: v.optional(Labels()),
  annotations: v.optional(record(v.string(), v.string())),
  resourceVersion: v.optional(v.string()),
  uid: v.optional(v.string()),
  generation: v.optional(int()),
  creationTimestamp: v.optional(v.string()),
  deletionTimestamp: v.optional(v.string()),
});

export const ObjectMetaSchema = lazy(() => looseObject(metaFields(), { dropNulls: true }));

/** Namespaces' own names are DNS-1123 labels, stricter than other objects' names. */
export const NamespaceMetaSchema = lazy(() => looseObject({ ...metaFields(), name: DnsLabel() }, { dropNulls: true }));

export type ValidatedObjectMeta = v.InferOutput<ReturnType<typeof ObjectMetaSchema>>;
