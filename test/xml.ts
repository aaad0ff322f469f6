// A small strict XML 1.0 parser for tests: one root element, proper nesting, quoted attributes
// (no duplicates, no raw `<`), only the five predefined entities and character references, no
// character XML forbids. Anything else throws, naming where. No DTDs, no namespaces checks.

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The character data directly inside it, decoded. */
  text: string;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const FORBIDDEN = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

function decode(raw: string, at: number): string {
  if (FORBIDDEN.test(raw)) throw new Error(`a character XML forbids near offset ${at}`);
  return raw.replace(/&([^;]*);|&/g, (m, ref: string | undefined) => {
    if (ref === undefined) throw new Error(`a bare & near offset ${at}`);
    if (ref in ENTITIES) return ENTITIES[ref];
    const n = /^#x[0-9a-fA-F]+$/.test(ref) ? parseInt(ref.slice(2), 16) : /^#[0-9]+$/.test(ref) ? Number(ref.slice(1)) : NaN;
    if (!Number.isFinite(n) || n > 0x10ffff) throw new Error(`unknown entity ${m} near offset ${at}`);
    const ch = String.fromCodePoint(n);
    if (FORBIDDEN.test(ch)) throw new Error(`a character reference XML forbids (${m}) near offset ${at}`);
    return ch;
  });
}

export function parseXml(xml: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at offset ${i}: ${JSON.stringify(xml.slice(i, i + 30))}`);
  };
  const skipMisc = () => {
    for (;;) {
      while (/\s/.test(xml[i] ?? '')) i++;
      if (xml.startsWith('<!--', i)) {
        const end = xml.indexOf('-->', i + 4);
        if (end < 0 || xml.slice(i + 4, end).includes('--')) fail('a bad comment');
        i = end + 3;
      } else return;
    }
  };
  if (xml.charCodeAt(0) === 0xfeff) i = 1;
  if (xml.startsWith('<?xml', i)) {
    const end = xml.indexOf('?>', i);
    if (end < 0) fail('an unclosed XML declaration');
    const decl = xml.slice(i + 5, end);
    if (!/^\s+version="1\.[0-9]"(\s+encoding="[A-Za-z][-A-Za-z0-9._]*")?(\s+standalone="(yes|no)")?\s*$/.test(decl)) fail('a bad XML declaration');
    i = end + 2;
  }
  skipMisc();
  if (xml.startsWith('<!DOCTYPE', i)) fail('a DOCTYPE (not supported)');

  function element(): XmlElement {
    if (xml[i] !== '<') fail('expected an element');
    i++;
    const name = NAME.exec(xml.slice(i))?.[0] ?? fail('a bad element name');
    i += name.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      const spaced = /\s/.test(xml[i] ?? '');
      while (/\s/.test(xml[i] ?? '')) i++;
      if (xml.startsWith('/>', i)) {
        i += 2;
        return { name, attrs, children: [], text: '' };
      }
      if (xml[i] === '>') {
        i++;
        break;
      }
      if (!spaced) fail('no space before an attribute');
      const key = NAME.exec(xml.slice(i))?.[0] ?? fail('a bad attribute name');
      i += key.length;
      while (/\s/.test(xml[i] ?? '')) i++;
      if (xml[i] !== '=') fail('an attribute without =');
      i++;
      while (/\s/.test(xml[i] ?? '')) i++;
      const quote = xml[i];
      if (quote !== '"' && quote !== "'") fail('an unquoted attribute');
      const end = xml.indexOf(quote, i + 1);
      if (end < 0) fail('an unclosed attribute');
      const raw = xml.slice(i + 1, end);
      if (raw.includes('<')) fail('a < in an attribute');
      if (key in attrs) fail(`attribute ${key} twice`);
      attrs[key] = decode(raw, i);
      i = end + 1;
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      if (i >= xml.length) fail(`<${name}> is never closed`);
      if (xml.startsWith('</', i)) {
        i += 2;
        if (!xml.startsWith(name, i)) fail(`a closing tag that is not </${name}>`);
        i += name.length;
        while (/\s/.test(xml[i] ?? '')) i++;
        if (xml[i] !== '>') fail('a bad closing tag');
        i++;
        return { name, attrs, children, text };
      }
      if (xml.startsWith('<!--', i)) {
        skipMisc();
        continue;
      }
      if (xml.startsWith('<![CDATA[', i)) {
        const end = xml.indexOf(']]>', i);
        if (end < 0) fail('an unclosed CDATA section');
        text += xml.slice(i + 9, end);
        i = end + 3;
        continue;
      }
      if (xml[i] === '<') {
        children.push(element());
        continue;
      }
      const next = xml.indexOf('<', i);
      const raw = xml.slice(i, next < 0 ? xml.length : next);
      if (raw.includes(']]>')) fail(']]> in character data');
      text += decode(raw, i);
      i += raw.length;
    }
  }

  const root = element();
  skipMisc();
  if (i !== xml.length) fail('content after the root element');
  return root;
}
