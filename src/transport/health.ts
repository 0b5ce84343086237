import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { registration, type ServiceRegistration } from "./services.js";

/**
 * The standard gRPC health service (grpc.health.v1) for the given services,
 * so load balancers and orchestrators can probe the process. A process that
 * answers is serving; "" asks about the server as a whole. Watch is not
 * offered: health never changes while the process runs, so callers poll Check.
 */
export function healthRegistration(served: readonly DescService[]): ServiceRegistration {
  const names = ["", Health.typeName, ...served.map((service) => service.typeName)];
  const serving = { status: HealthCheckResponse_ServingStatus.SERVING };
  return registration(Health, {
    check({ service }) {
      if (!names.includes(service)) throw new ConnectError(`unknown service "${service}"`, Code.NotFound);
      return serving;
    },
    list() {
      return { statuses: Object.fromEntries(names.map((name) => [name, serving])) };
    },
    watch() {
      throw new ConnectError("Watch is not offered; poll Check instead", Code.Unimplemented);
    },
  });
}
