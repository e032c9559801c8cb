import { z } from 'zod';
import { lazy } from './lazy.js';
import { MARGAY_API_VERSION } from './kinds.js';
import { SelectorString } from './fields.js';
import { ObjectMetaSchema } from './metadata.js';
import { RuleSchema, type Rule } from './policy-rules.js';

/**
 * margay.dev/v1 NetworkPolicy (namespaced) and GlobalNetworkPolicy, Calico v3 field names.
 * Defaults as libcalico-go applies them: selector all(), types from the rules present
 * (egress rules only → [Egress]; both → [Ingress, Egress]; otherwise [Ingress]), and for
 * GlobalNetworkPolicy doNotTrack/preDNAT/applyOnForward false.
 */

const PolicyTypeSchema = lazy(() => z.enum(['Ingress', 'Egress']));
type PolicyType = z.output<ReturnType<typeof PolicyTypeSchema>>;

const commonSpecFields = lazy(() => ({
  // Margay has no tiers; Calico's implicit "default" tier is accepted so manifests migrate.
  tier: z.literal('default', { error: 'Margay supports only the "default" tier' }).optional(),
  order: z.number().optional(),
  selector: SelectorString().default('all()'),
  serviceAccountSelector: SelectorString().optional(),
  types: z.array(PolicyTypeSchema()).min(1).optional(),
  ingress: z.array(RuleSchema()).optional(),
  egress: z.array(RuleSchema()).optional(),
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

function checkTypes(p: PolicyLike, ctx: z.RefinementCtx): void {
  if (!p.types) return;
  if (new Set(p.types).size !== p.types.length)
    ctx.addIssue({ code: 'custom', path: ['types'], message: 'lists a type twice' });
  if (p.ingress?.length && !p.types.includes('Ingress'))
    ctx.addIssue({ code: 'custom', path: ['ingress'], message: 'ingress rules need "Ingress" in types' });
  if (p.egress?.length && !p.types.includes('Egress'))
    ctx.addIssue({ code: 'custom', path: ['egress'], message: 'egress rules need "Egress" in types' });
}

const NetworkPolicySpec = lazy(() =>
  z
    .strictObject(commonSpecFields())
    .superRefine(checkTypes)
    .transform((s) => ({ ...s, types: defaultPolicyTypes(s) })),
);

export const NetworkPolicySchema = lazy(() =>
  z.strictObject({
    apiVersion: z.literal(MARGAY_API_VERSION),
    kind: z.literal('NetworkPolicy'),
    metadata: ObjectMetaSchema(),
    spec: NetworkPolicySpec().prefault({}),
  }),
);

const GlobalNetworkPolicySpec = lazy(() =>
  z
    .strictObject({
      ...commonSpecFields(),
      namespaceSelector: SelectorString().optional(),
      doNotTrack: z.boolean().default(false),
      preDNAT: z.boolean().default(false),
      applyOnForward: z.boolean().default(false),
    })
    .superRefine((s, ctx) => {
      checkTypes(s, ctx);
      const add = (path: string, message: string): void => ctx.addIssue({ code: 'custom', path: [path], message });
      if (s.doNotTrack && s.preDNAT) add('preDNAT', 'cannot be true together with doNotTrack');
      if (s.doNotTrack && !s.applyOnForward) add('applyOnForward', 'must be true when doNotTrack is true');
      if (s.preDNAT && !s.applyOnForward) add('applyOnForward', 'must be true when preDNAT is true');
      if (s.preDNAT && s.egress?.length) add('egress', 'preDNAT policies cannot have egress rules');
      if (s.preDNAT && s.types?.includes('Egress')) add('types', 'preDNAT policies cannot have type Egress');
    })
    .transform((s) => ({ ...s, types: defaultPolicyTypes(s) })),
);

export const GlobalNetworkPolicySchema = lazy(() =>
  z.strictObject({
    apiVersion: z.literal(MARGAY_API_VERSION),
    kind: z.literal('GlobalNetworkPolicy'),
    metadata: ObjectMetaSchema(),
    spec: GlobalNetworkPolicySpec().prefault({}),
  }),
);
