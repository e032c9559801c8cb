/**
 * The human-readable log format (MARGAY_LOG_FORMAT=pretty): pino's JSON line turned into
 *   2026-12-07T00:44:41.123Z INFO  [bgp-speaker peer=10.0.0.2] session state changed from=OpenConfirm to=Established
 * Time, level, the component and the fields that name the unit of work, the message, then the other
 * fields as key=value (strings with spaces quoted, objects as JSON, errors with their stack indented).
 * Pure; a line that is not JSON is passed through unchanged.
 */
const LEVELS: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const CONTEXT = ['component', 'peer', 'endpoint', 'ns', 'pod'];
const DROP = new Set(['time', 'level', 'msg', 'app', 'pid', 'hostname', 'err', ...CONTEXT]);

function value(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v);
}

export function formatPrettyLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    // Not one of pino's lines (should not happen): show it as it came.
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = LEVELS[Number(o.level)] ?? String(o.level);
  const ctx = CONTEXT.filter((k) => o[k] !== undefined).map((k, i) =>
    i === 0 && k === 'component' ? String(o[k]) : `${k}=${value(o[k])}`,
  );
  const fields = Object.keys(o)
    .filter((k) => !DROP.has(k))
    .map((k) => `${k}=${value(o[k])}`);
  let out = `${String(o.time ?? '')} ${level.padEnd(5)} ${ctx.length ? `[${ctx.join(' ')}] ` : ''}${String(o.msg ?? '')}${fields.length ? ` ${fields.join(' ')}` : ''}\n`;
  const err = o.err as { type?: string; message?: string; stack?: string; code?: string } | undefined;
  if (err)
    out += `    ${err.code ? `${err.code} ` : ''}${(err.stack ?? `${err.type ?? 'Error'}: ${err.message ?? ''}`).split('\n').join('\n    ')}\n`;
  return out;
}
