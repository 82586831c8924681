/**
 * POSIX shell patterns (IEEE 1003.1 §2.13) as the TES spec allows them in output paths: `*` and `?`
 * never match `/`, `[...]` is a bracket expression (`!` or `^` negates), `\` escapes.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) {
      source += escape(pattern[i + 1] as string);
      i += 1;
    } else if (c === '*') {
      source += '[^/]*';
    } else if (c === '?') {
      source += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        source += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      source += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = end;
    } else {
      source += escape(c);
    }
  }
  return new RegExp(`^${source}$`);
}

function escape(c: string): string {
  return /[.+^${}()|[\]\\*?]/.test(c) ? `\\${c}` : c;
}

export function hasWildcard(path: string): boolean {
  return /[*?[]/.test(path);
}
