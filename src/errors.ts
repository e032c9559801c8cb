/**
 * Typed errors with stable codes. Every error Margay throws is a MargayError subclass: callers branch
 * on `code` or `instanceof`, never on message text. Subsystems add their own subclasses beside their
 * code (e.g. bgp/codec/errors.ts); the generic ones shared across subsystems live here.
 */
export abstract class MargayError extends Error {
  abstract readonly code: `MGY_${string}`;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A setting, flag, environment variable or config file failed validation at the edge. */
export class ConfigError extends MargayError {
  readonly code = 'MGY_CONFIG';
  constructor(
    readonly source: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`invalid configuration (${source}): ${detail}`, options);
  }
}

/** A resource failed validation. Names the object, the field path and the reason. */
export class ValidationError extends MargayError {
  readonly code = 'MGY_VALIDATION';
  constructor(
    readonly kind: string,
    readonly objectName: string,
    readonly issues: readonly { readonly path: string; readonly message: string }[],
    options?: ErrorOptions,
  ) {
    super(
      `invalid ${kind} ${JSON.stringify(objectName)}: ` +
        issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; '),
      options,
    );
  }
}

/** A kernel command (ip, iptables-restore, ipset, sysctl) failed. */
export class KernelOpError extends MargayError {
  readonly code = 'MGY_KERNEL_OP';
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    options?: ErrorOptions,
  ) {
    super(`${argv.join(' ')} failed (exit ${exitCode}): ${stderr.trim()}`, options);
  }
}

/** Something Margay needs is not installed or not reachable (a binary, root, a kernel feature). */
export class PrerequisiteError extends MargayError {
  readonly code = 'MGY_PREREQUISITE';
}

/** An invariant broke: a bug. Crash loudly; the supervisor restarts. */
export class InvariantError extends MargayError {
  readonly code = 'MGY_INVARIANT';
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new InvariantError(message);
}
