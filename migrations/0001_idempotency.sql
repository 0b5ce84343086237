CREATE TABLE "idempotency_records" (
	"principal" text NOT NULL,
	"method" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"response" "bytea",
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "idempotency_records_principal_method_key_pk" PRIMARY KEY("principal","method","key")
);
--> statement-breakpoint
CREATE INDEX "idempotency_records_created_at_idx" ON "idempotency_records" USING btree ("created_at");