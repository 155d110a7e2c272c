import type { FastifyInstance, FastifyReply, RouteShorthandOptions } from 'fastify';
import { type Static, Type } from 'typebox';
import type { SettableClock } from '../../domain/clock.js';
import { problem, sendProblem } from '../problem.js';
import { Closed, Instant, problems } from '../schemas/common.js';

const ClockBody = Closed({ now: Instant('The instant the service clock freezes at') });

const freezeClock = {
  config: { auth: ['ops'] },
  schema: {
    tags: ['operations'],
    summary: 'Freeze the service clock at an instant (only with ALLOW_TEST_CLOCK=true)',
    body: ClockBody,
    response: { 200: Closed({ now: Instant() }), ...problems(400, 404) },
  },
} satisfies RouteShorthandOptions;

const resetClock = {
  config: { auth: ['ops'] },
  schema: {
    tags: ['operations'],
    summary: 'Return the service clock to real time',
    response: { 204: Type.Null({ description: 'Clock reset' }), ...problems(404) },
  },
} satisfies RouteShorthandOptions;

const disabled = (reply: FastifyReply) =>
  sendProblem(
    reply,
    problem(404, 'not_found', 'Not found', 'The test clock is disabled (ALLOW_TEST_CLOCK is not true).'),
  );

export default async function clockRoutes(
  app: FastifyInstance,
  opts: { clock: SettableClock; allowTestClock: boolean },
) {
  app.put<{ Body: Static<typeof ClockBody> }>('/v1/ops/clock', freezeClock, async (request, reply) => {
    if (!opts.allowTestClock) return disabled(reply);
    opts.clock.freeze(new Date(request.body.now));
    return { now: opts.clock.now().toISOString() };
  });

  app.delete('/v1/ops/clock', resetClock, async (_request, reply) => {
    if (!opts.allowTestClock) return disabled(reply);
    opts.clock.reset();
    return reply.code(204).send();
  });
}
