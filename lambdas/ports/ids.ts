/** Task ids: time-sortable (newest-first listing comes free), unique, URL-safe. */
export interface Ids {
  next(at: Date): string;
}
