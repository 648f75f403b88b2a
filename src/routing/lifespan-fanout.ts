// mount()'s lifespan: one lifespan scope from the server becomes one per mounted app. Startup is
// complete when every app has completed it; one failure fails it (with that app's message) after
// the apps that did start are shut down again; shutdown goes to every app that started.
import { Lifespan } from '../server/lifespan.js';
import type { Logger } from '../server/options.js';
import type { App, LifespanScope, Receive, Send } from '../gateway/types.js';

/** One distinct mounted app and the prefixes it answers under (for messages). */
export interface LifespanMember {
  app: App;
  prefixes: string[];
}

// Lifespan's own failure text starts with this; the mount reports the app's message under its prefix.
const STARTUP_PREFIX = /^lifespan (startup|shutdown) failed: /;

function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(STARTUP_PREFIX, '');
}

/**
 * Runs the mount's side of a lifespan scope. Each member is driven by its own {@link Lifespan} in
 * `auto` mode, exactly as a server drives a top-level app: a member that throws before answering
 * startup (fromNodeHandler, fromFetch) does not support lifespan and is left out, not failed.
 * What members store in their state during startup is copied into the mount's state, so every
 * request scope (and so every mounted app) sees it.
 */
export async function fanOutLifespan(
  members: readonly LifespanMember[],
  scope: LifespanScope,
  receive: Receive,
  send: Send,
  logger: Logger,
): Promise<void> {
  const drivers = members.map((m) => ({ member: m, driver: new Lifespan(m.app, 'auto', logger), started: false }));
  let message = await receive();
  if (message.type !== 'lifespan.startup') return;
  const outcomes = await Promise.allSettled(
    drivers.map(async (d) => {
      await d.driver.startup();
      d.started = true;
    }),
  );
  const failures: string[] = [];
  outcomes.forEach((o, i) => {
    if (o.status === 'rejected') failures.push(`mount ${label(drivers[i]!.member)}: ${reason(o.reason)}`);
  });
  if (failures.length > 0) {
    // The apps that did start own resources (pools, connections): give them their shutdown now,
    // since the server will not send one after a failed startup.
    await Promise.allSettled(drivers.filter((d) => d.started).map((d) => d.driver.shutdown()));
    await send({ type: 'lifespan.startup.failed', message: failures.join('; ') });
    return;
  }
  for (const d of drivers) Object.assign(scope.state, d.driver.state);
  await send({ type: 'lifespan.startup.complete' });

  do message = await receive();
  while (message.type !== 'lifespan.shutdown');
  const stops = await Promise.allSettled(drivers.map((d) => d.driver.shutdown()));
  const stopFailures: string[] = [];
  stops.forEach((o, i) => {
    if (o.status === 'rejected') stopFailures.push(`mount ${label(drivers[i]!.member)}: ${reason(o.reason)}`);
  });
  if (stopFailures.length > 0) await send({ type: 'lifespan.shutdown.failed', message: stopFailures.join('; ') });
  else await send({ type: 'lifespan.shutdown.complete' });
}

function label(member: LifespanMember): string {
  return member.prefixes.map((p) => JSON.stringify(p === '' ? '/' : p)).join(', ');
}
