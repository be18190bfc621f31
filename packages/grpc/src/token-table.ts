import { createHash, timingSafeEqual } from "node:crypto";
import type { Principal } from "./principal.js";

/**
 * The server's bearer-token table, `token → principal, scopes and grants`, as configuration
 * hands it over. It is a plain record so the composition root can build it from secrets (or
 * read a setting with `parseTokenTable`); {@link createTokenVerifier} is what the server consults.
 */
export type TokenTable = Readonly<Record<string, Principal>>;

/** Looks a presented bearer token up; `undefined` means unknown. */
export type TokenVerifier = (presented: string) => Principal | undefined;

function sha256(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Turns a {@link TokenTable} into a lookup that does not leak, through timing, how much
 * of a token was right: tokens are compared as SHA-256 digests (equal length, so
 * `timingSafeEqual` applies) and every entry is compared on every lookup, with no early
 * exit on a match.
 */
export function createTokenVerifier(table: TokenTable): TokenVerifier {
  const entries = Object.entries(table).map(([token, principal]) => ({ digest: sha256(token), principal }));
  return (presented) => {
    const digest = sha256(presented);
    let found: Principal | undefined;
    for (const entry of entries) {
      if (timingSafeEqual(entry.digest, digest)) {
        found = entry.principal;
      }
    }
    return found;
  };
}

/** Extracts the token from an `authorization: Bearer <token>` header value; `undefined` if malformed. */
export function parseBearer(header: string | undefined): string | undefined {
  if (header === undefined) {
    return undefined;
  }
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
