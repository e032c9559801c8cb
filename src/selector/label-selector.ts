import { andOf, setNode, type Selector } from './ast.js';
import { InvalidSelectorError, SelectorParseError } from './errors.js';

/**
 * Kubernetes label selectors, in both of their forms, converted to the shared Selector AST:
 *  - the structured LabelSelector of NetworkPolicy and friends (matchLabels + matchExpressions);
 *  - the query-string syntax of `?labelSelector=` (`a=b,c!=d,e in (f,g),h notin (i),j,!k`).
 * Kubernetes semantics equal Calico's for the shared operators: `!=` and `notin` match objects
 * without the label, `in` and `=` need it. Numeric `>`/`<` (query string only) are not supported.
 */
export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[] | null;
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>> | null;
  readonly matchExpressions?: readonly LabelSelectorRequirement[] | null;
}

// apimachinery validation: qualified name keys (optional DNS-subdomain prefix) and label values.
const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Returns why `key` is not a valid Kubernetes label key, or undefined if it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const [prefix, name] = slash >= 0 ? [key.slice(0, slash), key.slice(slash + 1)] : [undefined, key];
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key prefix ${JSON.stringify(prefix)} must be a DNS subdomain (lower case, at most 253 characters)`;
  }
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
    return `label key name ${JSON.stringify(name)} must be 1-63 characters [A-Za-z0-9-_.], starting and ending alphanumeric`;
  }
  return undefined;
}

/** Returns why `value` is not a valid Kubernetes label value, or undefined if it is. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    return `label value ${JSON.stringify(value)} must be at most 63 characters [A-Za-z0-9-_.], starting and ending alphanumeric`;
  }
  return undefined;
}

/** Converts a structured LabelSelector. An empty one selects everything (all()). */
export function labelSelectorToSelector(ls: LabelSelector): Selector {
  const parts: Selector[] = [];
  const ml = ls.matchLabels ?? {};
  for (const key of Object.keys(ml).sort()) {
    const value = ml[key]!;
    check(labelKeyProblem(key), `matchLabels[${JSON.stringify(key)}]`);
    check(labelValueProblem(value), `matchLabels[${JSON.stringify(key)}]`);
    parts.push({ op: 'eq', key, value });
  }
  (ls.matchExpressions ?? []).forEach((req, i) => {
    const path = `matchExpressions[${i}]`;
    check(labelKeyProblem(req.key), `${path}.key`);
    const values = req.values ?? [];
    values.forEach((v, j) => check(labelValueProblem(v), `${path}.values[${j}]`));
    switch (req.operator) {
      case 'In':
      case 'NotIn':
        check(values.length === 0 ? `operator ${req.operator} needs at least one value` : undefined, `${path}.values`);
        parts.push(setNode(req.operator === 'In' ? 'in' : 'notIn', req.key, values));
        break;
      case 'Exists':
      case 'DoesNotExist': {
        check(values.length > 0 ? `operator ${req.operator} takes no values` : undefined, `${path}.values`);
        const has: Selector = { op: 'has', key: req.key };
        parts.push(req.operator === 'Exists' ? has : { op: 'not', operand: has });
        break;
      }
      default:
        throw new InvalidSelectorError(
          `${path}.operator`,
          `unknown operator ${JSON.stringify(req.operator)} (expected In, NotIn, Exists or DoesNotExist)`,
        );
    }
  });
  return andOf(parts);
}

function check(problem: string | undefined, path: string): void {
  if (problem !== undefined) throw new InvalidSelectorError(path, problem);
}

const SPECIAL = new Set(['!', '=', ',', '(', ')', '<', '>']);
const SPACE = /\s/;

/**
 * Parses the Kubernetes query-string label selector syntax (apimachinery labels.Parse):
 * requirements separated by commas, each one of `k`, `!k`, `k=v`, `k==v`, `k!=v`,
 * `k in (v1,v2)`, `k notin (v1)`. The empty string selects everything.
 */
export function parseK8sLabelSelectorString(src: string): Selector {
  const parts: Selector[] = [];
  let i = 0;
  const fail = (pos: number, expected: string): never => {
    const found = pos >= src.length ? 'end of input' : JSON.stringify(src[pos]);
    throw new SelectorParseError(src, pos, expected, found);
  };
  const skip = (): void => {
    while (i < src.length && SPACE.test(src[i]!)) i++;
  };
  const word = (): { text: string; pos: number } => {
    skip();
    const pos = i;
    while (i < src.length && !SPECIAL.has(src[i]!) && !SPACE.test(src[i]!)) i++;
    return { text: src.slice(pos, i), pos };
  };
  const key = (): string => {
    const w = word();
    if (w.text === '') fail(w.pos, 'a label key');
    const problem = labelKeyProblem(w.text);
    if (problem) fail(w.pos, `a valid label key (${problem})`);
    return w.text;
  };
  const value = (): string => {
    const w = word();
    const problem = labelValueProblem(w.text);
    if (problem) fail(w.pos, `a valid label value (${problem})`);
    return w.text;
  };

  skip();
  if (i >= src.length) return andOf([]);
  for (;;) {
    skip();
    if (src[i] === '!') {
      i++;
      parts.push({ op: 'not', operand: { op: 'has', key: key() } });
    } else {
      const k = key();
      skip();
      const c = src[i];
      if (c === '=' || (c === '!' && src[i + 1] === '=')) {
        const ne = c === '!';
        i += ne || src[i + 1] === '=' ? 2 : 1;
        parts.push({ op: ne ? 'ne' : 'eq', key: k, value: value() });
      } else if (c === '<' || c === '>') {
        fail(i, 'an operator Margay supports (=, ==, !=, in, notin); numeric < and > are not supported');
      } else if (c === undefined || c === ',') {
        parts.push({ op: 'has', key: k });
      } else {
        const op = word();
        if (op.text !== 'in' && op.text !== 'notin')
          fail(op.pos, 'an operator (=, ==, !=, in, notin), "," or end of input');
        skip();
        if (src[i] !== '(') fail(i, '"(" starting the value set');
        i++;
        const values = [value()]; // `in ()` is the set {""}, as apimachinery parses it
        skip();
        while (src[i] === ',') {
          i++;
          values.push(value());
          skip();
        }
        if (src[i] !== ')') fail(i, '"," or ")"');
        i++;
        parts.push(setNode(op.text === 'in' ? 'in' : 'notIn', k, values));
      }
    }
    skip();
    if (i >= src.length) return andOf(parts);
    if (src[i] !== ',') fail(i, '"," or end of input');
    i++;
  }
}
