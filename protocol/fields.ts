/**
 * Readers for untrusted JSON objects. A reader returns the typed value or throws a
 * FieldError, which `parseObject` turns into a typed Result at the module boundary: no
 * throw escapes a parse. Readers look at own properties only, so keys such as
 * `__proto__` or `constructor` in the input never reach a prototype.
 */
import { fail, ok, protocolError, type ErrorCode, type ProtocolError, type Result } from './errors.js';

export type JsonObject = Readonly<Record<string, unknown>>;

class FieldError extends Error {
  constructor(readonly error: ProtocolError) {
    super(error.message);
  }
}

export function reject(code: ErrorCode, message?: string, field?: string): never {
  throw new FieldError(protocolError(code, message, field));
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function own(obj: JsonObject, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

export interface StringRule {
  readonly max: number;
  readonly min?: number;
  /** The whole value must match. */
  readonly pattern?: RegExp;
  /** The value must not contain a match. */
  readonly forbidden?: RegExp;
}

export function string(obj: JsonObject, key: string, rule: StringRule): string {
  const value = own(obj, key);
  if (value === undefined) reject('missing-field', `Field "${key}" is required.`, key);
  return checkString(value, key, rule);
}

export function optionalString(obj: JsonObject, key: string, rule: StringRule): string | undefined {
  const value = own(obj, key);
  return value === undefined ? undefined : checkString(value, key, rule);
}

export function nullableString(obj: JsonObject, key: string, rule: StringRule): string | null {
  const value = own(obj, key);
  return value === undefined || value === null ? null : checkString(value, key, rule);
}

export function checkString(value: unknown, key: string, rule: StringRule): string {
  if (typeof value !== 'string') reject('wrong-type', `Field "${key}" must be a string.`, key);
  if (value.length > rule.max) reject('too-large', `Field "${key}" is longer than ${rule.max} characters.`, key);
  if (value.length < (rule.min ?? 0)) {
    reject('bad-value', `Field "${key}" must have at least ${rule.min} character(s).`, key);
  }
  if ((rule.pattern && !rule.pattern.test(value)) || (rule.forbidden && rule.forbidden.test(value))) {
    reject('bad-value', `Field "${key}" has characters that are not allowed.`, key);
  }
  return value;
}

export interface NumberRule {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
}

export function number(obj: JsonObject, key: string, rule: NumberRule): number {
  const value = own(obj, key);
  if (value === undefined) reject('missing-field', `Field "${key}" is required.`, key);
  return checkNumber(value, key, rule);
}

export function optionalNumber(obj: JsonObject, key: string, rule: NumberRule): number | undefined {
  const value = own(obj, key);
  return value === undefined ? undefined : checkNumber(value, key, rule);
}

export function nullableNumber(obj: JsonObject, key: string, rule: NumberRule): number | null {
  const value = own(obj, key);
  return value === undefined || value === null ? null : checkNumber(value, key, rule);
}

function checkNumber(value: unknown, key: string, rule: NumberRule): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    reject('wrong-type', `Field "${key}" must be a finite number.`, key);
  }
  if ((rule.integer && !Number.isInteger(value)) || value < rule.min || value > rule.max) {
    reject('bad-value', `Field "${key}" must be between ${rule.min} and ${rule.max}.`, key);
  }
  return value;
}

export function object(obj: JsonObject, key: string): JsonObject {
  const value = own(obj, key);
  if (value === undefined) reject('missing-field', `Field "${key}" is required.`, key);
  if (!isObject(value)) reject('wrong-type', `Field "${key}" must be an object.`, key);
  return value;
}

export function nullableObject(obj: JsonObject, key: string): JsonObject | null {
  const value = own(obj, key);
  if (value === undefined || value === null) return null;
  if (!isObject(value)) reject('wrong-type', `Field "${key}" must be an object or null.`, key);
  return value;
}

export function array(obj: JsonObject, key: string, maxItems: number): readonly unknown[] {
  const value = own(obj, key);
  if (value === undefined) reject('missing-field', `Field "${key}" is required.`, key);
  if (!Array.isArray(value)) reject('wrong-type', `Field "${key}" must be an array.`, key);
  if (value.length > maxItems) reject('too-large', `Field "${key}" has more than ${maxItems} items.`, key);
  return value;
}

/**
 * Parses JSON text and hands the object to `read`. Every failure — not text, too long,
 * not JSON, not an object, a FieldError from `read` — becomes a typed error Result.
 */
export function parseObject<T>(raw: unknown, maxLength: number, read: (obj: JsonObject) => T): Result<T> {
  if (typeof raw !== 'string') return fail(protocolError('binary-not-supported', 'Only text frames carry signaling messages.'));
  if (raw.length > maxLength) {
    return fail(protocolError('too-large', `The message is longer than ${maxLength} characters.`));
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    // Includes the RangeError of absurdly deep nesting: still just bad input.
    return fail(protocolError('bad-json', 'The frame is not valid JSON text.'));
  }
  if (!isObject(value)) return fail(protocolError('not-an-object', 'The message must be a JSON object.'));
  try {
    return ok(read(value));
  } catch (error) {
    if (error instanceof FieldError) return fail(error.error);
    throw error;
  }
}

export function optionalBoolean(obj: JsonObject, key: string): boolean | undefined {
  const value = own(obj, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') reject('wrong-type', `Field "${key}" must be true or false.`, key);
  return value;
}

/** Runs a reader on an already-decoded value (e.g. a CLI option): same typed Result. */
export function readValue<T>(value: unknown, read: (value: unknown) => T): Result<T> {
  try {
    return ok(read(value));
  } catch (error) {
    if (error instanceof FieldError) return fail(error.error);
    throw error;
  }
}
