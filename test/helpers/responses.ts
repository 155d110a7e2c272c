/** Assertions on HTTP answers that every HTTP test uses: the status, and RFC 9457 problems. */
import type { LightMyRequestResponse } from 'fastify';

/** The content type of every error answer. */
export const PROBLEM = /^application\/problem\+json/;

/** Asserts the status and, on failure, shows the body so a broken test explains itself. */
export function expectStatus(res: LightMyRequestResponse, status: number): void {
  if (res.statusCode !== status) {
    throw new Error(`expected HTTP ${status}, got ${res.statusCode}: ${res.body}`);
  }
}

/** The tap assertions the helpers use (structural, so any tap Test fits). */
export interface Asserts {
  equal(found: unknown, wanted: unknown, message: string): boolean;
  match(found: unknown, pattern: RegExp, message: string): boolean;
}

/** Asserts an RFC 9457 problem with this status and code; returns its body. */
export function expectProblem(
  t: Asserts,
  res: LightMyRequestResponse,
  status: number,
  code: string,
  label = code,
): { code: string; status: number; [k: string]: unknown } {
  t.equal(res.statusCode, status, `${label}: HTTP ${status}`);
  t.match(String(res.headers['content-type']), PROBLEM, `${label}: problem+json`);
  const body = res.json() as { code: string; status: number; [k: string]: unknown };
  t.equal(body.code, code, `${label}: code ${code}`);
  t.equal(body.status, status, `${label}: problem status ${status}`);
  return body;
}
