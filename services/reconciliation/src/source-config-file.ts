import { readFile } from "node:fs/promises";
import type { ProviderId } from "@tributary/contracts";
import type { BillSourceConfig } from "./providers/bill-sources.js";

/**
 * Reads one provider's download credentials from a JSON file (the fields of its
 * {@link BillSourceConfig}: URLs, ids, PEM keys — see README), so keys live in a file the
 * operator controls, never in the repository or the environment's listing.
 */
export async function readSourceConfig(path: string, provider: ProviderId): Promise<BillSourceConfig> {
  const json = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  return { ...json, provider } as BillSourceConfig;
}
