ALTER TABLE "regions" RENAME COLUMN "default_tax_rate_bp" TO "default_tax_rate_ppm";--> statement-breakpoint
ALTER TABLE "regions" DROP CONSTRAINT "regions_default_tax_rate_bp_check";--> statement-breakpoint
ALTER TABLE "line_items" ADD COLUMN "tax_class" text DEFAULT 'standard' NOT NULL;--> statement-breakpoint
ALTER TABLE "line_items" ADD COLUMN "gift_card" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "tax_class" text DEFAULT 'standard' NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "gift_card" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "regions" ADD COLUMN "default_tax_class_rates" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "shipping_options" ADD COLUMN "gift_cards_count_towards_free_shipping" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "regions" ADD CONSTRAINT "regions_default_tax_rate_ppm_check" CHECK ("regions"."default_tax_rate_ppm" between 0 and 1000000);