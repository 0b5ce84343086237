/// <reference lib="dom" />
/**
 * The demo storefront: browses the catalog, fills a cart and checks it out
 * through the generated clients, over Connect or gRPC-Web (`?transport=grpc-web`).
 * Bundled for the browser by src/transport/storefront.ts.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { decodeJwt } from "jose";
import { type AddressSchema, type Cart, CartStatus } from "../../gen/commerce/cart/v1/cart_pb.js";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import type { Product } from "../../gen/commerce/cart/v1/catalog_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { type Order, OrderStatus } from "../../gen/commerce/cart/v1/order_pb.js";
import type { Region } from "../../gen/commerce/cart/v1/region_pb.js";
import type { ShippingOption } from "../../gen/commerce/cart/v1/shipping_option_pb.js";
import { StoreConfigService } from "../../gen/commerce/cart/v1/store_config_service_pb.js";
import { formatAmount } from "../domain/money.js";
import { shopperMessage } from "./shopper-messages.js";
import { ratePercent } from "../domain/tax.js";

const transports: Record<string, (options: { baseUrl: string; interceptors: Interceptor[] }) => Transport> = {
  connect: createConnectTransport,
  "grpc-web": createGrpcWebTransport,
};

const element = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** The token from `#token=<JWT>`, else the one development mode hands out. */
async function obtainToken(): Promise<string> {
  const fromUrl = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromUrl) return fromUrl;
  const response = await fetch("/demo/token");
  if (!response.ok) {
    throw new Error("this service verifies tokens from its identity provider: open /demo#token=<customer JWT>");
  }
  return ((await response.json()) as { token: string }).token;
}

/** The token's subject, which owns the carts it creates. Read, not verified: the service verifies. */
function subjectOf(token: string): string {
  const { sub } = decodeJwt(token);
  if (!sub) throw new Error("the token has no subject");
  return sub;
}

/** Shows what happened; `data-actions` counts finished actions so tests can wait for one. */
function report(kind: "ok" | "error", message: string): void {
  const status = element("status");
  status.dataset.kind = kind;
  status.textContent = message;
  document.body.dataset.actions = String(Number(document.body.dataset.actions ?? 0) + 1);
}

function cell(content: string | Node, className?: string): HTMLTableCellElement {
  const td = document.createElement("td");
  td.append(content);
  if (className) td.className = className;
  return td;
}

function button(label: string, onClick: () => void, disabled = false): HTMLButtonElement {
  const result = document.createElement("button");
  result.type = "button";
  result.textContent = label;
  result.disabled = disabled;
  result.addEventListener("click", onClick);
  return result;
}

function emptyRow(columns: number, text: string): HTMLTableRowElement {
  const row = document.createElement("tr");
  const only = cell(text, "empty");
  only.colSpan = columns;
  row.append(only);
  return row;
}

/** Every item of a paged list, asking for page after page until there is no next page token. */
async function allPages<Item>(listPage: (pageToken: string) => Promise<[Item[], string]>): Promise<Item[]> {
  const items: Item[] = [];
  let pageToken = "";
  do {
    const [page, nextPageToken] = await listPage(pageToken);
    items.push(...page);
    pageToken = nextPageToken;
  } while (pageToken);
  return items;
}

/** A cart's state as a shopper would say it; nothing while it is simply open. */
const cartStates: Record<CartStatus, string> = {
  [CartStatus.UNSPECIFIED]: "",
  [CartStatus.ACTIVE]: "",
  [CartStatus.COMPLETED]: "ordered",
  [CartStatus.DELETED]: "deleted",
  [CartStatus.EXPIRED]: "expired: it was left too long",
  [CartStatus.MERGED]: "merged into another cart",
};
const orderStates: Record<OrderStatus, string> = { [OrderStatus.UNSPECIFIED]: "", [OrderStatus.PENDING]: "received" };

/** A short reference to an order for people: the random end of its id, not the whole UUID. */
const orderReference = (order: Order) => order.id.replaceAll("-", "").slice(-8).toUpperCase();

/** The page's state and what the user can do with it; every change comes back as the whole cart, totals included. */
class Storefront {
  private products: Product[] = [];
  private cart: Cart | undefined;
  /** The cart's region (whether its prices include tax) and its shipping options. */
  private region: Region | undefined;
  private shippingOptions: ShippingOption[] = [];
  /** The order the cart became, once placed. */
  private order: Order | undefined;
  /** Ends following the cart shown. */
  private watch: AbortController | undefined;
  private readonly catalog: Client<typeof CatalogService>;
  private readonly storeConfig: Client<typeof StoreConfigService>;
  private readonly carts: Client<typeof CartService>;

