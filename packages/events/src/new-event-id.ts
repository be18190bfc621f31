import { v7 } from "uuid";

/**
 * A new event id: a UUIDv7, so ids are unique without coordination and sort by creation time
 * (the inbox's primary key stays append-mostly).
 */
export function newEventId(): string {
  return v7();
}
