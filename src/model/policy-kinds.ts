import * as v from 'valibot';
import { lazy } from './lazy.js';
import { MARGAY_API_VERSION } from './kinds.js';
import { SelectorString } from './fields.js';
import { ObjectMetaSchema } from './metadata.js';
import { RuleSchema, type Rule } from './policy-rules.js';
import { type AddIssue, refined, strictObject } from './schema.js';

/**
 * margay.dev/v1 NetworkPolicy (namespaced) and GlobalNetworkPolicy, Calico v3 field names.
 * Defaults as libcalico-go applies them: selector all(), types from the rules present
 * (egress rules only → [Egress]; both → [Ingress, Egress]; otherwise [Ingress]), and for
 * GlobalNetworkPolicy doNotTrack/preDNAT/applyOnForward false.
 */

const PolicyTypeSchema = lazy(() => v.picklist(['Ingress', 'Egress']));
type PolicyType = v.InferOutput<ReturnType<typeof PolicyTypeSchema>>;

const commonSpecFields = lazy(() => ({
  // Margay has no tiers; Calico's implicit "default" tier is accepted so manifests migrate.
  tier: v.optional(v.literal('default', 'Margay supports only the "default" tier')),
  order: v.optional(v.pipe(v.number(), v.finite())),
  selector: v.optional(SelectorString(), 'all()'),
  serviceAccountSelector: v.optional(SelectorString()),
  types: v.optional(v.pipe(v.array(PolicyTypeSchema()), v.minLength(1))),
  ingress: v.optional(v.array(RuleSchema())),
  egress: v.optional(v.array(RuleSchema())),
}));

interface PolicyLike {
  readonly types?: readonly PolicyType[] | undefined;
  readonly ingress?: readonly Rule[] | undefined;
  readonly egress?: readonly Rule[] | undefined;
}

/** libcalico-go's defaultPolicyTypesField. */
export function defaultPolicyTypes(p: PolicyLike): PolicyType[] {
  if (p.types && p.types.length > 0) return [...p.types];
  if (!p.egress?.length) return ['Ingress'];
  if (!p.ingress?.length) return ['Egress'];
  return ['Ingress', 'Egress'];
}

function checkTypes(p: PolicyLike, add: AddIssue): void {
  if (!p.types) return;
  if (new Set(p.types).size !== p.types.length) add(['types'], 'lists a type twice');
  if (p.ingress?.length && !p.types.includes('Ingress')) add(['ingress'], 'ingress rules need "Ingress" in types');
  if (p.egress?.length && !p.types.includes('Egress')) add(['egress'], 'egress rules need "Egress" in types');
}

const NetworkPolicySpec = lazy(() =>
  v.pipe(
    refined(strictObject(commonSpecFields()), checkTypes),
    v.transform((s) => ({ ...s, types: defaultPolicyTypes(s) })),
  ),
);

export const NetworkPolicySchema = lazy(() =>
  strictObject({
    apiVersion: v.literal(MARGAY_API_VERSION),
    kind: v.literal('NetworkPolicy'),
    metadata: ObjectMetaSchema(),
    spec: v.optional(NetworkPolicySpec(), () => ({})),
  }),
);

const GlobalNetworkPolicySpec = lazy(() =>
  v.pipe(
    refined(
      strictObject({
        ...commonSpecFields(),
        namespaceSelector: v.optional(SelectorString()),
        doNotTrack: v.optional(v.boolean(), false),
        preDNAT: v.optional(v.boolean(), false),
        applyOnForward: v.optional(v.boolean(), false),
      }),
      (s, addIssue) => {
        checkTypes(s, addIssue);
        const add = (path: string, message: string): void => addIssue([path], message);
        if (s.doNotTrack && s.preDNAT) add('preDNAT', 'cannot be true together with doNotTrack');
        if (s.doNotTrack && !s.applyOnForward) add('applyOnForward', 'must be true when doNotTrack is true');
        if (s.preDNAT && !s.applyOnForward) add('applyOnForward', 'must be true when preDNAT is true');
        if (s.preDNAT && s.egress?.length) add('egress', 'preDNAT policies cannot have egress rules');
        if (s.preDNAT && s.types?.includes('Egress')) add('types', 'preDNAT policies cannot have type Egress');
      },
    ),
    v.transform((s) => ({ ...s, types: defaultPolicyTypes(s) })),
  ),
);

export const GlobalNetworkPolicySchema = lazy(() =>
  strictObject({
    apiVersion: v.literal(MARGAY_API_VERSION),
    kind: v.literal('GlobalNetworkPolicy'),
    metadata: ObjectMetaSchema(),
    spec: v.optional(GlobalNetworkPolicySpec(), () => ({})),
  }),
);
