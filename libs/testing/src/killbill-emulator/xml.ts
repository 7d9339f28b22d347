/**
 * Minimal XML reader for the Kill Bill emulator (test double). It understands what catalog.xml and
 * overdue.xml use: elements, attributes, text, CDATA, comments, processing instructions, a DOCTYPE line
 * and the predefined/numeric entities. Namespaces are kept as written (prefix included).
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

export class XmlParseError extends Error {}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(raw: string): string {
  return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    const known = ENTITIES[entity];
    if (known === undefined) throw new XmlParseError(`Unknown XML entity ${whole}`);
    return known;
  });
}

export function parseXml(source: string): XmlElement {
  let pos = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;

  const fail = (message: string): never => {
    const line = source.slice(0, pos).split('\n').length;
    throw new XmlParseError(`${message} (line ${line})`);
  };

  const skipUntil = (terminator: string): void => {
    const end = source.indexOf(terminator, pos);
    if (end < 0) fail(`Unterminated construct, expected ${terminator}`);
    pos = end + terminator.length;
  };

  while (pos < source.length) {
    const lt = source.indexOf('<', pos);
    const textEnd = lt < 0 ? source.length : lt;
    if (textEnd > pos) {
      const text = source.slice(pos, textEnd);
      const current = stack[stack.length - 1];
      if (current) current.text += decodeEntities(text);
      else if (text.trim() !== '') fail('Text outside of the root element');
      pos = textEnd;
      continue;
    }
    if (source.startsWith('<!--', pos)) {
      skipUntil('-->');
    } else if (source.startsWith('<![CDATA[', pos)) {
      const end = source.indexOf(']]>', pos);
      if (end < 0) fail('Unterminated CDATA section');
      const current = stack[stack.length - 1];
      if (!current) fail('CDATA outside of the root element');
      else current.text += source.slice(pos + 9, end);
      pos = end + 3;
    } else if (source.startsWith('<?', pos)) {
      skipUntil('?>');
    } else if (source.startsWith('<!', pos)) {
      skipUntil('>');
    } else if (source.startsWith('</', pos)) {
      const end = source.indexOf('>', pos);
      if (end < 0) fail('Unterminated closing tag');
      const name = source.slice(pos + 2, end).trim();
      const open = stack.pop();
      if (!open || open.name !== name) fail(`Unexpected closing tag </${name}>`);
      pos = end + 1;
    } else {
      const match =
        /^<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(
          source.slice(pos),
        );
      if (!match) fail('Malformed start tag');
      else {
        const [whole, name, rawAttributes, selfClosing] = match;
        const attributes: Record<string, string> = {};
        for (const attr of rawAttributes.matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
          attributes[attr[1]] = decodeEntities(attr[2] ?? attr[3] ?? '');
        }
        const element: XmlElement = { name, attributes, children: [], text: '' };
        const parent = stack[stack.length - 1];
        if (parent) parent.children.push(element);
        else if (root) fail('More than one root element');
        else root = element;
        if (selfClosing !== '/') stack.push(element);
        pos += whole.length;
      }
    }
  }
  if (stack.length > 0) fail(`Unclosed element <${stack[stack.length - 1].name}>`);
  if (!root) throw new XmlParseError('Empty XML document');
  return root;
}

/** Local name without a namespace prefix. */
function localName(element: XmlElement): string {
  const colon = element.name.indexOf(':');
  return colon < 0 ? element.name : element.name.slice(colon + 1);
}

export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((c) => localName(c) === name);
}

export function children(element: XmlElement | undefined, name: string): XmlElement[] {
  return element ? element.children.filter((c) => localName(c) === name) : [];
}

export function childText(element: XmlElement | undefined, name: string): string | undefined {
  const found = child(element, name);
  return found === undefined ? undefined : found.text.trim();
}
