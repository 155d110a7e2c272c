/**
 * Names compared for matching ignore case and repeated white space (SPEC conventions), and how the
 * same letters were typed: Unicode compatibility forms are unified (NFKC: a precomposed "ë" and "e" +
 * combining diaeresis, full-width letters) and case is folded fully ("Straße" and "STRASSE").
 */
export function nameKey(name: string): string {
  return name.normalize('NFKC').trim().replace(/\s+/g, ' ').toUpperCase().toLowerCase().normalize('NFKC');
}

/** Tidy a display name: trimmed, inner white space collapsed, case kept. */
export function tidyName(name: string): string {
  return name.trim().replace(/\s+/g, ' ');
}
