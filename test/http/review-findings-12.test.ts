import t from 'tap';
import { testApp } from '../helpers/app.js';
import { expectProblem } from '../helpers/responses.js';

// Findings of the black-box review after issue 12 (docs/reliability.md), each a regression test.
const ctx = await testApp(t);

t.test(
  'a required Idempotency-Key is asked for before the route looks at the request (no remembered 422)',
  async (t) => {
    const res = await ctx.request({
      method: 'POST',
      url: '/v1/payments',
      payload: { channel: 'online', method: 'paypal', amountCents: 1, enrollmentId: 'x' },
    });
    expectProblem(t, res, 400, 'idempotency_key_required');
  },
);

t.test('the deadline sweep takes no fields: an unknown field or a non-object is 400 and nothing runs', async (t) => {
  for (const payload of [{ dryRun: true }, [1, 2]]) {
    const res = await ctx.request({ method: 'POST', url: '/v1/ops/deadline-sweeps', payload });
    expectProblem(t, res, 400, 'validation_failed');
  }
  const none = await ctx.request({ method: 'POST', url: '/v1/ops/deadline-sweeps' });
  t.equal(none.statusCode, 200, `no body: ${none.body}`);
  const empty = await ctx.request({ method: 'POST', url: '/v1/ops/deadline-sweeps', payload: {} });
  t.equal(empty.statusCode, 200, `{}: ${empty.body}`);
});

t.test('reinstatement takes no fields: an unknown field is 400 before anything is looked up', async (t) => {
  const res = await ctx.request({
    method: 'POST',
    url: '/v1/enrollments/enr_unknown/reinstatement',
    payload: { foo: 1 },
  });
  expectProblem(t, res, 400, 'validation_failed');
  const none = await ctx.request({ method: 'POST', url: '/v1/enrollments/enr_unknown/reinstatement' });
  t.equal(none.statusCode, 404, `no body reaches the lookup: ${none.body}`);
});
