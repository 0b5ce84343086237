import { fromBinary } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  addLineItem,
  addShippingMethod,
  applyPromotionCodes,
  type Cart,
  type CartChanges,
  type CartLimits,
  type ChangeContext,
  checkEtag,
  type CodeLookup,
  createCart,
  createPaymentCollection,
  deleteCart,
  type ItemToAdd,
  type PricingContext,
  type ProductOffer,
  removeLineItem,
  removePromotionCodes,
  removeShippingMethod,
  startPaymentSession,
  transferCart,
  updateCart,
  updateLineItem,
} from "../domain/cart.js";
import { currencyExponent } from "../domain/currency.js";
import { DomainError } from "../domain/errors.js";
import { mergeCarts } from "../domain/merge.js";
import { completeCart, completedOrder } from "../domain/order.js";
import { hasUsageLimit, type Promotion } from "../domain/promotions.js";
import { currencyRegionId, type Region, taxFreeRegion } from "../domain/store.js";
import type { CartRepository } from "../storage/cart-repository.js";
import type { CatalogRepository } from "../storage/catalog-repository.js";
import type { OrderRepository } from "../storage/order-repository.js";
import type { PendingRead, Tx } from "../storage/database.js";
import type { RegionChoice, StoreConfigRepository } from "../storage/store-config-repository.js";
import { VersionedCache, type VersionedCacheBounds } from "../versioned-cache.js";
import type { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { type Cart as CartMessage, CartSchema } from "../../gen/commerce/cart/v1/cart_pb.js";
import { CartAccess } from "./access.js";
import { encodeOnce } from "./encoded-messages.js";
import { invalidField } from "./errors.js";
import type { EventWatchers } from "./event-watchers.js";
import { addressFromProto, cartAmountFields, cartStatusFromProto, toCartMessage, toMergeReportMessage, toOrderMessage, sharedCartMessage } from "./mapping.js";
import { decodePageToken, effectivePageSize, toPage, uuidKeyPattern } from "./page-token.js";
import { principalOf } from "./principal.js";
import { ReadMask } from "./read-mask.js";

export interface StoreDefaults {
  /** The region of carts created without region_id and currency (DEFAULT_REGION_ID). */
  readonly regionId: string;
  /** The currency of the default region when the service has to create it (DEFAULT_CURRENCY). */
  readonly currency: string;
  /** The sales channel of carts created without one (DEFAULT_SALES_CHANNEL_ID). */
  readonly salesChannelId: string;
}

export interface CartServiceDeps {
  readonly carts: CartRepository;
  readonly catalog: CatalogRepository;
  readonly orders: OrderRepository;
  readonly storeConfig: StoreConfigRepository;
  readonly defaults: StoreDefaults;
  readonly limits: CartLimits;
  readonly now: () => Date;
  readonly newId: () => string;
  readonly watchers: EventWatchers;
}

/** The etag of an HTTP If-Match header (`"7"`, `W/"7"` or `7`); "" when absent. */
function etagFromIfMatch(header: string | null): string {
  return header?.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1") ?? "";
}

/** The fields UpdateCart may change, by update_mask path; each must be set when named, except the addresses (unset clears). */
const updatablePaths = ["region_id", "sales_channel_id", "shipping_address", "billing_address", "email", "metadata", "currency"];
/** The fields UpdateLineItem may change, by update_mask path. */
const lineUpdatablePaths = ["quantity", "metadata"];
const requiredWhenNamed: Record<string, (cart: CartMessage) => string> = {
  region_id: (cart) => cart.regionId,
  sales_channel_id: (cart) => cart.salesChannelId,
  currency: (cart) => cart.currency,
};

/** Refuses an update_mask path that is not among `updatable`. */
function checkMaskPaths(paths: Iterable<string>, updatable: readonly string[]): void {
  for (const path of paths) {
    if (!updatable.includes(path)) {
      throw invalidField("update_mask", "update_mask.updatable", `path "${path}" cannot be updated; updatable fields: ${updatable.join(", ")}`);
    }
  }
}

/** `pricing` knowing `promotions` too (those found by code when they are applied). */
function withPromotions(pricing: PricingContext, promotions: readonly Promotion[]): PricingContext {
  const added = new Set(promotions.map((promotion) => promotion.id));
  return { ...pricing, promotions: [...pricing.promotions.filter((promotion) => !added.has(promotion.id)), ...promotions] };
}

const foundPromotions = (found: ReadonlyMap<string, CodeLookup>) => [...found.values()].map((lookup) => lookup.promotion);

/** Whether the caller may change a cart (undefined: there is none): the cart if so, else throws the answer. */
type Admission = (access: CartAccess, cart: Cart | undefined) => Cart;

/**
 * The whole Cart messages a process (each worker) holds, of the carts it last
 * answered whole: at most 1,000 carts and 1 MiB of them encoded (held messages
 * take about ten times that in memory: 6.8 KiB for a 680-byte cart of three
 * lines).
 */
const heldCartBounds: VersionedCacheBounds = { entries: 1000, size: 1024 * 1024 };

export function createCartService(deps: CartServiceDeps): ServiceImpl<typeof CartService> {
  const { carts, catalog, orders, storeConfig, defaults, limits, now, newId, watchers } = deps;
  // A GetCart of a cart still at the version held answers the held message (see getCart).
  const held = new VersionedCache<CartMessage>(heldCartBounds, (message) => encodeOnce(CartSchema, message).byteLength);

  /** The message answering a change that left `cart` (its event's message, if it was written), held for the GetCart calls after it. */
  function answerCart(cart: Cart): CartMessage {
    const message = sharedCartMessage(cart);
    held.hold(cart.id, cart.version, message);
    return message;
  }

  /** Pairs each item with its product's offer and a fresh line id. */
  const withOffers = (
    items: readonly { productId: string; quantity: number; metadata: Readonly<Record<string, string>> }[],
    offers: ReadonlyMap<string, ProductOffer>,
  ): ItemToAdd[] =>
    items.map(({ productId, quantity, metadata }) => ({ productId, quantity, metadata, offer: offers.get(productId), newLineId: newId() }));

  /**
   * The region a cart gets and its pricing context (with `promotions`): the
   * region named by id; else, for a currency, the default region when it
   * sells in it, else the region with the smallest id that does, else a
   * tax-free region for any country made for that currency; else the default
   * region. The regions the service makes are created here, inside the
   * caller's transaction, so a refused request leaves none behind.
   */
  async function pricingFor(
    tx: Tx,
    wanted: { regionId?: string; currency?: string },
    promotions: readonly Promotion[],
  ): Promise<PricingContext> {
    const { regionId, currency } = wanted;
    if (currency) currencyExponent(currency);
    const choice: RegionChoice = regionId
      ? { regionId }
      : currency
        ? { currency, preferredId: defaults.regionId }
        : { regionId: defaults.regionId };
    const promotionIds = promotions.map((promotion) => promotion.id);
    let pricing = await storeConfig.pricingForNewCart(tx, choice, promotionIds);
    if (!pricing.region) {
      if (regionId) throw new DomainError("not_found", `region ${regionId} does not exist`);
      const made = currency
        ? taxFreeRegion(currencyRegionId(defaults.regionId, currency), currency, now())
        : taxFreeRegion(defaults.regionId, defaults.currency, now());
      await storeConfig.ensureRegion(made, tx);
      pricing = await storeConfig.pricingForNewCart(tx, { regionId: made.id }, promotionIds);
    }
    const region: Region = pricing.region!;
    if (currency && currency !== region.currency) {
      throw new DomainError("invalid_argument", `currency ${currency} is not the currency of region ${region.id} (${region.currency})`);
    }
    return withPromotions({ ...pricing, region }, promotions);
  }

  async function requireSalesChannel(tx: Tx, id: string): Promise<void> {
    if (!(await storeConfig.getSalesChannel(id, tx))) throw new DomainError("not_found", `sales channel ${id} does not exist`);
  }

  /** The etag a mutation is based on: its etag field, else the If-Match header; "" for none. */
  const expectedEtagOf = (etag: string, context: HandlerContext) => etag || etagFromIfMatch(context.requestHeader.get("if-match"));

  /**
   * Applies a domain change to a locked cart the caller may access (`admit`:
   * see, or also take over, or a rule of the caller's for a cart reached
   * through something of its own, which also judges the answer), provided it
   * is still at the etag the caller based the change on, and answers with the
   * result.
   */
  async function change<T = undefined>(
    id: string,
    etag: string,
    context: HandlerContext,
    apply: (cart: Cart, change: ChangeContext, tx: Tx, alsoRead: T) => Promise<Cart> | Cart,
    { admit = "visible", alsoRead }: { admit?: "visible" | "claimable" | Admission; alsoRead?: (tx: Tx) => PendingRead<T> } = {},
  ) {
    const access = new CartAccess(principalOf(context));
    const expectedEtag = expectedEtagOf(etag, context);
    const cart = await carts.update(
      id,
      (locked, pricing, tx, read) => {
        const visible = typeof admit === "function" ? admit(access, locked) : access[admit](id, locked);
        checkEtag(visible, expectedEtag);
        return apply(visible, { now: now(), limits, pricing }, tx, read);
      },
      alsoRead,
    );
    return { cart: answerCart(typeof admit === "function" ? admit(access, cart) : access.visible(id, cart)) };
  }

  return {
    async createCart(request, context) {
      new CartAccess(principalOf(context)).checkOwner(request.customerId);
      const id = newId();
      const salesChannelId = request.salesChannelId || defaults.salesChannelId;
      const cart = await carts.create(async (tx) => {
        const found =
          request.promoCodes.length > 0
            ? await storeConfig.lookupCodes(tx, request.promoCodes, request.customerId)
            : new Map<string, CodeLookup>();
        const pricing = await pricingFor(tx, request, foundPromotions(found));
        if (request.salesChannelId) await requireSalesChannel(tx, salesChannelId);
        const productIds = [...new Set(request.items.map((item) => item.productId))];
        const items = withOffers(request.items, await catalog.offers(productIds, pricing.region.currency, tx));
        return createCart(
          {
            id,
            customerId: request.customerId,
            salesChannelId,
            email: request.email,
            metadata: request.metadata,
            shippingAddress: request.shippingAddress && addressFromProto(request.shippingAddress),
            billingAddress: request.billingAddress && addressFromProto(request.billingAddress),
          },
          items,
          { codes: request.promoCodes, found },
          { now: now(), limits, pricing },
        );
      });
      return { cart: answerCart(cart) };
    },

    /**
     * A cart unchanged since this process answered it whole is answered with
     * the held message: the read compares the version and then skips the
     * lines and amounts, and the message's encoding is remembered. A masked
     * read gets a decoded copy, since masks prune in place.
     */
    async getCart(request, context) {
      const mask = ReadMask.parse(CartSchema, request.readMask);
      const access = new CartAccess(principalOf(context));
      if (!mask.selectsAny(cartAmountFields)) {
        return { cart: mask.apply(toCartMessage(access.visible(request.id, await carts.get(request.id, { amounts: false })))) };
      }
      const heldMessage = held.get(request.id);
      const read = access.visible(
        request.id,
        heldMessage ? await carts.getUnlessAtVersion(request.id, heldMessage.version) : await carts.get(request.id),
      );
      if (!("totals" in read)) {
        // Only the summary comes back while the cart is at the held version.
        const message = heldMessage!.value;
        return { cart: mask.selectsAll ? message : mask.apply(fromBinary(CartSchema, encodeOnce(CartSchema, message))) };
      }
      if (!mask.selectsAll) return { cart: mask.apply(toCartMessage(read)) };
      const whole = toCartMessage(read);
      held.hold(read.id, read.version, whole);
      return { cart: whole };
    },

    async *watchCart(request, context) {
      const access = new CartAccess(principalOf(context));
      // Subscribed before the first read, so that no change committed after it goes unseen.
      const subscription = watchers.subscribe(request.id);
      try {
        let sentVersion = 0;
        do {
          const cart = access.visible(request.id, await carts.get(request.id));
          if (cart.version > sentVersion) {
            sentVersion = cart.version;
            yield { cart: toCartMessage(cart) };
          }
        } while (await subscription.next(context.signal));
      } finally {
        subscription.close();
      }
    },

    async listCarts(request, context) {
      const customerId = new CartAccess(principalOf(context)).listFilter(request.customerId);
      const status = cartStatusFromProto(request.status);
      const filters = [customerId, request.status];
      const limit = effectivePageSize(request.pageSize);
      const mask = ReadMask.parse(CartSchema, request.readMask);
      const page = await carts.list(
        { customerId, status, beforeId: decodePageToken(request.pageToken, filters, uuidKeyPattern), limit: limit + 1 },
        { amounts: mask.selectsAny(cartAmountFields) },
      );
      const { items, nextPageToken } = toPage(page, limit, (cart) => cart.id, filters);
      return { carts: items.map((cart) => mask.apply(toCartMessage(cart))), nextPageToken };
    },

    async updateCart(request, context) {
      const message = request.cart!;
      const paths = new Set(request.updateMask!.paths);
      checkMaskPaths(paths, updatablePaths);
      for (const path of paths) {
        if (requiredWhenNamed[path]?.(message) === "") {
          throw invalidField(`cart.${path}`, "update_mask.set_when_named", "must be set when update_mask names it");
        }
      }
      return change(message.id, message.etag, context, async (cart, changeContext, tx) => {
        const productIds = cart.lines.map((line) => line.productId);
        let pricing = changeContext.pricing;
        const changes: { -readonly [K in keyof CartChanges]: CartChanges[K] } = {};
        // The region the cart would end up in; the domain decides whether it may.
        if (paths.has("region_id") && message.regionId !== cart.regionId) {
          pricing = { ...pricing, region: (await pricingFor(tx, { regionId: message.regionId }, [])).region };
        } else if (!paths.has("region_id") && paths.has("currency") && message.currency !== cart.currency) {
          pricing = { ...pricing, region: (await pricingFor(tx, { currency: message.currency }, [])).region };
        }
        const moved = pricing.region.id !== cart.regionId;
        if (paths.has("region_id")) {
          const offers = moved ? await catalog.offers(productIds, pricing.region.currency, tx) : new Map();
          changes.region = { region: pricing.region, offers };
        }
        if (paths.has("currency")) changes.currency = { currency: message.currency, region: pricing.region };
        if (paths.has("sales_channel_id") && message.salesChannelId !== cart.salesChannelId) {
          await requireSalesChannel(tx, message.salesChannelId);
          const offers = moved && changes.region ? changes.region.offers : await catalog.offers(productIds, pricing.region.currency, tx);
          changes.salesChannel = { id: message.salesChannelId, offers };
        }
        if (paths.has("shipping_address")) changes.shippingAddress = message.shippingAddress ? addressFromProto(message.shippingAddress) : null;
        if (paths.has("billing_address")) changes.billingAddress = message.billingAddress ? addressFromProto(message.billingAddress) : null;
        if (paths.has("email")) changes.email = message.email;
        if (paths.has("metadata")) changes.metadata = message.metadata;
        return updateCart(cart, changes, { ...changeContext, pricing });
      });
    },

    async deleteCart(request, context) {
      return change(request.id, request.etag, context, (cart, changeContext) => deleteCart(cart, changeContext));
    },

    async addLineItem(request, context) {
      return change(
        request.cartId,
        request.etag,
        context,
        (cart, changeContext, _tx, offers) => addLineItem(cart, withOffers([request], offers)[0]!, changeContext),
        { alsoRead: (tx: Tx) => catalog.cartOffers(tx, request.cartId, { productIds: [request.productId] }) },
      );
    },

    async updateLineItem(request, context) {
      const paths = request.updateMask?.paths.length ? request.updateMask.paths : ["quantity"];
      checkMaskPaths(paths, lineUpdatablePaths);
      const quantity = paths.includes("quantity") ? request.quantity : undefined;
      const metadata = paths.includes("metadata") ? request.metadata : undefined;
      return change(
        request.cartId,
        request.etag,
        context,
        (cart, changeContext, _tx, offers) => updateLineItem(cart, request.itemId, quantity, offers, changeContext, metadata),
        { alsoRead: (tx: Tx) => catalog.cartOffers(tx, request.cartId, { lineIds: [request.itemId] }) },
      );
    },

    async removeLineItem(request, context) {
      return change(request.cartId, request.etag, context, (cart, changeContext) =>
        removeLineItem(cart, request.itemId, changeContext),
      );
    },

    async applyPromotionCodes(request, context) {
      return change(request.cartId, request.etag, context, async (cart, changeContext, tx) => {
        const found = await storeConfig.lookupCodes(tx, request.codes, cart.customerId);
        const pricing = withPromotions(changeContext.pricing, foundPromotions(found));
        return applyPromotionCodes(cart, request.codes, found, { ...changeContext, pricing });
      });
    },

    async removePromotionCodes(request, context) {
      return change(request.cartId, request.etag, context, (cart, changeContext) =>
        removePromotionCodes(cart, request.codes, changeContext),
      );
    },

    async addShippingMethod(request, context) {
      return change(request.cartId, request.etag, context, async (cart, changeContext, tx) => {
        const option = await storeConfig.getShippingOption(request.shippingOptionId, tx);
        if (!option) throw new DomainError("not_found", `shipping option ${request.shippingOptionId} does not exist`);
        const pricing = { ...changeContext.pricing, shippingOptions: [...changeContext.pricing.shippingOptions, option] };
        return addShippingMethod(cart, option, newId(), { ...changeContext, pricing });
      });
    },

    async removeShippingMethod(request, context) {
      return change(request.cartId, request.etag, context, (cart, changeContext) =>
        removeShippingMethod(cart, request.shippingMethodId, changeContext),
      );
    },

    async completeCart(request, context) {
      const access = new CartAccess(principalOf(context));
      const expectedEtag = expectedEtagOf(request.etag, context);
      const { carts: [cart], order } = await carts.updateEach([request.id], async ([locked], tx) => {
        const visible = access.visible(request.id, locked?.cart);
        // Exactly once: a completed cart answers the order it became, whatever
        // etag the retry carries, and nothing is written.
        if (visible.status === "completed") {
          const order = await orders.get(visible.orderId!, tx);
          return { carts: [visible], order: order && completedOrder(order, request.paymentReference) };
        }
        checkEtag(visible, expectedEtag);
        const { pricing } = locked!;
        const held = new Set(visible.promotions.map((promotion) => promotion.promotionId));
        const limited = pricing.promotions.filter((promotion) => held.has(promotion.id) && hasUsageLimit(promotion));
        const promotionUsage = await storeConfig.lockPromotionUsage(tx, limited.map((promotion) => promotion.id), visible.customerId);
        const offers = await catalog.offers([...new Set(visible.lines.map((line) => line.productId))], visible.currency, tx);
        const completion = completeCart(
          visible,
          {
            offers,
            promotionUsage,
            orderId: newId(),
            paymentReference: request.paymentReference,
            requirePaymentSession: request.requirePaymentSession,
          },
          { now: now(), limits, pricing },
        );
        await orders.insert(tx, completion.order);
        return { carts: [completion.cart], order: completion.order };
      });
      if (!order) throw new Error(`completed cart ${request.id} has no order`);
      return { order: toOrderMessage(order), cart: answerCart(cart!) };
    },

    async transferCart(request, context) {
      new CartAccess(principalOf(context)).checkOwner(request.customerId, "transfer carts to");
      return change(
        request.id,
        request.etag,
        context,
        (cart, changeContext) => transferCart(cart, request.customerId, changeContext),
        { admit: "claimable" },
      );
    },

    async mergeCarts(request, context) {
      const { sourceCartId, targetCartId } = request;
      const access = new CartAccess(principalOf(context));
      const expectedEtag = expectedEtagOf(request.etag, context);
      const { merged } = await carts.updateEach([targetCartId, sourceCartId], async ([target, source], tx) => {
        const into = access.visible(targetCartId, target?.cart);
        const from = access.claimable(sourceCartId, source?.cart);
        checkEtag(into, expectedEtag);
        const offers = await catalog.offers([...new Set(from.lines.map((line) => line.productId))], into.currency, tx);
        const newLineIds = from.lines.map(() => newId());
        const result = mergeCarts(into, from, offers, newLineIds, { now: now(), limits, pricing: target!.pricing });
        return { carts: [result.target, result.source], merged: result };
      });
      return { cart: answerCart(merged.target), report: toMergeReportMessage(merged.report) };
    },

    async createPaymentCollection(request, context) {
      const { cart } = await change(request.cartId, "", context, (locked, changeContext) =>
        createPaymentCollection(locked, newId(), changeContext),
      );
      return { paymentCollection: cart.paymentCollection, cart };
    },

    async createPaymentSession(request, context) {
      const collectionId = request.paymentCollectionId;
      const missing = () => new DomainError("not_found", `payment collection ${collectionId} does not exist`);
      const cartId = await carts.cartIdOfPaymentCollection(collectionId);
      if (!cartId) throw missing();
      // The collection of a cart the caller may not see answers as missing,
      // naming no cart. A collection stays with its cart for good; that is
      // checked under the lock all the same.
      const admit: Admission = (access, locked) => access.collectionCart(collectionId, locked, missing);
      const { cart } = await change(
        cartId,
        "",
        context,
        (locked, changeContext) => {
          const session = { id: newId(), providerId: request.providerId, data: request.data };
          return startPaymentSession(locked, session, changeContext);
        },
        { admit },
      );
      return { paymentCollection: cart.paymentCollection, cart };
    },
  };
}
