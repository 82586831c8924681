/**
 * Host paths in task URLs: a `file://` URL or a bare absolute path names a file on the server's own
 * disk. Only the local stack stages them, and only inside the directories its operator allows
 * (TES_LOCAL_FILE_DIRS, storage-policy.ts); everywhere else CreateTask refuses them. Nextflow's TES
 * executor with a local work directory sends bare paths (`/home/me/work/3f/9a1c…/.command.run`),
 * cwl-tes `file:///…` URLs.
 *
 * A URL is percent-decoded (`file:///a%20b` is `/a b`); a bare path is taken literally. Either way the
 * path must be absolute and normalized: no `.`, `..` or empty segment (one trailing `/` is dropped)
 * and no control character. A `file://` URL names this machine only: an empty host or `localhost`.
 */

/** A C0 control character or DEL: no path, name or URL the service keeps may hold one. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** Whether `url` names the server's disk: a `file:` URL or a bare absolute path. */
export function isHostUrl(url: string): boolean {
  return url.startsWith('/') || /^file:/i.test(url);
}

/** The host path `url` names, or why it names none. */
export function parseHostUrl(url: string): { path: string } | { problem: string } {
  let path: string;
  if (url.startsWith('/')) {
    path = url;
  } else {
    const rest = /^file:(.*)$/is.exec(url)?.[1];
    if (rest === undefined) return { problem: 'is not a file:// URL or an absolute path' };
    let encoded = rest;
    if (rest.startsWith('//')) {
      const cut = rest.indexOf('/', 2);
      const host = cut < 0 ? rest.slice(2) : rest.slice(2, cut);
      if (host !== '' && host.toLowerCase() !== 'localhost') {
        return { problem: `names the host ${JSON.stringify(host)}; only this machine's files can be staged (file:///path or file://localhost/path)` };
      }
      encoded = cut < 0 ? '' : rest.slice(cut);
    }
    if (!encoded.startsWith('/')) return { problem: 'must name an absolute path (file:///path)' };
    if (/[?#]/.test(encoded)) return { problem: "must not hold a query or fragment ('?' or '#'; in a file name they are %3F and %23)" };
    try {
      path = decodeURIComponent(encoded);
    } catch {
      return { problem: 'holds a malformed percent-encoding' };
    }
  }
  if (CONTROL_CHARACTER.test(path)) return { problem: 'must not contain control characters (NUL, newline, ...)' };
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  const segments = path.split('/').slice(1);
  if (segments.some((s) => s === '.' || s === '..')) return { problem: "must be a normalized path (no '.' or '..' segments)" };
  if (path !== '/' && segments.includes('')) return { problem: 'must be a normalized path (no empty segments)' };
  return { path };
}

/** A host directory as a `file://` URL ending in '/', percent-encoded as a client would send it. */
export function hostDirectoryUrl(dir: string): string {
  const segments = dir.replace(/\/+$/, '').split('/').map((s) => encodeURIComponent(s));
  return `file://${segments.join('/')}/`;
}
