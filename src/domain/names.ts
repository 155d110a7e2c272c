/** Names compared for matching ignore case and repeated white space (SPEC conventions). */
export function nameKey(name: string): string {
  return name.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** Tidy a display name: trimmed, inner white space collapsed, case kept. */
export function tidyName(name: string): string {
  return name.trim().replace(/\s+/g, ' ');
}
