/** A sink that records calls by method name, for node tests (`sink.calls` as [method, ...args]). */
export function recorder<T extends object>(): T & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return new Proxy({ calls } as T & { calls: unknown[][] }, {
    get(_target, prop) {
      if (prop === 'calls') return calls;
      return (...args: unknown[]) => {
        calls.push([String(prop), ...args]);
      };
    },
  });
}
