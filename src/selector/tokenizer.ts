import { SelectorParseError } from './errors.js';

/**
 * Tokenizer for Calico selector expressions, following libcalico-go's tokenizer: `has(k)`, `all()` and
 * `global()` are single tokens; a word directly after a label is read as an operator (`contains`,
 * `starts with`, `ends with`, `in`, `not in`; the two words of one may touch: `notin`), anywhere
 * else as a label. Strings are single- or
 * double-quoted with no escapes (so a string cannot contain its own quote character).
 */
export type TokenKind =
  | 'label'
  | 'string'
  | 'lbrace'
  | 'rbrace'
  | 'comma'
  | 'eq'
  | 'ne'
  | 'not'
  | 'in'
  | 'notIn'
  | 'contains'
  | 'startsWith'
  | 'endsWith'
  | 'all'
  | 'global'
  | 'has'
  | 'lparen'
  | 'rparen'
  | 'and'
  | 'or'
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Label name, string contents or has() key; '' otherwise. */
  readonly value: string;
  /** 0-based offset of the token's first character. */
  readonly pos: number;
}

const LABEL_CHAR = /[a-zA-Z0-9_./-]/;
const WHITESPACE = /\s/;
const MAX_KEY_LEN = 512;

/** Operator words valid right after a label, longest first. `null` second word: single word. */
const OPERATOR_WORDS: ReadonlyArray<readonly [string, string | null, TokenKind]> = [
  ['contains', null, 'contains'],
  ['starts', 'with', 'startsWith'],
  ['ends', 'with', 'endsWith'],
  ['not', 'in', 'notIn'],
  ['in', null, 'in'],
];

export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of input';
    case 'label':
      return `label ${JSON.stringify(t.value)}`;
    case 'string':
      return `string ${JSON.stringify(t.value)}`;
    case 'has':
      return `has(${t.value})`;
    default:
      return JSON.stringify(TOKEN_TEXT[t.kind]);
  }
}

const TOKEN_TEXT: Record<TokenKind, string> = {
  label: '',
  string: '',
  has: '',
  eof: '',
  lbrace: '{',
  rbrace: '}',
  comma: ',',
  eq: '==',
  ne: '!=',
  not: '!',
  in: 'in',
  notIn: 'not in',
  contains: 'contains',
  startsWith: 'starts with',
  endsWith: 'ends with',
  all: 'all()',
  global: 'global()',
  lparen: '(',
  rparen: ')',
  and: '&&',
  or: '||',
};

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (pos: number, expected: string): never => {
    throw new SelectorParseError(src, pos, expected, pos >= src.length ? 'end of input' : JSON.stringify(src[pos]));
  };
  const skipSpace = (): void => {
    while (i < src.length && WHITESPACE.test(src[i]!)) i++;
  };
  const readLabel = (): string => {
    const start = i;
    while (i < src.length && LABEL_CHAR.test(src[i]!)) i++;
    if (i - start > MAX_KEY_LEN) fail(start + MAX_KEY_LEN, `a label key of at most ${MAX_KEY_LEN} characters`);
    return src.slice(start, i);
  };
  const wordAt = (pos: number, word: string): boolean =>
    src.startsWith(word, pos) && !(pos + word.length < src.length && LABEL_CHAR.test(src[pos + word.length]!));
  const push = (kind: TokenKind, pos: number, value = ''): void => {
    tokens.push({ kind, value, pos });
  };

  for (;;) {
    skipSpace();
    const pos = i;
    if (i >= src.length) {
      push('eof', pos);
      return tokens;
    }
    const c = src[i]!;
    const two = src.slice(i, i + 2);
    if (c === '(' || c === ')' || c === '{' || c === '}' || c === ',') {
      push(({ '(': 'lparen', ')': 'rparen', '{': 'lbrace', '}': 'rbrace', ',': 'comma' } as const)[c], pos);
      i++;
    } else if (c === '"' || c === "'") {
      const end = src.indexOf(c, i + 1);
      if (end < 0) fail(src.length, `closing ${c} of the string starting at position ${pos}`);
      push('string', pos, src.slice(i + 1, end));
      i = end + 1;
    } else if (two === '==' || two === '!=' || two === '&&' || two === '||') {
      push(({ '==': 'eq', '!=': 'ne', '&&': 'and', '||': 'or' } as const)[two], pos);
      i += 2;
    } else if (c === '!') {
      push('not', pos);
      i++;
    } else if (c === '=' || c === '&' || c === '|') {
      fail(pos + 1, JSON.stringify(c + c));
    } else if (tokens.at(-1)?.kind === 'label') {
      // As libcalico-go: a word boundary only after the last word, so `notin`, `startswith` work too.
      const op = OPERATOR_WORDS.find(([w1, w2]) => (w2 === null ? wordAt(i, w1) : src.startsWith(w1, i)));
      if (!op) fail(pos, 'an operator (==, !=, in, not in, contains, starts with, ends with)');
      const [w1, w2, kind] = op!;
      i += w1.length;
      if (w2 !== null) {
        skipSpace();
        if (!wordAt(i, w2)) fail(i, JSON.stringify(`${w1} ${w2}`));
        i += w2.length;
      }
      push(kind, pos);
    } else if (src.startsWith('has(', i)) {
      i += 4;
      skipSpace();
      const key = readLabel();
      if (key === '') fail(i, 'a label key inside has(');
      skipSpace();
      if (src[i] !== ')') fail(i, '")" closing has(');
      i++;
      push('has', pos, key);
    } else if (src.startsWith('all(', i) || src.startsWith('global(', i)) {
      const kind = src.startsWith('all(', i) ? 'all' : 'global';
      i += kind.length + 1;
      skipSpace();
      if (src[i] !== ')') fail(i, `")" closing ${kind}(`);
      i++;
      push(kind, pos);
    } else if (LABEL_CHAR.test(c)) {
      push('label', pos, readLabel());
    } else {
      fail(pos, 'a label, has(), all(), global(), "!" or "("');
    }
  }
}
