// A self-signed certificate for 127.0.0.1/localhost, made with openssl once per test process in a
// temporary folder: test-only, never committed, never trusted outside the test's own clients.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Paths and PEM text of the test certificate. */
export interface TestCert {
  keyfile: string;
  certfile: string;
  key: Buffer;
  cert: Buffer;
}

let made: TestCert | undefined;

/** The test certificate (an EC P-256 key; made on first use). */
export function testCert(): TestCert {
  if (made !== undefined) return made;
  const dir = mkdtempSync(join(tmpdir(), 'albany-tls-'));
  const keyfile = join(dir, 'key.pem');
  const certfile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyfile,
      '-out',
      certfile,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  made = { keyfile, certfile, key: readFileSync(keyfile), cert: readFileSync(certfile) };
  return made;
}
