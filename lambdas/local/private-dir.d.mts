/** `dir` when it is this user's alone (made so when missing), else undefined. */
export function privateDirectory(dir: string): string | undefined;
