// The fetch handler type, apart from fetch.ts so that fetch-direct.ts (which fetch.ts imports) can name it.

/** A fetch handler: Hono's `app.fetch`, a Cloudflare/Bun-style `fetch`. */
export type FetchHandler = (request: Request, ...rest: never[]) => Response | Promise<Response>;
