// The parameters a function declares, read from its source. `fn.length` stops counting at the first
// default value or rest parameter, so `(scope, receive, send = null)` has length 2 and would pass
// for a node (req, res) handler; interface detection compares the two before trusting either.

const OPEN = '([{';
const CLOSE = ')]}';

/**
 * The declared parameters of `fn`, each as written (`send = null`, `...rest`, `{ a, b }`), with
 * comments removed and whitespace collapsed; `undefined` when the source does not show them
 * (native and bound functions, classes).
 */
export function parameterList(fn: (...args: never[]) => unknown): string[] | undefined {
  let source: string;
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    return undefined;
  }
  if (/\[native code\]\s*\}\s*$/.test(source) || /^class\b/.test(source)) return undefined;
  const head = source.replace(/^async\b\s*/, '');
  // `x => …` and `async x => …`: one parameter, no parentheses.
  const bare = /^([\p{L}\p{Nl}$_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}$_\u200c\u200d]*)\s*=>/u.exec(head);
  if (bare !== null) return [bare[1]!];
  const open = head.indexOf('(');
  if (open < 0) return undefined;
  return split(head, open + 1);
}

/** Splits the text after `(` at its top-level commas, up to the matching `)`. */
function split(text: string, from: number): string[] | undefined {
  const params: string[] = [];
  let current = '';
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '/' && (text[i + 1] === '/' || text[i + 1] === '*')) {
      const end = text[i + 1] === '/' ? text.indexOf('\n', i) : text.indexOf('*/', i + 2) + 1;
      if (end <= 0) return undefined;
      i = end;
      current += ' ';
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      const end = closingQuote(text, i);
      if (end < 0) return undefined;
      current += text.slice(i, end + 1);
      i = end;
      continue;
    }
    if (OPEN.includes(ch)) depth++;
    if (CLOSE.includes(ch)) {
      if (depth === 0) {
        push(params, current);
        return params;
      }
      depth--;
    }
    if (ch === ',' && depth === 0) {
      push(params, current);
      current = '';
      continue;
    }
    current += ch;
  }
  return undefined;
}

function push(params: string[], raw: string): void {
  const param = raw.replace(/\s+/g, ' ').trim();
  // A trailing comma leaves an empty last entry, which is not a parameter.
  if (param !== '') params.push(param);
}

/** Index of the quote closing the string or template that starts at `start` (templates: nesting approximated). */
function closingQuote(text: string, start: number): number {
  const quote = text[start]!;
  let braces = 0;
  for (let i = start + 1; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\') {
      i++;
    } else if (quote === '`' && ch === '$' && text[i + 1] === '{') {
      braces++;
      i++;
    } else if (quote === '`' && ch === '}' && braces > 0) {
      braces--;
    } else if (ch === quote && braces === 0) {
      return i;
    }
  }
  return -1;
}
