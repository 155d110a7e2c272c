import { randomBytes } from 'node:crypto';
import type { TestContext } from './app.js';

const suffix = () => randomBytes(3).toString('hex');

export async function newCarrier(ctx: TestContext, overrides: { id?: string; name?: string } = {}) {
  const id = overrides.id ?? `carrier-${suffix()}`;
  const res = await ctx.request({
    method: 'POST',
    url: '/v1/carriers',
    payload: { id, name: overrides.name ?? `Carrier ${id}` },
  });
  if (res.statusCode !== 201) throw new Error(`newCarrier failed: ${res.statusCode} ${res.body}`);
  return res.json() as { id: string; name: string };
}
