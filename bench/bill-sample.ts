/**
 * Renders docs/sample-bill.png: a partially paid binder bill (R32) from a fresh database seeded
 * through the API, fetched from `GET /v1/invoices/{id}/bill.pdf` and rasterised by poppler's pdftoppm.
 *
 *   DATABASE_URL=postgres://root@127.0.0.1:5432/test npm run bill:sample
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { billApp } from './billApp.js';

const out = path.resolve(process.argv[2] ?? 'docs/sample-bill');
const bill = await billApp(`bill_sample_${process.pid}`);
const dir = mkdtempSync(path.join(tmpdir(), 'bill-sample-'));
try {
  const pdf = await bill.get(`/v1/invoices/${bill.invoiceId}/bill.pdf`);
  const file = path.join(dir, 'bill.pdf');
  writeFileSync(file, pdf);
  if (process.env.KEEP_PDF) writeFileSync(`${out}.pdf`, pdf);
  execFileSync('pdftoppm', ['-r', '80', '-png', '-singlefile', file, out]);
  console.log(`wrote ${out}.png (${pdf.length} bytes of PDF)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  await bill.close();
}
