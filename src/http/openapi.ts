import type { SwaggerOptions } from '@fastify/swagger';

/**
 * A pattern with Unicode property escapes (`\p{L}`) means what it says only with the ECMAScript `u`
 * flag, which the server's Ajv sets. Many readers of the document do not (Spectral, and regex engines
 * without `\p`, such as Python's `re`): there it matches something else or does not compile. Such a
 * pattern is published as `x-unicode-pattern` beside a description of the rule in words; the server
 * validates with the route's own schema, which keeps `pattern`, so it is exactly as strict.
 */
function publishUnicodePatterns(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(publishUnicodePatterns);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'pattern' && typeof value === 'string' && value.includes('\\p{')) out['x-unicode-pattern'] = value;
    else out[key] = publishUnicodePatterns(value);
  }
  return out;
}

export const openapiOptions: SwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'Health Connector premium billing',
      version: '1.0.0',
      description:
        'Invoices, payments and enrollments for the Massachusetts Health Connector. Money is integer cents (USD); ' +
        'calendar dates are YYYY-MM-DD in America/New_York; every error is application/problem+json with a stable `code`.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
      contact: { name: 'Premium billing team' },
    },
    servers: [{ url: '/', description: 'This service' }],
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'API key: `Authorization: Bearer <secret>`' },
      },
    },
    tags: [
      { name: 'operations', description: 'Liveness, readiness, metrics and ops tools' },
      { name: 'reference', description: 'Payment channels and deadlines' },
      { name: 'carriers', description: 'Insurance carriers' },
      { name: 'api-keys', description: 'API keys and roles' },
      { name: 'accounts', description: 'Households (R5)' },
      { name: 'enrollments', description: 'Checkout, deadlines, cancellation, history (R6-R14)' },
      { name: 'invoices', description: 'Invoices, payment slips and billing runs (R15-R18)' },
      { name: 'payments', description: 'Payments on three channels, idempotent, and returns (R19-R25)' },
    ],
  },
  // A copy: the route schemas the server validates with are never changed.
  transformObject: (document) =>
    publishUnicodePatterns('openapiObject' in document ? document.openapiObject : document.swaggerObject) as never,
  refResolver: {
    buildLocalReference(json, _baseUri, _fragment, i) {
      return typeof json.$id === 'string' ? json.$id : `def-${i}`;
    },
  },
};
