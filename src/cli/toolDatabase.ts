import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createDatabase, type Database } from '../infra/db.js';

/**
 * The database a command-line tool works on: `url` when given, else the local embedded one (started
 * for the tool and stopped by `close`). One connection: tools run statements one at a time.
 */
export async function openToolDatabase(
  config: Config,
  url: string | undefined,
  logger: Logger,
): Promise<{ database: Database; close: () => Promise<void> }> {
  let stop: (() => Promise<void>) | undefined;
  if (!url) {
    // Imported only here: production images do not ship the embedded binaries.
    const local = await (await import('../infra/embedded.js')).localBillingDatabase(config.dataDir);
    url = local.url;
    stop = local.embedded.stop;
  }
  const database = createDatabase(url, logger, 1, config.databaseLimits);
  return {
    database,
    close: async () => {
      await database.close();
      await stop?.();
    },
  };
}
