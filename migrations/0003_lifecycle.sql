CREATE TABLE "order_promotions" (
	"order_id" uuid NOT NULL,
	"promotion_id" text NOT NULL,
	"customer_id" text NOT NULL,
	CONSTRAINT "order_promotions_order_id_promotion_id_pk" PRIMARY KEY("order_id","promotion_id")
);
--> statement-breakpoint
CREATE TABLE "orders" (
	"id" uuid PRIMARY KEY NOT NULL,
	"cart_id" uuid NOT NULL,
	"customer_id" text NOT NULL,
	"status" text NOT NULL,
	"region_id" text NOT NULL,
	"currency" char(3) NOT NULL,
	"sales_channel_id" text NOT NULL,
	"email" text NOT NULL,
	"metadata" jsonb NOT NULL,
	"shipping_address" jsonb,
	"billing_address" jsonb,
	"lines" jsonb NOT NULL,
	"shipping_methods" jsonb NOT NULL,
	"promotions" jsonb NOT NULL,
	"totals" jsonb NOT NULL,
	"total" bigint NOT NULL,
	"item_quantity" integer NOT NULL,
	"payment_reference" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "orders_cart_id_key" UNIQUE("cart_id"),
	CONSTRAINT "orders_status_check" CHECK ("orders"."status" in ('pending'))
);
--> statement-breakpoint
ALTER TABLE "carts" DROP CONSTRAINT "carts_status_check";--> statement-breakpoint
ALTER TABLE "carts" ADD COLUMN "expire_time" timestamp with time zone;--> statement-breakpoint
-- Carts that exist before expiry do not lapse at once: they get the default TTLs from their last change.
UPDATE "carts" SET "expire_time" = "updated_at" + CASE WHEN "item_quantity" > 0 THEN interval '30 days' ELSE interval '6 hours' END WHERE "status" = 'active';--> statement-breakpoint
ALTER TABLE "carts" ADD COLUMN "order_id" uuid;--> statement-breakpoint
ALTER TABLE "carts" ADD COLUMN "merged_into_cart_id" uuid;--> statement-breakpoint
ALTER TABLE "order_promotions" ADD CONSTRAINT "order_promotions_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_cart_id_carts_id_fk" FOREIGN KEY ("cart_id") REFERENCES "public"."carts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "order_promotions_promotion_id_customer_id_idx" ON "order_promotions" USING btree ("promotion_id","customer_id");--> statement-breakpoint
CREATE INDEX "orders_customer_id_id_idx" ON "orders" USING btree ("customer_id","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "carts_expire_time_idx" ON "carts" USING btree ("expire_time") WHERE "carts"."status" = 'active';--> statement-breakpoint
CREATE INDEX "carts_expired_expire_time_idx" ON "carts" USING btree ("expire_time") WHERE "carts"."status" = 'expired';--> statement-breakpoint
ALTER TABLE "carts" ADD CONSTRAINT "carts_expire_time_check" CHECK (("carts"."status" in ('active', 'expired')) = ("carts"."expire_time" is not null));--> statement-breakpoint
ALTER TABLE "carts" ADD CONSTRAINT "carts_status_check" CHECK ("carts"."status" in ('active', 'completed', 'deleted', 'expired', 'merged'));