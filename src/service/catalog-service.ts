import type { ServiceImpl } from "@connectrpc/connect";
import { currencyExponent } from "../domain/currency.js";
import type { CatalogRepository } from "../storage/catalog-repository.js";
import type { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { productNotFound } from "./errors.js";
import { productFromProto, toProductMessage } from "./mapping.js";
import { decodePageToken, effectivePageSize, toPage } from "./page-token.js";

export interface CatalogServiceDeps {
  readonly catalog: CatalogRepository;
  readonly now: () => Date;
}

const productIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function createCatalogService({ catalog, now }: CatalogServiceDeps): ServiceImpl<typeof CatalogService> {
  return {
    async upsertProduct(request) {
      const product = productFromProto(request.product!);
      for (const price of product.prices) currencyExponent(price.currency);
      return { product: toProductMessage(await catalog.upsert(product, now())) };
    },

    async getProduct(request) {
      const product = await catalog.get(request.id);
      if (!product) throw productNotFound(request.id);
      return { product: toProductMessage(product) };
    },

    async listProducts(request) {
      const limit = effectivePageSize(request.pageSize);
      const page = await catalog.list(decodePageToken(request.pageToken, [], productIdPattern), limit + 1);
      const { items, nextPageToken } = toPage(page, limit, (product) => product.id, []);
      return { products: items.map(toProductMessage), nextPageToken };
    },
  };
}
