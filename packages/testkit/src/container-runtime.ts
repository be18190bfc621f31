import { existsSync } from "node:fs";

/**
 * Whether a Docker engine answers, so testcontainers can be used. Without a socket or a
 * DOCKER_HOST there is nothing to ask; otherwise testcontainers' own runtime probe decides,
 * and its "no container runtime" answer means: fall through to the local launchers.
 */
export async function containerRuntimeAvailable(env: Readonly<Record<string, string | undefined>>): Promise<boolean> {
  if (env["TESTKIT_DISABLE_TESTCONTAINERS"] === "1") return false;
  const hasEndpoint = env["DOCKER_HOST"] !== undefined || existsSync("/var/run/docker.sock");
  if (!hasEndpoint) return false;
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}
