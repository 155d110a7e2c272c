/**
 * SPEC Conventions: every error the service can produce, including routing errors (bad
 * percent-escapes, over-long path parameters), is problem+json with a stable `code`.
 * Walks every route of the OpenAPI document with and without a key.
 */
import { connect } from 'node:net';
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { listen } from '../helpers/safety.js';

const PROBLEM = /^application\/problem\+json/;
const CODE = /^[a-z][a-z0-9_]*$/;
const LONG = 'a'.repeat(150);
const VERY_LONG = '1'.repeat(5000);
const BROKEN = '%E0%A4%A';

type Res = Awaited<ReturnType<Awaited<ReturnType<typeof testApp>>['request']>>;

type Tap = Pick<typeof t, 'ok' | 'match' | 'equal'>;

function assertProblem(t: Tap, res: Res, what: string, method = 'GET') {
  t.ok(res.statusCode >= 400, `${what}: an error (${res.statusCode})`);
  t.match(res.headers['content-type'], PROBLEM, `${what}: problem+json (${res.statusCode} ${res.body.slice(0, 80)})`);
  if (method === 'HEAD') return t.equal(res.body, '', `${what}: HEAD has no body`);
  const body = res.json();
  t.equal(body.status, res.statusCode, `${what}: status matches the HTTP status`);
  t.match(body.code, CODE, `${what}: stable code`);
}

t.test('every route answers problem+json to over-long params and broken escapes', async (t) => {
  // The walk makes several unauthenticated requests per route from one address: with the default
  // per-address limit (30 a minute) the route count alone would turn the 401s into 429s (as in
  // auth-every-route.test.ts); the limit itself is tested in auth-failures.test.ts.
  const ctx = await testApp(t, { env: { AUTH_FAILURES_PER_MINUTE: '100000' } });
  const doc = (await ctx.request({ method: 'GET', url: '/openapi.json', key: null })).json() as {
    paths: Record<string, Record<string, { security?: unknown[] }>>;
  };
  let walked = 0;
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const verb = method.toUpperCase();
      const isPublic = Array.isArray(op.security) && op.security.length === 0;
      const hasParam = path.includes('{');
      const long = hasParam ? path.replace(/\{[^}]+\}/g, LONG) : `${path}/${LONG}`;
      const veryLong = hasParam ? path.replace(/\{[^}]+\}/g, VERY_LONG) : `${path}/${VERY_LONG}`;
      const broken = hasParam ? path.replace(/\{[^}]+\}/g, BROKEN) : `${path}${BROKEN}`;
      for (const key of [null, undefined] as const) {
        const who = key === null ? 'no key' : 'ops key';
        for (const url of [long, veryLong]) {
          const res = await ctx.request({ method: verb as 'GET', url, key, payload: verb === 'GET' ? undefined : {} });
          assertProblem(t, res, `${verb} ${path} long param, ${who}`, verb);
          t.not(res.statusCode, 414, `${verb} ${path} long param, ${who}: not a router 414`);
          if (hasParam && key === null && !isPublic) {
            t.equal(res.statusCode, 401, `${verb} ${path} long param without a key: 401`);
          }
          if (hasParam && key !== null) {
            t.ok(
              [400, 404].includes(res.statusCode),
              `${verb} ${path} long param with a key: 400 or 404, got ${res.statusCode}`,
            );
          }
        }
        const bad = await ctx.request({
          method: verb as 'GET',
          url: broken,
          key,
          payload: verb === 'GET' ? undefined : {},
        });
        assertProblem(t, bad, `${verb} ${path} broken escape, ${who}`, verb);
        t.equal(bad.statusCode, 400, `${verb} ${path} broken escape, ${who}: 400`);
        if (verb !== 'HEAD') t.equal(bad.json().code, 'malformed_url');
        walked++;
      }
    }
  }
  t.ok(walked >= 40, `walked ${walked} route and key combinations`);
});

t.test('other framework edges answer problem+json', async (t) => {
  const ctx = await testApp(t);
  const cases: {
    method: string;
    url: string;
    key?: null;
    headers?: Record<string, string>;
    payload?: string;
    ok?: true;
  }[] = [
    { method: 'GET', url: '//v1/carriers' },
    { method: 'GET', url: '/v1//carriers' },
    { method: 'GET', url: `/v1/carriers?${'a=b&'.repeat(2000)}`, ok: true },
    { method: 'GET', url: `/v1/carriers?x=${BROKEN}`, ok: true },
    { method: 'GET', url: `/v1/payment-deadlines?year=${BROKEN}` },
    { method: 'GET', url: `/v1/enrollments?memberId=${'1'.repeat(5000)}` },
    { method: 'OPTIONS', url: '/v1/carriers', key: null },
    { method: 'PROPFIND', url: '/v1/carriers' },
    { method: 'DELETE', url: `/v1/enrollments/${LONG}` },
    { method: 'HEAD', url: `/v1/enrollments/${LONG}`, key: null },
    { method: 'GET', url: `/nowhere/${LONG}/${BROKEN}` },
    { method: 'GET', url: `/docs/${BROKEN}`, key: null },
    { method: 'GET', url: '/docs/static/nothing-here.js', key: null },
    { method: 'GET', url: '/docs/static/%2e%2e/%2e%2e/package.json', key: null },
    {
      method: 'POST',
      url: '/v1/carriers',
      headers: { 'content-type': 'application/json; charset=latin1' },
      payload: '{',
    },
    {
      method: 'POST',
      url: '/v1/carriers',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      payload: '',
    },
    {
      method: 'POST',
      url: '/v1/carriers',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'a=b',
    },
    { method: 'POST', url: '/v1/carriers', headers: { 'content-type': 'text/plain' }, payload: 'hello' },
  ];
  for (const c of cases) {
    const res = await ctx.request({
      method: c.method as 'GET',
      url: c.url,
      ...(c.key === null ? { key: null } : {}),
      ...(c.headers ? { headers: c.headers } : {}),
      ...(c.payload !== undefined ? { payload: c.payload } : {}),
    });
    const what = `${c.method} ${c.url.slice(0, 50)} ${JSON.stringify(c.headers ?? {})}`;
    if (c.ok) t.equal(res.statusCode, 200, `${what}: answered`);
    else assertProblem(t, res, what, c.method);
  }
});

/** One raw HTTP/1.1 exchange: what the server writes back before closing. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (chunk) => {
      data += chunk.toString();
    });
    socket.on('close', () => resolve(data));
    socket.on('error', () => resolve(data));
    socket.setTimeout(5_000, () => socket.destroy());
  });
}

t.test('requests the HTTP parser refuses are answered with problem+json', async (t) => {
  const ctx = await testApp(t);
  const base = await listen(ctx);
  const port = Number(new URL(base).port);
  const cases = {
    'an unknown method token': 'BREW /v1/carriers HTTP/1.1\r\nHost: x\r\n\r\n',
    'a broken request line': 'GET /v1/carriers HTTP/9\r\n\r\n',
    'a header too large': `GET /v1/carriers HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    'a URL too long': `GET /v1/carriers/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    'a bad header': 'GET /v1/carriers HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n',
  };
  for (const [what, request] of Object.entries(cases)) {
    const answer = await raw(port, request);
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    t.match(head, /^HTTP\/1\.1 4\d\d /, `${what}: a 4xx status line`);
    t.match(head, /content-type: application\/problem\+json/i, `${what}: problem+json`);
    const status = Number(head.split(' ')[1]);
    const problem = JSON.parse(body) as { status: number; code: string };
    t.equal(problem.status, status, `${what}: status matches`);
    t.match(problem.code, CODE, `${what}: stable code`);
  }
});
