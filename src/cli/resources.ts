/**
 * `margayctl apply|get|delete`: kubectl-like resource commands against the datastore named by
 * --datastore / MARGAY_DATASTORE (`file:<dir>`, `kubernetes`). `apply -f` validates every document
 * first (file, line, reason for each bad one) and writes nothing if any is bad.
 *
 * Start-up (docs/startup.md): what only some commands need is imported where it is used — the
 * manifest parser and validators (yaml, zod and the model's schemas) by apply and delete -f, yaml by
 * `get -o yaml`, pino only when MARGAY_LOG_LEVEL asks for log lines — so `get` loads the datastore
 * backend it opens and little else.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Datastore } from '../datastore/index.js';
import { KINDS, type KindId, type KindInfo, type Resource } from '../model/index.js';
import type { CliIo, Command } from './command.js';
import { UsageError } from './command.js';
import { withStore } from './datastore.js';

const STORE_OPTS = {
  datastore: { type: 'string' },
  kubeconfig: { type: 'string' },
} as const;

/** Resolves what a user types (`ippools`, `IPPool`, `ippool`, `po`, `networkpolicies.networking.k8s.io`). */
export function resolveKind(name: string): KindInfo {
  const n = name.toLowerCase();
  const SHORT: Record<string, KindId> = {
    po: 'Pod',
    ns: 'Namespace',
    no: 'Node',
    netpol: 'K8sNetworkPolicy',
    gnp: 'GlobalNetworkPolicy',
    pool: 'IPPool',
  };
  if (SHORT[n]) return KINDS[SHORT[n]] as KindInfo;
  for (const info of Object.values(KINDS) as KindInfo[]) {
    const forms = [
      info.id.toLowerCase(),
      info.kind.toLowerCase(),
      info.plural,
      info.group ? `${info.plural}.${info.group}` : info.plural,
    ];
    if (info.id === 'K8sNetworkPolicy') forms.splice(1, 2); // plain networkpolicy/networkpolicies mean Margay's
    if (forms.includes(n)) return info;
  }
  const known = (Object.values(KINDS) as KindInfo[]).map((k) =>
    k.id === 'K8sNetworkPolicy' ? `${k.plural}.${k.group}` : k.plural,
  );
  throw new UsageError(`unknown resource type "${name}"; known: ${known.join(', ')}`);
}

