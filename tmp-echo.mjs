import * as grpc from "@grpc/grpc-js";
const s = new grpc.Server({"grpc.enable_channelz": 0});
s.addService({ Check: { path: "/grpc.health.v1.Health/Check", requestStream: false, responseStream: false, requestDeserialize: b => b, responseSerialize: b => b, requestSerialize: b=>b, responseDeserialize: b=>b } }, { Check: (call, cb) => cb(null, Buffer.from([8,1])) });
s.bindAsync("127.0.0.1:28090", grpc.ServerCredentials.createInsecure(), () => console.log("up"));
