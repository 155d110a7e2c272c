import pino from 'pino';
import { loadConfig } from '../config.js';
import { FieldCipher } from '../store/crypto.js';
import { reencryptAll } from '../store/keyRotation.js';
import { openToolDatabase } from './toolDatabase.js';

/**
 * `npm run rotate-keys`: re-encrypts every encrypted column to the current data key (the first of
 * DATA_ENCRYPTION_KEYS) in batches, while the service runs. Run it after every instance has the new
 * key list; remove an old key only once this reports no failures. Exit status 1 when some row could
 * not be decrypted (its id is listed; no data is ever printed).
 */
const config = loadConfig();
const logger = pino({ level: config.logLevel });
const { database, close } = await openToolDatabase(config, config.databaseUrl, logger);
const cipher = new FieldCipher(config.dataEncryptionKeys);
let failed = 0;
try {
  const report = await reencryptAll(database.db, cipher, {
    onBatch: (c) => logger.debug({ column: c.column, scanned: c.scanned }, 'rotation progress'),
  });
  for (const c of report) {
    failed += c.failed.length;
    logger[c.failed.length > 0 ? 'error' : 'info'](
      { ...c, failed: c.failed.slice(0, 100), failedCount: c.failed.length, currentKeyId: cipher.currentKeyId },
      c.failed.length > 0 ? 'some rows could not be decrypted; they were left as they are' : 'column re-encrypted',
    );
  }
} finally {
  await close();
}
process.exit(failed > 0 ? 1 : 0);
