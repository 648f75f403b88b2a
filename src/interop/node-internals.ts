// Node keeps some http object state behind module-private symbols; the interop objects need three of
// them, found once here by description so the lookup never runs per request.
import { IncomingMessage, ServerResponse } from 'node:http';
import { AlbanyError, ErrorCodes } from '../errors.js';

function findSymbol(target: object, description: string): symbol {
  const found = Object.getOwnPropertySymbols(target).find((s) => s.description === description);
  // A future Node that renames these would silently break header access; fail loudly at import instead.
  if (found === undefined) {
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_UNSUPPORTED_RUNTIME,
      `albany interop: node:http has no internal symbol "${description}" in Node ${process.version}; albany ` +
        `supports Node >= 20.19`,
      { details: { symbol: description, node: process.version } },
    );
  }
  return found;
}

const probeRequest = new IncomingMessage(null as never);
const probeResponse = new ServerResponse(probeRequest);
probeResponse.setHeader('x-probe', '1');

/** How many entries of `rawHeaders` the lazy `req.headers` getter reads. */
export const kHeadersCount = findSymbol(probeRequest, 'kHeadersCount');
/** The `{ lowerName: [name, value] }` map that `setHeader` fills. */
export const kOutHeaders = findSymbol(probeResponse, 'kOutHeaders');
/** Set by `write()` when it returned false; `writableNeedDrain` reads it. */
export const kNeedDrain = findSymbol(probeResponse, 'kNeedDrain');
