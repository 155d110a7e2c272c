/**
 * SPEC Conventions, authentication failures: limited per client (the peer address, or the first
 * untrusted X-Forwarded-For hop when TRUST_PROXY names the proxies), but a request with a valid key
 * is never refused because other requests from the same address failed.
 */
import t from 'tap';
import { loadConfig } from '../../src/config.js';
import { repeatRequest, testApp } from '../helpers/app.js';

const PROBLEM = /^application\/problem\+json/;
const WRONG = 'cpb_wrongwrongwrongwrongwrongwrong';

t.test('a valid key is never refused by the failure limiter', async (t) => {
  const ctx = await testApp(t);
  const connector = await ctx.newKey('connector');
  const revoked = await ctx.newKey('connector');
  t.equal((await ctx.request({ method: 'DELETE', url: `/v1/api-keys/${revoked.id}` })).statusCode, 200);
  const bad = [WRONG, 'not a bearer', null, revoked.secret];
  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) {
    const key = bad[i % bad.length];
    const res = await ctx.request({
      method: 'GET',
      url: '/v1/carriers',
      ...(key === null
        ? { key: null }
        : key === 'not a bearer'
          ? { key: null, headers: { authorization: 'Basic abc' } }
          : { key }),
    });
    statuses.push(res.statusCode);
  }
  t.same(statuses.slice(0, 30), Array(30).fill(401), 'the first 30 failures are 401');
  t.same(statuses.slice(30), Array(10).fill(429), 'failures over the budget are 429');

  const good = await ctx.request({ method: 'GET', url: '/v1/carriers', key: connector.secret });
  t.equal(good.statusCode, 200, 'a valid key from the same address still passes');
  const ops = await ctx.request({ method: 'GET', url: '/v1/carriers' });
  t.equal(ops.statusCode, 200, 'so does any other valid key');
  const forbidden = await ctx.request({ method: 'POST', url: '/v1/carriers', key: connector.secret, payload: {} });
  t.equal(forbidden.statusCode, 403, 'a valid key still meets its role check');

  const still = await ctx.request({ method: 'GET', url: '/v1/carriers', key: WRONG });
  t.equal(still.statusCode, 429, 'the failing client stays limited');
  t.match(still.headers['content-type'], PROBLEM);
  t.equal(still.json().code, 'too_many_failed_authentications');
  t.equal(still.json().status, 429);
  const wait = Number(still.headers['retry-after']);
  t.ok(wait > 0 && wait <= 60, `Retry-After is the rest of the window (${still.headers['retry-after']})`);
});

t.test('with TRUST_PROXY the client is the first untrusted X-Forwarded-For hop', async (t) => {
  const ctx = await testApp(t, { env: { AUTH_FAILURES_PER_MINUTE: '3', TRUST_PROXY: '10.0.0.0/8' } });
  const viaProxy = (client: string, key: string | null = WRONG) =>
    ctx.request({
      method: 'GET',
      url: '/v1/carriers',
      remoteAddress: '10.1.2.3',
      headers: { 'x-forwarded-for': `${client}, 10.9.9.9` },
      ...(key === null ? { key: null } : { key }),
    });
  const a: number[] = [];
  for (let i = 0; i < 4; i++) a.push((await viaProxy('203.0.113.5')).statusCode);
  t.same(a, [401, 401, 401, 429], 'client A is limited');
  const b = await viaProxy('203.0.113.6');
  t.equal(b.statusCode, 401, 'client B behind the same proxy has its own budget');
  t.equal((await viaProxy('203.0.113.5', ctx.opsKey)).statusCode, 200, 'a valid key from client A passes');

  // An untrusted peer cannot choose its client address with X-Forwarded-For.
  const spoofed: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await ctx.request({
      method: 'GET',
      url: '/v1/carriers',
      key: WRONG,
      remoteAddress: '198.51.100.7',
      headers: { 'x-forwarded-for': `192.0.2.${i + 1}` },
    });
    spoofed.push(res.statusCode);
  }
  t.same(spoofed, [401, 401, 401, 429], 'a spoofed X-Forwarded-For from an untrusted peer is ignored');
});

t.test('TRUST_PROXY as a hop count trusts that many proxies in front of the service', async (t) => {
  const ctx = await testApp(t, { env: { AUTH_FAILURES_PER_MINUTE: '2', TRUST_PROXY: '1' } });
  const from = (client: string) =>
    ctx.request({
      method: 'GET',
      url: '/v1/carriers',
      key: WRONG,
      remoteAddress: '10.1.2.3',
      headers: { 'x-forwarded-for': `198.51.100.1, ${client}` },
    });
  t.same([(await from('203.0.113.5')).statusCode, (await from('203.0.113.5')).statusCode], [401, 401]);
  t.equal((await from('203.0.113.5')).statusCode, 429, 'the hop in front of the one proxy is the client');
  t.equal((await from('203.0.113.6')).statusCode, 401, 'another client keeps its budget');
});

t.test('without TRUST_PROXY X-Forwarded-For is ignored', async (t) => {
  const ctx = await testApp(t, { env: { AUTH_FAILURES_PER_MINUTE: '2' } });
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await ctx.request({
      method: 'GET',
      url: '/v1/carriers',
      key: WRONG,
      remoteAddress: '10.1.2.3',
      headers: { 'x-forwarded-for': `203.0.113.${i + 1}` },
    });
    statuses.push(res.statusCode);
  }
  t.same(statuses, [401, 401, 429]);
});

t.test('TRUST_PROXY is parsed like fastify trustProxy and bad values are refused', async (t) => {
  const base = { NODE_ENV: 'test', DATA_ENCRYPTION_KEY: `t:${Buffer.alloc(32, 1).toString('base64')}` };
  const parse = (v: string | undefined) =>
    loadConfig({ ...base, ...(v === undefined ? {} : { TRUST_PROXY: v }) }).trustProxy;
  t.equal(parse(undefined), false);
  t.equal(parse(''), false);
  t.equal(parse('false'), false);
  t.equal(parse('2'), 2, 'a hop count');
  t.same(parse('10.0.0.1, 10.1.0.0/16,::1,fd00::/8'), ['10.0.0.1', '10.1.0.0/16', '::1', 'fd00::/8']);
  t.same(parse('loopback,uniquelocal'), ['loopback', 'uniquelocal']);
  for (const bad of [
    'true',
    'yes',
    '10.0.0.300',
    '10.0.0.0/33',
    '::1/129',
    '10.0.0.1,,10.0.0.2',
    '-1',
    'example.com',
  ]) {
    t.throws(() => parse(bad), /TRUST_PROXY/, `refuses ${JSON.stringify(bad)}`);
  }
});

t.test('the per-key rate limit still answers 429 problem+json per key', async (t) => {
  const ctx = await testApp(t, { env: { RATE_LIMIT_PER_MINUTE: '3' } });
  const other = await ctx.newKey('connector');
  const { statuses, last } = await repeatRequest(ctx, { method: 'GET', url: '/v1/payment-channels' }, 4);
  t.same(statuses, [200, 200, 200, 429]);
  t.match(last.headers['content-type'], PROBLEM);
  t.equal(last.json().code, 'rate_limited');
  t.equal(last.json().status, 429);
  t.ok(Number(last.headers['retry-after']) > 0);
  const otherKey = await ctx.request({ method: 'GET', url: '/v1/payment-channels', key: other.secret });
  t.equal(otherKey.statusCode, 200, 'each API key has its own budget');
  const failed = await ctx.request({ method: 'GET', url: '/v1/payment-channels', key: WRONG });
  t.equal(failed.statusCode, 401, 'failed authentications do not spend a key budget');
});
