/**
 * Draws the member's bill (R32) on one US-letter page with pdfkit. What the bill says is decided in
 * the domain (`billContent`, src/domain/bill.ts); this module only places it. Geometry (points from
 * the top-left corner; docs/decisions.md, "The bill's layout"):
 * - the subscriber's address block sits in a #10 window (4.5in x 1.125in, 7/8in from the left) over
 *   the top panel of the tri-folded sheet: x 63-387, y 180-261, text from x 72, y 184;
 * - the coupon is the bottom third, below a dashed tear line at y 528 (11in / 3 from the bottom);
 * - the scan line is in DejaVu Sans Mono at the coupon's foot.
 * Fonts are DejaVu TrueType files from the `dejavu-fonts-ttf` package, embedded (subset) in every
 * PDF, so every machine renders the bill alike. The same content gives the same bytes: the document
 * dates come from the invoice and pdfkit derives the file ID from them.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import anyAscii from 'any-ascii';
import * as fontkit from 'fontkit';
import PDFDocument from 'pdfkit';
import type { BillContent } from '../../domain/bill.js';

const require = createRequire(import.meta.url);
// Parsed once per process: fontkit keeps what it decoded (glyphs, metrics), so a bill costs its
// layout and subset only. Each document still embeds its own subset of each face it uses.
//
// Every glyph is created once, from its own code point, before any text is laid out: fontkit caches a
// glyph with the characters of its first use, and a glyph first reached through a decomposition (the
// `U` of `Ü` under `ccmp`) kept no characters, so pdfkit wrote an empty ToUnicode entry for it in
// every later bill of the process (pdftotext lost each `U`; the bytes of a bill depended on the bills
// rendered before it). Found by the review of issue 14 (test/http/bill-pdf.test.ts).
const fontFile = (name: string) => {
  const font = fontkit.create(readFileSync(require.resolve(`dejavu-fonts-ttf/ttf/${name}.ttf`))) as fontkit.Font;
  // Compatibility characters (the `ﬁ` ligature) are left out: their glyphs stand for the letters
  // `fi` when layout forms them, and extract as those letters only if created by layout.
  for (const codePoint of font.characterSet) {
    const ch = String.fromCodePoint(codePoint);
    if (ch.normalize('NFKC') === ch) font.glyphForCodePoint(codePoint);
  }
  return font;
};
const FONTS = {
  sans: fontFile('DejaVuSans'),
  bold: fontFile('DejaVuSans-Bold'),
  mono: fontFile('DejaVuSansMono'),
};

/**
 * What a face can draw of a value (docs/decisions.md, "Bill text the fonts cannot draw"): NFKC first
 * (full-width and mathematical letters become the letters they stand for), then every run of
 * characters the face has no glyph for is romanized (any-ascii: `山田` -> `ShanTian`), so the bill
 * never prints a blank or a missing-glyph box and the address block stays machine-readable.
 */
export function drawable(value: string, font: keyof typeof FONTS): string {
  const face = FONTS[font];
  const nfkc = value.normalize('NFKC');
  let out = '';
  let missing = '';
  for (const ch of nfkc) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x80 || face.hasGlyphForCodePoint(cp)) {
      if (missing) out += romanized(missing, out);
      missing = '';
      out += ch;
    } else missing += ch;
  }
  return missing ? out + romanized(missing, out) : out;
}

function romanized(run: string, before: string): string {
  const latin = anyAscii(run).trim() || '?';
  return before !== '' && !/\s$/.test(before) ? ` ${latin}` : latin;
}

export const PAGE = { width: 612, height: 792 };
const M = 36;
const INK = '#111111';
const MUTED = '#444444';
const ACCENT = '#0b3d6e';
export const ADDRESS_WINDOW = { x: 63, y: 180, w: 324, h: 81 };
export const TEAR_Y = 528;

type Doc = PDFKit.PDFDocument;

/**
 * One line of text, never wrapped: with a `width`, a value too long for it is set smaller (down to
 * 70% of `size`) and then cut with an ellipsis, so a long name or plan never runs into its neighbour.
 */
function text(
  doc: Doc,
  font: keyof typeof FONTS,
  size: number,
  value: string,
  x: number,
  y: number,
  opts: { width?: number; align?: 'left' | 'right' | 'center' } = {},
) {
  doc.font(font).fontSize(size);
  let v = drawable(value, font);
  if (opts.width !== undefined) {
    const width = opts.width;
    let s = size;
    while (s > size * 0.7 && doc.fontSize(s).widthOfString(v) > width) s -= 0.25;
    if (doc.widthOfString(v) > width) {
      while (v.length > 1 && doc.widthOfString(`${v}…`) > width) v = v.slice(0, -1);
      v = `${v.trimEnd()}…`;
    }
  }
  // The width pdfkit gets is a point wider than the fitted text, so it never wraps it.
  doc.text(v, x, y, { lineBreak: false, ...opts, ...(opts.width !== undefined ? { width: opts.width + 1 } : {}) });
}

