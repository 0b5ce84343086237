import { getOption, hasOption } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { access } from "../../gen/commerce/cart/v1/access_pb.js";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { OrderService } from "../../gen/commerce/cart/v1/order_service_pb.js";
import { StoreConfigService } from "../../gen/commerce/cart/v1/store_config_service_pb.js";

const methods = [CartService, CatalogService, OrderService, StoreConfigService].flatMap((service) => service.methods);

describe("access rules", () => {
  it.each(methods.map((method) => [`${method.parent.name}.${method.name}`, method] as const))(
    "%s declares who may call it",
    (_name, method) => {
      expect(hasOption(method, access)).toBe(true);
    },
  );

  it("requires a write (or checkout) scope for every method with side effects", () => {
    const readOnly = methods.filter((method) => method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS).map((method) => method.name);
    for (const method of methods.filter((candidate) => !readOnly.includes(candidate.name))) {
      expect(getOption(method, access).scope, method.name).toMatch(/:(write|checkout)$/);
    }
  });
});
