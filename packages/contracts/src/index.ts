/**
 * The contracts' TypeScript surface: the topic registry here, and every generated protobuf
 * module under its own subpath (`@tributary/contracts/order/v1/order_events` and so on).
 */
export { defineTopic, findTopicMessage } from "./topic.js";
export type { TopicDefinition, TopicMessage, TopicProvisioning } from "./topic.js";
export {
  allTopics,
  ordersInboundTopic,
  ordersTopic,
  paymentsTopic,
  reconciliationTopic,
  settlementTopic,
  statementsTopic,
} from "./topics.js";
