/**
 * Live output from a TES that has no streaming endpoint. While an executor runs, GetTask's FULL view
 * holds the last part (here 10 KiB) of what it has written so far: a tail that grows, and once it is
 * full, loses its start. What a new tail adds to the one printed before is what follows the longest
 * end of the old tail that the new one starts with. When they share nothing, more arrived between
 * two looks than a tail holds, and what lay between is lost.
 */
import { LOG_TAIL_BYTES } from '../lambdas/ports/log-store.js';

/** What `current` adds to `previous`, two tails of one growing stream; `skipped` when some of it was lost between them. */
export function newOutput(previous: string, current: string): { text: string; skipped: boolean } {
  if (current.startsWith(previous)) return { text: current.slice(previous.length), skipped: false };
  // The tail was cut at a byte count: its first character may be the end of one cut in two.
  const whole = current.replace(/^\uFFFD{1,3}/, '');
  const shared = overlap(previous, whole);
  if (shared === 0 && whole !== '') return { text: whole, skipped: true };
  return { text: whole.slice(shared), skipped: false };
}

/**
 * A tail read while the executor still writes may end in the middle of a character (decoded as
 * U+FFFD): that part is left for the next look, which has the whole character.
 */
export function settledTail(tail: string, final: boolean): string {
  return final ? tail : tail.replace(/\uFFFD{1,3}$/, '');
}

/** The length of the longest end of `previous` that `current` starts with (Knuth–Morris–Pratt: linear in both). */
export function overlap(previous: string, current: string): number {
  if (previous === '' || current === '') return 0;
  // failure[i]: the longest proper prefix of current[0..i] that is also its suffix.
  const failure = new Array<number>(current.length).fill(0);
  for (let i = 1, k = 0; i < current.length; i += 1) {
    while (k > 0 && current[i] !== current[k]) k = failure[k - 1] ?? 0;
    if (current[i] === current[k]) k += 1;
    failure[i] = k;
  }
  let matched = 0;
  // An end of `previous` longer than `current` cannot be its start.
  for (let i = Math.max(0, previous.length - current.length); i < previous.length; i += 1) {
    const c = previous[i];
    while (matched > 0 && (matched === current.length || current[matched] !== c)) matched = failure[matched - 1] ?? 0;
    if (current[matched] === c) matched += 1;
  }
  return matched;
}

/**
 * True when a tail is as long as this server cuts tails to (10 KiB): what its executor wrote before
 * it is not shown. A character cut in two at either end decodes to U+FFFD (3 bytes for each 1 to 3
 * bytes), so a cut tail may be up to 8 bytes longer. Servers that keep whole streams seldom hit
 * this size to the byte.
 */
export function lostItsStart(tail: string, tailBytes = LOG_TAIL_BYTES): boolean {
  const bytes = Buffer.byteLength(tail, 'utf8');
  return bytes >= tailBytes && bytes <= tailBytes + 8;
}
