type Esbuild = typeof import('esbuild');

/** Builds the dashboard into `outdir` (made if missing): index.html, app.js, app.css, icon.svg. */
export function buildDashboard(esbuild: Esbuild, outdir: string): Promise<void>;

/** The same, synchronously. */
export function buildDashboardSync(esbuild: Esbuild, outdir: string): void;
