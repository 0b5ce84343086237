// The typed client kit, published as "cart-service/client": the generated
// service descriptors (CartService, CatalogService, OrderService,
// StoreConfigService) and every message type and schema of
// commerce.cart.v1, for @connectrpc/connect's createClient with a
// @connectrpc/connect-node or @connectrpc/connect-web transport. Built into
// dist-client/ by `npm pack` (the "prepack" script); see README "Typed client".
export * from "../gen/commerce/cart/v1/access_pb.js";
export * from "../gen/commerce/cart/v1/cart_pb.js";
export * from "../gen/commerce/cart/v1/cart_service_pb.js";
export * from "../gen/commerce/cart/v1/catalog_pb.js";
export * from "../gen/commerce/cart/v1/catalog_service_pb.js";
export * from "../gen/commerce/cart/v1/order_pb.js";
export * from "../gen/commerce/cart/v1/order_service_pb.js";
export * from "../gen/commerce/cart/v1/promotion_pb.js";
export * from "../gen/commerce/cart/v1/region_pb.js";
export * from "../gen/commerce/cart/v1/sales_channel_pb.js";
export * from "../gen/commerce/cart/v1/shipping_option_pb.js";
export * from "../gen/commerce/cart/v1/store_config_service_pb.js";
