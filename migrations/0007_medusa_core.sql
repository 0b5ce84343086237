CREATE TABLE "publishable_keys" (
	"id" uuid PRIMARY KEY NOT NULL,
	"token" text NOT NULL,
	"title" text NOT NULL,
	"sales_channel_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "publishable_keys_token_key" UNIQUE("token")
);
--> statement-breakpoint
ALTER TABLE "line_items" DROP CONSTRAINT "line_items_cart_id_product_id_key";--> statement-breakpoint
ALTER TABLE "carts" ADD COLUMN "payment_collection" jsonb;--> statement-breakpoint
ALTER TABLE "line_items" ADD COLUMN "subtitle" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "line_items" ADD COLUMN "thumbnail_uri" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "line_items" ADD COLUMN "product_handle" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "line_items" ADD COLUMN "sku" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "line_items" ADD COLUMN "variant_title" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "line_items" ADD COLUMN "metadata" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "subtitle" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "thumbnail_uri" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "handle" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "sku" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "variant_title" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "regions" ADD COLUMN "payment_provider_ids" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "carts_payment_collection_id_key" ON "carts" USING btree (("payment_collection"->>'id'));--> statement-breakpoint
CREATE INDEX "line_items_cart_id_product_id_idx" ON "line_items" USING btree ("cart_id","product_id");