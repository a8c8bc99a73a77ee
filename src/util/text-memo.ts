// A pure function of a string, remembered per string. For parses the hot path repeats with the same
// few texts (connector ranges, client addresses, a sender's From): the map is bounded by starting
// over when full (a bound, not an LRU). A call that throws remembers nothing.
export function memoByText<T>(fn: (text: string) => T, maxEntries: number): (text: string) => T {
  const remembered = new Map<string, T>();
  return (text) => {
    const hit = remembered.get(text);
    if (hit !== undefined || remembered.has(text)) return hit as T;
    const value = fn(text);
    if (remembered.size >= maxEntries) remembered.clear();
    remembered.set(text, value);
    return value;
  };
}
