import { NonRetryableError } from "./non-retryable-error.js";

/**
 * The refusal {@link requireFields} returns: a {@link NonRetryableError} (so a handler that throws
 * it sends the event straight to the DLQ, its key parked) that also names the empty fields.
 */
export class MissingRequiredFieldsError extends NonRetryableError {
  readonly fields: readonly string[];

  constructor(typeName: string, fields: readonly string[]) {
    super(`missing_required_fields: ${fields.join(", ")} empty in ${typeName}`);
    this.fields = fields;
  }
}

/**
 * Checks that each listed field of an incoming protobuf message holds a value, and returns the
 * refusal listing every empty one (undefined when all are set). In proto3 an unset field reads as
 * its zero value, so "empty" is exactly that: `""`, `0`, `0n`, `false`, an unset message or oneof,
 * empty bytes, an empty list or map — an enum at 0 is its `*_UNSPECIFIED`. A missing id is thus
 * refused with a reason instead of matching another missing id (two empty `payment_id`s are not
 * the same payment). Which fields a message requires is the service's call: handlers use it first,
 *
 *     const missing = requireFields(event.message, ["paymentId", "orderId", "amount"]);
 *     if (missing !== undefined) throw missing;
 *
 * and the consumer dead-letters the event with reason `non_retryable: missing_required_fields: …`.
 * Do not list a field whose zero value is legitimate (a boolean, a count that may be 0).
 */
export function requireFields<M extends { readonly $typeName: string }>(
  message: M,
  fields: readonly (keyof M & string)[],
): MissingRequiredFieldsError | undefined {
  const empty = fields.filter((field) => isEmpty(message[field]));
  return empty.length === 0 ? undefined : new MissingRequiredFieldsError(message.$typeName, empty);
}

function isEmpty(value: unknown): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case "undefined":
      return true;
    case "string":
      return value === "";
    case "number":
      return value === 0 || Number.isNaN(value);
    case "bigint":
      return value === 0n;
    case "boolean":
      return !value;
    case "object":
      if (value instanceof Uint8Array || Array.isArray(value)) return value.length === 0;
      // A message (it carries $typeName) is set once present; a oneof is `{ case: undefined }` when unset.
      if ("$typeName" in value) return false;
      if ("case" in value) return value.case === undefined;
      return Object.keys(value).length === 0;
    case "function":
    case "symbol":
      return false;
  }
  // Unreachable (typeof has no other answers); TypeScript does not see that the switch is exhaustive.
  return false;
}
