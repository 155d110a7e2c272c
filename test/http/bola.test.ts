import t from 'tap';
import { testApp } from '../helpers/app.js';
import { newCarrier, newEnrollment, setClock } from '../helpers/factories.js';

interface Operation {
  security?: unknown[];
  responses: Record<string, { description?: string }>;
}

/** Roles a route allows, as its documented 403 response says ("Only for roles: a, b"). */
function rolesOf(op: Operation): string[] {
  const text = op.responses['403']?.description ?? '';
  const m = /Only for roles: (.*)$/.exec(text);
  return m?.[1] ? m[1].split(', ') : [];
}

t.test(
  'BOLA: for every route with an id, carrier A gets 404 for carrier B objects and 403 where it may not go',
  async (t) => {
    const ctx = await testApp(t);
    await setClock(ctx, '2026-12-10T10:00:00-05:00');
    const a = await newCarrier(ctx, { id: 'bola-a' });
    const b = await newCarrier(ctx, { id: 'bola-b' });
    const keyA = await ctx.newKey('carrier', a.id);
    const keyB = await ctx.newKey('carrier', b.id);
    const mine = await newEnrollment(ctx, { carrierId: a.id });
    const theirs = await newEnrollment(ctx, { carrierId: b.id });
    const pay = async (enrollmentId: string) => {
      const res = await ctx.request({
        method: 'POST',
        url: '/v1/payments',
        headers: { 'idempotency-key': crypto.randomUUID() },
        payload: {
          channel: 'online',
          method: 'checking',
          amountCents: 45000,
          enrollmentId,
          bankAccount: { routingNumber: '011000015', accountNumber: '123456789' },
        },
      });
      return res.json().id as string;
    };
    const theirPayment = await pay(theirs.id);
    await pay(mine.id);

    // B's object for every kind of id a path can carry.
    const objectOfB: Record<string, string> = {
      '/v1/carriers/{id}': b.id,
      '/v1/api-keys/{id}': keyB.id,
      '/v1/accounts/{memberId}': theirs.memberId,
      '/v1/enrollments/{id}': theirs.id,
      '/v1/enrollments/{id}/confirmation': theirs.id,
      '/v1/enrollments/{id}/cancellation': theirs.id,
      '/v1/enrollments/{id}/reinstatement': theirs.id,
      '/v1/invoices/{id}': theirs.binderInvoiceId,
      '/v1/invoices/{id}/bill.pdf': theirs.binderInvoiceId,
      '/v1/payments/{id}': theirPayment,
      '/v1/payments/{id}/returns': theirPayment,
      '/v1/ops/unapplied-payments/{id}/application': theirPayment,
      // Ops only: a carrier is refused before any deposit is looked up.
      '/v1/ops/lockbox-deposits/{depositId}': 'LBX-1',
      '/v1/ops/ach-files/{id}': 'ach_0a1b2c3d4e5f60718293a4b5c6d7e8f9',
    };
    const doc = (await ctx.request({ method: 'GET', url: '/openapi.json', key: null })).json() as {
      paths: Record<string, Record<string, Operation>>;
    };
    const withIds = Object.entries(doc.paths).filter(([path]) => path.includes('{'));
    t.ok(withIds.length >= Object.keys(objectOfB).length, 'every route with an id is covered');

    for (const [path, operations] of withIds) {
      for (const [method, op] of Object.entries(operations)) {
        const id = objectOfB[path];
        t.ok(id, `test knows an object for ${path}`);
        if (!id) continue;
        const url = path.replace(/\{[^}]+\}/, id);
        const res = await ctx.request({
          method: method.toUpperCase() as 'GET',
          url,
          key: keyA.secret,
          headers: { 'idempotency-key': crypto.randomUUID() },
          ...(method === 'get' || method === 'delete'
            ? {}
            : { payload: method === 'post' && path.endsWith('/returns') ? { reasonCode: 'R01' } : {} }),
        });
        const roles = rolesOf(op);
        if (!roles.includes('carrier')) {
          t.equal(res.statusCode, 403, `${method.toUpperCase()} ${path}: carrier role refused`);
        } else if (path === '/v1/carriers/{id}') {
          t.equal(res.statusCode, 200, `${method.toUpperCase()} ${path}: carriers are public reference data`);
        } else {
          t.equal(res.statusCode, 404, `${method.toUpperCase()} ${path}: another carrier's object is not found`);
        }
        t.match(res.headers['content-type'], /json/);
      }
    }

    // Positive controls: the same routes answer for carrier A's own objects.
    const own = await ctx.request({ method: 'GET', url: `/v1/enrollments/${mine.id}`, key: keyA.secret });
    t.equal(own.statusCode, 200);
    const confirm = await ctx.request({
      method: 'POST',
      url: `/v1/enrollments/${mine.id}/confirmation`,
      key: keyA.secret,
      payload: {},
    });
    t.equal(confirm.statusCode, 200);
    const list = await ctx.request({
      method: 'GET',
      url: `/v1/enrollments?memberId=${theirs.memberId}`,
      key: keyA.secret,
    });
    t.same(list.json().data, [], "a filter on another carrier's member lists nothing");
  },
);
