// The few DOM helpers the example pages share: find an element or fail loudly, and build one in a line.

/** `querySelector` that throws: a missing element is a bug in the page, not a state to handle. */
export function element<T extends Element = HTMLElement>(selector: string, root: ParentNode = document): T {
  const found = root.querySelector(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return found as T;
}

type Child = Node | string | number | null | undefined | false;

/** `h('td', { class: 'num' }, 'text', child)`: attributes as strings, children as nodes or text. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) node.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'number' ? String(child) : child);
  }
  return node;
}
