import { ALL, setNode, type Selector, type ValueOp } from './ast.js';
import { SelectorParseError } from './errors.js';
import { describeToken, tokenize, type Token, type TokenKind } from './tokenizer.js';

/**
 * Parses a Calico selector expression. Grammar (precedence `!` > `&&` > `||`, as libcalico-go):
 *
 *   selector   := ε | or
 *   or         := and ( "||" and )*
 *   and        := operation ( "&&" operation )*
 *   operation  := "!"* ( "all()" | "global()" | "has(" key ")" | "(" or ")"
 *                      | key ( "==" | "!=" | "contains" | "starts with" | "ends with" ) string
 *                      | key ( "in" | "not in" ) "{" [ string ( "," string )* ] "}" )
 *
 * An even number of leading `!` cancels out; an empty (or all-whitespace) string is all().
 * Throws SelectorParseError naming the position, what was expected and what was found.
 */
export function parseSelector(src: string): Selector {
  const p = new Parser(src, tokenize(src));
  if (p.peek().kind === 'eof') return ALL;
  const sel = p.parseOr();
  p.expect('eof', '"&&", "||" or end of input');
  return sel;
}

const VALUE_OP_TOKENS: Partial<Record<TokenKind, ValueOp>> = {
  eq: 'eq',
  ne: 'ne',
  contains: 'contains',
  startsWith: 'startsWith',
  endsWith: 'endsWith',
};

class Parser {
  #i = 0;
  constructor(
    private readonly src: string,
    private readonly tokens: readonly Token[],
  ) {}

  peek(): Token {
    return this.tokens[Math.min(this.#i, this.tokens.length - 1)]!;
  }

  next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.#i++;
    return t;
  }

  expect(kind: TokenKind, expected: string): Token {
    const t = this.peek();
    if (t.kind !== kind) throw this.error(t, expected);
    return this.next();
  }

  error(t: Token, expected: string): SelectorParseError {
    return new SelectorParseError(this.src, t.pos, expected, describeToken(t));
  }

  parseOr(): Selector {
    const parts = [this.parseAnd()];
    while (this.peek().kind === 'or') {
      this.next();
      parts.push(this.parseAnd());
    }
    return parts.length === 1 ? parts[0]! : { op: 'or', operands: parts };
  }

  parseAnd(): Selector {
    const parts = [this.parseOperation()];
    while (this.peek().kind === 'and') {
      this.next();
      parts.push(this.parseOperation());
    }
    return parts.length === 1 ? parts[0]! : { op: 'and', operands: parts };
  }

  parseOperation(): Selector {
    let negated = false;
    while (this.peek().kind === 'not') {
      this.next();
      negated = !negated;
    }
    const inner = this.parseTerm();
    return negated ? { op: 'not', operand: inner } : inner;
  }

  parseTerm(): Selector {
    const t = this.next();
    switch (t.kind) {
      case 'all':
        return { op: 'all' };
      case 'global':
        return { op: 'global' };
      case 'has':
        return { op: 'has', key: t.value };
      case 'lparen': {
        const inner = this.parseOr();
        this.expect('rparen', '")"');
        return inner;
      }
      case 'label':
        return this.parseComparison(t.value);
      default:
        throw this.error(t, 'a label, has(), all(), global(), "!" or "("');
    }
  }

  parseComparison(key: string): Selector {
    const opTok = this.next();
    const valueOp = VALUE_OP_TOKENS[opTok.kind];
    if (valueOp) {
      const value = this.expect('string', 'a quoted string').value;
      return { op: valueOp, key, value };
    }
    if (opTok.kind === 'in' || opTok.kind === 'notIn') {
      this.expect('lbrace', '"{" starting a set literal');
      const values: string[] = [];
      if (this.peek().kind === 'string') {
        values.push(this.next().value);
        while (this.peek().kind === 'comma') {
          this.next();
          if (this.peek().kind === 'rbrace') break; // trailing comma, as libcalico-go accepts
          values.push(this.expect('string', 'a quoted string or "}"').value);
        }
      }
      this.expect('rbrace', values.length === 0 ? 'a quoted string or "}"' : '"," or "}"');
      return setNode(opTok.kind, key, values);
    }
    throw this.error(opTok, 'an operator (==, !=, in, not in, contains, starts with, ends with)');
  }
}