function wrapped(doc: Doc, font: keyof typeof FONTS, size: number, value: string, x: number, y: number, width: number) {
  doc.font(font).fontSize(size).text(drawable(value, font), x, y, { width, lineGap: 1 });
  return doc.y;
}

/** Label and value on one row: the label muted on the left, the value after it. */
function row(doc: Doc, label: string, value: string, x: number, y: number, widths: [number, number], bold = false) {
  doc.fillColor(MUTED);
  text(doc, 'sans', 8.5, label, x, y, { width: widths[0] });
  doc.fillColor(INK);
  text(doc, bold ? 'bold' : 'sans', 9, value, x + widths[0], y - 0.5, { width: widths[1] });
}

function header(doc: Doc, c: BillContent) {
  doc.fillColor(ACCENT);
  text(doc, 'bold', 20, c.sender.name, M, M);
  doc.fillColor(MUTED);
  c.sender.lines.forEach((l, i) => {
    text(doc, 'sans', 8.5, l, M, M + 28 + i * 11);
  });
  doc.fillColor(ACCENT);
  text(doc, 'bold', 13, 'Premium bill', 360, M);
  const rows: [string, string][] = [
    ['Member ID', c.memberId],
    ['Invoice number', c.invoiceNumber],
    ['Coverage month', c.coverageMonth],
    ['Due date', c.dueDate],
  ];
  rows.forEach(([label, value], i) => {
    row(doc, label, value, 360, M + 22 + i * 14, [90, 126], true);
  });
  doc
    .moveTo(M, 118)
    .lineTo(PAGE.width - M, 118)
    .lineWidth(0.75)
    .strokeColor(ACCENT)
    .stroke();
}

/** The subscriber's name and mailing address, where the envelope window shows them. */
function addressBlock(doc: Doc, c: BillContent) {
  doc.fillColor(INK);
  c.addressee.forEach((l, i) => {
    text(doc, i === 0 ? 'bold' : 'sans', 10, l, ADDRESS_WINDOW.x + 9, ADDRESS_WINDOW.y + 4 + i * 12.5, {
      width: ADDRESS_WINDOW.w - 18,
    });
  });
}

function amountDueBox(doc: Doc, c: BillContent) {
  const box = { x: 404, y: 150, w: 172, h: 96 };
  doc.roundedRect(box.x, box.y, box.w, box.h, 4).lineWidth(1).strokeColor(ACCENT).stroke();
  doc.fillColor(MUTED);
  text(doc, 'sans', 9, 'Amount due', box.x + 12, box.y + 12);
  doc.fillColor(INK);
  text(doc, 'bold', 22, c.amountDue, box.x + 12, box.y + 28, { width: box.w - 24 });
  doc.fillColor(MUTED);
  text(doc, 'sans', 8.5, 'Pay by', box.x + 12, box.y + 62);
  doc.fillColor(INK);
  text(doc, 'bold', 9.5, c.dueDate, box.x + 12, box.y + 74, { width: box.w - 24 });
}

function coverageAndAmounts(doc: Doc, c: BillContent, top: number) {
  doc.fillColor(ACCENT);
  text(doc, 'bold', 10.5, 'Your coverage', M, top);
  const cov: [string, string][] = [
    ['Coverage', c.coverage],
    ['Carrier', c.carrierName],
    ['Plan', c.planName],
    ['Coverage month', c.coverageMonth],
    ['Subscriber', c.addressee[0] ?? ''],
  ];
  cov.forEach(([label, value], i) => {
    row(doc, label, value, M, top + 18 + i * 14, [86, 170]);
  });
  const x = 330;
  doc.fillColor(ACCENT);
  text(doc, 'bold', 10.5, 'Amounts', x, top);
  c.amounts.forEach((a, i) => {
    const y = top + 18 + i * 16;
    const last = i === c.amounts.length - 1;
    doc.fillColor(last ? INK : MUTED);
    text(doc, last ? 'bold' : 'sans', 9, a.label, x, y, { width: 150 });
    doc.fillColor(INK);
    text(doc, last ? 'bold' : 'sans', 9.5, a.value, x, y, { width: PAGE.width - M - x, align: 'right' });
    if (!last) {
      doc
        .moveTo(x, y + 13)
        .lineTo(PAGE.width - M, y + 13)
        .lineWidth(0.4)
        .strokeColor('#999999')
        .stroke();
    }
  });
  row(doc, 'Due date', c.dueDate, x, top + 18 + c.amounts.length * 16 + 4, [86, 160], true);
  return top + 18 + cov.length * 14 + 8;
}

