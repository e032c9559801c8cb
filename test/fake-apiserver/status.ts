/**
 * metav1.Status objects exactly as kube-apiserver writes them for failures (apiVersion v1, kind Status,
 * status Failure, message, reason, details, code), and an exception carrying one through the router.
 */

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason: string; message: string; field: string }[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

export function status(code: number, reason: string, message: string, details?: StatusDetails): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) s.details = details;
  return s;
}

/** Thrown inside a request handler; the router turns it into the HTTP response. */
export class StatusError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
  }
}

/** What the real server names a resource in messages: `pods`, `ippools.margay.dev`. */
export interface ResourceRef {
  readonly group: string;
  readonly plural: string;
  readonly kind: string;
}

function qualified(r: ResourceRef): string {
  return r.group === '' ? r.plural : `${r.plural}.${r.group}`;
}

function detailsFor(r: ResourceRef, name: string): StatusDetails {
  const d: StatusDetails = { name, kind: r.plural };
  if (r.group !== '') d.group = r.group;
  return d;
}

export const Statuses = {
  notFound: (r: ResourceRef, name: string) =>
    status(404, 'NotFound', `${qualified(r)} "${name}" not found`, detailsFor(r, name)),
  namespaceNotFound: (ns: string) =>
    status(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' }),
  unknownPath: () => status(404, 'NotFound', 'the server could not find the requested resource', {}),
  alreadyExists: (r: ResourceRef, name: string) =>
    status(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, detailsFor(r, name)),
  conflict: (r: ResourceRef, name: string) =>
    status(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualified(r)} "${name}": the object has been modified; ` +
        'please apply your changes to the latest version and try again',
      detailsFor(r, name),
    ),
  preconditionConflict: (r: ResourceRef, name: string, want: string, have: string) =>
    status(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualified(r)} "${name}": Precondition failed: ` +
        `ResourceVersion in precondition: ${want}, ResourceVersion in object meta: ${have}`,
      detailsFor(r, name),
    ),
  invalid: (r: ResourceRef, name: string, causes: { field: string; reason: string; message: string }[]) => {
    const d: StatusDetails = { name, kind: r.kind, causes };
    if (r.group !== '') d.group = r.group;
    return status(
      422,
      'Invalid',
      `${r.kind}${r.group ? `.${r.group}` : ''} "${name}" is invalid: ` +
        causes.map((c) => `${c.field}: ${c.message}`).join(', '),
      d,
    );
  },
  badRequest: (message: string) => status(400, 'BadRequest', message),
  methodNotAllowed: () =>
    status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
  unsupportedMediaType: (ct: string) =>
    status(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${ct})`,
    ),
  expired: (requested: number, oldest: number) =>
    status(410, 'Expired', `too old resource version: ${requested} (${oldest})`),
  internal: (message: string) => status(500, 'InternalError', `Internal error occurred: ${message}`),
  unavailable: (message: string) => status(503, 'ServiceUnavailable', message, { retryAfterSeconds: 1 }),
} as const;
