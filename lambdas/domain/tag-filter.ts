/**
 * ListTasks tag filters. `tag_key` and `tag_value` are zipped by position; a key without a value
 * (or with an empty one) matches any value but requires the key; every pair must match (AND).
 */

export interface TagCondition {
  key: string;
  /** '' means "key present, any value". */
  value: string;
}

/** Zips repeated `tag_key` / `tag_value` query values into conditions. */
export function parseTagFilter(keys: readonly string[], values: readonly string[]): TagCondition[] {
  return keys.map((key, i) => ({ key, value: values[i] ?? '' }));
}

/** True when `tags` satisfies every condition. */
export function matchesTags(tags: Readonly<Record<string, string>> | undefined, conditions: readonly TagCondition[]): boolean {
  return conditions.every(({ key, value }) => {
    if (tags === undefined || !Object.hasOwn(tags, key)) return false;
    return value === '' || tags[key] === value;
  });
}
