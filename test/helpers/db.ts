import { randomBytes } from 'node:crypto';
import { admin } from './serverAdmin.js';

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

export async function cloneTemplate(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const { server, template, adminDb } = testDatabaseEnv();
  const onServer = (text: string) => admin(`${server}/${adminDb}`, text).then(() => {});
  const name = `billing_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  // Cloning can collide with another file's clone starting at the same instant; retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      await onServer(`create database ${name} template ${template}`);
      break;
    } catch (err) {
      if (attempt >= 20 || (err as { code?: string }).code !== '55006') throw err;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }
  return {
    name,
    url: `${server}/${name}`,
    drop: () => onServer(`drop database if exists ${name} with (force)`),
  };
}