  constructor(
    transport: Transport,
    private readonly customerId: string,
  ) {
    this.catalog = createClient(CatalogService, transport);
    this.storeConfig = createClient(StoreConfigService, transport);
    this.carts = createClient(CartService, transport);
  }

  async loadCatalog(): Promise<void> {
    const listed = await allPages(async (pageToken) => {
      const page = await this.catalog.listProducts({ pageSize: 100, pageToken });
      return [page.products, page.nextPageToken];
    });
    // Products limited to some sales channels are left out: a cart of the default channel could not hold them.
    this.products = listed.filter((product) => product.active && product.salesChannelIds.length === 0);
  }

  /** Adds one of the product; the first Add creates the cart with it. */
  add = (product: Product) =>
    this.act(`Added ${product.title}`, async () => {
      if (this.cart) {
        this.cart = (await this.carts.addLineItem({ cartId: this.cart.id, productId: product.id, quantity: 1 })).cart;
        return;
      }
      const { cart } = await this.carts.createCart({ customerId: this.customerId, items: [{ productId: product.id, quantity: 1 }] });
      await this.show(cart!);
    });

  /** After an order: leaves the ordered cart behind, so the next Add starts a new one. */
  continueShopping = () =>
    this.act("Your cart is empty again", async () => {
      this.watch?.abort();
      this.cart = undefined;
      this.order = undefined;
      element<HTMLFormElement>("checkout").reset();
    });

  /** Shows the customer's newest active cart, if any: the one another tab works on. */
  async resumeCart(): Promise<void> {
    const [latest] = (await this.carts.listCarts({ customerId: this.customerId, status: CartStatus.ACTIVE, pageSize: 1 })).carts;
    if (latest) await this.show(latest);
  }

  private async show(cart: Cart): Promise<void> {
    // Any token may read regions and their shipping options; promotions stay readable only to catalog writers.
    const [{ region }, shippingOptions] = await Promise.all([
      this.storeConfig.getRegion({ id: cart.regionId }),
      allPages(async (pageToken) => {
        const page = await this.storeConfig.listShippingOptions({ regionId: cart.regionId, pageSize: 100, pageToken });
        return [page.shippingOptions, page.nextPageToken];
      }),
    ]);
    this.region = region;
    this.shippingOptions = shippingOptions;
    this.cart = cart;
    this.order = undefined;
    this.follow(cart.id);
  }

