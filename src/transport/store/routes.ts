import { randomUUID } from "node:crypto";
import type { DescMessage, DescMethodUnary, JsonObject, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import type { Cart } from "../../../gen/commerce/cart/v1/cart_pb.js";
import { CartService } from "../../../gen/commerce/cart/v1/cart_service_pb.js";
import { OrderService } from "../../../gen/commerce/cart/v1/order_service_pb.js";
import type { Region } from "../../../gen/commerce/cart/v1/region_pb.js";
import type { ShippingOption } from "../../../gen/commerce/cart/v1/shipping_option_pb.js";
import { StoreConfigService } from "../../../gen/commerce/cart/v1/store_config_service_pb.js";
import { shippingAmount } from "../../domain/shipping.js";
import type { KeyChannelChoice } from "../../domain/publishable-key.js";
import type { Principal } from "../../service/principal.js";
import { type CallSubject, StoreError } from "./errors.js";
import { type FieldSelection, type FieldsConfig, parseFields, project } from "./fields.js";
import { cartFields, orderFields, paymentCollectionFields, regionFields } from "./query-config.js";
import {
  cartJson,
  orderJson,
  paymentCollectionJson,
  paymentProviderIdFromStore,
  regionJson,
  shippingOptionJson,
  storePaymentProviderId,
} from "./shapes.js";
import * as v from "./validation.js";

/** One /store request as its route sees it. */
export interface StoreRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | string[]>>;
  readonly body: unknown;
  readonly caller: Principal;
  /** The sales channel a new cart gets with the request's publishable key, or why it cannot have the requested one. */
  salesChannelForNewCart(requested: string): KeyChannelChoice;
  /** Sets a header of the answer. */
  setHeader(name: string, value: string): void;
  /** Calls a service method through the interceptor chain, as `caller`. */
  call<I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>, input: MessageInitShape<I>): Promise<MessageShape<O>>;
}

type Run = (request: StoreRequest) => Promise<JsonObject>;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly run: Run;
}

export interface MatchedRoute {
  readonly params: Record<string, string>;
  readonly subject: CallSubject;
  readonly run: Run;
}

const cart = CartService.method;
const storeConfig = StoreConfigService.method;

/** Our ids are UUIDs: anything else names nothing, and is answered as missing rather than malformed. */
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function selection(request: StoreRequest, config: FieldsConfig): FieldSelection {
  const fields = request.query.fields;
  return parseFields(Array.isArray(fields) ? fields.join(",") : fields, config);
}

/** Values of Medusa's metadata are any JSON; ours are strings, so others are kept as their JSON text. */
function metadataOf(metadata: Record<string, unknown> | null | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata ?? {}).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]));
}

function addressOf(address: v.AddressBody | string | undefined) {
  if (address === undefined) return undefined;
  if (typeof address === "string") throw StoreError.invalidData("Invalid request: addresses are given in full; saved address ids are not supported");
  return {
    name: [address.first_name, address.last_name].filter(Boolean).join(" "),
    company: address.company ?? "",
    line1: address.address_1 ?? "",
    line2: address.address_2 ?? "",
    city: address.city ?? "",
    postalCode: address.postal_code ?? "",
    province: address.province ?? "",
    country: (address.country_code ?? "").toUpperCase(),
    phone: address.phone ?? "",
  };
}

async function regionOf(request: StoreRequest, regionId: string): Promise<Region | undefined> {
  if (regionId === "") return undefined;
  return (await request.call(storeConfig.getRegion, { id: regionId })).region;
}

/** `{cart}` as the request's `fields` select it. */
async function cartAnswer(request: StoreRequest, fields: FieldSelection, found: Cart | undefined): Promise<JsonObject> {
  if (!found) throw new Error("the service answered without a cart");
  // The version to send back in If-Match, as on /v1 (Medusa has none).
  request.setHeader("etag", `"${found.etag}"`);
  return { cart: project(cartJson(found, await regionOf(request, found.regionId)), fields) };
}

function cartIdOf(request: StoreRequest): string {
  const { id } = request.params;
  if (!uuid.test(id!)) throw new ConnectError(`cart ${id} does not exist`, Code.NotFound);
  return id!;
}

async function readCart(request: StoreRequest): Promise<Cart> {
  return (await request.call(cart.getCart, { id: cartIdOf(request) })).cart!;
}

