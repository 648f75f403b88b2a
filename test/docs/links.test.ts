// The README and docs/ are what users of the package read, so every relative link in them must
// lead somewhere they have: a file inside the project (never the workspace around it, such as
// ../shared/), and, for `#anchor` links, a heading that exists in that file. Source and test files
// the pages name in code spans (`src/server/cycle.ts`) must exist too, so a move or rename shows.
import test from 'ava';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCS = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md'));
const PAGES = ['README.md', ...DOCS.map((f) => `docs/${f}`)];

/** The text outside fenced code blocks, with inline code spans blanked out. */
function prose(markdown: string): string[] {
  const lines: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      lines.push('');
      continue;
    }
    lines.push(fenced ? '' : line.replace(/`[^`]*`/g, (code) => ' '.repeat(code.length)));
  }
  return lines;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as '-', repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading === null) continue;
    const text = (heading[1] ?? '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Relative links of a page: `[text](target)`, with the line they are on. */
function links(markdown: string): Array<{ target: string; line: number }> {
  const out: Array<{ target: string; line: number }> = [];
  prose(markdown).forEach((text, i) => {
    for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) out.push({ target, line: i + 1 });
    }
  });
  return out;
}

test('the anchor rule matches GitHub for the headings the pages use', (t) => {
  const slugs = anchors(
    '## Statuses 100–999\n## Compared with ASGI 3.0\n### The node style `(req, res)`\n' +
      '## Errors\n## Errors\n```\n# not a heading\n```\n### Extension: reason\n',
  );
  t.deepEqual(
    [...slugs],
    ['statuses-100999', 'compared-with-asgi-30', 'the-node-style-req-res', 'errors', 'errors-1', 'extension-reason'],
  );
});

for (const page of PAGES) {
  test(`every relative link in ${page} leads to a file of the project and an existing heading`, (t) => {
    const source = readFileSync(join(ROOT, page), 'utf8');
    const found = links(source);
    const broken: string[] = [];
    for (const { target, line } of found) {
      const [path = '', anchor] = target.split('#', 2);
      const file = path === '' ? join(ROOT, page) : resolve(dirname(join(ROOT, page)), decodeURI(path));
      const where = `${page}:${line} → ${target}`;
      if (relative(ROOT, file).startsWith('..')) {
        broken.push(`${where}: outside the project (users of the package do not have it)`);
      } else if (!existsSync(file)) {
        broken.push(`${where}: no such file`);
      } else if (anchor !== undefined && anchor !== '') {
        if (!file.endsWith('.md') || statSync(file).isDirectory()) {
          broken.push(`${where}: an anchor into a file that is not markdown`);
        } else if (!anchors(readFileSync(file, 'utf8')).has(anchor)) {
          broken.push(`${where}: no heading with that anchor`);
        }
      }
    }
    t.deepEqual(broken, []);
    if (page === 'README.md') {
      for (const doc of ['docs/spec.md', 'docs/legacy.md']) {
        t.true(
          found.some((l) => l.target === doc),
          `no link to ${doc}`,
        );
      }
    }
  });
}

/** Project files a page names in code spans (`src/…`, `test/…`, …): with an extension, no wildcard. */
function namedFiles(markdown: string): string[] {
  const span = /`((?:src|test|legacy-adapter|workers|docs|bench|examples)\/[^`\s*]+\.(?:ts|md|json|mjs|js))`/g;
  const names = markdown.matchAll(span);
  return [...new Set([...names].map(([, name = '']) => name))];
}

for (const page of PAGES) {
  test(`every project file ${page} names in a code span exists`, (t) => {
    const names = namedFiles(readFileSync(join(ROOT, page), 'utf8'));
    t.deepEqual(
      names.filter((name) => !existsSync(join(ROOT, name))),
      [],
    );
    if (page === 'docs/spec.md') t.true(names.includes('src/server/cycle.ts'), 'the file-name scan found nothing');
  });
}
