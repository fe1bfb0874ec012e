/**
 * The explorer's only view code: `h(tag, attributes, ...children)` builds an element (event handlers for
 * `on*` attributes, text for strings), `mount` replaces a container's children. No HTML string is ever
 * parsed: text from the directory can never become markup, and the page needs no `unsafe-inline` in its
 * Content-Security-Policy.
 */

export type Child = Node | string | number | false | null | undefined | Child[];
type Attribute = string | number | boolean | undefined | ((e: Event) => void);

function append(parent: Node, child: Child): void {
  if (child === false || child === null || child === undefined) return;
  if (Array.isArray(child)) for (const c of child) append(parent, c);
  else parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
}

/** An element with attributes (`on*` are listeners, `true` is present, `false`/undefined absent) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, Attribute> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else if (value !== false && value !== undefined) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

/** An SVG element with attributes and children (the chart). */
export function svg(tag: string, attributes: Record<string, string | number>, ...children: Child[]): SVGElement {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, String(value));
  append(el, children);
  return el;
}

/** Replaces the children of `parent` with `children`. */
export function mount(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A labelled text input: the label is a real <label> for screen readers and a larger click target. */
export function field(label: string, input: HTMLInputElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  const id = input.id || `f-${label.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  input.id = id;
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) input.setAttribute('aria-describedby', hintId);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    input,
    hint && h('p', { class: 'hint', id: hintId }, hint),
  );
}

/** A link that downloads `text` as a file named `name` (an evidence file), from a blob: URL. */
export function downloadLink(name: string, text: string, label: string): HTMLAnchorElement {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  return h('a', { href: url, download: name, class: 'download' }, label);
}

/** A table in a region that scrolls sideways on a narrow screen (focusable, so a keyboard can scroll it). */
export function scrolling(label: string, table: HTMLTableElement): HTMLElement {
  return h('div', { class: 'table-scroll', role: 'region', 'aria-label': label, tabindex: '0' }, table);
}
