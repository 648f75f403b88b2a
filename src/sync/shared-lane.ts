// The shared lane: one call and one reply slot in shared memory per connection, beside its
// MessagePort. A small call (primitive, string and whole-byte-buffer arguments) and its plain
// result skip the port and structured clone: the writer fills the slot, flips its state and wakes
// the other thread, which reads it in place. Everything else (the first call of an export, errors,
// transfers, other values, a busy slot) keeps going through the port.
import {
  Region,
  callArity,
  decodeArgs,
  decodeOnlyArg,
  decodeValue,
  encodeArgs,
  encodeOnlyArg,
  encodeValue,
} from './lane-codec.js';
import { LARGE_BYTES } from './large-bytes.js';

// Int32 slots of the lane's header.
/**
 * 0: empty; else a call waits in the call slot (written by the caller, emptied by the reactor), and
 * the value also tells the reactor which reply the caller had taken from the reply slot by then:
 * -1 - that reply's id (-1: none). See CallerLane.takeReply.
 */
const CALL_STATE = 0;
const CALL_ID = 1;
/** The connection's index of the export to run (registered by a port call, see CallMessage.fn). */
const CALL_FN = 2;
/** REPLY_FREE, REPLY_OFF, or the id of the call whose reply is in the reply slot (ids are positive). */
const REPLY_STATE = 3;
/** Bumped by the caller after each message it posts on the port, so an idle port is not polled. */
const PORT_POSTS = 5;
const HEADER_BYTES = 32;

/** Reply slot empty: the reactor may write a reply into it. */
const REPLY_FREE = 0;
/** The caller listens through its event loop, which the slot cannot wake: replies take the port. */
const REPLY_OFF = -1;

/** The largest call id the lane carries: ids wrap to 1 past it (see CALL_STATE). */
export const MAX_CALL_ID = 0x7fff_fffe;

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
  // The id of the reply last taken from the reply slot, 0 if none. Taking a reply does not free the
  // slot (an atomic store per call): the slot keeps its id, which this side then ignores, and the
  // next lane call tells the reactor in its CALL_STATE, the store that publishes the call, that the
  // slot may be reused. A port post frees it outright (see notePortPost).
  #taken = 0;

  /**
   * Puts call `id` of export `fn` in the call slot; false (nothing written) when the slot still
   * holds an earlier call or an argument is not one the lane carries. The caller wakes the reactor.
   * `args` undefined: a call of the one argument `only`.
   */
  tryCall(id: number, fn: number, args: readonly unknown[] | undefined, only?: unknown): boolean {
    const h = this.header;
    // A plain read: a stale 1 only sends this call through the port. A 0 is never stale, as the
    // reactor frees the slot before it answers, and its answer reached this thread through an
    // atomic on the wake-up counter (what makes the plain reads in this file safe).
    if (h[CALL_STATE] !== 0) return false;
    if ((args === undefined ? encodeOnlyArg(this.call, only) : encodeArgs(this.call, args)) < 0) return false;
    h[CALL_ID] = id;
    h[CALL_FN] = fn;
    Atomics.store(h, CALL_STATE, -1 - this.#taken); // publishes the plain writes above, and this thread's reads
    return true;
  }

  /**
   * Records a message posted on the port (after posting it, before waking the reactor), and frees
   * the reply slot of a reply taken from it: the reactor learns of taken replies from lane calls
   * only, and calls that all take the port would leave every reply after the first to the port.
   */
  notePortPost(): void {
    const h = this.header;
    h[PORT_POSTS]!++; // published by the atomic bump of the reactor's counter that follows
    const taken = this.#taken;
    if (taken !== 0) {
      // Fails (harmlessly) when the reactor has reused the slot already, or the caller turned it off.
      Atomics.compareExchange(h, REPLY_STATE, taken, REPLY_FREE);
      this.#taken = 0;
    }
  }

  /**
   * Id of the call whose reply waits in the reply slot (not taken yet), or 0. The state is read
   * atomically: with several calls in flight a reply can land after this thread's last read of its
   * wake-up counter, and only an atomic read that sees the id makes the value written before it
   * visible (a plain read could see the id with a stale value on a weakly ordered CPU).
   */
  replyId(): number {
    const id = Atomics.load(this.header, REPLY_STATE);
    return id > 0 && id !== this.#taken ? id : 0;
  }

  /**
   * Copies the value of reply `id` (the one {@link replyId} returned) out of the slot; `keep` false
   * drops it unread. The slot is not freed here (see #taken).
   */
  takeReply(id: number, keep: boolean): unknown {
    const value = keep ? decodeValue(this.reply) : undefined;
    this.#taken = id;
    return value;
  }

  /**
   * Turns the reply slot off, so replies come through the port, which wakes the event loop.
   * A reply already in the slot is handed to `caught` first.
   */
  repliesOff(caught: (id: number, value: unknown) => void): void {
    const h = this.header;
    for (;;) {
      const state = Atomics.load(h, REPLY_STATE);
      if (state === REPLY_OFF) return;
      if (state > 0 && state !== this.#taken) {
        caught(state, this.takeReply(state, true));
      } else if (Atomics.compareExchange(h, REPLY_STATE, state, REPLY_OFF) === state) {
        return; // free, or holding a reply already taken
      }
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
  // The id of the last reply the caller had taken from the reply slot, as its latest lane call said
  // (see CALL_STATE): the slot may be written again while it still holds that id.
  #taken = 0;

  /** Id of the call waiting in the call slot, or 0. Read it before polling the port (see takeCall). */
  callId(): number {
    const h = this.header;
    const state = Atomics.load(h, CALL_STATE);
    if (state === 0) return 0;
    // Read with the atomic load that synchronizes with the caller's store: it took that reply, and
    // every read it made of the slot for it, before that store.
    this.#taken = -1 - state;
    return h[CALL_ID]!;
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
   * Puts call `id`'s value in the reply slot; false when the slot holds a reply the caller may not
   * have taken, is off, or the value is not carried. One atomic operation: the state is read plainly
   * before the slot is written, as the caller does in tryCall. Only this thread puts ids in the
   * state, so one read here is never staler than this thread's own last write: at worst the caller
   * has since freed the slot or turned it off, which the exchange that publishes the reply sees
   * (and the caller reads the slot only once the exchange is done). A stale state only sends the
   * reply through the port.
   */
  tryReply(id: number, value: unknown): boolean {
    const h = this.header;
    const state = h[REPLY_STATE]!;
    if ((state !== REPLY_FREE && state !== this.#taken) || encodeValue(this.reply, value) < 0) return false;
    // Publishes the plain writes above; the reactor then wakes the caller's signal.
    return Atomics.compareExchange(h, REPLY_STATE, state, id) === state;
  }
}
