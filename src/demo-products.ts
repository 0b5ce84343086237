import type { Product } from "./domain/product.js";
import type { Promotion } from "./domain/promotions.js";
import type { NamedShippingOption, Region, SalesChannel } from "./domain/store.js";

/**
 * A small store so a newcomer can fill a cart right after `npm run demo`:
 * the default region (USD, no tax) plus an EU region with VAT included in
 * prices, a second sales channel, shipping options, promotions, and products
 * with volume tiers, compare-at prices and a gift card.
 */

type New<T> = Omit<T, "createdAt" | "updatedAt">;

export interface DemoStore {
  readonly regions: New<Region>[];
  readonly salesChannels: New<SalesChannel>[];
  readonly products: New<Product>[];
  readonly shippingOptions: NamedShippingOption[];
  readonly promotions: Promotion[];
}

const usd = (amount: bigint, extra: { minQuantity?: number; compareAtAmount?: bigint } = {}) => ({
  currency: "USD",
  amount,
  minQuantity: 1,
  ...extra,
});
const eur = (amount: bigint, extra: { minQuantity?: number } = {}) => ({ currency: "EUR", regionId: "eu", amount, minQuantity: 1, ...extra });

/** The demo store; shipping in the default region needs its id. */
export function demoStore(defaultRegionId: string): DemoStore {
  return {
    regions: [
      {
        id: "eu",
        name: "European Union",
        currency: "EUR",
        countries: ["DE", "FR", "NL", "AT"],
        tax: {
          pricesIncludeTax: true,
          defaults: { ratePpm: 190_000 },
          countries: [
            { country: "DE", ratePpm: 190_000 },
            { country: "FR", ratePpm: 200_000 },
            { country: "NL", ratePpm: 210_000 },
            { country: "AT", ratePpm: 200_000 },
          ],
        },
        paymentProviderIds: [],
      },
    ],
    salesChannels: [{ id: "app", name: "Mobile app", description: "Sells the app-only products too" }],
    products: [
      {
        id: "mug-classic",
        title: "Classic mug",
        active: true,
        discountable: true,
        shippable: true,
        taxClass: "standard",
        giftCard: false,
        salesChannelIds: [],
        details: { subtitle: "Stoneware, 350 ml", thumbnailUri: "", handle: "mug", sku: "MUG-CL-350", variantTitle: "Classic" },
        prices: [usd(1299n, { compareAtAmount: 1599n }), eur(1199n)],
      },
      {
        id: "tee-black-m",
        title: "Black T-shirt, M",
        active: true,
        discountable: true,
        shippable: true,
        taxClass: "standard",
        giftCard: false,
        salesChannelIds: [],
        details: { subtitle: "Organic cotton", thumbnailUri: "", handle: "t-shirt", sku: "TEE-BLK-M", variantTitle: "Black / M" },
        prices: [usd(2499n), eur(2299n)],
      },
      {
        id: "socks-3pack",
        title: "Socks, 3 pairs",
        active: true,
        discountable: true,
        shippable: true,
        taxClass: "standard",
        giftCard: false,
        salesChannelIds: [],
        details: { subtitle: "Three pairs of wool socks", thumbnailUri: "", handle: "socks", sku: "SOCKS-3", variantTitle: "3-pack" },
        prices: [usd(999n), usd(849n, { minQuantity: 5 }), { currency: "JPY", amount: 1500n, minQuantity: 1 }, eur(899n)],
      },
      {
        id: "poster-a2",
        title: "Poster A2",
        active: true,
        discountable: true,
        shippable: true,
        taxClass: "standard",
        giftCard: false,
        salesChannelIds: ["app"],
        details: { subtitle: "Printed on matte paper", thumbnailUri: "", handle: "poster", sku: "POSTER-A2", variantTitle: "A2" },
        prices: [usd(1800n)],
      },
      {
        id: "gift-card-25",
        title: "Gift card, 25",
        active: true,
        discountable: false,
        shippable: false,
        taxClass: "standard",
        giftCard: true,
        salesChannelIds: [],
        details: { subtitle: "Delivered by email", thumbnailUri: "", handle: "gift-card", sku: "GIFT-25", variantTitle: "25" },
        prices: [usd(2500n), eur(2500n)],
      },
      {
        id: "hoodie-retired",
        title: "Retired hoodie",
        active: false,
        discountable: true,
        shippable: true,
        taxClass: "standard",
        giftCard: false,
        salesChannelIds: [],
        details: { subtitle: "No longer sold", thumbnailUri: "", handle: "hoodie", sku: "HOODIE-OLD", variantTitle: "One size" },
        prices: [usd(5900n)],
      },
    ],
    shippingOptions: [
      { id: "standard", name: "Standard (3-5 days)", regionId: defaultRegionId, prices: [{ currency: "USD", amount: 599n, freeAbove: 5000n }] },
      { id: "express", name: "Express (1 day)", regionId: defaultRegionId, prices: [{ currency: "USD", amount: 1499n }] },
      { id: "eu-standard", name: "Standard EU", regionId: "eu", prices: [{ currency: "EUR", amount: 490n, freeAbove: 6000n }] },
    ],
    promotions: [
      { id: "welcome10", code: "WELCOME10", value: { kind: "percentage", basisPoints: 1000 }, target: { kind: "order" }, usageLimitPerCustomer: 1 },
      {
        id: "freeship",
        code: "FREESHIP",
        value: { kind: "percentage", basisPoints: 10_000 },
        target: { kind: "shipping" },
        minimumSubtotal: [{ currency: "USD", amount: 2000n }],
      },
      {
        id: "mugs-5-off",
        code: "MUGS5",
        value: { kind: "fixed", amounts: [{ currency: "USD", amount: 500n }, { currency: "EUR", amount: 500n }] },
        target: { kind: "products", productIds: ["mug-classic"] },
      },
    ],
  };
}

/**
 * The demo storefront's publishable key, for any sales channel. Fixed, so
 * that it survives restarts and can be printed before the store is loaded;
 * publishable keys are public anyway.
 */
export const demoPublishableKey = {
  id: "01900000-0000-7000-8000-00000000de70",
  token: `pk_${"de70".repeat(16)}`,
  title: "Demo storefront",
  salesChannelIds: [],
} as const;
