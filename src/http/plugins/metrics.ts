import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
  }
}

const metricsRoute = {
  config: { auth: 'public' },
  schema: {
    tags: ['operations'],
    summary: 'Prometheus metrics',
    description:
      'Process metrics and `http_request_duration_seconds` by method, route pattern and status code (plus the API-key cache hit rate when it is on), in the Prometheus text format. No API key needed; rate-limited per client address like every route.',
    response: { 200: { type: 'string', description: 'Prometheus text exposition format' } },
  },
} satisfies RouteShorthandOptions;

/** Prometheus metrics: process defaults plus one request-duration histogram labelled by route. */
async function metricsPlugin(app: FastifyInstance) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.decorate('metrics', registry);

  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.get('/metrics', metricsRoute, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}

export default fp(metricsPlugin, { name: 'metrics', fastify: '5.x', dependencies: ['auth'] });