/** A cart route: validates the query and body first, so that a bad request changes nothing. */
function cartRoute<T>(body: { parse: (input: unknown) => T } | undefined, change: (request: StoreRequest, input: T, cartId: string) => Promise<Cart | undefined>): Run {
  return async (request) => {
    const fields = selection(request, cartFields);
    const input = body ? body.parse(request.body) : (undefined as T);
    return cartAnswer(request, fields, await change(request, input, cartIdOf(request)));
  };
}

function schema<T>(zodSchema: Parameters<typeof v.validate<T>>[0]): { parse: (input: unknown) => T } {
  return { parse: (input) => v.validate(zodSchema, input) };
}

function validateQuery<T>(request: StoreRequest, zodSchema: Parameters<typeof v.validate<T>>[0]): T {
  return v.validate(zodSchema, request.query);
}

/** Applies codes the cart does not hold yet, then drops held ones not wanted: a refused code changes nothing. */
async function replacePromotionCodes(request: StoreRequest, cartId: string, current: Cart, wanted: readonly string[]): Promise<Cart> {
  const held = new Set(current.promoCodes.map((code) => code.toUpperCase()));
  const want = new Set(wanted.map((code) => code.toUpperCase()));
  let result = current;
  const added = wanted.filter((code) => !held.has(code.toUpperCase()));
  if (added.length > 0) result = (await request.call(cart.applyPromotionCodes, { cartId, codes: added })).cart!;
  const dropped = current.promoCodes.filter((code) => !want.has(code.toUpperCase()));
  if (dropped.length > 0) result = (await request.call(cart.removePromotionCodes, { cartId, codes: dropped })).cart!;
  return result;
}

const createCart: Run = async (request) => {
  const fields = selection(request, cartFields);
  const body = v.validate(v.createCartBody, request.body);
  const channel = request.salesChannelForNewCart(body.sales_channel_id ?? "");
  if ("refusal" in channel) {
    const medusaWording = {
      not_in_key: `Sales channel ID in payload ${body.sales_channel_id} is not associated with the Publishable API Key in the header.`,
      ambiguous:
        "Cannot assign sales channel to cart. The Publishable API Key in the header has multiple associated sales channels. Please provide a sales channel ID in the request body.",
    };
    throw new StoreError(400, {
      errors: [medusaWording[channel.refusal]],
      message: "Provided request body contains errors. Please check the data and retry the request",
    });
  }
  // Medusa's default address: the only country of a region that has one.
  let shippingAddress = addressOf(body.shipping_address);
  if (!shippingAddress && body.region_id) {
    const countries = await request
      .call(storeConfig.getRegion, { id: body.region_id })
      .then(({ region }) => region?.countries ?? [], () => []);
    if (countries.length === 1) shippingAddress = { ...addressOf({})!, country: countries[0]! };
  }
  let created: Cart | undefined;
  try {
    created = (
      await request.call(cart.createCart, {
        customerId: request.caller.subject || `guest:${randomUUID()}`,
        regionId: body.region_id ?? "",
        currency: body.currency_code?.toUpperCase() ?? "",
        salesChannelId: channel.salesChannelId,
        email: body.email ?? "",
        metadata: metadataOf(body.metadata),
        items: (body.items ?? []).map((item) => ({ productId: item.variant_id, quantity: item.quantity, metadata: metadataOf(item.metadata) })),
        shippingAddress,
        billingAddress: addressOf(body.billing_address),
        promoCodes: body.promo_codes ?? [],
      })
    ).cart;
  } catch (error) {
    if (error instanceof ConnectError && error.code === Code.NotFound && /^region /.test(error.rawMessage)) throw StoreError.notFound("No regions found");
    throw error;
  }
  return cartAnswer(request, fields, created);
};

