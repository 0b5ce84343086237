-- Tax rates move from whole basis points to parts per million (× 100: 725 bp = 7.25 % = 72500 ppm), and
-- every stored tax line names the class whose rate it is. 0005 renamed regions.default_tax_rate_bp to
-- default_tax_rate_ppm; this converts the values in it, in regions.tax_rates, and in the totals that carts
-- and orders store (carts.totals, orders.totals), and gives order line snapshots the product flags lines
-- now carry. Everything stored before had the one standard class and no gift cards.
CREATE FUNCTION "tax_rate_bp_to_ppm"(rate jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN rate ? 'basisPoints'
    THEN (rate - 'basisPoints') || jsonb_build_object('ratePpm', (rate->>'basisPoints')::int * 100)
    ELSE rate END
$$;--> statement-breakpoint
CREATE FUNCTION "tax_lines_bp_to_ppm"(breakdowns jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(jsonb_agg(breakdown || jsonb_build_object('taxLines', (
      SELECT coalesce(jsonb_agg("tax_rate_bp_to_ppm"(tax_line) || '{"taxClass": "standard"}'::jsonb ORDER BY j), '[]'::jsonb)
      FROM jsonb_array_elements(coalesce(breakdown->'taxLines', '[]'::jsonb)) WITH ORDINALITY AS t(tax_line, j)
    )) ORDER BY i), '[]'::jsonb)
  FROM jsonb_array_elements(coalesce(breakdowns, '[]'::jsonb)) WITH ORDINALITY AS b(breakdown, i)
$$;--> statement-breakpoint
UPDATE "regions" SET
  "default_tax_rate_ppm" = "default_tax_rate_ppm" * 100,
  "tax_rates" = (
    SELECT coalesce(jsonb_agg("tax_rate_bp_to_ppm"(country) || jsonb_build_object('provinces', (
        SELECT coalesce(jsonb_agg("tax_rate_bp_to_ppm"(province) ORDER BY j), '[]'::jsonb)
        FROM jsonb_array_elements(coalesce(country->'provinces', '[]'::jsonb)) WITH ORDINALITY AS p(province, j)
      )) ORDER BY i), '[]'::jsonb)
    FROM jsonb_array_elements("tax_rates") WITH ORDINALITY AS c(country, i)
  );--> statement-breakpoint
UPDATE "carts" SET "totals" = "totals" || jsonb_build_object(
  'lines', "tax_lines_bp_to_ppm"("totals"->'lines'),
  'shippingMethods', "tax_lines_bp_to_ppm"("totals"->'shippingMethods')
);--> statement-breakpoint
UPDATE "orders" SET
  "totals" = "totals" || jsonb_build_object(
    'lines', "tax_lines_bp_to_ppm"("totals"->'lines'),
    'shippingMethods', "tax_lines_bp_to_ppm"("totals"->'shippingMethods')
  ),
  "lines" = (
    SELECT coalesce(jsonb_agg('{"taxClass": "standard", "giftCard": false}'::jsonb || line ORDER BY i), '[]'::jsonb)
    FROM jsonb_array_elements("lines") WITH ORDINALITY AS l(line, i)
  );--> statement-breakpoint
DROP FUNCTION "tax_lines_bp_to_ppm"(jsonb);--> statement-breakpoint
DROP FUNCTION "tax_rate_bp_to_ppm"(jsonb);
