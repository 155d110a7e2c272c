import type { SwaggerOptions } from '@fastify/swagger';

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
  refResolver: {
    buildLocalReference(json, _baseUri, _fragment, i) {
      return typeof json.$id === 'string' ? json.$id : `def-${i}`;
    },
  },
};