function binderWarning(doc: Doc, c: BillContent, top: number): number {
  if (!c.binderWarning) return top;
  const h = 42;
  doc.rect(M, top, PAGE.width - 2 * M, h).fillAndStroke('#fff4d6', '#b7791f');
  doc.fillColor(INK);
  text(doc, 'bold', 10, c.binderWarning.heading, M + 10, top + 7);
  wrapped(doc, 'sans', 8.5, c.binderWarning.text, M + 10, top + 20, PAGE.width - 2 * M - 20);
  return top + h + 10;
}

function howToPay(doc: Doc, c: BillContent, top: number) {
  doc.fillColor(ACCENT);
  text(doc, 'bold', 10.5, 'How to pay', M, top);
  const gap = 12;
  const w = (PAGE.width - 2 * M - 2 * gap) / 3;
  c.howToPay.forEach((panel, i) => {
    const x = M + i * (w + gap);
    doc.fillColor(INK);
    text(doc, 'bold', 9.5, panel.title, x, top + 17);
    let y = top + 31;
    for (const line of panel.lines) {
      doc.fillColor(INK);
      y = wrapped(doc, 'sans', 8, line, x, y, w) + 3;
    }
  });
}

function tearLine(doc: Doc) {
  doc
    .moveTo(M - 18, TEAR_Y)
    .lineTo(PAGE.width - M + 18, TEAR_Y)
    .dash(4, { space: 3 })
    .lineWidth(1)
    .strokeColor(INK)
    .stroke()
    .undash();
  doc.fillColor(MUTED);
  text(doc, 'sans', 7.5, '✂  Detach here and return this coupon with your check or money order.', M, TEAR_Y + 5);
}

function coupon(doc: Doc, c: BillContent) {
  const top = TEAR_Y + 22;
  const k = c.coupon;
  doc.fillColor(ACCENT);
  text(doc, 'bold', 12, `${k.payableTo} payment coupon`, M, top);
  const rows: [string, string][] = [
    ['Member ID', k.memberId],
    ['Subscriber', k.subscriberName],
    ['Invoice number', k.invoiceNumber],
    ['Coverage month', k.coverageMonth],
    ['Due date', k.dueDate],
    ['Amount due', k.amountDue],
  ];
  rows.forEach(([label, value], i) => {
    row(doc, label, value, M, top + 22 + i * 14, [90, 170], true);
  });
  const x = 330;
  doc.fillColor(INK);
  text(doc, 'bold', 9, 'Amount enclosed', x, top + 2);
  doc
    .rect(x, top + 16, 200, 30)
    .lineWidth(1)
    .strokeColor(INK)
    .stroke();
  text(doc, 'bold', 14, '$', x + 8, top + 23);
  doc.fillColor(MUTED);
  wrapped(
    doc,
    'sans',
    8,
    `Make your check or money order payable to "${k.payableTo}". Write your Member ID on it. Do not send cash.`,
    x,
    top + 54,
    246,
  );
  doc.fillColor(INK);
  text(doc, 'sans', 8, 'Mail to:', x, top + 92);
  k.mailTo.forEach((l, i) => {
    text(doc, i === 0 ? 'bold' : 'sans', 10, l, x + 14, top + 106 + i * 12.5);
  });
  text(doc, 'mono', 11, k.scanLine, M, PAGE.height - M - 14, { width: PAGE.width - 2 * M, align: 'right' });
}

function voidStamp(doc: Doc) {
  const box = { x: 156, y: 300, w: 300, h: 110 };
  doc.save();
  doc.opacity(0.55);
  doc.roundedRect(box.x, box.y, box.w, box.h, 8).lineWidth(5).strokeColor('#b00020').stroke();
  doc.fillColor('#b00020');
  text(doc, 'bold', 80, 'VOID', box.x, box.y + 8, { width: box.w, align: 'center' });
  doc.restore();
}

/** R32: the bill as PDF bytes; the same content gives the same bytes. */
export function renderBill(c: BillContent): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'LETTER',
    margin: 0,
    autoFirstPage: true,
    // No default font: pdfkit would load Helvetica (a standard-14 font, never embedded); every text
    // call names one of the embedded faces below.
    font: null as unknown as string,
    info: {
      Title: c.title,
      Author: 'Health Connector',
      Subject: `Premium bill, ${c.coverageMonth}`,
      CreationDate: c.createdAt,
      ModDate: c.modifiedAt,
    },
  });
  // pdfkit takes a fontkit font where its types say file or bytes (PDFFontFactory.open).
  for (const [name, font] of Object.entries(FONTS)) doc.registerFont(name, font as unknown as Buffer);
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  header(doc, c);
  addressBlock(doc, c);
  amountDueBox(doc, c);
  const afterCoverage = coverageAndAmounts(doc, c, 266);
  howToPay(doc, c, binderWarning(doc, c, afterCoverage));
  tearLine(doc);
  coupon(doc, c);
  if (c.void) voidStamp(doc);
  doc.end();
  return done;
}
