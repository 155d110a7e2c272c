/**
 * `npm run chaos`: builds, then runs each reliability check in its own process and prints its figure
 * line. Exits non-zero if any check fails. DATABASE_URL selects the server for the checks that use a
 * shared one (default: the local PostgreSQL on 127.0.0.1:5432, database test).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { ROOT } from './common.js';

execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
const checks = ['kill', 'terminate', 'shutdown', 'pg-restart', 'ctrl-c'];
let failed = 0;
for (const check of checks) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `test/chaos/${check}.ts`], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test' },
    timeout: 300_000,
  });
  const line = (r.stdout ?? '').trim().split('\n').at(-1) ?? '';
  process.stdout.write(`${r.status === 0 ? 'PASS' : 'FAIL'} ${line || `${check}: no output`}\n`);
  if (r.status !== 0) {
    failed++;
    process.stdout.write((r.stderr ?? '').split('\n').slice(-15).join('\n'));
  }
}
process.stdout.write(`chaos: ${checks.length - failed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
