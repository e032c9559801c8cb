/**
 * `margayctl bgp peers|rib|announce|withdraw|reload`: talks to margay-bgpd's control socket.
 */
import { parseArgs } from 'node:util';
import { UsageError, type CommandGroup } from '../../src/cli/index.js';
import { ControlClient, DEFAULT_CONTROL_SOCKET } from '../control/index.js';
import { formatPeers, formatRib } from './bgp-format.js';

const SOCKET_OPT = {
  socket: { type: 'string', default: DEFAULT_CONTROL_SOCKET },
  output: { type: 'string', short: 'o' },
} as const;

function outputMode(v: string | undefined): 'table' | 'json' {
  if (v === undefined || v === 'table' || v === 'wide') return 'table';
  if (v === 'json') return 'json';
  throw new UsageError(`unknown output format "${v}" (use -o json)`);
}

export const BGP_GROUP: CommandGroup = {
  summary: 'BGP speaker (margay-bgpd): sessions, routes, announce/withdraw',
  commands: {
    peers: {
      summary: 'show every BGP session: state, uptime, prefixes received/accepted/advertised, last error',
      usage: 'margayctl bgp peers [--socket PATH] [-o json]',
      async run(args, io) {
        const { values } = parseArgs({ args, options: SOCKET_OPT, strict: true });
        const peers = await new ControlClient(values.socket).peers();
        io.out(outputMode(values.output) === 'json' ? JSON.stringify(peers, null, 2) : formatPeers(peers));
        return 0;
      },
    },
    rib: {
      summary: 'show routes in the RIB with filters and counts',
      usage:
        'margayctl bgp rib [--prefix P [--longer]] [--peer ADDR|local] [--family ipv4|ipv6] [--best] [--rejected] [--limit N] [--count] [--socket PATH] [-o json]',
      async run(args, io) {
        const { values } = parseArgs({
          args,
          options: {
            ...SOCKET_OPT,
            prefix: { type: 'string' },
            longer: { type: 'boolean', default: false },
            peer: { type: 'string' },
            family: { type: 'string' },
            best: { type: 'boolean', default: false },
            rejected: { type: 'boolean', default: false },
            limit: { type: 'string' },
            count: { type: 'boolean', default: false },
          },
          strict: true,
        });
        if (values.family !== undefined && values.family !== 'ipv4' && values.family !== 'ipv6') {
          throw new UsageError('--family must be ipv4 or ipv6');
        }
        const limit = values.count ? 0 : values.limit === undefined ? 100 : Number(values.limit);
        if (!Number.isInteger(limit) || limit < 0) throw new UsageError('--limit must be a non-negative integer');
        const r = await new ControlClient(values.socket).rib({
          ...(values.prefix !== undefined && { prefix: values.prefix }),
          ...(values.longer && { longer: true }),
          ...(values.peer !== undefined && { peer: values.peer }),
          ...(values.family !== undefined && { family: values.family }),
          ...(values.best && { bestOnly: true }),
          ...(values.rejected && { rejected: true }),
          limit,
        });
        io.out(outputMode(values.output) === 'json' ? JSON.stringify(r, null, 2) : formatRib(r, values.count));
        return 0;
      },
    },
    announce: {
      summary: 'originate prefixes (for testing)',
      usage:
        'margayctl bgp announce PREFIX... [--next-hop IP] [--community C]... [--med N] [--local-pref N] [--socket PATH]',
      async run(args, io) {
        const { values, positionals } = parseArgs({
          args,
          allowPositionals: true,
          options: {
            ...SOCKET_OPT,
            'next-hop': { type: 'string' },
            community: { type: 'string', multiple: true },
            med: { type: 'string' },
            'local-pref': { type: 'string' },
          },
          strict: true,
        });
        if (positionals.length === 0) throw new UsageError('give at least one PREFIX');
        const r = await new ControlClient(values.socket).announce({
          prefixes: positionals,
          ...(values['next-hop'] !== undefined && { nextHop: values['next-hop'] }),
          ...(values.community !== undefined && { communities: values.community }),
          ...(values.med !== undefined && { med: Number(values.med) }),
          ...(values['local-pref'] !== undefined && { localPref: Number(values['local-pref']) }),
        });
        io.out(`announced ${r.announced} prefix(es)`);
        return 0;
      },
    },
    withdraw: {
      summary: 'withdraw originated prefixes (for testing)',
      usage: 'margayctl bgp withdraw PREFIX... [--socket PATH]',
      async run(args, io) {
        const { values, positionals } = parseArgs({ args, allowPositionals: true, options: SOCKET_OPT, strict: true });
        if (positionals.length === 0) throw new UsageError('give at least one PREFIX');
        const r = await new ControlClient(values.socket).withdraw(positionals);
        io.out(`withdrew ${r.withdrawn} prefix(es)`);
        return 0;
      },
    },
    refresh: {
      summary: 'ask a peer to re-send its routes (ROUTE-REFRESH, RFC 2918)',
      usage: 'margayctl bgp refresh PEER [--family ipv4|ipv6] [--socket PATH]',
      async run(args, io) {
        const { values, positionals } = parseArgs({
          args,
          allowPositionals: true,
          options: { ...SOCKET_OPT, family: { type: 'string', default: 'ipv4' } },
          strict: true,
        });
        if (positionals.length !== 1) throw new UsageError('give exactly one PEER address');
        if (values.family !== 'ipv4' && values.family !== 'ipv6') throw new UsageError('--family must be ipv4 or ipv6');
        const r = await new ControlClient(values.socket).refresh(positionals[0]!, values.family);
        if (!r.sent) {
          io.err(`${positionals[0]}: not Established or route refresh not negotiated`);
          return 1;
        }
        io.out(`route refresh sent to ${positionals[0]} (${values.family})`);
        return 0;
      },
    },
    reload: {
      summary: 'make margay-bgpd re-read its config file (same as SIGHUP)',
      usage: 'margayctl bgp reload [--socket PATH]',
      async run(args, io) {
        const { values } = parseArgs({ args, options: SOCKET_OPT, strict: true });
        const r = await new ControlClient(values.socket).reload();
        if (!r.reloaded) {
          io.err(`reload failed, running config kept: ${r.error ?? 'unknown error'}`);
          return 1;
        }
        io.out('reloaded');
        return 0;
      },
    },
  },
};
