// Runs in the browser (compiled to dist/playground/web/, served as ES modules). Agents' and users'
// words are hostile input: they only ever go into the page as text nodes, never as HTML (and the
// page's Content-Security-Policy allows no inline script). No framework: a few elements.

type Child = Node | string | undefined | false;

export interface Props {
  class?: string;
  /** Attributes, set as given (values are text: `setAttribute` never parses HTML). */
  attrs?: Record<string, string | undefined>;
  on?: Partial<Record<keyof HTMLElementEventMap, (event: Event) => void>>;
}

/** An element with text children: strings become text nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  for (const [name, value] of Object.entries(props.attrs ?? {})) if (value !== undefined) node.setAttribute(name, value);
  for (const [type, fn] of Object.entries(props.on ?? {})) node.addEventListener(type, fn);
  for (const child of children) if (child !== undefined && child !== false) node.append(child);
  return node;
}

/** Replace what `parent` holds. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...children.filter((c): c is Node | string => c !== undefined && c !== false));
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `09:04:12`, in the browser's time zone. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `29:05` or `1:02:03`; negative as `-0:12`. */
export function countdown(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const s = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${sign}${h}:${pad(m)}:${pad(s % 60)}` : `${sign}${m}:${pad(s % 60)}`;
}

/** `+30 min`, `+1 h 5 min`. */
export function aheadWords(ms: number): string {
  const min = Math.round(ms / 60_000);
  if (min < 1) return 'real time';
  const h = Math.floor(min / 60);
  return `+${h ? `${h} h ` : ''}${min % 60 || !h ? `${min % 60} min` : ''}`.trim() + ' ahead';
}
