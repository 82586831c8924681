import { monotonicFactory } from 'ulid';
import type { Ids } from '../ports/ids.js';

const ulid = monotonicFactory();

/** ULIDs, lower-cased: 26 characters, sortable by creation time, monotonic within a process. */
export const ulidIds: Ids = { next: (at) => ulid(at.getTime()).toLowerCase() };
