import type { Config } from "./config.js";
import { demoPublishableKey, demoStore } from "./demo-products.js";
import { taxFreeRegion } from "./domain/store.js";
import type { Logger } from "./logger.js";
import { CatalogRepository } from "./storage/catalog-repository.js";
import type { Database } from "./storage/database.js";
import { PublishableKeyRepository } from "./storage/publishable-key-repository.js";
import { StoreConfigRepository } from "./storage/store-config-repository.js";

/**
 * Makes sure carts can be created: the default region (tax-free, any
 * country, DEFAULT_CURRENCY) and the default sales channel exist, unless
 * they do already, in whatever shape. With SEED_DEMO_PRODUCTS the demo store
 * is loaded too. Safe to run from every instance at once.
 */
export async function prepareStore(config: Config, database: Database, log: Logger): Promise<void> {
  const storeConfig = new StoreConfigRepository(database.sql);
  const now = new Date();
  await storeConfig.ensureRegion(taxFreeRegion(config.defaultRegionId, config.defaultCurrency, now));
  await storeConfig.ensureSalesChannel({
    id: config.defaultSalesChannelId,
    name: "Default",
    description: "Carts created without a sales channel sell here",
    createdAt: now,
    updatedAt: now,
  });
  if (!config.seedDemoProducts) return;
  const demo = demoStore(config.defaultRegionId);
  const catalog = new CatalogRepository(database.db, database.sql);
  for (const region of demo.regions) await storeConfig.upsertRegion(region, now);
  for (const channel of demo.salesChannels) await storeConfig.upsertSalesChannel(channel, now);
  for (const product of demo.products) await catalog.upsert(product, now);
  for (const option of demo.shippingOptions) await storeConfig.upsertShippingOption(option, now);
  for (const promotion of demo.promotions) await storeConfig.upsertPromotion(promotion, now);
  await new PublishableKeyRepository(database.sql).ensure({ ...demoPublishableKey, createdAt: now });
  log.info("demo store loaded", {
    regions: demo.regions.map((region) => region.id),
    products: demo.products.map((product) => product.id),
    shippingOptions: demo.shippingOptions.map((option) => option.id),
    promotionCodes: demo.promotions.map((promotion) => promotion.code),
    publishableKey: demoPublishableKey.token,
  });
}
