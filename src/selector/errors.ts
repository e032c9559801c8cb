import { MargayError } from '../errors.js';

/** A selector string (Calico expression or Kubernetes label-selector query) does not parse. */
export class SelectorParseError extends MargayError {
  readonly code = 'MGY_SELECTOR_PARSE';
  constructor(
    readonly source: string,
    /** 0-based offset into `source` where parsing failed. */
    readonly position: number,
    /** What the parser expected at `position`, e.g. `a string literal`. */
    readonly expected: string,
    /** What it found instead (a token description or `end of input`). */
    readonly found: string,
    options?: ErrorOptions,
  ) {
    super(
      `invalid selector ${JSON.stringify(source)} at position ${position}: expected ${expected}, found ${found}`,
      options,
    );
  }
}

/** A structured selector (AST or Kubernetes LabelSelector object) is not well formed. */
export class InvalidSelectorError extends MargayError {
  readonly code = 'MGY_SELECTOR_INVALID';
  constructor(
    /** Where inside the selector, e.g. `matchExpressions[1].values`. */
    readonly path: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`invalid selector: ${path ? `${path}: ` : ''}${reason}`, options);
  }
}
