// Reading declared parameters from source text. The functions are eval'd from strings so that the
// test's own compiler (esbuild through tsx) cannot rewrite the source being read.
import test from 'ava';
import { parameterList } from '../../src/interop/parameter-list.js';

// Indirect eval builds functions from the texts under test.
// biome-ignore lint/security/noGlobalEval lint/complexity/noCommaOperator: see above.
const source = (text: string) => (0, eval)(`(${text})`) as (...args: never[]) => unknown;

const cases: Array<[string, string[] | undefined]> = [
  ['async (scope, receive, send = null) => {}', ['scope', 'receive', 'send = null']],
  ['function app(req, res) {}', ['req', 'res']],
  ['async function* gen(a, ...rest) {}', ['a', '...rest']],
  ['request => new Response("x")', ['request']],
  ['async request => request', ['request']],
  ['() => {}', []],
  ['(a, b,) => {}', ['a', 'b']],
  ['function (scope /* (a, b) */, receive = \',\', send = ")") {}', ['scope', "receive = ','", 'send = ")"']],
  ['(a = f(1, 2), { b, c } = {}, [d, e]) => {}', ['a = f(1, 2)', '{ b, c } = {}', '[d, e]']],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the input is source text holding a template literal.
  ['(a = `x${[1, 2].join(",")}`, b) => {}', ['a = `x${[1, 2].join(",")}`', 'b']],
  ['(scope, // the scope, with a comma\n receive,\n send) => {}', ['scope', 'receive', 'send']],
  ['({ handle(s, r, x) {} }).handle', ['s', 'r', 'x']],
  ['class App { constructor(a, b) {} }', undefined],
  ['Math.max', undefined],
  ['((a, b, c) => {}).bind(null)', undefined],
];

for (const [text, expected] of cases) {
  test(`parameters of ${JSON.stringify(text)}`, (t) => {
    t.deepEqual(parameterList(source(text)), expected);
  });
}
