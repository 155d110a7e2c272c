import pg from 'pg';

/**
 * Tooling helpers for the test runner, benches and chaos checks (not used by the service): split a
 * database URL into its server and database, and run one administrative statement on its own
 * connection (create or drop a database).
 */
export function serverOf(databaseUrl: string): { server: string; adminDb: string } {
  const u = new URL(databaseUrl);
  const adminDb = u.pathname.replace(/^\//, '') || 'postgres';
  u.pathname = '';
  return { server: u.toString().replace(/\/$/, ''), adminDb };
}

export async function admin(url: string, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}
