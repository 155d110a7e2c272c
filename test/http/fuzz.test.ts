/**
 * Reliability check 5: schema fuzzing of every operation in openapi/openapi.json. For each
 * operation, fast-check generates 300 requests from the document's own schemas (valid values, values
 * of the wrong type, out-of-range numbers, missing and unknown fields, odd strings) and sends them with
 * an ops key. Every answer must be below 500; every error must be problem+json whose `status` equals
 * the HTTP status; every 2xx body must match the operation's response schema.
 */
import { readFileSync } from 'node:fs';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { newEnrollment, setClock } from '../helpers/factories.js';

type Schema = Record<string, any>;
// CommonJS modules: take the default export whichever way the loader exposes it.
const Ajv2020 = ((Ajv2020Module as any).default ?? Ajv2020Module) as typeof import('ajv/dist/2020.js').default;
const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as typeof import('ajv-formats').default;
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
const doc = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));

function resolve(s: Schema): Schema {
  if (s?.$ref) return resolve(doc.components.schemas[String(s.$ref).split('/').pop() as string]);
  return s ?? {};
}

const junk = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.string(),
  fc.constant(''),
  fc.constant('x'.repeat(300)),
  fc.constant({}),
  fc.constant([]),
);

/** Values for a schema: mostly valid, sometimes wrong (the server must refuse those cleanly). */
function arb(input: Schema, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(input);
  const wrong = depth > 3 ? fc.constant(null) : junk;
  let valid: fc.Arbitrary<unknown>;
  if (s.const !== undefined) valid = fc.constant(s.const);
  else if (s.enum) valid = fc.constantFrom(...s.enum);
  else if (s.anyOf || s.oneOf) valid = fc.oneof(...(s.anyOf ?? s.oneOf).map((x: Schema) => arb(x, depth + 1)));
  else if (s.type === 'object' || s.properties) {
    const props = Object.entries((s.properties ?? {}) as Record<string, Schema>);
    const required = new Set<string>(s.required ?? []);
    const record: Record<string, fc.Arbitrary<unknown>> = {};
    for (const [k, v] of props) record[k] = arb(v, depth + 1);
    valid = fc
      .record(record, { requiredKeys: props.map(([k]) => k).filter((k) => required.has(k)) })
      .chain((o) =>
        fc.oneof(
          { weight: 5, arbitrary: fc.constant(o) },
          { weight: 1, arbitrary: fc.constant({ ...o, unexpected: 1 }) },
        ),
      );
  } else if (s.type === 'array') valid = fc.array(arb(s.items ?? {}, depth + 1), { maxLength: 3 });
  else if (s.type === 'integer') {
    const min = s.minimum ?? -1_000_000;
    const max = s.maximum ?? 1_000_000_000_000;
    valid = fc.oneof(
      fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31) }),
      fc.constantFrom(min - 1, max + 1, 0, -1),
    );
  } else if (s.type === 'number') valid = fc.double({ noNaN: true });
  else if (s.type === 'boolean') valid = fc.boolean();
  else if (s.type === 'string') {
    const examples: string[] = s.examples ?? [];
    const formats: Record<string, fc.Arbitrary<string>> = {
      date: fc.constantFrom('2027-01-01', '2026-12-23', '2027-02-30', '2026-13-01'),
      'date-time': fc.constantFrom(
        '2026-12-10T10:00:00-05:00',
        '2030-01-01T00:00:00Z',
        '2026-12-10T10:00:00',
        'yesterday',
      ),
    };
    valid = fc.oneof(
      ...(examples.length ? [fc.constantFrom(...examples)] : []),
      ...(s.format && formats[s.format] ? [formats[s.format] as fc.Arbitrary<string>] : []),
      fc.string({ maxLength: 40 }),
      fc.stringMatching(/^[0-9]{4,19}$/),
    );
  } else valid = junk;
  return fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: wrong });
}

t.test(`schema fuzzing: ${RUNS} generated requests per operation, seed ${SEED}`, async (t) => {
  const ctx = await testApp(t);
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx);
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  addFormats(ajv);
  ajv.addSchema({ $id: 'doc', components: doc.components });
  const rewrite = (s: unknown): unknown =>
    JSON.parse(JSON.stringify(s).replaceAll('"#/components/', '"doc#/components/'));

  const ids = [e.id, e.binderInvoiceId, e.memberId, e.carrierId, 'nope', '%20', 'x'.repeat(100)];
  let requests = 0;
  let fiveXX = 0;
  const failures: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Schema>>)) {
    for (const [method, op] of Object.entries(ops)) {
      if (path === '/v1/ops/clock' || (path === '/v1/api-keys/{id}' && method === 'delete')) continue; // would change the harness itself
      const params: Schema[] = op.parameters ?? [];
      const bodySchema = op.requestBody?.content?.['application/json']?.schema;
      const gen = fc.record({
        pathId: fc.constantFrom(...ids),
        query: fc.record(
          Object.fromEntries(params.filter((p) => p.in === 'query').map((p) => [p.name, arb(p.schema)])),
          { requiredKeys: [] },
        ),
        body: bodySchema ? arb(bodySchema) : fc.constant(undefined),
      });
      for (const sample of fc.sample(gen, { numRuns: RUNS, seed: SEED })) {
        const url =
          path.replace(/\{[^}]+\}/g, encodeURIComponent(sample.pathId)) +
          (Object.keys(sample.query).length
            ? `?${new URLSearchParams(Object.entries(sample.query).map(([k, v]): [string, string] => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]))}`
            : '');
        const res = await ctx.request({
          method: method.toUpperCase() as 'GET',
          url,
          headers: { 'idempotency-key': crypto.randomUUID() },
          ...(sample.body !== undefined ? { payload: sample.body as object } : {}),
        });
        requests++;
        const where = `${method.toUpperCase()} ${url} ${JSON.stringify(sample.body)?.slice(0, 200)}`;
        if (res.statusCode >= 500) {
          fiveXX++;
          failures.push(`${res.statusCode} ${where}`);
          continue;
        }
        if (res.statusCode >= 400) {
          const ok =
            /^application\/problem\+json/.test(String(res.headers['content-type'])) &&
            res.json().status === res.statusCode;
          if (!ok) failures.push(`bad problem ${res.statusCode} ${where}`);
          continue;
        }
        const schema = op.responses?.[String(res.statusCode)]?.content?.['application/json']?.schema;
        if (schema && res.statusCode !== 204 && /json/.test(String(res.headers['content-type']))) {
          const validate = ajv.compile(rewrite(schema) as object);
          if (!validate(res.json()))
            failures.push(`2xx off-schema ${res.statusCode} ${where}: ${ajv.errorsText(validate.errors)}`);
        }
      }
    }
  }
  t.comment(`fuzz: ${requests} requests, ${fiveXX} 5xx, ${failures.length} failures`);
  t.equal(fiveXX, 0, '0 responses 5xx');
  t.same(failures.slice(0, 10), [], 'every error is problem+json with a matching status; every 2xx matches its schema');
});
