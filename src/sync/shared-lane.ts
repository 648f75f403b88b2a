// The shared lane: one call and one reply slot in shared memory per connection, beside its
// MessagePort. A small call (primitive, string and whole-byte-buffer arguments) and its plain
// result skip the port and structured clone: the writer fills the slot, flips its state and wakes
// the other thread, which reads it in place. Everything else (the first call of an export, errors,
// transfers, other values, a busy slot) keeps going through the port.
import { Region, callArity, decodeArgs, decodeOnlyArg, decodeValue, encodeArgs, encodeValue } from './lane-codec.js';
import { LARGE_BYTES } from './large-bytes.js';

// Int32 slots of the lane's header.
/** 0: empty; 1: a call waits in the call slot (written by the caller, emptied by the reactor). */
const CALL_STATE = 0;
const CALL_ID = 1;
/** The connection's index of the export to run (registered by a port call, see CallMessage.fn). */
const CALL_FN = 2;
/** See the REPLY_* states. */
const REPLY_STATE = 3;
const REPLY_ID = 4;
/** Bumped by the caller after each message it posts on the port, so an idle port is not polled. */
const PORT_POSTS = 5;
const HEADER_BYTES = 32;

/** Reply slot empty: the reactor may write a reply into it. */
const REPLY_FREE = 0;
/** A reply waits in the slot. */
const REPLY_FULL = 1;
/** The caller listens through its event loop, which the slot cannot wake: replies take the port. */
const REPLY_OFF = 2;

/** Room for each of the two values; larger byte payloads take the large-bytes paths anyway. */
const SLOT_BYTES = LARGE_BYTES + 64;

/** A new lane's memory (made by the caller's side, passed to the reactor with the connection). */
export function createLane(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + 2 * SLOT_BYTES);
}

abstract class Lane {
  protected readonly header: Int32Array;
  protected readonly call: Region;
  protected readonly reply: Region;

  constructor(shared: SharedArrayBuffer) {
    this.header = new Int32Array(shared, 0, HEADER_BYTES / 4);
    this.call = new Region(shared, HEADER_BYTES, SLOT_BYTES);
    this.reply = new Region(shared, HEADER_BYTES + SLOT_BYTES, SLOT_BYTES);
  }
}

/** The caller's end of a lane. */
export class CallerLane extends Lane {
  /**
   * Puts call `id` of export `fn` in the call slot; false (nothing written) when the slot still
   * holds an earlier call or an argument is not one the lane carries. The caller wakes the reactor.
   */
  tryCall(id: number, fn: number, args: readonly unknown[]): boolean {
    const h = this.header;
    // A plain read: a stale 1 only sends this call through the port. A 0 is never stale, as the
    // reactor frees the slot before it answers, and its answer reached this thread through an
    // atomic on the wake-up counter (what makes the plain reads in this file safe).
    if (h[CALL_STATE] !== 0 || encodeArgs(this.call, args) < 0) return false;
    h[CALL_ID] = id;
    h[CALL_FN] = fn;
    Atomics.store(h, CALL_STATE, 1); // publishes the plain writes above
    return true;
  }

  /** Records a message posted on the port (after posting it, before waking the reactor). */
  notePortPost(): void {
    this.header[PORT_POSTS]!++; // published by the atomic bump of the reactor's counter that follows
  }

  /**
   * Id of the call whose reply waits in the reply slot, or 0 (ids start at 1). The state is read
   * atomically: with several calls in flight a reply can land after this thread's last read of its
   * wake-up counter, and only an atomic read that sees FULL makes the id and the value written
   * before it visible (a plain read could see FULL with a stale id on a weakly ordered CPU).
   */
  replyId(): number {
    const h = this.header;
    return Atomics.load(h, REPLY_STATE) === REPLY_FULL ? h[REPLY_ID]! : 0;
  }

  /** Copies the waiting reply's value out and frees the slot; `keep` false frees it unread. */
  takeReply(keep: boolean): unknown {
    const value = keep ? decodeValue(this.reply) : undefined;
    Atomics.store(this.header, REPLY_STATE, REPLY_FREE);
    return value;
  }

  /**
   * Turns the reply slot off, so replies come through the port, which wakes the event loop.
   * A reply already in the slot is handed to `caught` first.
   */
  repliesOff(caught: (id: number, value: unknown) => void): void {
    const h = this.header;
    for (;;) {
      const was = Atomics.compareExchange(h, REPLY_STATE, REPLY_FREE, REPLY_OFF);
      if (was !== REPLY_FULL) return; // FREE (now off) or already OFF
      const id = h[REPLY_ID]!;
      caught(id, this.takeReply(true));
    }
  }

  /** Turns the reply slot back on (no listener left on the event loop). */
  repliesOn(): void {
    Atomics.compareExchange(this.header, REPLY_STATE, REPLY_OFF, REPLY_FREE);
  }
}

/** The reactor's end of a lane. */
export class ReactorLane extends Lane {
  #portSeen = 0;

  /** Id of the call waiting in the call slot, or 0. Read it before polling the port (see takeCall). */
  callId(): number {
    return Atomics.load(this.header, CALL_STATE) === 1 ? this.header[CALL_ID]! : 0;
  }

  /** The export index of the waiting call (after {@link callId} returned its id). */
  callFn(): number {
    return this.header[CALL_FN]!;
  }

  /** The number of arguments of the waiting call (after {@link callId} returned its id). */
  callArity(): number {
    return callArity(this.call);
  }

  /** {@link takeCall} for a call of one argument: that argument, without an array around it. */
  takeOnlyArg(): unknown {
    const arg = decodeOnlyArg(this.call);
    this.header[CALL_STATE] = 0; // see takeCall
    return arg;
  }

  /**
   * Takes the waiting call's arguments out and frees the slot. Its id ({@link callId}) orders it
   * among port messages: one the caller posted before it was already on the port when callId saw it.
   */
  takeCall(): unknown[] {
    const args = decodeArgs(this.call);
    this.header[CALL_STATE] = 0; // published by the atomic bump of the caller's counter with the answer
    return args;
  }

  /**
   * True when the caller posted on the port since the last time this returned true. Call it after
   * an atomic read of the reactor's wake-up counter (or of {@link callId}), which the caller
   * bumps (or stores) after posting.
   */
  portPosted(): boolean {
    const posts = this.header[PORT_POSTS]!;
    if (posts === this.#portSeen) return false;
    this.#portSeen = posts;
    return true;
  }

  /**
   * Puts call `id`'s value in the reply slot; false when the slot is not free or the value not carried.
   * One atomic operation: the state is read plainly before the slot is written, as the caller does
   * in tryCall. Only this thread fills the slot, so a FREE read here is never stale (the slot is not
   * FULL): at worst the caller has since turned it OFF, which the exchange that publishes the reply
   * sees, and an OFF slot is never read. A stale FULL or OFF only sends the reply through the port.
   */
  tryReply(id: number, value: unknown): boolean {
    const h = this.header;
    if (h[REPLY_STATE] !== REPLY_FREE || encodeValue(this.reply, value) < 0) return false;
    h[REPLY_ID] = id;
    // Publishes the plain writes above; the reactor then wakes the caller's signal.
    return Atomics.compareExchange(h, REPLY_STATE, REPLY_FREE, REPLY_FULL) === REPLY_FREE;
  }
}
