#!/usr/bin/env node
// Runs the OpenSPF/pyspf YAML suites (shared/suites/spf, beside this repository) against
// `mailflow spf check`. Gates on rfc7208-tests.yml (at least 202 of 203: see the suite's SOURCE.md
// for the one known quirk, v-macro-ip6); rfc4408-tests.yml is run and reported only.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const suites = resolve(repo, '..', 'shared', 'suites', 'spf');
const harness = join(suites, 'harness', 'run.js');
const REQUIRED_7208 = 202;

if (!existsSync(harness)) {
  console.log(`skipped: ../shared/suites/spf not found (looked for ${harness})`);
  process.exit(0);
}

// The suite spawns the CLI ~400 times over several minutes. It runs a snapshot of dist/src so a
// rebuild meanwhile (tsc rewrites every output file) cannot hand it a half-written module. The
// snapshot lives under node_modules/.cache so the CLI's imports still find the packages.
const dist = join(repo, 'dist', 'src');
if (!existsSync(join(dist, 'cli', 'main.js'))) {
  console.error('spf-suite: dist/src/cli/main.js is missing; build first (npm run build)');
  process.exit(2);
}
const snapshot = join(repo, 'node_modules', '.cache', `mailflow-spf-suite-${process.pid}`);
rmSync(snapshot, { recursive: true, force: true });
cpSync(dist, join(snapshot, 'src'), { recursive: true });
writeFileSync(join(snapshot, 'package.json'), '{"type":"module"}\n');
process.on('exit', () => rmSync(snapshot, { recursive: true, force: true }));
process.on('SIGINT', () => process.exit(130));

const cli = join(snapshot, 'src', 'cli', 'main.js');
const cmd =
  `node '${cli.replace(/'/g, `'\\''`)}' spf check --ip {ip} --sender {mailfrom} --helo {helo} --dns {dns}` +
  ' --default-explanation {default_exp} --json';

/** Run the harness on one suite file; resolves with its output's final "N passed, M failed". */
function runSuite(file, extra = []) {
  return new Promise((resolvePromise, reject) => {
    // cwd = the repository: run.js parses the YAML with the `yaml` package it finds from its cwd
    const child = spawn(process.execPath, [harness, '--suite', join(suites, file), '--cmd', cmd, ...extra], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /(\d+) passed, (\d+) failed\s*$/.exec(out);
      if (!m) return reject(new Error(`${file}: the harness ended (exit ${code}) without a "N passed, M failed" line`));
      resolvePromise({ passed: Number(m[1]), failed: Number(m[2]) });
    });
  });
}

const extra = process.argv.slice(2); // e.g. --verbose, --only id1,id2, --jobs 4
try {
  console.log('== rfc7208-tests.yml (gating)');
  const r7208 = await runSuite('rfc7208-tests.yml', extra);
  console.log('\n== rfc4408-tests.yml (reported, not gating)');
  const r4408 = await runSuite('rfc4408-tests.yml', extra);
  console.log(`\nrfc4408: ${r4408.passed} passed, ${r4408.failed} failed (not gating)`);
  console.log(`rfc7208: ${r7208.passed} passed, ${r7208.failed} failed (need ${REQUIRED_7208})`);
  // a partial run (--only) is for debugging and is not gated
  if (!extra.includes('--only') && r7208.passed < REQUIRED_7208) {
    console.log(`FAIL: fewer than ${REQUIRED_7208} rfc7208 tests pass`);
    process.exit(1);
  }
} catch (err) {
  console.error(`spf-suite: ${err instanceof Error ? err.message : err}`);
  process.exit(2);
}
