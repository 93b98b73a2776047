/**
 * A safe subset of Python's unpickler: the opcodes `torch.save` emits for a state dict (protocol 2,
 * plus the protocol 4 forms other writers use), with every global resolved through the caller's
 * allow-list. Unlike `pickle.load`, nothing named in the file is ever imported or called unless
 * the caller mapped it to a JS function, so a hostile file is refused, never run.
 */
import { InputError } from "../util/input-error.js";

export class UnpicklingError extends InputError {}

/** A Python dict (or OrderedDict): insertion-ordered, keyed by strings or numbers. */
export class PyDict extends Map<unknown, unknown> {}

export interface UnpickleHooks {
  /** The JS stand-in for `module.name`; throws (naming it) for anything not allow-listed. */
  resolveGlobal(module: string, name: string): (...args: unknown[]) => unknown;
  /** `persistent_load(pid)`: torch stores tensors' storages outside the pickle this way. */
  persistentLoad(pid: unknown): unknown;
}

const MARK = Symbol("mark");

/** The unpickler's state, and the checked reads and stack operations the opcodes are built from. */
class PickleMachine {
  readonly stack: unknown[] = [];
  readonly memo = new Map<number, unknown>();
  position = 0;
  private readonly view: DataView;
  private readonly decoder = new TextDecoder("utf-8");

  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
    readonly hooks: UnpickleHooks,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(message: string): never {
    throw new UnpicklingError(`${this.file}: ${message} (at byte ${this.position} of the pickle)`);
  }

  /** Every read goes through here, so a truncated pickle fails instead of reading past its end. */
  private need(count: number): void {
    if (this.position + count > this.bytes.length) this.fail("the pickle ends early (truncated or corrupt)");
  }

  private advance(count: number): number {
    this.need(count);
    this.position += count;
    return this.position - count;
  }

