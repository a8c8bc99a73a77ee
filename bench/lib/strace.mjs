// Reading `strace -c` summaries (both fsync.mjs and syscalls.mjs attach strace to a running side).

/** `strace -c` output → calls per system call name ("total" left out). */
export function straceCounts(text) {
  const calls = new Map();
  for (const line of text.split('\n')) {
    // % time, seconds, usecs/call, calls, [errors], syscall
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(line);
    if (m && m[2] !== 'total') calls.set(m[2], (calls.get(m[2]) ?? 0) + Number(m[1]));
  }
  return calls;
}
