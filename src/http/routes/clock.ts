import type { FastifyInstance, FastifyReply, RouteShorthandOptions } from 'fastify';
import { type Static, Type } from 'typebox';
import { problem, sendProblem } from '../problem.js';
import { Closed, Instant, problems } from '../schemas/common.js';

const ClockBody = Closed(
  { now: Instant('The instant the service clock freezes at') },
  { examples: [{ now: '2026-12-22T10:00:00-05:00' }] },
);

const freezeClock = {
  config: { auth: ['ops'] },
  schema: {
    tags: ['operations'],
    summary: 'Freeze the service clock at an instant (only with ALLOW_TEST_CLOCK=true)',
    description:
      'For testing time-based rules from outside (deadlines, business days, overdue confirmations): the service clock jumps to `now` and stays frozen there until it is set again or reset. The instant is kept in the database, so every instance serving it uses it from its next request on. Only when the service was started with ALLOW_TEST_CLOCK=true, never in production; otherwise 404 `not_found`.',
    body: ClockBody,
    response: {
      200: Closed(
        { now: Instant() },
        { description: 'The frozen service clock', examples: [{ now: '2026-12-22T15:00:00.000Z' }] },
      ),
      ...problems(400, { 404: 'The test clock is disabled: ALLOW_TEST_CLOCK is not true (`not_found`).' }),
    },
  },
} satisfies RouteShorthandOptions;

const resetClock = {
  config: { auth: ['ops'] },
  schema: {
    tags: ['operations'],
    summary: 'Return the service clock to real time',
    description:
      'Unfreezes the service clock: it follows real time again. Only when the service was started with ALLOW_TEST_CLOCK=true; otherwise 404 `not_found`.',
    response: {
      204: Type.Null({ description: 'Clock reset' }),
      ...problems({ 404: 'The test clock is disabled: ALLOW_TEST_CLOCK is not true (`not_found`).' }),
    },
  },
} satisfies RouteShorthandOptions;

const disabled = (reply: FastifyReply) =>
  sendProblem(
    reply,
    problem(404, 'not_found', 'Not found', 'The test clock is disabled (ALLOW_TEST_CLOCK is not true).'),
  );

/** The shared test clock (src/services/testClock.ts): set through one instance, the clock of all. */
export interface TestClockControl {
  freeze(at: Date): Promise<Date>;
  reset(): Promise<void>;
}

export default async function clockRoutes(
  app: FastifyInstance,
  opts: { testClock: TestClockControl; allowTestClock: boolean },
) {
  app.put<{ Body: Static<typeof ClockBody> }>('/v1/ops/clock', freezeClock, async (request, reply) => {
    if (!opts.allowTestClock) return disabled(reply);
    const now = await opts.testClock.freeze(new Date(request.body.now));
    return { now: now.toISOString() };
  });

  app.delete('/v1/ops/clock', resetClock, async (_request, reply) => {
    if (!opts.allowTestClock) return disabled(reply);
    await opts.testClock.reset();
    return reply.code(204).send();
  });
}
