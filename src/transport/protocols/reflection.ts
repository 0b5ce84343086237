import {
  clone,
  createFileRegistry,
  createRegistry,
  type DescFile,
  type DescService,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import {
  file_grpc_reflection_v1_reflection,
  ServerReflection,
  type ServerReflectionRequest,
  type ServerReflectionResponseSchema,
} from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { registration, type ServiceRegistration } from "./services.js";

type Answer = MessageInitShape<typeof ServerReflectionResponseSchema>["messageResponse"];

/**
 * gRPC server reflection over the descriptors the server is built from, so
 * tools such as `buf curl` and grpcurl can list and call every method without
 * the .proto files. Served as grpc.reflection.v1 and, for older tools, as
 * v1alpha: the same protocol under its earlier package name.
 */
export function reflectionRegistrations(described: readonly DescService[]): ServiceRegistration[] {
  const v1alpha = v1alphaReflection();
  const impl = createReflection([...described, ServerReflection, v1alpha]);
  return [
    registration(ServerReflection, impl),
    // The messages are wire-identical, and the implementation answers with
    // plain initializers, which Connect builds with whichever schema the
    // method declares.
    { service: v1alpha, impl: impl as unknown as ServiceRegistration["impl"] },
  ];
}

function createReflection(services: readonly DescService[]): ServiceImpl<typeof ServerReflection> {
  const files = withDependencies(services.map((service) => service.file));
  const filesByName = new Map(files.map((file) => [file.proto.name, file]));
  const encoded = new Map(files.map((file) => [file, toBinary(FileDescriptorProtoSchema, file.proto)]));
  const registry = createRegistry(...files);
  const serviceNames = services.map((service) => ({ name: service.typeName }));

  /** The file declaring a symbol: a type, a service, or a method or field of one. */
  const fileDeclaring = (symbol: string): DescFile | undefined => {
    const type = registry.get(symbol);
    if (type) return type.file;
    const member = symbol.slice(symbol.lastIndexOf(".") + 1);
    const parent = registry.get(symbol.slice(0, symbol.lastIndexOf(".")));
    if (parent?.kind === "service" && parent.methods.some((method) => method.name === member)) return parent.file;
    if (parent?.kind === "message" && parent.fields.some((field) => field.name === member)) return parent.file;
    return undefined;
  };

  /**
   * A file with its dependencies, leaving out those already sent on this
   * stream, as the protocol allows.
   */
  const describe = (file: DescFile | undefined, what: string, sent: Set<DescFile>): Answer => {
    if (!file) return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } };
    const unsent = withDependencies([file]).filter((each) => each === file || !sent.has(each));
    for (const each of unsent) sent.add(each);
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto: unsent.map((each) => encoded.get(each)!) } };
  };

  const answer = (request: ServerReflectionRequest, sent: Set<DescFile>): Answer => {
    const { messageRequest } = request;
    switch (messageRequest.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: serviceNames } };
      case "fileByFilename":
        return describe(filesByName.get(messageRequest.value), `file ${messageRequest.value}`, sent);
      case "fileContainingSymbol":
        return describe(fileDeclaring(messageRequest.value), `symbol ${messageRequest.value}`, sent);
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = messageRequest.value;
        const extendee = registry.getMessage(containingType);
        const extension = extendee && registry.getExtensionFor(extendee, extensionNumber);
        return describe(extension?.file, `extension ${extensionNumber} of ${containingType}`, sent);
      }
      case "allExtensionNumbersOfType": {
        if (!registry.getMessage(messageRequest.value)) {
          return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `type ${messageRequest.value} not found` } };
        }
        const numbers = [...registry].flatMap((type) =>
          type.kind === "extension" && type.extendee.typeName === messageRequest.value ? [type.number] : [],
        );
        return { case: "allExtensionNumbersResponse", value: { baseTypeName: messageRequest.value, extensionNumber: numbers } };
      }
      default:
        return { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" } };
    }
  };

  return {
    async *serverReflectionInfo(requests) {
      const sent = new Set<DescFile>();
      for await (const request of requests) {
        yield { validHost: request.host, originalRequest: request, messageResponse: answer(request, sent) };
      }
    },
  };
}

/** The files and everything they import, each once, in depth-first order. */
function withDependencies(roots: readonly DescFile[]): DescFile[] {
  const seen = new Set<DescFile>();
  const visit = (file: DescFile) => {
    if (seen.has(file)) return;
    seen.add(file);
    file.dependencies.forEach(visit);
  };
  roots.forEach(visit);
  return [...seen];
}

/** grpc.reflection.v1alpha.ServerReflection, derived from the v1 descriptor by renaming its package. */
function v1alphaReflection(): DescService {
  const proto = clone(FileDescriptorProtoSchema, file_grpc_reflection_v1_reflection.proto);
  const rename = (typeName: string) => typeName.replace(/^\.grpc\.reflection\.v1\./, ".grpc.reflection.v1alpha.");
  proto.name = "grpc/reflection/v1alpha/reflection.proto";
  proto.package = "grpc.reflection.v1alpha";
  for (const message of proto.messageType) {
    for (const field of message.field) field.typeName = rename(field.typeName);
  }
  for (const service of proto.service) {
    for (const method of service.method) {
      method.inputType = rename(method.inputType);
      method.outputType = rename(method.outputType);
    }
  }
  return createFileRegistry(proto, () => undefined).getService("grpc.reflection.v1alpha.ServerReflection")!;
}
