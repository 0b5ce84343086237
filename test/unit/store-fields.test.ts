import { describe, expect, it } from "vitest";
import { fieldsConfig, parseFields, project } from "../../src/transport/store/fields.js";
import { StoreError } from "../../src/transport/store/errors.js";
import { cartFields } from "../../src/transport/store/query-config.js";

const all = (value: string | undefined) => {
  const { fields, starFields } = parseFields(value, cartFields);
  return { fields: [...fields].sort(), starFields: [...starFields].sort(), size: fields.size + starFields.size };
};
const defaults = all(undefined);

// The table of the shared contract, §4.1: Medusa 2.21.2's own parser over its cart config.
describe("Store API fields (Medusa's §4.1 cases)", () => {
  it("gives the 135 default fields when absent", () => {
    expect(cartFields.defaults).toHaveLength(135);
    expect(defaults.size).toBe(135);
    expect(defaults.starFields).toEqual(["credit_lines", "payment_collection", "payment_collection.payment_sessions", "region.countries"]);
  });

  it("adds to the defaults with the starters' cart page string, dropping nothing", () => {
    const page = all("*items, *region, *items.product, *items.variant, *items.thumbnail, *items.metadata, +items.total, *promotions, +shipping_methods.name");
    expect(page.fields).toEqual([...defaults.fields, "items.total", "shipping_methods.name"].sort());
    expect(page.starFields).toEqual(
      [...defaults.starFields, "items", "region", "items.product", "items.variant", "items.thumbnail", "items.metadata", "promotions"].sort(),
    );
  });

  it("replaces the defaults when an entry has no modifier", () => {
    expect(all("id,region_id")).toMatchObject({ fields: ["id", "region_id"], starFields: [] });
  });

  it("always keeps id", () => {
    expect(all("region_id").fields).toEqual(["id", "region_id"]);
    expect(all("-id").fields).toContain("id");
  });

  it("drops fields outside the allow-list without an error", () => {
    const added = all("+foo,+items.total");
    expect(added.fields).not.toContain("foo");
    expect(added.fields).toContain("items.total");
    expect(added.size).toBe(136);
    expect(all("*items.variant.product").size).toBe(135);
    expect(all("+items.variant.product.images").size).toBe(135);
    expect(all("+region.metadata").fields).not.toContain("region.metadata");
  });

  it("removes a field and everything under it with -", () => {
    const removed = all("-metadata,-shipping_address");
    expect(removed.size).toBe(135 - 13);
    expect(removed.fields).toContain("shipping_address_id");
    expect(removed.fields.some((field) => field.startsWith("shipping_address."))).toBe(false);
  });

  it("reads a leading space (a URL-decoded +) as +", () => {
    expect(all(" items.total").fields).toEqual([...defaults.fields, "items.total"].sort());
  });

  it("takes rel.* like *rel", () => {
    expect(all("items.*").starFields).toEqual([...defaults.starFields, "items"].sort());
  });

  it("refuses a path deeper than three relations with Medusa's message", () => {
    const deep = fieldsConfig(["id"], ["a.b.c.d.e", "a.b.c.d"]);
    expect(() => parseFields("+a.b.c.d", deep)).not.toThrow();
    const refusal = (() => {
      try {
        parseFields("+a.b.c.d.e", deep);
      } catch (error) {
        return error;
      }
    })() as StoreError;
    expect(refusal).toBeInstanceOf(StoreError);
    expect(refusal.status).toBe(400);
    expect(refusal.body).toEqual({ type: "invalid_data", message: "The following fields expand more than the maximum of 3 allowed relations: a.b.c.d.e" });
  });
});

describe("projecting a response onto a selection", () => {
  const cart = {
    id: "c1",
    email: null,
    total: 1,
    items: [{ id: "i1", title: "Mug", total: 2, tax_lines: [{ id: "t1", rate: 10 }] }],
    region: { id: "r1", name: "US", countries: [{ id: "us", iso_2: "us" }] },
  };

  it("keeps only the named paths, ids and nulls included", () => {
    expect(project(cart, { fields: new Set(["email", "items.title"]), starFields: new Set() })).toEqual({
      id: "c1",
      email: null,
      items: [{ id: "i1", title: "Mug" }],
    });
  });

  it("takes a starred relation whole and ignores unknown names", () => {
    expect(project(cart, { fields: new Set(["nope", "items.nope"]), starFields: new Set(["region"]) })).toEqual({
      id: "c1",
      items: [{ id: "i1" }],
      region: cart.region,
    });
  });
});