const updateCart = cartRoute(schema(v.updateCartBody), async (request, body, cartId) => {
  const paths: string[] = [];
  const changes: Record<string, unknown> = { id: cartId };
  const set = (path: string, value: unknown) => {
    paths.push(path);
    changes[path] = value;
  };
  if (body.region_id !== undefined) set("regionId", body.region_id);
  if (body.email !== undefined) set("email", body.email ?? "");
  // null keeps the channel: a cart always has one.
  if (body.sales_channel_id) set("salesChannelId", body.sales_channel_id);
  if (body.metadata !== undefined) set("metadata", metadataOf(body.metadata));
  if (body.shipping_address !== undefined) set("shippingAddress", addressOf(body.shipping_address));
  else if (body.region_id !== undefined && body.region_id !== (await readCart(request)).regionId) {
    // Medusa's rule for a new region: its only country becomes the address, else the address is cleared.
    const countries = (await regionOf(request, body.region_id))?.countries ?? [];
    set("shippingAddress", countries.length === 1 ? { country: countries[0] } : undefined);
  }
  if (body.billing_address !== undefined) set("billingAddress", addressOf(body.billing_address));
  const maskPaths = paths.map((path) => path.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`));
  let updated: Cart;
  try {
    updated =
      maskPaths.length > 0
        ? (await request.call(cart.updateCart, { cart: changes, updateMask: { paths: maskPaths } })).cart!
        : await readCart(request);
  } catch (error) {
    const outside = error instanceof ConnectError ? /^region (\S+) does not ship to ([A-Z]{2})/.exec(error.rawMessage) : null;
    if (!outside) throw error;
    const region = await regionOf(request, outside[1]!);
    throw StoreError.invalidData(`Country with code ${outside[2]!.toLowerCase()} is not within region ${region?.name ?? outside[1]}`);
  }
  if (body.promo_codes !== undefined) updated = await replacePromotionCodes(request, cartId, updated, body.promo_codes);
  return updated;
});

const addLineItem = cartRoute(schema(v.addLineItemBody), async (request, body, cartId) => {
  const added = await request.call(cart.addLineItem, {
    cartId,
    productId: body.variant_id,
    quantity: body.quantity,
    metadata: metadataOf(body.metadata),
  });
  return added.cart;
});

function lineIdOf(request: StoreRequest): string {
  const { line_id: lineId } = request.params;
  if (!uuid.test(lineId!)) throw new ConnectError(`cart has no line item ${lineId}`, Code.NotFound);
  return lineId!;
}

const updateLineItem = cartRoute(schema(v.updateLineItemBody), async (request, body, cartId) => {
  const metadata = body.metadata === undefined ? {} : { updateMask: { paths: ["quantity", "metadata"] }, metadata: metadataOf(body.metadata) };
  return (await request.call(cart.updateLineItem, { cartId, itemId: lineIdOf(request), quantity: body.quantity, ...metadata })).cart;
});

const deleteLineItem: Run = async (request) => {
  const fields = selection(request, cartFields);
  const cartId = cartIdOf(request);
  const itemId = lineIdOf(request);
  const { cart: parent } = await request.call(cart.removeLineItem, { cartId, itemId });
  const { cart: parentJson } = await cartAnswer(request, fields, parent);
  return { id: itemId, object: "line-item", deleted: true, parent: parentJson! };
};

const addPromotions = cartRoute(schema(v.promotionsBody), async (request, body, cartId) => {
  if (body.promo_codes.length > 0) return (await request.call(cart.applyPromotionCodes, { cartId, codes: body.promo_codes })).cart;
  return replacePromotionCodes(request, cartId, await readCart(request), []);
});

const removePromotions = cartRoute(schema(v.promotionsBody), async (request, body, cartId) => {
  const current = await readCart(request);
  const unwanted = new Set(body.promo_codes.map((code) => code.toUpperCase()));
  const codes = current.promoCodes.filter((code) => unwanted.has(code.toUpperCase()));
  return codes.length > 0 ? (await request.call(cart.removePromotionCodes, { cartId, codes })).cart : current;
});

const addShippingMethods = cartRoute(schema(v.shippingMethodsBody), async (request, body, cartId) => {
  const methods = Array.isArray(body) ? body : [body];
  let updated: Cart | undefined;
  for (const method of methods) updated = (await request.call(cart.addShippingMethod, { cartId, shippingOptionId: method.option_id })).cart;
  return updated ?? readCart(request);
});

/** Our taxes are always current: this only checks, as Medusa does, that there is a country to tax by. */
const calculateTaxes = cartRoute(schema(v.emptyBody), async (request) => {
  const current = await readCart(request);
  if (!current.shippingAddress?.country) throw StoreError.invalidData("country code is required to calculate taxes");
  return current;
});

const paymentRefusals: Record<string, (error: ConnectError, current: () => Promise<Cart>) => Promise<string>> = {
  no_payment_collection: async () => "Payment collection has not been initiated for cart",
  no_payment_session: async () => "Payment sessions are required to complete cart",
  provider_not_in_region: async (error, current) => {
    const cartNow = await current();
    const providerId = cartNow.paymentCollection?.sessions[0]?.providerId ?? "";
    return `Payment provider ${storePaymentProviderId(providerId)} is not enabled in the cart's region ${cartNow.regionId}.`;
  },
};

const completeCart: Run = async (request) => {
  const fields = selection(request, orderFields);
  const id = cartIdOf(request);
  try {
    const { order } = await request.call(cart.completeCart, { id, requirePaymentSession: true });
    return { type: "order", order: project(orderJson(order!), fields) };
  } catch (error) {
    const refusal = error instanceof ConnectError ? error.findDetails(ErrorInfoSchema)[0]?.metadata.payment_refusal : undefined;
    const message = refusal && paymentRefusals[refusal];
    if (message) throw StoreError.invalidData(await message(error as ConnectError, () => readCart(request)));
    throw error;
  }
};

const transferCart = cartRoute(schema(v.emptyBody), async (request, _body, cartId) => {
  if (request.caller.subject === "") throw StoreError.unauthorized();
  return (await request.call(cart.transferCart, { id: cartId, customerId: request.caller.subject })).cart;
});

/** A cart that does not exist, or is not the caller's (which answers the same). */
function isMissingCart(error: unknown): boolean {
  return error instanceof ConnectError && (error.code === Code.NotFound || error.code === Code.PermissionDenied) && /^cart /.test(error.rawMessage);
}

/** Every page of a list, within a bound: the store's configuration is small. */
async function allPages<T>(read: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>): Promise<T[]> {
  const items: T[] = [];
  let pageToken = "";
  for (let page = 0; page < 20; page++) {
    const result = await read(pageToken);
    items.push(...result.items);
    if (result.nextPageToken === "") break;
    pageToken = result.nextPageToken;
  }
  return items;
}

const listShippingOptions: Run = async (request) => {
  const query = validateQuery(request, v.shippingOptionsQuery);
  const { id } = { id: query.cart_id };
  if (!uuid.test(id)) throw StoreError.notFound(`Cart with id '${id}' not found`);
  const found = await request.call(cart.getCart, { id }).then(
    ({ cart: read }) => read!,
    (error: unknown) => {
      throw isMissingCart(error) ? StoreError.notFound(`Cart with id '${id}' not found`) : error;
    },
  );
  const region = await regionOf(request, found.regionId);
  const options = await allPages<ShippingOption>(async (pageToken) => {
    const page = await request.call(storeConfig.listShippingOptions, { regionId: found.regionId, pageSize: 200, pageToken });
    return { items: page.shippingOptions, nextPageToken: page.nextPageToken };
  });
  const discountedItems = (found.totals?.itemSubtotal ?? 0n) - (found.totals?.itemDiscountTotal ?? 0n);
  const giftCardPart = found.items
    .filter((line) => line.giftCard)
    .reduce((sum, line) => sum + line.subtotalCents - line.adjustments.reduce((off, adjustment) => off + adjustment.amountCents, 0n), 0n);
  const shippingOptions = options.flatMap((option) => {
    const price = option.prices.find((candidate) => candidate.currency === found.currency);
    if (!price) return [];
    const amount = shippingAmount(
      { amount: price.amountCents, freeAbove: price.freeAboveCents, giftCardsCountTowardsFreeShipping: option.giftCardsCountTowardsFreeShipping },
      { discountedSubtotal: discountedItems, giftCardPart },
    );
    return [shippingOptionJson(option, amount, found.currency, region?.pricesIncludeTax ?? false)];
  });
  return { shipping_options: shippingOptions };
};

const listPaymentProviders: Run = async (request) => {
  const query = validateQuery(request, v.paymentProvidersQuery);
  const { paymentProviders } = await request.call(storeConfig.listPaymentProviders, { regionId: query.region_id });
  const all = paymentProviders.map((provider) => ({ id: storePaymentProviderId(provider.id), is_enabled: true }));
  return { payment_providers: all.slice(query.offset, query.offset + query.limit), count: all.length, offset: query.offset, limit: query.limit };
};

const createPaymentCollection: Run = async (request) => {
  const fields = selection(request, paymentCollectionFields);
  const body = v.validate(v.paymentCollectionBody, request.body);
  if (!uuid.test(body.cart_id)) throw StoreError.notFound(`Cart id not found: ${body.cart_id}`);
  const { paymentCollection } = await request.call(cart.createPaymentCollection, { cartId: body.cart_id }).catch((error: unknown) => {
    throw isMissingCart(error) ? StoreError.notFound(`Cart id not found: ${body.cart_id}`) : error;
  });
  return { payment_collection: project(paymentCollectionJson(paymentCollection)!, fields) };
};

const createPaymentSession: Run = async (request) => {
  const fields = selection(request, paymentCollectionFields);
  const body = v.validate(v.paymentSessionBody, request.body);
  const { id } = request.params;
  if (!uuid.test(id!)) throw StoreError.notFound(`Payment collection with id: ${id} was not found`);
  try {
    const { paymentCollection } = await request.call(cart.createPaymentSession, {
      paymentCollectionId: id!,
      providerId: paymentProviderIdFromStore(body.provider_id),
      data: metadataOf(body.data),
    });
    return { payment_collection: project(paymentCollectionJson(paymentCollection)!, fields) };
  } catch (error) {
    const refusal = error instanceof ConnectError ? error.findDetails(ErrorInfoSchema)[0]?.metadata.payment_refusal : undefined;
    if (refusal === "provider_not_in_region") {
      const region = /region (\S+)$/.exec((error as ConnectError).rawMessage)?.[1] ?? "";
      throw StoreError.invalidData(`Payment provider ${body.provider_id} is not enabled in the cart's region ${region}.`);
    }
    if (error instanceof ConnectError && error.code === Code.NotFound && /^payment collection/.test(error.rawMessage)) {
      throw StoreError.notFound(`Payment collection with id: ${id} was not found`);
    }
    throw error;
  }
};

function matches(filter: string | string[] | undefined, value: string): boolean {
  if (filter === undefined) return true;
  return (Array.isArray(filter) ? filter : [filter]).some((wanted) => wanted.toLowerCase() === value.toLowerCase());
}

const listRegions: Run = async (request) => {
  const query = validateQuery(request, v.regionsQuery);
  const fields = parseFields(query.fields, regionFields);
  const regions = await allPages<Region>(async (pageToken) => {
    const page = await request.call(storeConfig.listRegions, { pageSize: 200, pageToken });
    return { items: page.regions, nextPageToken: page.nextPageToken };
  });
  const wanted = regions.filter(
    (region) =>
      matches(query.id, region.id) &&
      matches(query.currency_code, region.currency) &&
      matches(query.name, region.name) &&
      (query.q === undefined || region.name.toLowerCase().includes(query.q.toLowerCase())),
  );
  return {
    regions: wanted.slice(query.offset, query.offset + query.limit).map((region) => project(regionJson(region), fields)),
    count: wanted.length,
    offset: query.offset,
    limit: query.limit,
  };
};

const getRegion: Run = async (request) => {
  const fields = selection(request, regionFields);
  validateQuery(request, v.fieldsQuery);
  return { region: project(regionJson((await request.call(storeConfig.getRegion, { id: request.params.id! })).region!), fields) };
};

const getOrder: Run = async (request) => {
  validateQuery(request, v.fieldsQuery);
  const fields = selection(request, orderFields);
  const { id } = request.params;
  if (!uuid.test(id!)) throw StoreError.notFound(`Order with id: ${id} was not found`);
  return { order: project(orderJson((await request.call(OrderService.method.getOrder, { id: id! })).order!), fields) };
};

/** Cart routes take only `fields` in their query string; checked before anything else. */
function withFieldsQuery(run: Run): Run {
  return (request) => {
    validateQuery(request, v.fieldsQuery);
    return run(request);
  };
}

/** One Store API route as the OpenAPI document describes it. */
export interface StoreRouteDoc {
  readonly method: string;
  /** The path, with `{name}` for each path parameter. */
  readonly template: string;
  readonly summary: string;
  /** Whether a JSON body is read (an empty one reads as {}). */
  readonly body: boolean;
  /** Query parameters; a trailing `!` marks a required one. */
  readonly query: readonly string[];
  /** The top-level key of the 200 answer's JSON object. */
  readonly answers: string;
}

const fieldsOnly = ["fields"];
const routeTable: readonly [StoreRouteDoc, Run][] = (
  [
    ["POST", "/store/carts", "Create a cart", true, fieldsOnly, "cart", withFieldsQuery(createCart)],
    ["GET", "/store/carts/{id}", "Retrieve a cart", false, fieldsOnly, "cart", withFieldsQuery(cartRoute(undefined, (request) => readCart(request)))],
    ["POST", "/store/carts/{id}", "Update a cart (promo_codes replaces the held codes)", true, fieldsOnly, "cart", withFieldsQuery(updateCart)],
    ["POST", "/store/carts/{id}/line-items", "Add a line item", true, fieldsOnly, "cart", withFieldsQuery(addLineItem)],
    ["POST", "/store/carts/{id}/line-items/{line_id}", "Update a line item (quantity 0 removes it)", true, fieldsOnly, "cart", withFieldsQuery(updateLineItem)],
    ["DELETE", "/store/carts/{id}/line-items/{line_id}", "Remove a line item", false, fieldsOnly, "parent", withFieldsQuery(deleteLineItem)],
    ["POST", "/store/carts/{id}/promotions", "Add promotion codes (an empty list removes all)", true, fieldsOnly, "cart", withFieldsQuery(addPromotions)],
    ["DELETE", "/store/carts/{id}/promotions", "Remove promotion codes (JSON body)", true, fieldsOnly, "cart", withFieldsQuery(removePromotions)],
    ["POST", "/store/carts/{id}/shipping-methods", "Choose shipping options (one or a list)", true, fieldsOnly, "cart", withFieldsQuery(addShippingMethods)],
    ["POST", "/store/carts/{id}/taxes", "Calculate taxes (always current here)", true, fieldsOnly, "cart", withFieldsQuery(calculateTaxes)],
    ["POST", "/store/carts/{id}/complete", "Complete the cart: the order, the same one on every retry", true, fieldsOnly, "order", withFieldsQuery(completeCart)],
    ["POST", "/store/carts/{id}/customer", "Give a guest cart to the signed-in customer", true, fieldsOnly, "cart", withFieldsQuery(transferCart)],
    ["GET", "/store/shipping-options", "Shipping options for a cart", false, ["cart_id!", "is_return", "fields", "limit", "offset", "order", "with_deleted"], "shipping_options", listShippingOptions],
    ["GET", "/store/payment-providers", "Payment providers of a region", false, ["region_id!", "fields", "limit", "offset", "order"], "payment_providers", listPaymentProviders],
    ["POST", "/store/payment-collections", "The cart's payment collection, created on first call", true, fieldsOnly, "payment_collection", withFieldsQuery(createPaymentCollection)],
    ["POST", "/store/payment-collections/{id}/payment-sessions", "Start a payment session, replacing any other", true, fieldsOnly, "payment_collection", withFieldsQuery(createPaymentSession)],
    ["GET", "/store/regions", "List regions", false, ["q", "id", "currency_code", "name", "fields", "limit", "offset", "order"], "regions", listRegions],
    ["GET", "/store/regions/{id}", "Retrieve a region", false, fieldsOnly, "region", getRegion],
    ["GET", "/store/orders/{id}", "Retrieve an order (a guest's by its id, a customer's by its owner)", false, fieldsOnly, "order", getOrder],
  ] as const
).map(([method, template, summary, body, query, answers, run]) => [{ method, template, summary, body, query, answers }, run]);

/** The routes of the Store API, for its OpenAPI description. */
export const storeRouteDocs: readonly StoreRouteDoc[] = routeTable.map(([doc]) => doc);

const routes: readonly (Route & { readonly names: readonly string[] })[] = routeTable.map(([doc, run]) => ({
  method: doc.method,
  pattern: new RegExp(`^${doc.template.replace(/\{[a-z_]+\}/g, "([^/]+)")}/?$`),
  names: [...doc.template.matchAll(/\{([a-z_]+)\}/g)].map((match) => match[1]!),
  run,
}));

/** What a route's path parameters name, for the error messages that quote them. */
function subjectOf(path: string, params: Record<string, string>): CallSubject {
  if (path.startsWith("/store/carts/")) {
    return { cartId: params.id, lineId: params.line_id, retrieve: false, shippingOption: path.endsWith("/shipping-methods") };
  }
  if (path.startsWith("/store/orders/")) return { orderId: params.id };
  if (path.startsWith("/store/regions/")) return { regionId: params.id };
  return {};
}

/** The route serving `method path`, with its decoded path parameters; undefined when none does. */
export function matchStoreRoute(method: string, path: string): MatchedRoute | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (!match) continue;
    let params: Record<string, string>;
    try {
      params = Object.fromEntries(route.names.map((name, index) => [name, decodeURIComponent(match[index + 1]!)]));
    } catch {
      return undefined;
    }
    const subject = subjectOf(path, params);
    return { params, subject: method === "GET" && path.startsWith("/store/carts/") ? { ...subject, retrieve: true } : subject, run: route.run };
  }
  return undefined;
}
