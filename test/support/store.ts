import { randomUUID } from "node:crypto";
import { PromotionTarget } from "../../gen/commerce/cart/v1/promotion_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { PublishableKeyService } from "../../gen/commerce/cart/v1/publishable_key_service_pb.js";
import { StoreConfigService } from "../../gen/commerce/cart/v1/store_config_service_pb.js";
import { clientFor, connectTransports } from "./clients.js";

/**
 * A small shop for Store API tests, made through the admin API: a US region
 * (USD, 10% tax added to prices), a mug at 12.99 and a tee at 25.00, a 5.00
 * shipping option free from 100.00, a 10% code, a sales channel and a
 * publishable key for it. Every name carries `tag`, so files do not collide.
 */
export interface StoreFixture {
  readonly regionId: string;
  readonly otherRegionId: string;
  readonly mugId: string;
  readonly teeId: string;
  readonly shippingOptionId: string;
  readonly promoCode: string;
  readonly salesChannelId: string;
  /** The publishable key's token, linked to salesChannelId. */
  readonly key: string;
}

export async function seedStore(baseUrl: string, tag: string): Promise<StoreFixture> {
  const transport = connectTransports(baseUrl)["connect+json (HTTP/1.1)"]!;
  const storeConfig = clientFor(StoreConfigService, transport);
  const catalog = clientFor(CatalogService, transport);
  const keys = clientFor(PublishableKeyService, transport);
  const regionId = `${tag}-us`;
  const otherRegionId = `${tag}-eu`;
  const salesChannelId = `${tag}-web`;
  await storeConfig.upsertRegion({ region: { id: regionId, name: "United States", currency: "USD", countries: ["US"], defaultTaxRatePpm: 100_000 } });
  await storeConfig.upsertRegion({ region: { id: otherRegionId, name: "Europe", currency: "EUR", countries: ["DE", "FR"], pricesIncludeTax: true, defaultTaxRatePpm: 200_000 } });
  await storeConfig.upsertSalesChannel({ salesChannel: { id: salesChannelId, name: "Web" } });
  const mugId = `${tag}-mug`;
  const teeId = `${tag}-tee`;
  await catalog.upsertProduct({
    product: {
      id: mugId,
      title: "Mug",
      active: true,
      subtitle: "Stoneware",
      thumbnailUri: "https://img.example/mug.png",
      handle: `${tag}-mug`,
      sku: "MUG-1",
      variantTitle: "Blue",
      prices: [
        { currency: "USD", amountCents: 1299n },
        { currency: "EUR", amountCents: 1190n },
      ],
    },
  });
  await catalog.upsertProduct({ product: { id: teeId, title: "Tee", active: true, prices: [{ currency: "USD", amountCents: 2500n }] } });
  const shippingOptionId = `${tag}-standard`;
  await storeConfig.upsertShippingOption({
    shippingOption: { id: shippingOptionId, name: "Standard", regionId, prices: [{ currency: "USD", amountCents: 500n, freeAboveCents: 10000n }] },
  });
  const promoCode = `${tag.toUpperCase()}10`;
  await storeConfig.upsertPromotion({
    promotion: { id: `${tag}-ten`, code: promoCode, value: { case: "percentageBp", value: 1000 }, target: PromotionTarget.ORDER },
  });
  const { publishableKey } = await keys.createPublishableKey({ publishableKey: { title: `${tag} web`, salesChannelIds: [salesChannelId] } });
  return { regionId, otherRegionId, mugId, teeId, shippingOptionId, promoCode, salesChannelId, key: publishableKey!.token };
}

export interface StoreAnswer {
  readonly status: number;
  readonly headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Medusa JSON, checked field by field
  readonly body: any;
}

/** One Store API call as a storefront makes it: JSON in and out, the publishable key and an optional customer token. */
export async function storeCall(
  baseUrl: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<StoreAnswer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      ...(options.key !== undefined && { "x-publishable-api-key": options.key }),
      ...(options.token && { authorization: `Bearer ${options.token}` }),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) };
}

export const uniqueTag = () => `s${randomUUID().slice(0, 8)}`;