  /** Shows each change to the cart as it commits, made in this tab or elsewhere (WatchCart), until another cart is shown. */
  private follow(cartId: string): void {
    this.watch?.abort();
    const watch = (this.watch = new AbortController());
    void (async () => {
      while (!watch.signal.aborted) {
        try {
          for await (const { cart } of this.carts.watchCart({ id: cartId }, { signal: watch.signal })) {
            // Versions only increase: an answer this tab already has, or a newer one, wins over a late message.
            if (cart && Number(cart.etag) > Number(this.cart?.etag)) {
              this.cart = cart;
              this.render();
            }
          }
        } catch {
          // The stream broke (the server restarted, the network went away): follow again after a pause.
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    })();
  }

  applyPromotionCode = (code: string) =>
    this.change(`Code ${code} applied`, () => this.carts.applyPromotionCodes({ cartId: this.cart!.id, codes: [code] }));

  /** Sets both fields at once; an address left entirely blank removes the cart's address. */
  saveContact = (email: string, address: MessageInitShape<typeof AddressSchema> | undefined) =>
    this.change("Email and address saved", () =>
      this.carts.updateCart({ cart: { id: this.cart!.id, email, shippingAddress: address }, updateMask: { paths: ["email", "shipping_address"] } }),
    );

  /** Completes the cart as the page shows it: the etag refuses it if the cart changed elsewhere meanwhile. */
  placeOrder = async () => {
    await this.act("Thank you for your order!", async () => {
      const { order, cart } = await this.carts.completeCart({ id: this.cart!.id, etag: this.cart!.etag });
      this.order = order;
      this.cart = cart;
    });
    if (!this.order) return;
    // The confirmation sits right under Place order, where the shopper looks: in view, and focused for screen readers.
    const confirmation = element("order");
    confirmation.scrollIntoView({ block: "nearest" });
    confirmation.focus({ preventScroll: true });
  };

  /** Runs one user action and shows its outcome; the page takes no input meanwhile, so actions never overlap. */
  async act(done: string, action: () => Promise<unknown>): Promise<void> {
    document.body.inert = true;
    try {
      await action();
      this.render();
      report("ok", done);
    } catch (error) {
      const connectError = ConnectError.from(error);
      // Changed elsewhere (a stale etag): show the cart as it now is.
      if (connectError.code === Code.Aborted && this.cart) {
        this.cart = (await this.carts.getCart({ id: this.cart.id }).catch(() => ({ cart: this.cart }))).cart;
      }
      // A refusal changed nothing: show the cart as it still is, not the refused input (a quantity, a shipping choice).
      this.render();
      report("error", shopperMessage(connectError));
    } finally {
      document.body.inert = false;
    }
  }

  private change(done: string, call: () => Promise<{ cart?: Cart }>): Promise<void> {
    return this.act(done, async () => {
      this.cart = (await call()).cart;
    });
  }

  /** A product's list prices (not regional, not volume tiers): in the cart's currency once there is a cart. */
  private priceLabel(product: Product): string {
    const prices = product.prices.filter(
      (price) => !price.regionId && price.minQuantity <= 1 && (!this.cart || price.currency === this.cart.currency),
    );
    return prices.map((price) => formatAmount(price.amountCents, price.currency)).join(" · ") || "not sold here";
  }

  render(): void {
    const { cart, carts } = this;
    // Only an active cart takes changes; a completed one stays on the page, read-only.
    const editable = cart?.status === CartStatus.ACTIVE;
    const canAdd = !cart || editable;
    const catalog = element("catalog");
    catalog.replaceChildren(
      ...this.products.map((product) => {
        const row = document.createElement("tr");
        row.dataset.productId = product.id;
        row.append(cell(product.title), cell(this.priceLabel(product), "amount"), cell(button("Add", () => void this.add(product), !canAdd)));
        return row;
      }),
    );
    if (this.products.length === 0) catalog.append(emptyRow(3, "The catalog is empty (start the service with SEED_DEMO_PRODUCTS=1)."));

    element("cart-status").textContent = cart ? cartStates[cart.status] : "";
    const lines = element("lines");
    lines.replaceChildren(
      ...(cart?.items ?? []).map((item) => {
        const row = document.createElement("tr");
        row.dataset.productId = item.productId;
        const quantity = document.createElement("input");
        quantity.type = "number";
        quantity.min = "1";
        quantity.value = String(item.quantity);
        quantity.disabled = !editable;
        quantity.setAttribute("aria-label", `Quantity of ${item.title}`);
        const update = () =>
          this.change(`Updated ${item.title}`, () => carts.updateLineItem({ cartId: cart!.id, itemId: item.id, quantity: Number(quantity.value) }));
        const remove = () => this.change(`Removed ${item.title}`, () => carts.removeLineItem({ cartId: cart!.id, itemId: item.id }));
        quantity.addEventListener("change", () => void update());
        row.append(
          cell(item.title),
          cell(formatAmount(item.unitPriceCents, cart!.currency), "amount"),
          cell(quantity),
          // Before discounts: the lines add up to "Items", and the discount is taken off once, below.
          cell(formatAmount(item.subtotalCents, cart!.currency), "amount"),
          cell(button("Remove", () => void remove(), !editable)),
        );
        return row;
      }),
    );
    if (!cart || cart.items.length === 0) lines.append(emptyRow(5, "Your cart is empty: add a product from the catalog."));

    for (const form of ["promotion", "checkout"]) element(form).querySelector("fieldset")!.disabled = !editable;
    element("promotion-codes").textContent = cart?.promoCodes.length ? `Applied: ${cart.promoCodes.join(", ")}` : "";
    element("promotion-notices").replaceChildren(
      ...(cart?.promotionNotices ?? []).map((notice) => {
        const item = document.createElement("li");
        item.textContent = notice.message;
        return item;
      }),
    );
    const totals = cart?.totals;
    // The rows add up: items − discount + shipping (+ tax where prices exclude it) = total.
    const taxIncluded = this.region?.pricesIncludeTax ?? false;
    element("label-tax").textContent = taxIncluded ? "Tax (included above)" : "Tax";
    element("label-discount").textContent = cart?.promoCodes.length ? `Discount (${cart.promoCodes.join(", ")})` : "Discount";
    const amounts: [string, bigint | undefined][] = [
      ["total-subtotal", totals?.itemSubtotal],
      ["total-shipping", totals?.shippingSubtotal],
      ["total-discount", totals && -totals.discountTotal], // shown as what it takes off
      ["total-tax", totals?.taxTotal],
      ["total-total", totals?.total],
    ];
    for (const [id, amount] of amounts) element(id).textContent = amount === undefined ? "–" : formatAmount(amount, cart!.currency);
    // The rates charged, as percentages: "(8.875 %)", "(5 % + 9.975 %)" for GST and QST, "(20 %, 5 %)" for mixed classes.
    const rates = [...(cart?.items ?? []), ...(cart?.shippingMethods ?? [])].map((priced) =>
      priced.taxLines.map((taxLine) => `${ratePercent(taxLine.ratePpm)} %`).join(" + "),
    );
    const distinct = [...new Set(rates.filter((rate) => rate !== ""))];
    element("tax-rates").textContent = distinct.length > 0 ? `(${distinct.join(", ")})` : "";

    this.renderShippingOptions();
    const { order } = this;
    element("order").hidden = !order;
    if (order) {
      element("order-reference").textContent = orderReference(order);
      element("order-status").textContent = orderStates[order.status];
      element("order-total").textContent = formatAmount(order.totals?.total ?? 0n, order.currency);
      element("order-email").textContent = order.email;
    }
  }

  /** The region's options priced in the cart's currency, the chosen one checked; choosing one replaces the cart's shipping method. */
  private renderShippingOptions(): void {
    const { cart } = this;
    const chosen = cart?.shippingMethods[0]?.shippingOptionId;
    const choices = this.shippingOptions.flatMap((option) => {
      const price = option.prices.find((candidate) => candidate.currency === cart?.currency);
      if (!price) return [];
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "shipping-option";
      radio.value = option.id;
      radio.checked = option.id === chosen;
      radio.addEventListener("change", () =>
        void this.change(`Shipping: ${option.name}`, () => this.carts.addShippingMethod({ cartId: cart!.id, shippingOptionId: option.id })),
      );
      const free = price.freeAboveCents === undefined ? "" : `, free from ${formatAmount(price.freeAboveCents, price.currency)}`;
      const label = document.createElement("label");
      label.append(radio, ` ${option.name}: ${formatAmount(price.amountCents, price.currency)}${free}`);
      return [label];
    });
    const options = element("shipping-options");
    options.replaceChildren(...choices);
    if (choices.length === 0) {
      const none = document.createElement("p");
      none.className = "empty";
      none.textContent = cart ? "The cart's region has no shipping options." : "No cart yet.";
      options.append(none);
    }
  }
}

async function start(): Promise<void> {
  const transportName = new URLSearchParams(location.search).get("transport") ?? "connect";
  const createTransport = transports[transportName];
  for (const name of Object.keys(transports)) {
    const link = element<HTMLAnchorElement>(`transport-${name}`);
    link.href = `?transport=${name}${location.hash}`; // keeps a #token
    link.setAttribute("aria-current", String(name === transportName));
  }
  if (!createTransport) throw new Error(`unknown transport "${transportName}": use connect or grpc-web`);

  const token = await obtainToken();
  const customerId = subjectOf(token);
  element("customer").textContent = `Signed in as ${customerId}`;
  const authorize: Interceptor = (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  const storefront = new Storefront(createTransport({ baseUrl: location.origin, interceptors: [authorize] }), customerId);

  element("continue-shopping").addEventListener("click", () => void storefront.continueShopping());
  element<HTMLFormElement>("promotion").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = element<HTMLInputElement>("promotion-code");
    const code = input.value.trim().toUpperCase();
    if (!code) return;
    input.value = "";
    void storefront.applyPromotionCode(code);
  });
  element<HTMLFormElement>("checkout").addEventListener("submit", (event) => {
    event.preventDefault();
    const fields = new FormData(event.target as HTMLFormElement);
    const text = (name: string) => String(fields.get(name) ?? "").trim();
    const address = { name: text("name"), line1: text("line1"), city: text("city"), postalCode: text("postalCode"), country: text("country").toUpperCase() };
    void storefront.saveContact(text("email"), Object.values(address).some(Boolean) ? address : undefined);
  });
  element("place-order").addEventListener("click", () => void storefront.placeOrder());
  await storefront.act(`Connected over ${transportName}`, async () => {
    await storefront.loadCatalog();
    await storefront.resumeCart();
  });
}

start().catch((error: unknown) => report("error", error instanceof Error ? error.message : String(error)));
