import { InvariantError, ValidationError } from '../../errors.js';

/** For tests: runs `fn` and returns the ValidationError it throws; anything else propagates. */
export function catchValidationError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new InvariantError('expected a ValidationError, but nothing was thrown');
}
