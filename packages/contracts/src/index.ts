/**
 * The contracts' TypeScript surface: the topic registry and the provider and channel identifier tables here,
 * and every generated protobuf module under its own subpath
 * (`@tributary/contracts/order/v1/order_events` and so on).
 */
export { CHANNEL_IDS, CHANNELS, channelIdFromProto, channelIdToProto, isChannelId } from "./channels.js";
export type { ChannelId } from "./channels.js";
export {
  isProviderId,
  PROVIDER_IDS,
  providerIdFromProto,
  providerIdFromSandboxName,
  providerIdToProto,
  PROVIDERS,
  sandboxProviderName,
} from "./providers.js";
export type { ProviderId, ProviderSpellings, SandboxProviderName } from "./providers.js";
export { defineTopic, findTopicMessage } from "./topic.js";
export type { TopicDefinition, TopicMessage, TopicProvisioning } from "./topic.js";
export {
  allTopics,
  ordersInboundTopic,
  ordersTopic,
  paymentsTopic,
  reconciliationTopic,
  routingTopic,
  settlementTopic,
  statementsTopic,
} from "./topics.js";
