/**
 * Reading a bill PDF the way a person or a printer would, with poppler's command-line tools
 * (pdftotext, pdfinfo, pdffonts, pdftoppm; `.ci/run` installs poppler-utils): its text, its page
 * geometry, its fonts, where words sit on the page, and where ink lands.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

function withPdf<T>(pdf: Buffer, work: (file: string, dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'bill-'));
  try {
    const file = path.join(dir, 'bill.pdf');
    writeFileSync(file, pdf);
    return work(file, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });

/** What `pdftotext` prints (reading order, no layout). */
export function pdfText(pdf: Buffer): string {
  return withPdf(pdf, (file) => run('pdftotext', [file, '-']));
}

/** `pdfinfo` as key/value pairs (`Pages`, `Page size`, ...). */
export function pdfInfo(pdf: Buffer): Record<string, string> {
  const out = withPdf(pdf, (file) => run('pdfinfo', [file]));
  return Object.fromEntries(
    out
      .split('\n')
      .map((l) => /^([^:]+):\s*(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => [m[1] as string, (m[2] as string).trim()]),
  );
}

/** `pdffonts` rows: font name, type and whether it is embedded. */
export function pdfFonts(pdf: Buffer): { name: string; type: string; embedded: boolean }[] {
  const out = withPdf(pdf, (file) => run('pdffonts', [file]));
  return out
    .split('\n')
    .slice(2)
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const cols = l.trim().split(/\s+/);
      // name type [subtype words] encoding emb sub uni object ID: the three yes/no flags are fixed from the end.
      const emb = cols.at(-5);
      return { name: cols[0] as string, type: cols.slice(1, -6).join(' '), embedded: emb === 'yes' };
    });
}

export interface Word {
  text: string;
  /** Points from the page's top-left corner. */
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
}

/** Every word with its box in points (`pdftotext -bbox`). */
export function pdfWords(pdf: Buffer): Word[] {
  const html = withPdf(pdf, (file) => run('pdftotext', ['-bbox', file, '-']));
  return [
    ...html.matchAll(/<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g),
  ].map((m) => ({
    xMin: Number(m[1]),
    yMin: Number(m[2]),
    xMax: Number(m[3]),
    yMax: Number(m[4]),
    text: (m[5] as string)
      .replace(/&amp;/g, '&')
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>'),
  }));
}

export interface Raster {
  width: number;
  height: number;
  /** Points per pixel. */
  scale: number;
  /** Pixels darker than mid-grey inside a rectangle given in points from the top-left corner. */
  darkPixels(rect: { x: number; y: number; w: number; h: number }): number;
}

/** The page rendered by `pdftoppm` in grey at `dpi` (a PGM), with a dark-pixel counter. */
export function pdfRaster(pdf: Buffer, dpi = 36): Raster {
  const pgm = withPdf(pdf, (file, dir) => {
    execFileSync('pdftoppm', ['-r', String(dpi), '-gray', '-singlefile', file, path.join(dir, 'page')]);
    return readFileSync(path.join(dir, 'page.pgm'));
  });
  // P5 header: magic, width, height, maxval, each separated by white space, then one byte per pixel.
  const header = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(pgm.subarray(0, 64).toString('latin1'));
  if (!header) throw new Error('pdftoppm did not write a binary PGM');
  const width = Number(header[1]);
  const height = Number(header[2]);
  const pixels = pgm.subarray(header[0].length);
  const scale = 72 / dpi;
  return {
    width,
    height,
    scale,
    darkPixels: ({ x, y, w, h }) => {
      let n = 0;
      for (let py = Math.floor(y / scale); py < Math.min(height, Math.ceil((y + h) / scale)); py++) {
        for (let px = Math.floor(x / scale); px < Math.min(width, Math.ceil((x + w) / scale)); px++) {
          if ((pixels[py * width + px] ?? 255) < 128) n++;
        }
      }
      return n;
    },
  };
}
