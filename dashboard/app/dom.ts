/**
 * The only way the page makes markup: elements by name, attributes by setAttribute, and every
 * string as a text node. Task names, commands, logs and tags come from whoever submitted the task,
 * so nothing here ever parses a string as HTML (and the CSP's Trusted Types would refuse it).
 */

export type Child = Node | string | number | false | null | undefined;
export type Attributes = Readonly<Record<string, string | boolean | undefined>>;

/** `h('td', { class: 'id' }, task.id)`: an element with attributes and children (strings become text). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    // Handlers are attached with addEventListener; an attribute never carries code.
    if (/^on/i.test(name)) throw new Error(`event handler attribute ${name} refused`);
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : value);
  }
  append(element, ...children);
  return element;
}

/** Appends children, strings and numbers as text. */
export function append(parent: ParentNode, ...children: Child[]): void {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(typeof child === 'object' ? child : String(child));
  }
}

/** The element with this id, which index.html holds. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`index.html has no #${id}`);
  return element as T;
}

/** A `<pre>` of text, kept scrolled to its end while the reader has not scrolled away from it. */
export function tail(text: string, previous: HTMLPreElement | undefined, attributes: Attributes = {}): HTMLPreElement {
  const pre = h('pre', { class: 'log', ...attributes }, text);
  const following = previous === undefined || previous.scrollHeight - previous.scrollTop - previous.clientHeight < 8;
  requestAnimationFrame(() => {
    pre.scrollTop = following ? pre.scrollHeight : (previous?.scrollTop ?? 0);
  });
  return pre;
}
