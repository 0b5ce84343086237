import { createValidateInterceptor } from "@connectrpc/validate";
import type { Config } from "./config.js";
import { causeOf, type Logger } from "./logger.js";
import { Metrics } from "./metrics.js";
import { CartExpiry } from "./service/cart-expiry.js";
import { createCartEventDescriber } from "./service/cart-events.js";
import { createCartService } from "./service/cart-service.js";
import { createCatalogService } from "./service/catalog-service.js";
import { createCartEventService } from "./service/event-service.js";
import { EventWatchers } from "./service/event-watchers.js";
import { createDatabaseOutageInterceptor, errorMappingInterceptor } from "./service/errors.js";
import { createIdempotencyInterceptor } from "./service/idempotency.js";
import { createOrderService } from "./service/order-service.js";
import { createPublishableKeyService, PublishableKeyDirectory } from "./service/publishable-keys.js";
import { createStoreConfigService } from "./service/store-config-service.js";
import { CartExpiryRepository } from "./storage/cart-expiry-repository.js";
import { CartEventNotifier } from "./storage/cart-event-notifications.js";
import { CartRepository } from "./storage/cart-repository.js";
import { CatalogRepository } from "./storage/catalog-repository.js";
import { type Database, transactionsInFlight } from "./storage/database.js";
import { IdempotencyRepository } from "./storage/idempotency-repository.js";
import { newPublishableKeyToken, uuidv7 } from "./storage/ids.js";
import { OrderRepository } from "./storage/order-repository.js";
import { PublishableKeyRepository } from "./storage/publishable-key-repository.js";
import { OutboxRepository } from "./storage/outbox-repository.js";
import { StoreConfigRepository } from "./storage/store-config-repository.js";
import type { Principal } from "./service/principal.js";
import { createAuthInterceptor } from "./transport/interceptors/auth.js";
import { createDeadlineInterceptor } from "./transport/interceptors/deadline.js";
import { createTelemetryInterceptor } from "./transport/interceptors/telemetry.js";
import { nulCharacterInterceptor } from "./transport/interceptors/nul-characters.js";
import { createDrainingInterceptor, Readiness } from "./transport/health/readiness.js";
import { registration, type ServiceRegistration } from "./transport/protocols/services.js";
import { CartService } from "../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../gen/commerce/cart/v1/catalog_service_pb.js";
import { CartEventService } from "../gen/commerce/cart/v1/event_service_pb.js";
import { OrderService } from "../gen/commerce/cart/v1/order_service_pb.js";
import { PublishableKeyService } from "../gen/commerce/cart/v1/publishable_key_service_pb.js";
import { StoreConfigService } from "../gen/commerce/cart/v1/store_config_service_pb.js";
import type { Interceptor } from "@connectrpc/connect";

export interface App {
  readonly services: ServiceRegistration[];
  /** The chain every protocol runs, outermost first. */
  readonly interceptors: Interceptor[];
  readonly idempotencyRecords: IdempotencyRepository;
  /** The passes of the background expiry sweeper. */
  readonly cartExpiry: CartExpiry;
  readonly metrics: Metrics;
  /** Whether to take traffic: the database answers and shutdown has not begun. */
  readonly readiness: Readiness;
  /** What a storefront's publishable key token stands for (the storefront surface checks it first). */
  readonly publishableKeys: PublishableKeyDirectory;
  /** The cart events' transactional outbox, for their delivery (events/delivery.ts). */
  readonly outbox: OutboxRepository;
  /** The WatchCart and WatchEvents streams, woken by events/delivery.ts. */
  readonly watchers: EventWatchers;
}

/** Services anyone may call without a token: probes and schema discovery. */
const publicServices = new Set(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);

/** Wires repositories, services and the interceptor chain; no I/O happens here. */
export function createApp(
  config: Config,
  database: Database,
  log: Logger,
  verifyToken: (token: string) => Promise<Principal>,
): App {
  // Behind a transaction pooler nobody listens: processes poll the change feed instead (events/delivery.ts).
  const eventNotifier = config.dbTransactionPooling
    ? undefined
    : new CartEventNotifier(database.sql, (error) =>
        log.warn("committed cart events not announced: watches and the relay see them later", {
          cause: causeOf(error),
        }),
      );
  const carts = new CartRepository(database.sql, createCartEventDescriber(uuidv7), (committed) => eventNotifier?.committed(committed));
  const catalog = new CatalogRepository(database.db, database.sql);
  const storeConfig = new StoreConfigRepository(database.sql);
  const orders = new OrderRepository(database.sql);
  const keys = new PublishableKeyRepository(database.sql);
  const now = () => new Date();
  const idempotencyRecords = new IdempotencyRepository(database.sql, {
    retentionMs: config.idempotencyRetentionMs,
    leaseMs: config.maxTimeoutMs + 60_000,
  });
  const readiness = new Readiness({ probeDatabase: database.ping });
  const outbox = new OutboxRepository(database.sql);
  const watchers = new EventWatchers(config.eventsMaxWatchers);
  const metrics = new Metrics({
    dbPoolSize: config.dbPoolSize,
    dbTransactionsInFlight: transactionsInFlight,
    databaseAvailable: () => !readiness.databaseUnavailable,
    eventBacklog: () => outbox.backlog(),
  });
  const cartExpiry = new CartExpiry({
    carts: new CartExpiryRepository(database.sql, carts),
    now,
    batchSize: config.cartSweepBatchSize,
    log,
  });
  const services: ServiceRegistration[] = [
    registration(
      CartService,
      createCartService({
        carts,
        catalog,
        orders,
        storeConfig,
        defaults: {
          regionId: config.defaultRegionId,
          currency: config.defaultCurrency,
          salesChannelId: config.defaultSalesChannelId,
        },
        limits: {
          maxLines: config.maxLinesPerCart,
          maxLineQuantity: config.maxLineQuantity,
          lifetimeMs: config.cartLifetimeMs,
          emptyLifetimeMs: config.emptyCartLifetimeMs,
        },
        now,
        newId: uuidv7,
        watchers,
      }),
    ),
    registration(CartEventService, createCartEventService({ outbox, watchers })),
    registration(CatalogService, createCatalogService({ catalog, now })),
    registration(StoreConfigService, createStoreConfigService({ storeConfig, now })),
    registration(OrderService, createOrderService({ orders })),
    registration(PublishableKeyService, createPublishableKeyService({ keys, now, newId: uuidv7, newToken: newPublishableKeyToken })),
  ];
  return {
    outbox,
    watchers,
    idempotencyRecords,
    cartExpiry,
    metrics,
    readiness,
    publishableKeys: new PublishableKeyDirectory({ keys, now }),
    services,
    interceptors: [
      createTelemetryInterceptor(log, metrics),
      createDeadlineInterceptor(config.maxTimeoutMs),
      createDrainingInterceptor(readiness),
      errorMappingInterceptor,
      createAuthInterceptor(verifyToken, publicServices),
      nulCharacterInterceptor,
      createValidateInterceptor(),
      // Every service of the app keeps its data in the database; health and reflection answer without it.
      createDatabaseOutageInterceptor(readiness, new Set(services.map(({ service }) => service.typeName))),
      createIdempotencyInterceptor(idempotencyRecords, now),
    ],
  };
}
