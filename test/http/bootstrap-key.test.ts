import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cloneTemplate } from '../helpers/db.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SECRET = `bootstrap-${'s3cret'.repeat(6)}`;

interface Started {
  child: ChildProcess;
  base: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts src/server.ts as its own process (the way an operator does) and waits until it listens. */
async function startServer(env: Record<string, string>): Promise<Started> {
  const child = spawn(
    process.execPath,
    // The test's own TypeScript loader (tap's under `npm test`), not tsx: tap merges the child's coverage
    // with the tests', and tsx's compiled ranges would not line up with those of the same files here.
    [
      ...(process.execArgv.some((a) => a.includes('@tapjs/typescript')) ? process.execArgv : ['--import', 'tsx']),
      'src/server.ts',
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    },
  );
  let out = '';
  child.stdout?.on('data', (c) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearInterval(timer);
        resolve(m[1]);
      }
    }, 50);
    exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`server exited (${code}) before listening:\n${out}`));
    });
  });
  return {
    child,
    base,
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

t.test('a revoked BOOTSTRAP_OPS_KEY stays revoked after a restart, with a warning and a normal start', async (t) => {
  const clone = await cloneTemplate();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'billing-bootstrap-'));
  t.teardown(async () => {
    await clone.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const env = {
    NODE_ENV: 'test',
    DATABASE_URL: clone.url,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    BOOTSTRAP_OPS_KEY: SECRET,
    DATA_ENCRYPTION_KEY: `t1:${Buffer.alloc(32, 3).toString('base64')}`,
    IDEMPOTENCY_HMAC_KEY: Buffer.alloc(32, 4).toString('base64'),
    DEADLINE_SWEEP_INTERVAL_MS: '0',
  };
  const call = (base: string, init: RequestInit = {}) =>
    fetch(`${base}/v1/payment-deadlines?year=2026`, { ...init, headers: { authorization: `Bearer ${SECRET}` } });

  const first = await startServer(env);
  t.teardown(() => first.stop());
  t.equal((await call(first.base)).status, 200, 'the bootstrap key works');
  // The only active ops key cannot be revoked (409 last_ops_key): another ops key comes first.
  const created = await fetch(`${first.base}/v1/api-keys`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${SECRET}`,
      'content-type': 'application/json',
      'idempotency-key': 'bootstrap-second-ops',
    },
    body: JSON.stringify({ role: 'ops', name: 'second ops' }),
  });
  t.equal(created.status, 201, 'a second ops key');
  const otherOps = ((await created.json()) as { secret: string }).secret;
  const revoked = await fetch(`${first.base}/v1/api-keys/key_bootstrap_ops`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${otherOps}` },
  });
  t.equal(revoked.status, 200, 'ops revokes it');
  t.equal((await call(first.base)).status, 401, 'revoked at once');
  await first.stop();

  const second = await startServer(env);
  t.teardown(() => second.stop());
  t.equal((await call(second.base)).status, 401, 'still revoked after the restart');
  t.equal((await fetch(`${second.base}/health`)).status, 200, 'and the service started normally');
  const log = second.output();
  const warning = log
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; keyId?: string })
    .find((l) => l.level === 40 && /revoked/.test(l.msg));
  t.ok(warning, 'the start logs a warning that the key is revoked');
  t.equal(warning?.keyId, 'key_bootstrap_ops', 'naming the key id');
  t.notMatch(log, SECRET, 'the secret is never logged');
  await second.stop();
});

t.test('an instance whose keys differ from those its database was written with refuses to start', async (t) => {
  // Found by the issue-16 black-box run: two instances on one database, each with keys generated in
  // its own DATA_DIR under the same id: each took payments the other could not decrypt (ACH files 500)
  // and retries through the other instance were answered 422 `idempotency_key_reused`.
  const clone = await cloneTemplate();
  const dirs = [1, 2].map(() => mkdtempSync(path.join(tmpdir(), 'billing-keys-')));
  t.teardown(async () => {
    await clone.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const env = (dataDir: string) => ({
    NODE_ENV: 'test',
    DATABASE_URL: clone.url,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DEADLINE_SWEEP_INTERVAL_MS: '0',
  });
  const first = await startServer(env(dirs[0] as string));
  t.teardown(() => first.stop());
  t.equal((await fetch(`${first.base}/ready`)).status, 200, 'the first instance starts and records its keys');
  // The second generates its own keys in its own data directory.
  const second = startServer(env(dirs[1] as string));
  const refused = await second.then(
    () => 'started',
    (err: Error) => err.message,
  );
  t.match(refused, /server exited \(2\) before listening/, 'the second refuses to start');
  t.match(refused, /DATA_ENCRYPTION_KEYS \(or DATA_ENCRYPTION_KEY\): the key with id \\"local1\\" differs/);
  t.match(refused, /IDEMPOTENCY_HMAC_KEY: the key differs/);
  for (const file of ['data-encryption.key', 'idempotency-hmac.key']) {
    const secret = readFileSync(path.join(dirs[1] as string, file), 'utf8').trim();
    const material = secret.includes(':') ? secret.slice(secret.indexOf(':') + 1) : secret;
    t.notOk(refused.includes(material), `no key material of ${file} in its output`);
  }
  // With the first instance's data directory (the same keys) a second instance starts.
  const third = await startServer(env(dirs[0] as string));
  t.teardown(() => third.stop());
  t.equal((await fetch(`${third.base}/ready`)).status, 200, 'an instance with the same keys starts');
});
