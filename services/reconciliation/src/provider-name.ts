import { isProviderId, providerIdFromSandboxName, type ProviderId } from "@tributary/contracts";

/** A provider named on a command line: its id (`wechat_pay`) or its short name (`wechat`). */
export function parseProviderName(text: string): ProviderId | undefined {
  return isProviderId(text) ? text : providerIdFromSandboxName(text);
}
