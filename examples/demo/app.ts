// The demo service `npm start` runs: async routes beside blocking (legacy) routes in one server.
import type { App } from '../../src/index.js';
import { echo, health, hello, index, json, notFound, stream } from './async-routes.js';
import { router } from './router.js';

/** The demo app. */
const app: App = router(
  [
    ['/hello', hello],
    ['/json', json],
    ['/stream', stream],
    ['/echo', echo],
    ['/health', health],
  ],
  async (scope, receive, send) => (scope.type === 'http' && scope.path === '/' ? index(scope, receive, send) : notFound(scope, receive, send)),
);
export default app;
