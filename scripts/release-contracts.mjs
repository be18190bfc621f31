// Cuts a contracts release: writes the current proto/ as a buf image to
// proto/releases/contracts-<version>.binpb, the baseline later `buf breaking` checks compare to.
import { existsSync } from "node:fs";
import { fail, run } from "./ensure-installed.mjs";

const version = process.argv[2];
if (version === undefined || !/^\d+\.\d+\.\d+$/.test(version)) fail("usage: node scripts/release-contracts.mjs X.Y.Z");
const out = `proto/releases/contracts-${version}.binpb`;
if (existsSync(out)) fail(`${out} exists already: releases are immutable`);
await run("node", ["scripts/check-contracts.mjs"]);
await run("npx", ["buf", "build", "-o", out]);
console.log(`released ${out}`);
