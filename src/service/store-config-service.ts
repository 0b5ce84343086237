import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { currencyExponent } from "../domain/currency.js";
import { checkPaymentProviderIds, paymentProviders, regionPaymentProviderIds } from "../domain/payment.js";
import type { StoreConfigRepository } from "../storage/store-config-repository.js";
import type { Region } from "../../gen/commerce/cart/v1/region_pb.js";
import type { StoreConfigService } from "../../gen/commerce/cart/v1/store_config_service_pb.js";
import { invalidField } from "./errors.js";
import {
  promotionFromProto,
  regionFromProto,
  shippingOptionFromProto,
  toPromotionMessage,
  toRegionMessage,
  toSalesChannelMessage,
  toShippingOptionMessage,
} from "./mapping.js";
import { decodePageToken, effectivePageSize, toPage } from "./page-token.js";

export interface StoreConfigServiceDeps {
  readonly storeConfig: StoreConfigRepository;
  readonly now: () => Date;
}

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The record, or NOT_FOUND naming what is missing. */
async function existing<T>(kind: string, id: string, lookup: Promise<T | undefined>): Promise<T> {
  const record = await lookup;
  if (record === undefined) throw new ConnectError(`${kind} ${id} does not exist`, Code.NotFound);
  return record;
}

/**
 * One page of records ordered by id (AIP-158), fetched with one extra row to
 * know whether another follows. `filters` start with the collection's name, so
 * a token of one list is refused by the others.
 */
async function page<T extends { id: string }>(
  request: { pageSize: number; pageToken: string },
  filters: readonly unknown[],
  fetch: (afterId: string | undefined, limit: number) => Promise<T[]>,
) {
  const limit = effectivePageSize(request.pageSize);
  const rows = await fetch(decodePageToken(request.pageToken, filters, idPattern), limit + 1);
  return toPage(rows, limit, (row) => row.id, filters);
}

/** Every currency must be one the service knows the minor unit of. */
function checkCurrencies(currencies: Iterable<string>): void {
  for (const currency of currencies) currencyExponent(currency);
}

/**
 * Clients built before tax rates were parts per million still send the
 * basis-point fields, now reserved (Region 6, CountryTaxRate 2,
 * ProvinceTaxRate 2). JSON refuses them as unknown fields; binary protobuf
 * keeps them as unknown fields, which would silently mean 0 %, so they are
 * refused here, naming the first.
 */
function refuseBasisPointRates(region: Region): void {
  const sent = (message: { $unknown?: { no: number }[] }, fieldNumber: number) =>
    message.$unknown?.some((field) => field.no === fieldNumber) ?? false;
  const fields = [
    ...(sent(region, 6) ? ["region.default_tax_rate_bp"] : []),
    ...region.taxRates.flatMap((country, i) => [
      ...(sent(country, 2) ? [`region.tax_rates[${i}].rate_bp`] : []),
      ...country.provinces.flatMap((province, j) => (sent(province, 2) ? [`region.tax_rates[${i}].provinces[${j}].rate_bp`] : [])),
    ]),
  ];
  if (fields.length > 0) {
    throw invalidField(fields[0]!, "tax_rate.ppm", "basis-point rates were replaced by rate_ppm fields: basis points × 100 (8.875 % is 88750)");
  }
}

export function createStoreConfigService({ storeConfig, now }: StoreConfigServiceDeps): ServiceImpl<typeof StoreConfigService> {
  return {
    async upsertRegion(request) {
      refuseBasisPointRates(request.region!);
      const region = regionFromProto(request.region!);
      checkCurrencies([region.currency]);
      checkPaymentProviderIds(region.paymentProviderIds);
      return { region: toRegionMessage(await storeConfig.upsertRegion(region, now())) };
    },

    async getRegion(request) {
      return { region: toRegionMessage(await existing("region", request.id, storeConfig.getRegion(request.id))) };
    },

    async listRegions(request) {
      const { items, nextPageToken } = await page(request, ["regions"], (afterId, limit) => storeConfig.listRegions(afterId, limit));
      return { regions: items.map(toRegionMessage), nextPageToken };
    },

    async listPaymentProviders(request) {
      const region = await existing("region", request.regionId, storeConfig.getRegion(request.regionId));
      const ids = [...regionPaymentProviderIds(region)].sort();
      return { paymentProviders: ids.flatMap((id) => paymentProviders.get(id) ?? []) };
    },

    async upsertSalesChannel(request) {
      const { id, name, description } = request.salesChannel!;
      return { salesChannel: toSalesChannelMessage(await storeConfig.upsertSalesChannel({ id, name, description }, now())) };
    },

    async getSalesChannel(request) {
      const channel = await existing("sales channel", request.id, storeConfig.getSalesChannel(request.id));
      return { salesChannel: toSalesChannelMessage(channel) };
    },

    async listSalesChannels(request) {
      const { items, nextPageToken } = await page(request, ["sales-channels"], (afterId, limit) => storeConfig.listSalesChannels(afterId, limit));
      return { salesChannels: items.map(toSalesChannelMessage), nextPageToken };
    },

    async upsertShippingOption(request) {
      const option = shippingOptionFromProto(request.shippingOption!);
      checkCurrencies(option.prices.map((price) => price.currency));
      return { shippingOption: toShippingOptionMessage(await storeConfig.upsertShippingOption(option, now())) };
    },

    async getShippingOption(request) {
      const option = await existing("shipping option", request.id, storeConfig.getShippingOption(request.id));
      return { shippingOption: toShippingOptionMessage(option) };
    },

    async listShippingOptions(request) {
      const regionId = request.regionId || undefined;
      const { items, nextPageToken } = await page(request, ["shipping-options", regionId], (afterId, limit) =>
        storeConfig.listShippingOptions(regionId, afterId, limit),
      );
      return { shippingOptions: items.map(toShippingOptionMessage), nextPageToken };
    },

    async upsertPromotion(request) {
      const promotion = promotionFromProto(request.promotion!);
      const fixed = promotion.value.kind === "fixed" ? promotion.value.amounts : [];
      checkCurrencies([...fixed, ...(promotion.minimumSubtotal ?? [])].map((amount) => amount.currency));
      return { promotion: toPromotionMessage(await storeConfig.upsertPromotion(promotion, now())) };
    },

    async getPromotion(request) {
      const promotion = await existing("promotion", request.id, storeConfig.getPromotion(request.id));
      return { promotion: toPromotionMessage(promotion) };
    },

    async listPromotions(request) {
      const { items, nextPageToken } = await page(request, ["promotions"], (afterId, limit) => storeConfig.listPromotions(afterId, limit));
      return { promotions: items.map(toPromotionMessage), nextPageToken };
    },
  };
}
