CREATE TABLE "promotions" (
	"id" text PRIMARY KEY NOT NULL,
	"code" text,
	"kind" text NOT NULL,
	"percentage_bp" integer,
	"fixed_amounts" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"target" text NOT NULL,
	"product_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"minimum_subtotal" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"starts_at" timestamp with time zone,
	"ends_at" timestamp with time zone,
	"usage_limit" integer,
	"usage_limit_per_customer" integer,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "promotions_kind_check" CHECK ("promotions"."kind" in ('percentage', 'fixed')),
	CONSTRAINT "promotions_target_check" CHECK ("promotions"."target" in ('order', 'products', 'shipping'))
);
--> statement-breakpoint
CREATE TABLE "regions" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"currency" char(3) NOT NULL,
	"countries" text[] DEFAULT '{}'::text[] NOT NULL,
	"prices_include_tax" boolean NOT NULL,
	"default_tax_rate_bp" integer NOT NULL,
	"tax_rates" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "regions_default_tax_rate_bp_check" CHECK ("regions"."default_tax_rate_bp" between 0 and 10000)
);
--> statement-breakpoint
CREATE TABLE "sales_channels" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "shipping_options" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"region_id" text NOT NULL,
	"prices" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "product_prices" DROP CONSTRAINT "product_prices_product_id_currency_pk";--> statement-breakpoint
ALTER TABLE "carts" ADD COLUMN "region_id" text;--> statement-breakpoint
ALTER TABLE "carts" ADD COLUMN "sales_channel_id" text;--> statement-breakpoint
ALTER TABLE "carts" ADD COLUMN "shipping_address" jsonb;--> statement-breakpoint
ALTER TABLE "carts" ADD COLUMN "billing_address" jsonb;--> statement-breakpoint
ALTER TABLE "carts" ADD COLUMN "promotions" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "carts" ADD COLUMN "shipping_methods" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "carts" ADD COLUMN "totals" jsonb;--> statement-breakpoint
-- Carts from before regions existed (hand-written, not generated): each currency
-- gets the tax-free region for any country that CreateCart would create for it
-- with the default DEFAULT_REGION_ID, and every cart the "default" sales channel.
-- Their totals had no tax, discount or shipping; totals holds what
-- computeTotals returns for such a cart (src/storage/cart-repository.ts).
INSERT INTO "regions" ("id", "name", "currency", "prices_include_tax", "default_tax_rate_bp", "created_at", "updated_at")
  SELECT DISTINCT 'default-' || lower("currency"), 'Default (' || "currency" || ')', "currency", false, 0, now(), now() FROM "carts"
  ON CONFLICT ("id") DO NOTHING;--> statement-breakpoint
INSERT INTO "sales_channels" ("id", "name", "created_at", "updated_at")
  SELECT 'default', 'Default', now(), now() WHERE EXISTS (SELECT 1 FROM "carts")
  ON CONFLICT ("id") DO NOTHING;--> statement-breakpoint
UPDATE "carts" c SET
  "region_id" = 'default-' || lower(c."currency"),
  "sales_channel_id" = 'default',
  "totals" = jsonb_build_object(
    'lines', coalesce((
      SELECT jsonb_agg(jsonb_build_object(
        'lineId', l."id", 'subtotal', (l."quantity" * l."unit_price")::text, 'discountTotal', '0', 'taxTotal', '0',
        'total', (l."quantity" * l."unit_price")::text, 'originalTotal', (l."quantity" * l."unit_price")::text,
        'taxLines', jsonb_build_array(jsonb_build_object('code', 'default', 'basisPoints', 0, 'amount', '0')),
        'adjustments', '[]'::jsonb
      ) ORDER BY l."created_at", l."id")
      FROM "line_items" l WHERE l."cart_id" = c."id"), '[]'::jsonb),
    'shippingMethods', '[]'::jsonb,
    'cart', jsonb_build_object(
      'itemSubtotal', c."subtotal"::text, 'itemDiscountTotal', '0', 'itemTaxTotal', '0', 'itemTotal', c."subtotal"::text,
      'shippingSubtotal', '0', 'shippingDiscountTotal', '0', 'shippingTaxTotal', '0', 'shippingTotal', '0',
      'discountTotal', '0', 'taxTotal', '0', 'subtotal', c."subtotal"::text, 'total', c."total"::text,
      'originalTotal', c."subtotal"::text),
    'appliedPromotions', '[]'::jsonb,
    'skippedPromotions', '[]'::jsonb);--> statement-breakpoint
ALTER TABLE "carts" ALTER COLUMN "region_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "carts" ALTER COLUMN "sales_channel_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "carts" ALTER COLUMN "totals" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "line_items" ADD COLUMN "compare_at_unit_price" bigint;--> statement-breakpoint
ALTER TABLE "line_items" ADD COLUMN "discountable" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "line_items" ADD COLUMN "shippable" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "product_prices" ADD COLUMN "region_id" text;--> statement-breakpoint
ALTER TABLE "product_prices" ADD COLUMN "min_quantity" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "product_prices" ADD COLUMN "compare_at_amount" bigint;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "discountable" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "shippable" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "sales_channel_ids" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "shipping_options" ADD CONSTRAINT "shipping_options_region_id_regions_id_fk" FOREIGN KEY ("region_id") REFERENCES "public"."regions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "promotions_code_key" ON "promotions" USING btree (upper("code"));--> statement-breakpoint
CREATE INDEX "promotions_automatic_idx" ON "promotions" USING btree ("id") WHERE "promotions"."code" is null;--> statement-breakpoint
CREATE INDEX "regions_currency_id_idx" ON "regions" USING btree ("currency","id");--> statement-breakpoint
CREATE INDEX "shipping_options_region_id_id_idx" ON "shipping_options" USING btree ("region_id","id");--> statement-breakpoint
ALTER TABLE "carts" ADD CONSTRAINT "carts_region_id_regions_id_fk" FOREIGN KEY ("region_id") REFERENCES "public"."regions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "carts" ADD CONSTRAINT "carts_sales_channel_id_sales_channels_id_fk" FOREIGN KEY ("sales_channel_id") REFERENCES "public"."sales_channels"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_prices" ADD CONSTRAINT "product_prices_region_id_regions_id_fk" FOREIGN KEY ("region_id") REFERENCES "public"."regions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "carts_promotions_idx" ON "carts" USING gin ("promotions" jsonb_path_ops);--> statement-breakpoint
ALTER TABLE "product_prices" ADD CONSTRAINT "product_prices_tier_key" UNIQUE NULLS NOT DISTINCT("product_id","currency","region_id","min_quantity");--> statement-breakpoint
ALTER TABLE "line_items" ADD CONSTRAINT "line_items_compare_at_unit_price_check" CHECK ("line_items"."compare_at_unit_price" >= 0);--> statement-breakpoint
ALTER TABLE "product_prices" ADD CONSTRAINT "product_prices_min_quantity_check" CHECK ("product_prices"."min_quantity" >= 1);--> statement-breakpoint
ALTER TABLE "product_prices" ADD CONSTRAINT "product_prices_compare_at_amount_check" CHECK ("product_prices"."compare_at_amount" >= 0);