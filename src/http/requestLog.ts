import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

const QUERY_KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,40}$/;

/**
 * What an access log line says about a request: the route pattern (`/v1/accounts/:memberId`) and the
 * names of the query parameters, never the raw path or query values, which carry Member IDs, phone
 * numbers and other ids. A request no route matched is logged without its path.
 */
export function requestLogView(request: FastifyRequest) {
  let route: string | undefined;
  try {
    route = request.routeOptions.url;
  } catch {
    route = undefined; // requests refused before routing (bad URLs) have no route context
  }
  const query = request.query && typeof request.query === 'object' ? Object.keys(request.query) : [];
  return {
    method: request.method,
    url: route ?? '(no route)',
    ...(query.length > 0 ? { query: query.slice(0, 20).map((k) => (QUERY_KEY.test(k) ? k : '(other)')) } : {}),
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** fastify's `childLoggerFactory`: every request logger serializes `req` with `requestLogView`. */
export function childLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  opts: ChildLoggerOptions,
): FastifyBaseLogger {
  return logger.child(bindings, { ...opts, serializers: { ...opts.serializers, req: requestLogView as never } });
}
