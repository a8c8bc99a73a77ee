// Loading the topology file: YAML with positions kept, validated with zod, every problem reported
// with file, line, column and field, never a stack trace.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { ZodError } from 'zod';
import { configSchema, type Config } from './schema.js';

export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  /** Dotted field path, e.g. `hub.inboundConnectors[0].senderIpAddresses[1]`. */
  field: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.field || '(top level)'}: ${p.message}`;
}

/** A loaded config plus where it came from (relative paths in it resolve against `baseDir`). */
export interface LoadedConfig {
  config: Config;
  file: string;
  baseDir: string;
  /** Where a field sits in the file, for findings that name a config location. */
  locate(path: (string | number)[]): { line: number; column: number } | undefined;
}

export function loadConfigFile(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError([{ file, line: 0, column: 0, field: '', message: `cannot read the config file (${e.code ?? e.message})` }]);
  }
  return parseConfigText(text, file);
}

export function parseConfigText(text: string, file = '<config>'): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((e) => ({ file, ...at(e.pos[0]), field: '', message: `YAML syntax: ${firstLine(e.message)}` })),
    );
  }
  const locate = (path: (string | number)[]) => locateNode(doc, path, at);
  const raw = doc.toJS() ?? {};
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(zodProblems(parsed.error, file, raw, locate));
  const config = parsed.data;
  const crossProblems = crossCheck(config).map((c) => ({ file, ...(locate(c.path) ?? { line: 1, column: 1 }), field: fieldName(c.path), message: c.message }));
  if (crossProblems.length) throw new ConfigError(crossProblems);
  return { config, file, baseDir: dirname(resolve(file)), locate };
}

function firstLine(s: string) {
  return s.split('\n')[0]!;
}

function locateNode(doc: Document, path: (string | number)[], at: (o: number) => { line: number; column: number }) {
  // Walk down as far as the path exists, so a missing field points at its parent.
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return at(node.range[0]);
  }
  return undefined;
}

export function fieldName(path: readonly PropertyKey[]): string {
  let s = '';
  for (const k of path) s += typeof k === 'number' ? `[${k}]` : s ? `.${String(k)}` : String(k);
  return s;
}

function zodProblems(err: ZodError, file: string, raw: unknown, locate: LoadedConfig['locate']): ConfigProblem[] {
  return err.issues.map((issue) => {
    const path = issue.path as (string | number)[];
    const pos = locate(path) ?? { line: 1, column: 1 };
    let message = issue.message;
    const got = valueAt(raw, path);
    if (issue.code === 'invalid_type' && got === undefined) message = `required field is missing (${issue.message.replace(/^Invalid input: /, '')})`;
    else if (issue.code === 'unrecognized_keys') message = `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; check the spelling`;
    else if (got !== undefined && typeof got !== 'object') message = `${message} (got ${JSON.stringify(got)})`;
    if (issue.code === 'unrecognized_keys' && issue.keys.length === 1) {
      const p = locate([...path, issue.keys[0]!]);
      if (p) return { file, ...p, field: fieldName([...path, issue.keys[0]!]), message };
    }
    return { file, ...pos, field: fieldName(path), message: message.replace(/^Invalid input: /, 'expected ') };
  });
}

function valueAt(raw: unknown, path: (string | number)[]): unknown {
  let v: unknown = raw;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

/** Rules that span fields (references between sections); zod checks each field alone. */
function crossCheck(c: Config): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const onpremNames = new Set(c.onprem.map((o) => o.name));
  const seen = new Set<string>();
  c.onprem.forEach((o, i) => {
    if (seen.has(o.name)) out.push({ path: ['onprem', i, 'name'], message: `duplicate on-prem server name "${o.name}"` });
    seen.add(o.name);
  });
  const domains = new Set<string>();
  c.domains.forEach((d, i) => {
    if (domains.has(d.name)) out.push({ path: ['domains', i, 'name'], message: `domain ${d.name} is listed twice` });
    domains.add(d.name);
  });
  for (const name of Object.keys(c.mailboxes.onprem)) {
    if (!onpremNames.has(name)) out.push({ path: ['mailboxes', 'onprem', name], message: `no on-prem server named "${name}" (known: ${[...onpremNames].join(', ') || 'none'})` });
  }
  c.mailboxes.rules.forEach((r, i) => {
    if (r.home !== 'cloud' && !onpremNames.has(r.home)) out.push({ path: ['mailboxes', 'rules', i, 'home'], message: `home must be "cloud" or an on-prem server name, not "${r.home}"` });
  });
  const roleNames = new Set(['gateway', 'hub', ...onpremNames]);
  c.dkim.forEach((k, i) => {
    if (!roleNames.has(k.role)) out.push({ path: ['dkim', i, 'role'], message: `no role named "${k.role}" (known: ${[...roleNames].join(', ')})` });
  });
  return out;
}
