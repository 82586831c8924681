/** What every view shares: the API client, where it draws, and polling that stops while the tab is hidden. */
import { ApiError, type TesClient } from './api.js';

export interface ViewContext {
  client: TesClient;
  /** Where the view draws (index.html's <main>). */
  main: HTMLElement;
  /** Goes to a route (`#/tasks/<id>`), drawing it again when it is the current one. */
  navigate(hash: string): void;
  /** Handles a call the API refused for want of a valid token (sign in again); false for any other error. */
  refusedToken(error: unknown): boolean;
}

export interface View {
  /** Stops the view's polling; it is being replaced. */
  dispose(): void;
}

/** The message of an error, for a status line. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.status})`;
  if (error instanceof TypeError) return `the API could not be reached (${error.message})`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs `step` now and again after the delay each run answers (undefined: no more), one run at a
 * time, and only while the page is visible: a hidden tab asks nothing, and catches up when shown.
 */
export class Poller {
  private timer: number | undefined;
  private running = false;
  private again = false;
  private finished = false;
  private disposed = false;
  private readonly onVisibility = () => {
    if (document.visibilityState === 'visible' && this.timer === undefined && !this.finished) this.now();
  };

  constructor(private readonly step: () => Promise<number | undefined>) {
    document.addEventListener('visibilitychange', this.onVisibility);
    this.now();
  }

  /** Runs the step at once (after the one running, if any), and polls again if it had stopped. */
  now(): void {
    if (this.disposed) return;
    this.finished = false;
    window.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.run();
  }

  stop(): void {
    this.disposed = true;
    this.finished = true;
    window.clearTimeout(this.timer);
    this.timer = undefined;
    document.removeEventListener('visibilitychange', this.onVisibility);
  }

  private async run(): Promise<void> {
    if (document.visibilityState !== 'visible') return;
    this.running = true;
    let delay: number | undefined;
    try {
      delay = await this.step();
    } finally {
      this.running = false;
    }
    if (this.again) {
      this.again = false;
      if (!this.finished) void this.run();
    } else if (this.finished) {
      // stopped meanwhile
    } else if (delay === undefined) {
      this.finished = true;
    } else {
      this.timer = window.setTimeout(() => {
        this.timer = undefined;
        void this.run();
      }, delay);
    }
  }
}
