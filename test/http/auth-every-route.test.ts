import t from 'tap';
import { testApp } from '../helpers/app.js';

/**
 * Reliability check 6: every route that needs a key refuses a missing, malformed, unknown or revoked
 * key with 401 problem+json before any handler runs (nothing is written).
 */
t.test('every secured route answers 401 problem+json to bad credentials, and no handler runs', async (t) => {
  const ctx = await testApp(t, { env: { AUTH_FAILURES_PER_MINUTE: '100000' } });
  const revoked = await ctx.newKey('ops');
  await ctx.request({ method: 'DELETE', url: `/v1/api-keys/${revoked.id}` });
  const doc = (await ctx.request({ method: 'GET', url: '/openapi.json', key: null })).json() as {
    paths: Record<string, Record<string, { security?: unknown[] }>>;
  };
  const counts = async () => {
    const tables = [
      'carriers',
      'api_keys',
      'accounts',
      'enrollments',
      'invoices',
      'payments',
      'events',
      'billing_runs',
    ] as const;
    const out: Record<string, number> = {};
    for (const table of tables) {
      const r = await ctx.database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      out[table] = Number(r.n);
    }
    return out;
  };
  const before = await counts();
  const variants: [string, Record<string, string>][] = [
    ['no key', {}],
    ['malformed header', { authorization: 'Token abc' }],
    ['unknown key', { authorization: 'Bearer cpb_not-a-real-key-000000000000' }],
    ['revoked key', { authorization: `Bearer ${revoked.secret}` }],
  ];
  let checked = 0;
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (!op.security?.length) continue;
      const url = path.replace(/\{[^}]+\}/g, 'some-id');
      for (const [label, headers] of variants) {
        const res = await ctx.app.inject({
          method: method.toUpperCase() as 'GET',
          url,
          headers: { ...headers, 'idempotency-key': 'k', 'content-type': 'application/json' },
          ...(method === 'get' || method === 'delete' ? {} : { payload: '{}' }),
        });
        checked++;
        if (res.statusCode !== 401 || !/^application\/problem\+json/.test(String(res.headers['content-type']))) {
          t.fail(`${method.toUpperCase()} ${path} with ${label}: ${res.statusCode}`);
        }
      }
    }
  }
  t.ok(checked >= 4 * 28, `${checked} requests over every secured operation`);
  t.same(await counts(), before, 'nothing was written: no handler ran');
});
