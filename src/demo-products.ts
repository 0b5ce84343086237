import type { Product } from "./domain/product.js";

/** A few products so a newcomer can fill a cart right after `npm run demo`. */
export const demoProducts: Omit<Product, "createdAt" | "updatedAt">[] = [
  { id: "mug-classic", title: "Classic mug", active: true, prices: [{ currency: "USD", amount: 1299n }, { currency: "EUR", amount: 1199n }] },
  { id: "tee-black-m", title: "Black T-shirt, M", active: true, prices: [{ currency: "USD", amount: 2499n }, { currency: "EUR", amount: 2299n }] },
  { id: "socks-3pack", title: "Socks, 3 pairs", active: true, prices: [{ currency: "USD", amount: 999n }, { currency: "JPY", amount: 1500n }] },
  { id: "poster-a2", title: "Poster A2", active: true, prices: [{ currency: "USD", amount: 1800n }] },
  { id: "hoodie-retired", title: "Retired hoodie", active: false, prices: [{ currency: "USD", amount: 5900n }] },
];
