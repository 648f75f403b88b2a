import test from 'ava';
import { encodePathText, pathBelow, rawPathBelow, targetBelowRoot } from '../../src/routing/prefix.js';

const below: Array<[path: string, prefix: string, expected: string | undefined]> = [
  ['/app', '/app', '/'],
  ['/app/', '/app', '/'],
  ['/app/x', '/app', '/x'],
  ['/app/x/y/', '/app', '/x/y/'],
  ['/apple', '/app', undefined],
  ['/ap', '/app', undefined],
  ['/', '/app', undefined],
  ['/APP/x', '/app', undefined],
  ['/a/b/c', '/a/b', '/c'],
  ['/a/bc', '/a/b', undefined],
  ['/anything', '', '/anything'],
  ['/', '', '/'],
  ['/app//x', '/app', '//x'],
];
for (const [path, prefix, expected] of below) {
  test(`pathBelow(${JSON.stringify(path)}, ${JSON.stringify(prefix)}) is ${JSON.stringify(expected)}`, (t) => {
    t.is(pathBelow(path, prefix), expected);
  });
}

const raw: Array<[rawPath: string, root: string, expected: string | undefined]> = [
  ['/app/x%20y', '/app', '/x%20y'],
  ['/apple', '/app', undefined],
  ['/ap%70/x', '/app', '/x'],
  ['/ap%70', '/app', '/'],
  ['/%61%70%70le', '/app', undefined],
  ['/caf%C3%A9/menu', '/café', '/menu'],
  ['/a%20b/c', '/a b', '/c'],
  ['/app%2Fx', '/app', undefined],
  ['/a%2Fb/c', '/a/b', '/c'],
  ['/x', '', '/x'],
];
for (const [rawPath, root, expected] of raw) {
  test(`rawPathBelow(${JSON.stringify(rawPath)}, ${JSON.stringify(root)}) is ${JSON.stringify(expected)}`, (t) => {
    t.is(rawPathBelow(rawPath, root), expected);
  });
}

const targets: Array<[scope: { rawPath: string; rootPath: string; path: string }, expected: string]> = [
  [{ rawPath: '/app/items/%C3%A4', rootPath: '/app', path: '/items/ä' }, '/items/%C3%A4'],
  [{ rawPath: '/apple', rootPath: '/app', path: '/apple' }, '/apple'],
  [{ rawPath: '/ap%70/x', rootPath: '/app', path: '/x' }, '/x'],
  // Only decoding puts this under the root (an encoded slash): the decoded path, re-encoded.
  [{ rawPath: '/app%2Fa%20b', rootPath: '/app', path: '/a b' }, '/a%20b'],
  [{ rawPath: '/other', rootPath: '/app', path: '/other' }, '/other'],
  [{ rawPath: '/x%3Fy', rootPath: '', path: '/x?y' }, '/x%3Fy'],
];
for (const [scope, expected] of targets) {
  test(`targetBelowRoot(${JSON.stringify(scope)}) is ${JSON.stringify(expected)}`, (t) => {
    t.is(targetBelowRoot(scope), expected);
  });
}

test('encodePathText escapes what would end or corrupt a request target', (t) => {
  t.is(encodePathText('/a b?c#d%e/é'), '/a%20b%3Fc%23d%25e/%C3%A9');
});
