import { PassThrough } from 'node:stream';
import t from 'tap';
import { LOG_SERIALIZERS, REDACT_PATHS } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger, prettyLogs } from '../../src/infra/logger.js';

t.test('LOG_FORMAT auto is pretty at a terminal and JSON otherwise', async (t) => {
  const rows = [
    { format: 'auto', tty: true, pretty: true },
    { format: 'auto', tty: false, pretty: false },
    { format: 'json', tty: true, pretty: false },
    { format: 'pretty', tty: false, pretty: true },
  ] as const;
  for (const r of rows) t.equal(prettyLogs(r.format, r.tty), r.pretty, `${r.format}, tty ${r.tty}`);
  t.equal(loadConfig({}).logFormat, 'auto', 'default');
  t.throws(() => loadConfig({ LOG_FORMAT: 'xml' }), /LOG_FORMAT/, 'an unknown format is a configuration error');
});

async function lines(format: 'json' | 'pretty', tty: boolean): Promise<string> {
  const out = Object.assign(new PassThrough(), { isTTY: tty });
  let text = '';
  out.on('data', (d) => {
    text += d;
  });
  const log = await createLogger(
    { level: 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' }, serializers: LOG_SERIALIZERS },
    format,
    out,
  );
  log.info({ bank: { accountNumber: '000123456789' }, secret: 'cpb_secret' }, 'hello there');
  await new Promise((r) => setImmediate(r));
  return text;
}

t.test('pretty lines hide what JSON lines hide', async (t) => {
  const json = await lines('json', false);
  t.match(json, /^\{"level":30,/, 'JSON line');
  const pretty = await lines('pretty', false);
  t.match(pretty, /INFO.*hello there/, 'a readable line');
  t.notMatch(pretty, /^\{/, 'not JSON');
  for (const text of [json, pretty]) {
    t.notMatch(text, /000123456789|cpb_secret/, 'secrets redacted');
    t.match(text, /\[redacted\]/, 'redaction marker shown');
  }
});
