/* global process */
/**
 * A directory under a shared place (the system temporary directory) that only this user can write:
 * made so when missing, refused when anyone else made it, could write it, or it is a link. What npm
 * start keeps there it runs, so another local user must not be able to put anything in it.
 */
import { lstatSync, mkdirSync } from 'node:fs';

/** `dir` when it is this user's alone, else undefined. */
export function privateDirectory(dir) {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (error.code !== 'EEXIST') return undefined;
  }
  const info = lstatSync(dir);
  const mine = process.getuid === undefined || info.uid === process.getuid();
  return info.isDirectory() && mine && (info.mode & 0o077) === 0 ? dir : undefined;
}
