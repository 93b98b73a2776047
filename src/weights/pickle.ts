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

export function unpickle(bytes: Uint8Array, file: string, hooks: UnpickleHooks): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder("utf-8");
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let position = 0;
  const fail = (message: string): never => {
    throw new UnpicklingError(`${file}: ${message} (at byte ${position} of the pickle)`);
  };
  const need = (count: number) => {
    if (position + count > bytes.length) fail("the pickle ends early (truncated or corrupt)");
  };
  const u8 = () => (need(1), bytes[position++]!);
  const u16 = () => (need(2), (position += 2), view.getUint16(position - 2, true));
  const u32 = () => (need(4), (position += 4), view.getUint32(position - 4, true));
  const i32 = () => (need(4), (position += 4), view.getInt32(position - 4, true));
  const u64 = () => (need(8), (position += 8), Number(view.getBigUint64(position - 8, true)));
  const take = (count: number) => (need(count), bytes.subarray(position, (position += count)));
  const line = () => {
    const end = bytes.indexOf(0x0a, position);
    if (end < 0) fail("a text argument has no end of line");
    const text = decoder.decode(bytes.subarray(position, end));
    position = end + 1;
    return text;
  };
  const pop = () => (stack.length === 0 ? fail("the stack is empty") : stack.pop());
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) fail("no MARK to pop to");
    const items = stack.splice(at);
    return items.slice(1);
  };
  const top = () => (stack.length === 0 ? fail("the stack is empty") : stack[stack.length - 1]);
  const dictOnTop = (items: unknown[]) => {
    const dict = top();
    if (!(dict instanceof PyDict)) fail("SETITEM(S) on something that is not a dict");
    for (let i = 0; i + 1 < items.length; i += 2) (dict as PyDict).set(items[i], items[i + 1]);
  };
  const listOnTop = (items: unknown[]) => {
    const list = top();
    if (!Array.isArray(list)) fail("APPEND(S) on something that is not a list");
    (list as unknown[]).push(...items);
  };
  const call = (callable: unknown, args: unknown) => {
    if (typeof callable !== "function" || !Array.isArray(args)) return fail("REDUCE needs an allowed global and a tuple");
    return callable(...args);
  };
  const long = (length: number) => {
    let value = 0n;
    const digits = take(length);
    for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(digits[i]!);
    if (length > 0 && digits[length - 1]! & 0x80) value -= 1n << BigInt(8 * length);
    return Number(value);
  };

  for (;;) {
    const opcode = u8();
    switch (opcode) {
      case 0x80: // PROTO
        if (u8() > 5) fail("unsupported pickle protocol");
        break;
      case 0x95: // FRAME: a length prefix only
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail("the pickle does not end with exactly one object");
        return stack[0];
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
      case 0x89: // NEWFALSE
        stack.push(opcode === 0x88);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x8a: // LONG1
        stack.push(long(u8()));
        break;
      case 0x47: // BINFLOAT: big-endian double
        need(8);
        stack.push(view.getFloat64(position, false));
        position += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(decoder.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(decoder.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(decoder.decode(take(u64())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(decoder.decode(take(u8())));
        break;
      case 0x54: // BINSTRING
        stack.push(decoder.decode(take(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const count = opcode - 0x84;
        if (stack.length < count) fail("the stack is too short for a tuple");
        stack.push(stack.splice(stack.length - count));
        break;
      }
      case 0x74: // TUPLE
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x64: {
        // DICT
        stack.push(new PyDict());
        dictOnTop(popMark());
        break;
      }
      case 0x61: // APPEND
        listOnTop([pop()]);
        break;
      case 0x65: // APPENDS
        listOnTop(popMark());
        break;
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        dictOnTop([key, value]);
        break;
      }
      case 0x75: // SETITEMS
        dictOnTop(popMark());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const index = opcode === 0x68 ? u8() : u32();
        if (!memo.has(index)) fail(`memo entry ${index} was never stored`);
        stack.push(memo.get(index));
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        stack.push(hooks.resolveGlobal(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        stack.push(hooks.resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args)
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD: a state dict's OrderedDict carries `_metadata` (module versions) we do not need.
        pop();
        if (!(top() instanceof PyDict)) fail("BUILD on something that is not a dict");
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      default:
        fail(`unsupported pickle opcode 0x${opcode.toString(16).padStart(2, "0")} (a state dict never needs it)`);
    }
  }
}
