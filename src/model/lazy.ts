/**
 * A value built on its first use and kept. The model's schemas are built this way: building
 * every kind's (zod) schema at import cost `margayctl apply` ≈ 100 ms of start-up for the one kind it
 * validates (docs/startup.md). Importing the model builds no schema; validating a kind builds its
 * schema and the field schemas it uses, once.
 */
export function lazy<T>(build: () => T): () => T {
  let built = false;
  let value: T;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value;
  };
}
