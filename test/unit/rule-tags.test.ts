import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';

// Every rule and invariant the code implements is tagged (`R5:` and the like, in a comment) in the
// src/domain function that decides it, so `grep -rn "R5\b" src/domain` lands on it. The ids are
// SPEC.md's (the spec lives outside the repository; the list is copied here, and checked against the
// file when SPEC_PATH points at it).
const IMPLEMENTED = [
  ...Array.from({ length: 27 }, (_, i) => `R${i + 1}`), // R1-R27
  // R28-R31 are decided in src/domain/delinquency.ts; the sweep, routes and store wire them (issue 13).
  'R28',
  'R29',
  'R30',
  'R31',
  // R32 (the bill's content, src/domain/bill.ts; drawn by src/http/bill/render.ts), R33 (the scan
  // line, src/domain/numbers.ts, matched in src/domain/matching.ts) and R34 (lockbox deposits,
  // src/domain/lockbox.ts): issue 14. R35/R36 (ACH origination and returns): src/domain/nacha.ts (issue 15).
  'R32',
  'R33',
  'R34',
  'R35',
  'R36',
  ...Array.from({ length: 5 }, (_, i) => `I${i + 1}`), // I1-I5
];
// Pending: none; a rule added to SPEC.md lands here until it is implemented and tagged.
const PENDING: string[] = [];
// Decided outside src/domain on purpose, each documented in docs/decisions.md ("Billing decisions in
// the domain"): where the decision is tagged instead.
const OUTSIDE_DOMAIN: Record<string, string> = {
  // Failure isolation is transaction orchestration (savepoints, range halving) over SQLSTATE classes.
  I5: 'src/services/billing.ts',
};

const root = path.resolve(import.meta.dirname, '..', '..');
const commentLines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^\s*(\/\/|\/\*\*|\*)/.test(l) || l.includes('// '));
const domainDir = path.join(root, 'src', 'domain');
const domain = readdirSync(domainDir)
  .filter((f) => f.endsWith('.ts'))
  .flatMap((f) => commentLines(path.join(domainDir, f)));
const tagged = (lines: string[], id: string) => lines.some((l) => new RegExp(`\\b${id}\\b`).test(l));

t.test('every implemented rule and invariant is tagged where it is decided', async (t) => {
  for (const id of IMPLEMENTED) {
    const outside = OUTSIDE_DOMAIN[id];
    if (outside) {
      t.ok(tagged(commentLines(path.join(root, outside)), id), `${id}: tagged in ${outside} (documented exception)`);
    } else {
      t.ok(tagged(domain, id), `${id}: tagged in src/domain`);
    }
  }
});

t.test('the lists cover SPEC.md exactly', async (t) => {
  const all = [...IMPLEMENTED, ...PENDING];
  t.equal(new Set(all).size, 36 + 5, 'R1-R36 and I1-I5, each once');
  const spec = process.env.SPEC_PATH ?? path.resolve(root, '..', 'shared', 'SPEC.md');
  if (spec && existsSync(spec)) {
    const ids = [...readFileSync(spec, 'utf8').matchAll(/^- \*\*((?:R|I)\d+)\*\*/gm)].map((m) => m[1]);
    t.same([...ids].sort(), [...all].sort(), `the ids of ${spec}`);
  }
});
