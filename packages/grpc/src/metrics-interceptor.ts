import { metrics, type Histogram, type Meter } from "@opentelemetry/api";
import { ResponderBuilder, ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";
import { rpcAttributes } from "./rpc-span.js";

/** The bucket boundaries the RPC metrics conventions advise for `rpc.server.call.duration`, in seconds. */
const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * `/package.Service/Method` → service and method. A path that is not of that shape keeps it
 * whole as the service, so nothing a client sends is dropped from the count.
 */
function splitPath(path: string): { service: string; method: string } {
  const match = /^\/([^/]+)\/([^/]+)$/.exec(path);
  return match === null ? { service: path, method: "" } : { service: match[1] ?? path, method: match[2] ?? "" };
}

/**
 * A grpc-js server interceptor that records every call's duration and final status code in the
 * `rpc.server.call.duration` histogram (seconds; `rpc.system`, `rpc.service`, `rpc.method`,
 * `rpc.grpc.status_code`, as the OpenTelemetry RPC metrics conventions name them). Its count is
 * "requests by method and code". It sits innermost, so calls the auth interceptor refuses
 * (UNAUTHENTICATED, PERMISSION_DENIED) are counted as well as the handlers' answers. Internal to the
 * package: `createServer` installs it.
 */
export function createMetricsInterceptor(meter: Meter = metrics.getMeter("@tributary/grpc")): ServerInterceptor {
  const duration: Histogram = meter.createHistogram("rpc.server.call.duration", {
    description: "Duration of incoming gRPC calls, by method and final status code.",
    unit: "s",
    advice: { explicitBucketBoundaries: durationBuckets },
  });
  return (methodDescriptor, call) => {
    const started = performance.now();
    const { service, method } = splitPath(methodDescriptor.path);
    let recorded = false;
    const responder = new ResponderBuilder()
      .withSendStatus((status, next) => {
        if (!recorded) {
          recorded = true;
          duration.record((performance.now() - started) / 1_000, {
            [rpcAttributes.system]: "grpc",
            [rpcAttributes.service]: service,
            [rpcAttributes.method]: method,
            [rpcAttributes.grpcStatusCode]: status.code,
          });
        }
        next(status);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
}
