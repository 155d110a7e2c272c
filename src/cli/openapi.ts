import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import { createDatabase } from '../infra/db.js';

/**
 * Generates the OpenAPI document from the route schemas. `--write` updates openapi/openapi.json;
 * `--check` fails when the committed file differs from what the code generates.
 * No database connection is made: the pool connects lazily and no request is served.
 */
const target = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../openapi/openapi.json');
const mode = process.argv[2];

const config = loadConfig({
  NODE_ENV: 'development',
  DATA_ENCRYPTION_KEY: `k:${Buffer.alloc(32).toString('base64')}`,
  IDEMPOTENCY_HMAC_KEY: Buffer.alloc(32).toString('base64'),
  LOG_LEVEL: 'silent',
});
const database = createDatabase('postgres://openapi@127.0.0.1:1/none', pino({ level: 'silent' }), 1);
const app = await buildApp({ config, database, logger: false });
const generated = `${JSON.stringify(app.swagger(), null, 2)}\n`;
await app.close();
await database.close();

if (mode === '--write') {
  writeFileSync(target, generated);
  process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
} else if (mode === '--check') {
  let committed = '';
  try {
    committed = readFileSync(target, 'utf8');
  } catch {
    // missing file: reported below
  }
  if (committed !== generated) {
    process.stderr.write(
      'openapi/openapi.json is out of date with the routes: run `npm run openapi:write` and commit it.\n',
    );
    process.exit(1);
  }
  process.stdout.write('openapi/openapi.json matches the routes\n');
} else {
  process.stdout.write(generated);
}
