import { Provider } from "./gen/tributary/common/v1/provider_pb.js";

/**
 * The one set of provider identifiers: the proto `Provider` enum's value names, lowercased and
 * without their `PROVIDER_` prefix. Services, their databases (the order service's
 * `payment_provider` enum) and events spell a provider this way; the order is fixed.
 */
export const PROVIDER_IDS = ["alipay", "wechat_pay", "unionpay", "jd_pay", "ecny"] as const;

/** One of {@link PROVIDER_IDS}. */
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** How one provider is spelled everywhere it has a name of its own. */
export interface ProviderSpellings {
  /** The wire value in every message that names a provider. */
  readonly proto: Provider;
  /**
   * The provider sandbox's short name for it: its path prefix where the real provider has none of
   * its own (`/jdpay/v1/…`), its control API (`/_sandbox/transactions/wechat`), the keys of its
   * fault and timing options, and the seed its deterministic PRNG forks from. Changing one changes
   * the sandbox's seeded data, so they stay as they are.
   */
  readonly sandboxName: string;
}

/**
 * The one mapping table between the spellings of a provider. Anything that converts between them
 * goes through the functions below, so a new provider is one row here (and one proto enum value).
 */
export const PROVIDERS = {
  alipay: { proto: Provider.ALIPAY, sandboxName: "alipay" },
  wechat_pay: { proto: Provider.WECHAT_PAY, sandboxName: "wechat" },
  unionpay: { proto: Provider.UNIONPAY, sandboxName: "unionpay" },
  jd_pay: { proto: Provider.JD_PAY, sandboxName: "jdpay" },
  ecny: { proto: Provider.ECNY, sandboxName: "ecny" },
} as const satisfies Readonly<Record<ProviderId, ProviderSpellings>>;

/** The provider sandbox's name for a provider (the table's `sandboxName` column). */
export type SandboxProviderName = (typeof PROVIDERS)[ProviderId]["sandboxName"];

const idByProto: ReadonlyMap<Provider, ProviderId> = new Map(PROVIDER_IDS.map((id) => [PROVIDERS[id].proto, id]));
const idBySandboxName: ReadonlyMap<string, ProviderId> = new Map(PROVIDER_IDS.map((id) => [PROVIDERS[id].sandboxName, id]));

/** Tells whether a string from outside is one of {@link PROVIDER_IDS}. */
export function isProviderId(value: string): value is ProviderId {
  return (PROVIDER_IDS as readonly string[]).includes(value);
}

/**
 * The provider id of a proto enum value, or `undefined` for UNSPECIFIED and for a number this
 * contract does not define: the caller decides whether that is "no preference" or a bad message.
 */
export function providerIdFromProto(provider: Provider): ProviderId | undefined {
  return idByProto.get(provider);
}

/** The proto enum value of a provider id. */
export function providerIdToProto(id: ProviderId): Provider {
  return PROVIDERS[id].proto;
}

/** The provider sandbox's short name of a provider id. */
export function sandboxProviderName(id: ProviderId): SandboxProviderName {
  return PROVIDERS[id].sandboxName;
}

/** The provider id of a sandbox short name, or `undefined` when the sandbox plays no such provider. */
export function providerIdFromSandboxName(name: string): ProviderId | undefined {
  return idBySandboxName.get(name);
}
