// The smallest gateway app: what `albany serve examples/demo/hello.ts` runs.
import type { App } from '../../src/index.js';

const hello: App = async (scope, _receive, send) => {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: Buffer.from('Hello, world!') });
};
export default hello;
