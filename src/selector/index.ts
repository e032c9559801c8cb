/**
 * Selector language: Calico expressions and Kubernetes label selectors, one AST, one evaluator.
 * See docs/selectors.md for the grammar and semantics.
 */
export {
  ALL,
  LABEL_KEY_PATTERN,
  andOf,
  canonicalSet,
  setNode,
  type Selector,
  type SetOp,
  type ValueOp,
} from './ast.js';
export { InvalidSelectorError, SelectorParseError } from './errors.js';
export {
  compileSelector,
  evaluateSelector,
  selectorKeys,
  type CompiledSelector,
  type EvaluateOptions,
  type Labels,
} from './evaluate.js';
export {
  labelKeyProblem,
  labelSelectorToSelector,
  labelValueProblem,
  parseK8sLabelSelectorString,
  type LabelSelector,
  type LabelSelectorRequirement,
} from './label-selector.js';
export { parseSelector } from './parser.js';
export { printSelector } from './printer.js';