/** fn() on a manifest path; a file-system error becomes a usage error naming the path and the code. */
function readable<T>(p: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError(`cannot read ${p}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

async function readManifestSources(paths: readonly string[], io: CliIo): Promise<{ text: string; file: string }[]> {
  const out: { text: string; file: string }[] = [];
  for (const p of paths) {
    if (p === '-') {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      out.push({ text: Buffer.concat(chunks).toString('utf8'), file: '<stdin>' });
      continue;
    }
    // Sync reads: node:fs/promises would load ≈ 10 internal modules for them (docs/startup.md).
    const st = readable(p, () => statSync(p));
    if (st.isDirectory()) {
      const names = readable(p, () => readdirSync(p))
        .filter((n) => /\.ya?ml$/.test(n))
        .sort();
      if (names.length === 0) io.err(`warning: ${p}: no *.yaml or *.yml files`);
      for (const n of names) {
        const file = join(p, n);
        out.push({ text: readable(file, () => readFileSync(file, 'utf8')), file });
      }
    } else {
      out.push({ text: readable(p, () => readFileSync(p, 'utf8')), file: p });
    }
  }
  return out;
}

const apply: Command = {
  summary: 'create or update resources from YAML files (multi-document), a directory, or - for stdin',
  usage: 'margayctl apply -f FILE|DIR|- [-f ...] [--datastore file:<dir>|kubernetes] [--kubeconfig PATH]',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: { ...STORE_OPTS, filename: { type: 'string', short: 'f', multiple: true } },
      strict: true,
    });
    if (!values.filename?.length) throw new UsageError('-f FILE is required');
    const { applyManifests, parseManifests } = await import('../datastore/index.js');
    const docs: Resource[] = [];
    const problems: string[] = [];
    for (const src of await readManifestSources(values.filename, io)) {
      const r = parseManifests(src.text, src.file);
      docs.push(...r.objects);
      problems.push(...r.problems.map((p) => `${p.file}:${p.line}: ${p.reason}`));
    }
    if (problems.length) {
      io.err(`error: nothing applied; fix these first:\n  ${problems.join('\n  ')}`);
      return 1;
    }
    const results = await withStore(values, io, (store) => applyManifests(store, docs));
    for (const r of results) {
      const info = KINDS[r.kind];
      io.out(
        `${info.plural}${info.group ? `.${info.group}` : ''}/${r.namespace ? `${r.namespace}/` : ''}${r.name} ${r.action}`,
      );
    }
    return 0;
  },
};

const get: Command = {
  summary: 'list or show resources (table, -o yaml, -o json)',
  usage: 'margayctl get KIND [NAME] [-n NAMESPACE | -A] [-l SELECTOR] [-o yaml|json] [--datastore ...]',
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        ...STORE_OPTS,
        namespace: { type: 'string', short: 'n' },
        'all-namespaces': { type: 'boolean', short: 'A', default: false },
        selector: { type: 'string', short: 'l' },
        output: { type: 'string', short: 'o' },
      },
    });
    const [kindName, name, extra] = positionals;
    if (!kindName || extra !== undefined) throw new UsageError('expected KIND [NAME]');
    const info = resolveKind(kindName);
    const output = values.output ?? 'table';
    if (!['table', 'wide', 'yaml', 'json'].includes(output))
      throw new UsageError(`unknown output format "${output}" (table, yaml, json)`);
    const namespace = info.namespaced && !values['all-namespaces'] ? (values.namespace ?? 'default') : undefined;
    const items = await withStore(values, io, async (store) => {
      if (name !== undefined) {
        const o = await store.get(info.id, name, namespace);
        if (!o) return undefined;
        return [o];
      }
      return (
        await store.list(info.id, {
          ...(namespace ? { namespace } : {}),
          ...(values.selector ? { labelSelector: values.selector } : {}),
        })
      ).items;
    });
    if (items === undefined) {
      io.err(`error: ${info.plural} "${name}" not found${namespace ? ` in namespace ${namespace}` : ''}`);
      return 1;
    }
    if (output === 'json')
      io.out(JSON.stringify(name !== undefined ? items[0] : { apiVersion: 'v1', kind: 'List', items }, null, 2));
    else if (output === 'yaml')
      io.out(
        (await import('yaml')).default
          .stringify(name !== undefined ? items[0] : { apiVersion: 'v1', kind: 'List', items })
          .trimEnd(),
      );
    else io.out(formatTable(info, items));
    return 0;
  },
};

function formatTable(info: KindInfo, items: readonly Resource[]): string {
  if (items.length === 0) return `No ${info.plural} found.`;
  const rows = items.map((o) => [
    ...(info.namespaced ? [o.metadata.namespace ?? ''] : []),
    o.metadata.name,
    summarize(info.id, o),
    o.metadata.resourceVersion ?? '',
  ]);
  const header = [...(info.namespaced ? ['NAMESPACE'] : []), 'NAME', 'SUMMARY', 'VERSION'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function summarize(kind: KindId, o: Resource): string {
  const spec = (o.spec ?? {}) as Record<string, unknown>;
  switch (kind) {
    case 'IPPool':
      return `${String(spec.cidr)} block /${String(spec.blockSize)}${spec.natOutgoing ? ' nat' : ''}${spec.disabled ? ' disabled' : ''}`;
    case 'BGPPeer':
      return `${String(spec.peerIP ?? spec.peerSelector ?? '')} AS ${String(spec.asNumber ?? '')}`;
    case 'Pod':
      return String(spec.nodeName ?? '');
    case 'NetworkPolicy':
    case 'GlobalNetworkPolicy':
      return `order ${String(spec.order ?? '-')} selector ${String(spec.selector ?? 'all()')}`;
    default:
      return Object.entries(o.metadata.labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
  }
}

const del: Command = {
  summary: 'delete a resource by kind and name, or every resource in YAML files',
  usage: 'margayctl delete KIND NAME [-n NAMESPACE] | -f FILE [--datastore ...]',
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        ...STORE_OPTS,
        namespace: { type: 'string', short: 'n' },
        filename: { type: 'string', short: 'f', multiple: true },
      },
    });
    const targets: { info: KindInfo; name: string; namespace: string | undefined }[] = [];
    if (values.filename?.length) {
      if (positionals.length) throw new UsageError('give either -f FILE or KIND NAME, not both');
      const { parseManifests } = await import('../datastore/index.js');
      for (const src of await readManifestSources(values.filename, io)) {
        const r = parseManifests(src.text, src.file);
        if (r.problems.length)
          throw new UsageError(r.problems.map((p) => `${p.file}:${p.line}: ${p.reason}`).join('; '));
        for (const o of r.objects) {
          const info = resolveKind(
            o.kind === 'NetworkPolicy' && o.apiVersion.startsWith('networking.k8s.io')
              ? 'networkpolicies.networking.k8s.io'
              : o.kind,
          );
          targets.push({ info, name: o.metadata.name, namespace: o.metadata.namespace });
        }
      }
    } else {
      const [kindName, name, extra] = positionals;
      if (!kindName || !name || extra !== undefined) throw new UsageError('expected KIND NAME or -f FILE');
      const info = resolveKind(kindName);
      targets.push({ info, name, namespace: info.namespaced ? (values.namespace ?? 'default') : undefined });
    }
    let failed = 0;
    await withStore(values, io, async (store) => {
      for (const t of targets) {
        const label = `${t.info.plural}/${t.namespace ? `${t.namespace}/` : ''}${t.name}`;
        try {
          await store.delete(t.info.id, t.name, t.namespace);
          io.out(`${label} deleted`);
        } catch (err) {
          if ((err as { code?: string }).code !== 'MGY_DATASTORE_NOT_FOUND') throw err;
          io.err(`error: ${label} not found`);
          failed++;
        }
      }
    });
    return failed ? 1 : 0;
  },
};

/** Top-level verbs (`margayctl apply ...`), as opposed to groups (`margayctl bgp peers`). */
export const RESOURCE_COMMANDS: Readonly<Record<string, Command>> = { apply, get, delete: del };
