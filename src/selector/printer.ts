import { LABEL_KEY_PATTERN, type Selector } from './ast.js';
import { InvalidSelectorError } from './errors.js';

/**
 * Prints a selector in canonical form: `key == "value"` spacing, double quotes unless the value holds
 * a double quote (then single, as libcalico-go), set values in AST order (the parser sorts them),
 * and only the parentheses needed to rebuild the same tree: an `||` inside `&&`, any `&&`/`||` nested
 * in the same operator, and any compound or negated operand of `!`. parseSelector(printSelector(s))
 * deep-equals s for every well-formed AST. Throws InvalidSelectorError for an AST no string can
 * express (bad key, a value with both quote characters, an `and`/`or` with fewer than two operands).
 */
export function printSelector(sel: Selector): string {
  return print(sel, 'root', '');
}

type Context = 'root' | 'and' | 'or' | 'not';

const VALUE_OP_TEXT = {
  eq: '==',
  ne: '!=',
  contains: 'contains',
  startsWith: 'starts with',
  endsWith: 'ends with',
} as const;

function print(sel: Selector, ctx: Context, path: string): string {
  switch (sel.op) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${key(sel.key, path)})`;
    case 'eq':
    case 'ne':
    case 'contains':
    case 'startsWith':
    case 'endsWith':
      return `${key(sel.key, path)} ${VALUE_OP_TEXT[sel.op]} ${quote(sel.value, `${path}.value`)}`;
    case 'in':
    case 'notIn': {
      const vals = sel.values.map((v, i) => quote(v, `${path}.values[${i}]`)).join(', ');
      return `${key(sel.key, path)} ${sel.op === 'in' ? 'in' : 'not in'} {${vals}}`;
    }
    case 'not': {
      const inner = print(sel.operand, 'not', `${path}.operand`);
      return sel.operand.op === 'not' ? `!(${inner})` : `!${inner}`; // `!!x` would parse as x
    }
    case 'and':
    case 'or': {
      if (sel.operands.length < 2) throw new InvalidSelectorError(trim(path), `${sel.op} needs at least two operands`);
      const text = sel.operands
        .map((o, i) => print(o, sel.op, `${path}.operands[${i}]`))
        .join(sel.op === 'and' ? ' && ' : ' || ');
      return needsParens(sel.op, ctx) ? `(${text})` : text;
    }
  }
}

function needsParens(op: 'and' | 'or', ctx: Context): boolean {
  if (ctx === 'root') return false;
  if (ctx === 'not' || ctx === op) return true;
  return op === 'or' && ctx === 'and';
}

function key(k: string, path: string): string {
  if (!LABEL_KEY_PATTERN.test(k))
    throw new InvalidSelectorError(
      trim(`${path}.key`),
      `label key ${JSON.stringify(k)} has characters outside [a-zA-Z0-9_./-] or is empty`,
    );
  return k;
}

function quote(v: string, path: string): string {
  if (!v.includes('"')) return `"${v}"`;
  if (!v.includes("'")) return `'${v}'`;
  throw new InvalidSelectorError(trim(path), 'a value cannot contain both single and double quotes');
}

function trim(path: string): string {
  return path.startsWith('.') ? path.slice(1) : path;
}
