// How a help screen lays out its items and wraps its text: commander 14's Help.formatItem and
// Help.boxWrap, written once here so that the full CLI (program.ts hands these to commander) and the
// root help the launcher prints without loading the CLI (root-help.ts, issue #18) are the same text at
// every terminal width by construction. test/cli/unit/root-help.test.ts compares the two.

/** Narrower than this, commander leaves a description unwrapped. */
const MIN_WIDTH_TO_WRAP = 40;
const ITEM_INDENT = 2;
const SPACER = 2;

// eslint-disable-next-line no-control-regex -- the escape sequences of terminal styles
const STYLE = /\x1b\[\d*(;\d*)*m/g;
const displayWidth = (s: string): number => s.replace(STYLE, '').length;

/** Wraps at whitespace to `width` columns, keeping the line breaks already there. */
export function boxWrap(str: string, width: number): string {
  if (width < MIN_WIDTH_TO_WRAP) return str;
  const wrapped: string[] = [];
  for (const line of str.split(/\r\n|\n/)) {
    const chunks = line.match(/\s*\S+/g);
    if (chunks === null) {
      wrapped.push('');
      continue;
    }
    let current = [chunks[0]];
    let currentWidth = displayWidth(chunks[0]);
    for (const chunk of chunks.slice(1)) {
      const w = displayWidth(chunk);
      if (currentWidth + w <= width) {
        current.push(chunk);
        currentWidth += w;
        continue;
      }
      wrapped.push(current.join(''));
      const next = chunk.trimStart();
      current = [next];
      currentWidth = displayWidth(next);
    }
    wrapped.push(current.join(''));
  }
  return wrapped.join('\n');
}

/** "  term  description", the term padded to `termWidth`, the description wrapped under itself. */
export function formatItem(term: string, termWidth: number, description: string, helpWidth: number): string {
  const indent = ' '.repeat(ITEM_INDENT);
  if (!description) return indent + term;
  const padded = term.padEnd(termWidth + term.length - displayWidth(term));
  const remaining = helpWidth - termWidth - SPACER - ITEM_INDENT;
  const preformatted = /\n[^\S\r\n]/.test(description);
  const text =
    remaining < MIN_WIDTH_TO_WRAP || preformatted
      ? description
      : boxWrap(description, remaining).replace(/\n/g, '\n' + ' '.repeat(termWidth + SPACER));
  return indent + padded + ' '.repeat(SPACER) + text.replace(/\n/g, `\n${indent}`);
}
