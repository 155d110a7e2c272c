/**
 * Check 5: a newcomer's Ctrl-C. `npm start` with no DATABASE_URL runs on the embedded PostgreSQL; a
 * terminal's Ctrl-C sends SIGINT to the whole foreground process group (the service and, unless it
 * has a group of its own, the postgres it spawned). The service must close its HTTP side, then its
 * pool, then stop the database: exit 0, no warning or error line, and no postgres left running.
 *
 *   npm run build && npx tsx test/chaos/ctrl-c.ts
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, ROOT } from './common.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'billing-ctrl-c-'));
chmodSync(dataDir, 0o755); // as root, initdb runs as the postgres user, which must enter it
const [port, pgPort] = [await freePort(), await freePort()];
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PORT: String(port),
  DATA_DIR: dataDir,
  EMBEDDED_PG_PORT: String(pgPort),
};
delete env.DATABASE_URL;
// Its own process group, as a shell gives a foreground job: kill(-pid) then reaches every process in it.
const child = spawn(process.execPath, ['dist/src/server.js'], { cwd: ROOT, env, detached: true, stdio: 'pipe' });
let out = '';
child.stdout.on('data', (d) => {
  out += d;
});
child.stderr.on('data', (d) => {
  out += d;
});
const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
const deadline = Date.now() + 120_000;
while (!out.includes('is listening on') && Date.now() < deadline && child.exitCode === null) {
  await new Promise((r) => setTimeout(r, 200));
}
const ready = await fetch(`http://127.0.0.1:${port}/ready`).then(
  (r) => r.status,
  () => 0,
);
// Several pooled connections open at the Ctrl-C (as after real traffic): each must be closed before
// the database stops, not merely asked to close (pool.end() resolves before the sockets do).
await Promise.all(Array.from({ length: 12 }, () => fetch(`http://127.0.0.1:${port}/ready`).catch(() => {})));
const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
const pgPid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : 0;
if (child.exitCode !== null) console.error(out);
process.kill(-(child.pid as number), 'SIGINT');
const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 30_000))]);
if (code === 'timeout') child.kill('SIGKILL');
await new Promise((r) => setTimeout(r, 500));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const pgLeft = pgPid > 0 && alive(pgPid);
if (pgLeft) process.kill(pgPid, 'SIGQUIT');
// pino levels: 40 warn, 50 error, 60 fatal.
const noisy = out
  .split('\n')
  .filter((l) => /"level":(4|5|6)\d/.test(l) || /\b(WARN|ERROR|FATAL)\b/.test(l) || /startup failed/.test(l));
rmSync(dataDir, { recursive: true, force: true });
console.log(
  `ctrl-c check: /ready ${ready}, exit code ${code}, ${noisy.length} warning/error lines${noisy.length ? `: ${noisy.map((l) => l.slice(0, 160)).join(' | ')}` : ''}, postgres ${pgPid ? (pgLeft ? 'left running' : 'stopped') : 'never started'}`,
);
if (ready !== 200 || code !== 0 || noisy.length > 0 || pgLeft || !pgPid) process.exit(1);
