const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Tells whether text is an order id as we issue them (a lower-case UUID, v7 in practice), so a
 * malformed id is an INVALID_ARGUMENT on its field rather than a database error.
 */
export function isOrderId(text: string): boolean {
  return uuidPattern.test(text);
}
