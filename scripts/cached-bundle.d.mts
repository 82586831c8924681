/** This repository: where sources are read and node_modules is. */
export const REPO: string;

/** The directory holding the bundle of `entries`, built now if these sources have not been built yet. */
export function cachedBundle(options: {
  name: string;
  entries: string[];
  watch: string[];
  external?: string[];
  launcher: string;
  what: string;
  repo?: string;
  /** Builds more into the same directory, with the esbuild module the bundle was built with. */
  also?: (esbuild: typeof import('esbuild'), outdir: string) => Promise<void>;
  /** Says nothing while it builds. */
  quiet?: boolean;
}): Promise<string>;

/** Keeps V8's compiled code beside the bundle; true when it is on. */
export function useCompileCache(built: string): boolean;
