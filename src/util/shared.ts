// One instance per key and process, shared by the roles `start` runs together and released by
// refcount: the last user's release closes it. Each user gets its own handle, whose release counts once.
export interface SharedHandle<T> {
  value: T;
  release(): Promise<void>;
}

export type SharedRegistry<T> = Map<string, { value: T; users: number }>;

export function acquireShared<T extends { close(): Promise<void> }>(registry: SharedRegistry<T>, key: string, create: () => T): SharedHandle<T> {
  let entry = registry.get(key);
  if (!entry) registry.set(key, (entry = { value: create(), users: 0 }));
  entry.users++;
  const e = entry;
  let released = false;
  return {
    value: e.value,
    async release() {
      if (released) return;
      released = true;
      if (--e.users > 0) return;
      if (registry.get(key) === e) registry.delete(key);
      await e.value.close();
    },
  };
}
