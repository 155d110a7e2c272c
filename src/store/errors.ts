import { CLIENT_QUERY_TIMEOUT_MESSAGE } from '../infra/db.js';

/** PostgreSQL SQLSTATE helpers. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

export function isForeignKeyViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23503' && (constraint === undefined || e.constraint === constraint);
}

export function isSerializationFailure(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === '40001' || code === '40P01';
}

/**
 * Time limits (docs/decisions.md, "Database time limits"): 57014 query_canceled (statement_timeout),
 * 55P03 lock_not_available (lock_timeout), 25P03 idle_in_transaction_session_timeout, and pg's own
 * client-side `query_timeout`.
 */
export function isDatabaseTimeout(err: { code?: string; message?: string }): boolean {
  return ['57014', '55P03', '25P03'].includes(err.code ?? '') || err.message === CLIENT_QUERY_TIMEOUT_MESSAGE;
}

/** Connection-level failures: the request can be retried once the database is back. */
export function isDatabaseUnavailable(err: { code?: string; message?: string }): boolean {
  const code = err.code ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006'].includes(
      code,
    ) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      err.message ?? '',
    )
  );
}

/** How the HTTP layer answers a storage failure: 503 `database_timeout`, 503 `database_unavailable`, or as any other 500. */
export function classifyStorageError(err: { code?: string; message?: string }): 'timeout' | 'unavailable' | null {
  if (isDatabaseTimeout(err)) return 'timeout';
  if (isDatabaseUnavailable(err)) return 'unavailable';
  return null;
}

/**
 * I5: errors that one enrollment's data can cause (data exceptions, constraint violations, PL/pgSQL
 * raises, serialization failures and deadlocks, lock and statement time-outs). A sweep or run sets
 * the enrollment aside and carries on; any other error (connection lost, server shutting down) stops it.
 */
export function isEnrollmentFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || code.length !== 5) return false;
  return ['22', '23', 'P0', '40'].includes(code.slice(0, 2)) || code === '55P03' || code === '57014';
}
