import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Each test file gets its own database, cloned from the template that test/run.ts migrated. */
export function testDatabaseEnv() {
  const server = process.env.TEST_DATABASE_SERVER_URL;
  const template = process.env.TEST_TEMPLATE_DATABASE;
  const adminDb = process.env.TEST_DATABASE_ADMIN_DB ?? 'postgres';
  if (!server || !template) {
    throw new Error('Run the tests with `npm test` (it prepares the template database).');
  }
  return { server, template, adminDb };
}

async function admin(sqlText: string): Promise<void> {
  const { server, adminDb } = testDatabaseEnv();
  const client = new pg.Client({ connectionString: `${server}/${adminDb}` });
  await client.connect();
  try {
    await client.query(sqlText);
  } finally {
    await client.end();
  }
}

export async function cloneTemplate(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const { server, template } = testDatabaseEnv();
  const name = `billing_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  // Cloning can collide with another file's clone starting at the same instant; retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      await admin(`create database ${name} template ${template}`);
      break;
    } catch (err) {
      if (attempt >= 20 || (err as { code?: string }).code !== '55006') throw err;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }
  return {
    name,
    url: `${server}/${name}`,
    drop: () => admin(`drop database if exists ${name} with (force)`),
  };
}
