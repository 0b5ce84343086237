/**
 * The ceiling of the service's gRPC echo: grpc.health.v1.Health/Check served
 * by @grpc/grpc-js and nothing else (no interceptors, logging, metrics,
 * validation or protobuf runtime). Listens on HOST:PORT and prints
 * "listening". The bench builds it to JavaScript and runs it with node, as
 * it does the service.
 */
import * as grpc from "@grpc/grpc-js";

/** HealthCheckResponse { status: SERVING }, encoded once; the request (an empty message) is not decoded. */
const serving = Buffer.from([0x08, 0x01]);
const bytes = (buffer: Buffer) => buffer;

const health: grpc.ServiceDefinition = {
  check: {
    path: "/grpc.health.v1.Health/Check",
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes,
    requestDeserialize: bytes,
    responseSerialize: bytes,
    responseDeserialize: bytes,
  },
};
const check: grpc.handleUnaryCall<Buffer, Buffer> = (_call, callback) => callback(null, serving);

const server = new grpc.Server();
server.addService(health, { check });
server.bindAsync(`${process.env.HOST}:${process.env.PORT}`, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) throw error;
  console.log("listening");
});