  u8(): number {
    return this.bytes[this.advance(1)]!;
  }
  u16(): number {
    return this.view.getUint16(this.advance(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.advance(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.advance(4), true);
  }
  u64(): number {
    return Number(this.view.getBigUint64(this.advance(8), true));
  }
  /** BINFLOAT is the one big-endian field. */
  f64BigEndian(): number {
    return this.view.getFloat64(this.advance(8), false);
  }
  take(count: number): Uint8Array {
    const start = this.advance(count);
    return this.bytes.subarray(start, start + count);
  }
  text(count: number): string {
    return this.decoder.decode(this.take(count));
  }
  line(): string {
    const end = this.bytes.indexOf(0x0a, this.position);
    if (end < 0) this.fail("a text argument has no end of line");
    const text = this.decoder.decode(this.bytes.subarray(this.position, end));
    this.position = end + 1;
    return text;
  }
  /** LONG1's argument: a little-endian two's-complement integer of `length` bytes. */
  long(length: number): number {
    let value = 0n;
    const digits = this.take(length);
    for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(digits[i]!);
    if (length > 0 && digits[length - 1]! & 0x80) value -= 1n << BigInt(8 * length);
    return Number(value);
  }

  push(value: unknown): void {
    this.stack.push(value);
  }
  pop(): unknown {
    return this.stack.length === 0 ? this.fail("the stack is empty") : this.stack.pop();
  }
  top(): unknown {
    return this.stack.length === 0 ? this.fail("the stack is empty") : this.stack[this.stack.length - 1];
  }
  /** The items above the topmost MARK, which goes too. */
  popMark(): unknown[] {
    const at = this.stack.lastIndexOf(MARK);
    if (at < 0) this.fail("no MARK to pop to");
    return this.stack.splice(at).slice(1);
  }
  popTuple(count: number): unknown[] {
    if (this.stack.length < count) this.fail("the stack is too short for a tuple");
    return this.stack.splice(this.stack.length - count);
  }
  dictOnTop(items: unknown[]): void {
    const dict = this.top();
    if (!(dict instanceof PyDict)) this.fail("SETITEM(S) on something that is not a dict");
    for (let i = 0; i + 1 < items.length; i += 2) (dict as PyDict).set(items[i], items[i + 1]);
  }
  listOnTop(items: unknown[]): void {
    const list = this.top();
    if (!Array.isArray(list)) this.fail("APPEND(S) on something that is not a list");
    (list as unknown[]).push(...items);
  }
  memoGet(index: number): unknown {
    if (!this.memo.has(index)) this.fail(`memo entry ${index} was never stored`);
    return this.memo.get(index);
  }
  /** Only a JS function the caller's allow-list returned is callable: never anything the file names. */
  popAndCall(): unknown {
    const args = this.pop();
    const callable = this.pop();
    if (typeof callable !== "function" || !Array.isArray(args)) return this.fail("REDUCE needs an allowed global and a tuple");
    return callable(...args);
  }
}

type OpcodeHandler = (machine: PickleMachine) => void;

const STOP = 0x2e;

/**
 * Every opcode we accept besides STOP, by byte; any other byte is refused. Globals are resolved
 * only through `hooks.resolveGlobal`, which is what keeps a hostile pickle from running anything.
 */
const OPCODES: ReadonlyMap<number, OpcodeHandler> = new Map<number, OpcodeHandler>([
  [0x80, (m) => checkProtocol(m)], // PROTO
  [0x95, (m) => void m.u64()], // FRAME: a length prefix only
  [0x28, (m) => m.push(MARK)], // MARK
  [0x4e, (m) => m.push(null)], // NONE
  [0x88, (m) => m.push(true)], // NEWTRUE
  [0x89, (m) => m.push(false)], // NEWFALSE
  [0x4b, (m) => m.push(m.u8())], // BININT1
  [0x4d, (m) => m.push(m.u16())], // BININT2
  [0x4a, (m) => m.push(m.i32())], // BININT
  [0x8a, (m) => m.push(m.long(m.u8()))], // LONG1
  [0x47, (m) => m.push(m.f64BigEndian())], // BINFLOAT
  [0x58, (m) => m.push(m.text(m.u32()))], // BINUNICODE
  [0x8c, (m) => m.push(m.text(m.u8()))], // SHORT_BINUNICODE
  [0x8d, (m) => m.push(m.text(m.u64()))], // BINUNICODE8
  [0x55, (m) => m.push(m.text(m.u8()))], // SHORT_BINSTRING
  [0x54, (m) => m.push(m.text(m.u32()))], // BINSTRING
  [0x43, (m) => m.push(m.take(m.u8()).slice())], // SHORT_BINBYTES: copied, the file's buffer may be reused
  [0x42, (m) => m.push(m.take(m.u32()).slice())], // BINBYTES
  [0x29, (m) => m.push([])], // EMPTY_TUPLE
  [0x85, (m) => m.push(m.popTuple(1))], // TUPLE1
  [0x86, (m) => m.push(m.popTuple(2))], // TUPLE2
  [0x87, (m) => m.push(m.popTuple(3))], // TUPLE3
  [0x74, (m) => m.push(m.popMark())], // TUPLE
  [0x6c, (m) => m.push(m.popMark())], // LIST
  [0x5d, (m) => m.push([])], // EMPTY_LIST
  [0x7d, (m) => m.push(new PyDict())], // EMPTY_DICT
  [0x64, (m) => dict(m)], // DICT
  [0x61, (m) => m.listOnTop([m.pop()])], // APPEND
  [0x65, (m) => m.listOnTop(m.popMark())], // APPENDS
  [0x73, (m) => setItem(m)], // SETITEM
  [0x75, (m) => m.dictOnTop(m.popMark())], // SETITEMS
  [0x71, (m) => void m.memo.set(m.u8(), m.top())], // BINPUT
  [0x72, (m) => void m.memo.set(m.u32(), m.top())], // LONG_BINPUT
  [0x94, (m) => void m.memo.set(m.memo.size, m.top())], // MEMOIZE
  [0x68, (m) => m.push(m.memoGet(m.u8()))], // BINGET
  [0x6a, (m) => m.push(m.memoGet(m.u32()))], // LONG_BINGET
  [0x63, (m) => m.push(lineGlobal(m))], // GLOBAL
  [0x93, (m) => m.push(stackGlobal(m))], // STACK_GLOBAL
  [0x52, (m) => m.push(m.popAndCall())], // REDUCE
  [0x81, (m) => m.push(m.popAndCall())], // NEWOBJ: cls.__new__(cls, *args)
  [0x62, (m) => build(m)], // BUILD
  [0x51, (m) => m.push(m.hooks.persistentLoad(m.pop()))], // BINPERSID
]);

function checkProtocol(m: PickleMachine): void {
  if (m.u8() > 5) m.fail("unsupported pickle protocol");
}

/** DICT: the key/value pairs above the MARK become a new dict (the MARK goes with them). */
function dict(m: PickleMachine): void {
  const items = m.popMark();
  m.push(new PyDict());
  m.dictOnTop(items);
}

function setItem(m: PickleMachine): void {
  const value = m.pop();
  const key = m.pop();
  m.dictOnTop([key, value]);
}

/** GLOBAL's "module\nname\n" form. */
function lineGlobal(m: PickleMachine): unknown {
  const module = m.line();
  return m.hooks.resolveGlobal(module, m.line());
}

function stackGlobal(m: PickleMachine): unknown {
  const name = m.pop();
  const module = m.pop();
  if (typeof module !== "string" || typeof name !== "string") m.fail("STACK_GLOBAL needs two strings");
  return m.hooks.resolveGlobal(module as string, name as string);
}

/** A state dict's OrderedDict carries `_metadata` (module versions) we do not need: the state is dropped. */
function build(m: PickleMachine): void {
  m.pop();
  if (!(m.top() instanceof PyDict)) m.fail("BUILD on something that is not a dict");
}

export function unpickle(bytes: Uint8Array, file: string, hooks: UnpickleHooks): unknown {
  const machine: PickleMachine = new PickleMachine(bytes, file, hooks);
  for (;;) {
    const opcode = machine.u8();
    if (opcode === STOP) {
      if (machine.stack.length !== 1) machine.fail("the pickle does not end with exactly one object");
      return machine.stack[0];
    }
    const handler = OPCODES.get(opcode);
    if (handler === undefined) {
      machine.fail(`unsupported pickle opcode 0x${opcode.toString(16).padStart(2, "0")} (a state dict never needs it)`);
    }
    handler(machine);
  }
}
